#!/usr/bin/env bash
# Runs the lints `make test` enforces: rustfmt's check (rustfmt.toml) over the workspace and the
# fuzz crate, and clippy over every workspace target with warnings as errors (clippy.toml sets the MSRV).
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO="${CARGO:-cargo}"

# A toolchain installed with rustup's minimal profile lacks both components.
for component in rustfmt clippy; do
  if ! "$CARGO" "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    echo "lint: installing the $component component"
    rustup component add "$component"
  fi
done

if ! "$CARGO" fmt --all --check >/dev/null || ! "$CARGO" fmt --manifest-path fuzz/Cargo.toml --check >/dev/null; then
  echo "lint: code is not rustfmt-formatted; run 'cargo fmt --all && cargo fmt --manifest-path fuzz/Cargo.toml':" >&2
  { "$CARGO" fmt --all --check; "$CARGO" fmt --manifest-path fuzz/Cargo.toml --check; } 2>&1 | grep '^Diff in' | sed 's/ at line.*//' | sort -u >&2 || true
  exit 1
fi
echo "lint: rustfmt clean"

# The release profile, so the check reuses nothing but costs no more than a debug check would.
"$CARGO" clippy --workspace --all-targets --release --quiet -- -D warnings
echo "lint: clippy clean"
