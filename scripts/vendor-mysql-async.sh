#!/usr/bin/env bash
# The vendored mysql_async (vendor/mysql_async) is the crates.io release plus the patches in
# vendor/mysql_async-patches, applied in order: `check` proves it (downloads the pinned .crate,
# applies the patches, compares the trees), `rebuild` rewrites vendor/mysql_async from them
# (after editing a patch, or to move to another release: change VERSION and SHA256, refresh the
# patches). vendor/mysql_async/PATCHED.md explains each patch and when to drop the copy.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=0.36.2
SHA256=d1d9585dc9058886ff3a1f48a23024dd1d054264dee7c5ae0e4bd640c953bee5
URL="https://static.crates.io/crates/mysql_async/mysql_async-$VERSION.crate"
VENDOR=vendor/mysql_async
PATCHES=vendor/mysql_async-patches
# Files of the published crate the vendored copy leaves out (not needed to build it).
DROPPED=(Cargo.lock Cargo.toml.orig README.tpl azure-pipelines.yml)

mode="${1:-check}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

crate="${XDG_CACHE_HOME:-$HOME/.cache}/flink-rust/mysql_async-$VERSION.crate"
if ! echo "$SHA256  $crate" | sha256sum -c --status 2>/dev/null; then
  mkdir -p "$(dirname "$crate")"
  curl -sSfL -o "$crate.part" "$URL"
  echo "$SHA256  $crate.part" | sha256sum -c --status || {
    echo "vendor-mysql-async: $URL does not have the pinned SHA-256 $SHA256" >&2
    exit 1
  }
  mv "$crate.part" "$crate"
fi
tar xzf "$crate" -C "$work"
tree="$work/mysql_async-$VERSION"
for f in "${DROPPED[@]}"; do rm -f "$tree/$f"; done
for p in "$PATCHES"/*.patch; do
  patch -s -p1 -d "$tree" --no-backup-if-mismatch <"$p" || {
    echo "vendor-mysql-async: $p does not apply to mysql_async $VERSION" >&2
    exit 1
  }
done
cp "$VENDOR/PATCHED.md" "$tree/PATCHED.md"

case "$mode" in
  check)
    if ! diff -r "$tree" "$VENDOR" >"$work/diff"; then
      echo "vendor-mysql-async: $VENDOR is not mysql_async $VERSION plus $PATCHES:" >&2
      head -50 "$work/diff" >&2
      echo "Put every change in a patch (see $VENDOR/PATCHED.md), then 'scripts/vendor-mysql-async.sh rebuild'." >&2
      exit 1
    fi
    echo "vendor-mysql-async: $VENDOR is mysql_async $VERSION plus $(ls "$PATCHES"/*.patch | wc -l) patches"
    ;;
  rebuild)
    rm -rf "$VENDOR"
    cp -a "$tree" "$VENDOR"
    echo "vendor-mysql-async: rebuilt $VENDOR"
    ;;
  *)
    echo "usage: $0 [check|rebuild]" >&2
    exit 2
    ;;
esac
