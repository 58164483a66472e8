#!/usr/bin/env bash
# Installs a Flink distribution (from PyPI's apache-flink + apache-flink-libraries packages) plus
# the matching flink-sql-gateway jar (from Maven Central) into opt/, then prints its FLINK_HOME.
# Idempotent: cached under ${FLINK_DIST_CACHE:-$HOME/.cache/flink-rust/flink}/VERSION.
# Usage: scripts/flink-dist.sh VERSION        (pinned/tested: 1.20.3, 2.3.0)
set -euo pipefail
version="${1:?usage: flink-dist.sh VERSION (e.g. 1.20.3 or 2.3.0)}"
cache="${FLINK_DIST_CACHE:-$HOME/.cache/flink-rust/flink}"
dir="$cache/$version"
home="$dir/pyflink"
stamp="$dir/.installed"
gateway="flink-sql-gateway-$version.jar"
PYTHON="${PYTHON:-python3}"
MVN="${MVN:-mvn -B -q -Dstyle.color=never}"

log() { echo "flink-dist: $*" >&2; }

if [[ -f "$stamp" && -x "$home/bin/flink" && -f "$home/opt/$gateway" ]]; then
  echo "$home"
  exit 0
fi

mkdir -p "$cache"
# Install into a temporary directory next to the final one, then rename: an interrupted
# install never leaves a half-filled cache entry behind.
tmp="$(mktemp -d "$cache/.$version.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# apache-flink-libraries holds lib/, opt/, plugins/; apache-flink holds bin/ and conf/. 2.x ships
# wheels (CPython 3.9-3.12, Linux x86_64, macOS), 1.20.x only a ~230 MB sdist that pip builds
# (~20 s); on other Pythons pip builds the 2.x sdist as well.
log "installing apache-flink $version from PyPI into $dir"
"$PYTHON" -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-deps --no-compile \
  --target "$tmp" "apache-flink-libraries==$version" "apache-flink==$version" >&2
[[ -x "$tmp/pyflink/bin/flink" ]] || { log "no pyflink/bin/flink after pip install"; exit 1; }
chmod +x "$tmp"/pyflink/bin/*.sh "$tmp"/pyflink/bin/flink 2>/dev/null || true

log "fetching org.apache.flink:flink-sql-gateway:$version from Maven Central"
# Run outside the project (no pom.xml in $tmp), with an explicit plugin version: Maven 3.8's
# default maven-dependency-plugin (2.8) has no -Dartifact for copy.
(cd "$tmp" && $MVN org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
  -Dartifact="org.apache.flink:flink-sql-gateway:$version:jar" \
  -DoutputDirectory="$tmp/pyflink/opt" >&2)
[[ -f "$tmp/pyflink/opt/$gateway" ]] || { log "$gateway missing after mvn dependency:copy"; exit 1; }

touch "$tmp/.installed"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "$home"
