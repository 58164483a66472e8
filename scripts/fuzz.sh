#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for FUZZ_SECONDS each (cargo-fuzz, libFuzzer, nightly Rust).
# Installs the nightly toolchain (minimal profile) and cargo-fuzz when missing, so a fresh CI
# machine needs nothing else but a C++ compiler (libFuzzer itself is C++).
#
#   FUZZ_SECONDS=30 scripts/fuzz.sh                # every target, exploring
#   FUZZ_SECONDS=300 scripts/fuzz.sh binlog_rows   # one target, longer
#   FUZZ_RUNS=auto scripts/fuzz.sh                 # every target, reproducibly (make test)
#   FUZZ_RUNS=100000 scripts/fuzz.sh gtid          # one target, reproducibly, that many inputs
#
# Exploring (FUZZ_SECONDS): inputs libFuzzer finds interesting go to fuzz/corpus/<target> (not
# committed) and are built on by the next run; the committed seeds in fuzz/seeds/<target> are
# read too. Reproducible (FUZZ_RUNS): a fixed number of inputs from a fixed random seed
# (FUZZ_SEED, default 1), starting from the committed seeds only, so every machine tries the same
# inputs and a run that passed once passes again. That is what `make test` runs: it keeps CI from
# failing on whatever a random run happens to find, which is what `make fuzz` is for.
# A crash stops the run: the input is in fuzz/artifacts/<target>/, and the message says how to
# replay it. Copy it to fuzz/seeds/<target>/regression-<what> with the fix, so every run replays it.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${FUZZ_SECONDS:-30}
runs=${FUZZ_RUNS:-}
seed=${FUZZ_SEED:-1}
# A dated nightly, so a new nightly cannot break CI overnight; FUZZ_TOOLCHAIN=nightly tries the newest.
toolchain=${FUZZ_TOOLCHAIN:-nightly-2026-10-30}
# 0.13.2: the version this was set up with; --locked keeps its dependencies as released.
cargo_fuzz_version=${CARGO_FUZZ_VERSION:-0.13.2}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(binlog_rows snapshot_rows gtid options state)

if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1; then
  echo "fuzz: installing the $toolchain toolchain (minimal profile)"
  rustup toolchain install "$toolchain" --profile minimal
fi
if ! cargo +"$toolchain" fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz $cargo_fuzz_version"
  cargo +stable install cargo-fuzz --version "$cargo_fuzz_version" --locked
fi

# No sanitizer: the code under test is safe Rust (its unsafe dependencies are exercised, not
# audited, here), and a sanitizer build of the whole dependency tree takes minutes longer.
# Panics, overflow checks (on in fuzz builds), aborts and failed allocations are the findings.
fuzz=(cargo +"$toolchain" fuzz)
build_flags=(--sanitizer none)
mkdir -p corpus
echo "fuzz: building the targets (log: fuzz/corpus/build.log)"
if ! "${fuzz[@]}" build "${build_flags[@]}" >corpus/build.log 2>&1; then
  tail -40 corpus/build.log >&2
  exit 1
fi

status=0
for target in "${targets[@]}"; do
  mkdir -p "seeds/$target"
  if [ -n "$runs" ]; then
    # A fresh corpus each time: what earlier runs found here would make this run differ from CI's.
    corpus="corpus/$target.reproducible"
    rm -rf "$corpus"
    target_runs=$runs
    if [ "$runs" = auto ]; then
      # About 10 s each on a quiet machine: the targets' speeds differ by a factor of 20 (the
      # options target builds a connector per input).
      case $target in
        binlog_rows) target_runs=1500000 ;;
        snapshot_rows) target_runs=3000000 ;;
        gtid) target_runs=3000000 ;;
        options) target_runs=150000 ;;
        *) target_runs=750000 ;;
      esac
    fi
    budget=(-runs="$target_runs" -seed="$seed")
    echo "fuzz: $target, $target_runs inputs from seed $seed"
  else
    corpus="corpus/$target"
    budget=(-max_total_time="$seconds")
    echo "fuzz: $target for ${seconds}s"
  fi
  mkdir -p "$corpus"
  # -rss_limit_mb: an input that makes a decoder allocate without bound is a finding.
  # -timeout: an input that takes 10 s is a finding (a decoder stuck in a loop).
  if ! "${fuzz[@]}" run "${build_flags[@]}" "$target" "$corpus" "seeds/$target" -- \
      "${budget[@]}" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
      >"corpus/$target.log" 2>&1; then
    status=1
    tail -40 "corpus/$target.log" >&2
    echo "fuzz: $target FAILED; replay with: (cd fuzz && cargo +$toolchain fuzz run --sanitizer none $target <artifact>)" >&2
  else
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done)' "corpus/$target.log" | tr '\n' ' '
    echo
  fi
done
exit $status
