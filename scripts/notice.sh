#!/usr/bin/env bash
# NOTICE: the third-party components bundled in the bridge jar (the Rust crates linked into the
# native library; Java dependencies, of which there are none today), with their licenses.
# scripts/notice.py says how it finds them. Needs cargo and python3; reads Cargo.lock and the
# poms (cargo metadata downloads the sources of crates it has not seen yet) and builds nothing:
# about a second.
#
# Usage: scripts/notice.sh           rewrite NOTICE
#        scripts/notice.sh --check   fail if NOTICE differs from what it would write (`make test`)
#
# License expressions that are missing or not among the usual permissive ones are reported on
# stderr; one that can only be met with a GPL, LGPL or AGPL license fails either way.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
mode="${1:-write}"
case "$mode" in
  write|--check) ;;
  *) echo "usage: scripts/notice.sh [--check]" >&2; exit 2 ;;
esac
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
python3 "$root/scripts/notice.py" >"$tmp"
if [[ "$mode" == write ]]; then
  cp "$tmp" "$root/NOTICE"
elif ! cmp -s "$tmp" "$root/NOTICE"; then
  if [[ -f "$root/NOTICE" ]]; then
    diff -u --label NOTICE --label 'NOTICE (regenerated)' "$root/NOTICE" "$tmp" | head -40 >&2 || true
  fi
  echo "NOTICE is stale: run scripts/notice.sh" >&2
  exit 1
fi
