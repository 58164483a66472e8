#!/usr/bin/env bash
# Builds the native library (release) and copies it into a classes directory under
# native/<os>-<arch>/, the path NativeLibrary.java loads it from. On an x86_64 Linux host it also
# cross-builds linux-aarch64 (scripts/aarch64.sh build: installs the cross toolchain when missing),
# so the jar carries both Linux builds; SKIP_AARCH64=1 leaves that out (a quicker local loop).
# Usage: scripts/build-native.sh <classes-dir>
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:?usage: build-native.sh <classes-dir>}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

case "$(uname -s)" in
  Linux) os=linux; lib=libflink_rust_bridge.so ;;
  Darwin) os=osx; lib=libflink_rust_bridge.dylib ;;
  *) echo "build-native.sh: unsupported OS $(uname -s)" >&2; exit 1 ;;
esac
case "$(uname -m)" in
  x86_64|amd64) arch=x86_64 ;;
  aarch64|arm64) arch=aarch64 ;;
  *) echo "build-native.sh: unsupported CPU $(uname -m)" >&2; exit 1 ;;
esac

cargo build --release --manifest-path "$root/Cargo.toml" -p flink-rust-bridge
mkdir -p "$out/native/$os-$arch"
cp "$CARGO_TARGET_DIR/release/$lib" "$out/native/$os-$arch/$lib"
echo "native library: $out/native/$os-$arch/$lib"
if [[ "$os-$arch" == linux-x86_64 && "${SKIP_AARCH64:-0}" != 1 ]]; then
  "$root/scripts/aarch64.sh" build "$out"
elif [[ "$os-$arch" == linux-x86_64 ]]; then
  rm -rf "$out/native/linux-aarch64"
  echo "native library: linux-aarch64 skipped (SKIP_AARCH64=1); this jar runs on linux-x86_64 only"
fi
