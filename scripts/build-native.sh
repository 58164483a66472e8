#!/usr/bin/env bash
# Builds the native library (release) and copies it into a classes directory under
# native/<os>-<arch>/, the path NativeLibrary.java loads it from.
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
