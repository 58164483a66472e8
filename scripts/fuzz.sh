#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for FUZZ_SECONDS each (cargo-fuzz, libFuzzer, nightly Rust).
# Installs the nightly toolchain (minimal profile) and cargo-fuzz when missing, so a fresh CI
# machine needs nothing else but a C++ compiler (libFuzzer itself is C++).
#
#   FUZZ_SECONDS=30 scripts/fuzz.sh                # every target
#   FUZZ_SECONDS=300 scripts/fuzz.sh binlog_rows   # one target, longer
#
# Inputs libFuzzer finds interesting go to fuzz/corpus/<target> (not committed); the committed
# seeds in fuzz/seeds/<target> are read too. A crash stops the run: the input is in
# fuzz/artifacts/<target>/, and the message says how to replay it.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${FUZZ_SECONDS:-30}
# A dated nightly, so a new nightly cannot break CI overnight; FUZZ_TOOLCHAIN=nightly tries the newest.
toolchain=${FUZZ_TOOLCHAIN:-nightly-2026-10-30}
# 0.13.2: the version this was set up with; --locked keeps its dependencies as released.
cargo_fuzz_version=${CARGO_FUZZ_VERSION:-0.13.2}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(binlog_rows gtid options state)

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
  mkdir -p "corpus/$target" "seeds/$target"
  echo "fuzz: $target for ${seconds}s"
  # -rss_limit_mb: an input that makes a decoder allocate without bound is a finding.
  # -timeout: an input that takes 10 s is a finding (a decoder stuck in a loop).
  if ! "${fuzz[@]}" run "${build_flags[@]}" "$target" "corpus/$target" "seeds/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
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
