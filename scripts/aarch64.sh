#!/usr/bin/env bash
# linux-aarch64 from an x86_64 Linux machine: the cross toolchain, the aarch64 build of the native
# library for the jar, and tests of that build under qemu-user (no arm64 hardware needed).
#
#   scripts/aarch64.sh toolchain     install what the cross build and the emulated tests need, when
#                                    missing: the rustup target, Debian's gcc-aarch64-linux-gnu
#                                    (linker and libc) and qemu-user (idempotent; apt needs root)
#   scripts/aarch64.sh build DIR     cross-build libflink_rust_bridge.so (release) into
#                                    DIR/native/linux-aarch64/ (scripts/build-native.sh calls it)
#   scripts/aarch64.sh test-rust     rust-core's and rust-datagen's tests built for aarch64, run
#                                    under qemu-aarch64 (the runner in .cargo/config.toml)
#   scripts/aarch64.sh test-jvm      an arm64 JVM (Debian's openjdk-17-jre-headless:arm64, unpacked
#                                    into a cache directory) under qemu-aarch64 loads the library from
#                                    the bridge jar and reads rust-datagen rows through a MiniCluster
#                                    (io.flinkrust.it.Aarch64Smoke); packages the jar first
#
# Environment: CARGO_TARGET_DIR (default: target/), AARCH64_JRE_DIR (where the arm64 JRE is
# unpacked, default ~/.cache/flink-rust/jre-17-arm64), MVN (default mvn -B -q).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
CARGO="${CARGO:-cargo}"
target=aarch64-unknown-linux-gnu
# Debian's cross libc: qemu-aarch64 -L finds the dynamic loader and libc of a Rust test binary here.
sysroot=/usr/aarch64-linux-gnu

need() { command -v "$1" >/dev/null 2>&1; }

# apt_install PACKAGE...: installs them, as root; otherwise says what to run.
apt_install() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "aarch64: missing $*; install them (sudo apt-get install $*), or skip the aarch64 build with SKIP_AARCH64=1" >&2
    exit 1
  fi
  echo "aarch64: installing $*" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

toolchain() {
  if [[ "$(uname -s)-$(uname -m)" != Linux-x86_64 ]]; then
    echo "aarch64: the cross build is set up for x86_64 Linux hosts; this is $(uname -s)-$(uname -m)" >&2
    exit 1
  fi
  if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
    echo "aarch64: adding the Rust target $target" >&2
    rustup target add "$target" >&2
  fi
  local missing=()
  need aarch64-linux-gnu-gcc || missing+=(gcc-aarch64-linux-gnu)
  need qemu-aarch64 || missing+=(qemu-user)
  [[ ${#missing[@]} -eq 0 ]] || apt_install "${missing[@]}"
}

build() {
  local out="${1:?usage: aarch64.sh build <classes-dir>}"
  toolchain
  # The linker comes from .cargo/config.toml ([target.aarch64-unknown-linux-gnu]).
  "$CARGO" build --release --manifest-path "$root/Cargo.toml" -p flink-rust-bridge --target "$target"
  mkdir -p "$out/native/linux-aarch64"
  cp "$CARGO_TARGET_DIR/$target/release/libflink_rust_bridge.so" "$out/native/linux-aarch64/"
  echo "native library: $out/native/linux-aarch64/libflink_rust_bridge.so"
}

test_rust() {
  toolchain
  (cd "$root" && "$CARGO" test --release --target "$target" -p rust-core -p connector-datagen)
}

# The arm64 JRE and the few arm64 libraries it links (libc, libgcc, libstdc++, zlib), unpacked
# with dpkg -x into a directory that qemu-aarch64 -L uses as the root: nothing arm64 is installed
# on the machine. apt needs the arm64 package lists (dpkg --add-architecture arm64) to download them.
jre() {
  local dir="${AARCH64_JRE_DIR:-$HOME/.cache/flink-rust/jre-17-arm64}"
  local java="$dir/root/usr/lib/jvm/java-17-openjdk-arm64/bin/java"
  if [[ -f "$dir/complete" ]]; then
    echo "$dir/root"
    return
  fi
  toolchain
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    [[ $(id -u) -eq 0 ]] || { echo "aarch64: run: sudo dpkg --add-architecture arm64 && sudo apt-get update" >&2; exit 1; }
    dpkg --add-architecture arm64
    apt-get update -qq
  fi
  local pkgs=(openjdk-17-jre-headless:arm64 libc6:arm64 libgcc-s1:arm64 libstdc++6:arm64 zlib1g:arm64)
  rm -rf "$dir"
  mkdir -p "$dir/debs" "$dir/root"
  (cd "$dir/debs" && apt-get download "${pkgs[@]}" 2>/dev/null) || {
    apt-get update -qq
    (cd "$dir/debs" && apt-get download "${pkgs[@]}")
  }
  for deb in "$dir"/debs/*.deb; do dpkg -x "$deb" "$dir/root"; done
  # The JRE links its configuration to /etc/java-17-openjdk/... : point absolute links into the root.
  find "$dir/root" -type l -lname '/*' -print0 | while IFS= read -r -d '' link; do
    ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$dir/root$(readlink "$link")")" "$link"
  done
  rm -rf "$dir/debs"
  qemu-aarch64 -L "$dir/root" "$java" -version >&2
  touch "$dir/complete"
  echo "$dir/root"
}

test_jvm() {
  local jre_root java jar cp_file
  jre_root="$(jre)"
  java="$jre_root/usr/lib/jvm/java-17-openjdk-arm64/bin/java"
  jar="$root/java-bridge/target/flink-rust-bridge-0.1.0-SNAPSHOT.jar"
  # Packages the bridge jar (cargo has nothing left to build after the reactor's build) and writes
  # the integration tests' class path (Flink, the test classes), in which the reactor resolves the
  # bridge to that jar, not to java-bridge/target/classes: the library must come out of the jar.
  cp_file="$(mktemp)"
  trap 'rm -f "$cp_file"' RETURN
  (cd "$root" && ${MVN:-mvn -B -q} -pl java-bridge,integration-tests -DskipTests package \
    dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file" >/dev/null)
  unzip -l "$jar" native/linux-aarch64/libflink_rust_bridge.so >/dev/null ||
    { echo "aarch64: $jar has no native/linux-aarch64 library (built with SKIP_AARCH64=1?)" >&2; exit 1; }
  local cp
  cp="$root/integration-tests/target/test-classes:$(cat "$cp_file")"
  [[ ":$cp:" == *":$jar:"* ]] || { echo "aarch64: the class path does not name $jar: $cp" >&2; exit 1; }
  qemu-aarch64 -L "$jre_root" "$java" -Xmx1g \
    --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED \
    -cp "$cp" io.flinkrust.it.Aarch64Smoke
}

case "${1:-}" in
  toolchain) toolchain ;;
  build) build "${2:-}" ;;
  test-rust) test_rust ;;
  jre) jre ;;
  test-jvm) test_jvm ;;
  *) echo "usage: scripts/aarch64.sh toolchain|build DIR|test-rust|jre|test-jvm" >&2; exit 2 ;;
esac
