#!/usr/bin/env bash
# Memory checkers over rust-core's tests (`make sanitize`).
#
#   valgrind   memcheck on rust-core's test binaries (debug build): invalid reads/writes, use of
#              uninitialised memory, and definite/indirect leaks fail the run. Needs valgrind
#              (Debian: apt-get install valgrind). 10 s on a quiet machine, ~1 min under load.
#              Part of `make test` (make sanitize-valgrind).
#   miri       the same tests interpreted by Miri (nightly toolchain with the miri component:
#              `rustup toolchain install nightly --component miri`): undefined behaviour in Rust
#              code, ours and our dependencies' (arrow buffers, bincode, ...), as far as the tests
#              reach it. Skips rate_limit::tests, which wait on the real clock and take many minutes
#              under the interpreter (the bucket and share logic they drive is pure arithmetic, run
#              by the other rate-limit tests). Skipped with a message when the toolchain is missing.
#              ~3 min (the vector tests take most of it), plus ~2 min once for Miri's sysroot
#              (`cargo +nightly miri setup`) and a first build. Only in `make sanitize`.
#
# rust-core's only `unsafe` blocks are in src/jni.rs: the Box <-> jlong handle round trip, which
# jni::handle_tests exercise (so both checkers cover it), and JNIEnv::unsafe_clone, which needs a
# JVM and runs only under the Java tests.
#
# Usage: scripts/sanitize.sh [valgrind] [miri]   (default: both)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
CARGO="${CARGO:-cargo}"
checks=("$@")
[[ ${#checks[@]} -gt 0 ]] || checks=(valgrind miri)

valgrind_tests() {
  command -v valgrind >/dev/null || { echo "sanitize: valgrind is missing (apt-get install valgrind)" >&2; return 1; }
  local bins bin rc=0 t0
  # The test executables cargo builds for rust-core (unit tests and tests/*.rs).
  bins="$($CARGO test -q -p rust-core --no-run --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["package_id"].find("rust-core") >= 0:
        print(m["executable"])')"
  [[ -n "$bins" ]] || { echo "sanitize: no rust-core test binaries found" >&2; return 1; }
  for bin in $bins; do
    t0=$SECONDS
    # Tests run from the crate directory (some read ../testdata); one thread keeps reports readable.
    if (cd rust-core && valgrind -q --error-exitcode=99 --leak-check=full \
      --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
      "$bin" --test-threads=1 -q); then
      echo "sanitize: valgrind memcheck clean: $(basename "$bin") ($((SECONDS - t0)) s)" >&2
    else
      echo "sanitize: valgrind memcheck FAILED on $(basename "$bin") (errors above)" >&2
      rc=1
    fi
  done
  return $rc
}

miri_tests() {
  if ! $CARGO +nightly miri --version >/dev/null 2>&1; then
    echo "sanitize: Miri not installed, skipped (rustup toolchain install nightly --component miri)" >&2
    return 0
  fi
  local t0=$SECONDS
  # Isolation off: tests/binary_row_vectors.rs reads testdata/binary-row-vectors.json.
  # Deterministic floats: Miri otherwise gives a NaN from `f64::NAN as f32` a random sign, as Rust
  # allows (hardware does not), and the vector test builds its FLOAT NaN that way; the encoder
  # writes the bits it gets, so the test would compare a 0xffc00000 NaN against Flink's 0x7fc00000.
  # (`if`, not errexit: errexit does not apply inside a function called from `||`.)
  if MIRIFLAGS="${MIRIFLAGS:-} -Zmiri-disable-isolation -Zmiri-deterministic-floats" \
    $CARGO +nightly miri test -q -p rust-core -- --skip rate_limit::tests; then
    echo "sanitize: Miri clean on rust-core's tests ($((SECONDS - t0)) s)" >&2
  else
    echo "sanitize: Miri FAILED on rust-core's tests (see above)" >&2
    return 1
  fi
}

rc=0
for check in "${checks[@]}"; do
  case "$check" in
    valgrind) valgrind_tests || rc=1 ;;
    miri) miri_tests || rc=1 ;;
    *) echo "usage: scripts/sanitize.sh [valgrind] [miri]" >&2; exit 2 ;;
  esac
done
exit $rc
