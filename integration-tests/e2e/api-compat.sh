#!/usr/bin/env bash
# Binary compatibility of the bridge jar with Flink distributions: every org.apache.flink class,
# method and field the jar's classes reference must exist in the distribution's lib/ (+ opt/
# sql-client), with the same descriptor. Catches removed/changed APIs on code paths the e2e job
# does not run (restore, DataStream builder, ...).
# Usage: integration-tests/e2e/api-compat.sh [VERSION...]   (default: 1.20.3 2.3.0)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
versions=("$@")
[[ ${#versions[@]} -gt 0 ]] || versions=(1.20.3 2.3.0)
jar="${BRIDGE_JAR:-$root/java-bridge/target/flink-rust-bridge-0.1.0-SNAPSHOT.jar}"
work="$(mktemp -d "${TMPDIR:-/tmp}/flink-rust-api.XXXXXX")"
trap 'rm -rf "$work"' EXIT
(cd "$work" && mkdir classes && cd classes && unzip -q "$jar" 'io/*')
find "$work/classes" -name '*.class' -print0 | xargs -0 javap -c -p 2>/dev/null \
  | grep -oE '// (Method|InterfaceMethod|Field|class) org/apache/flink/[^ ]+' | sort -u >"$work/refs.txt"
echo "api-compat: $(wc -l <"$work/refs.txt") Flink references in $(basename "$jar")" >&2
status=0
for version in "${versions[@]}"; do
  home="$("$root/scripts/flink-dist.sh" "$version")"
  cp="$(ls "$home"/lib/*.jar "$home"/opt/flink-sql-client-*.jar | tr '\n' :)"
  out="$(java -cp "$cp" "$here/FlinkApiRefs.java" "$work/refs.txt")"
  echo "api-compat[$version]: $out" >&2
  grep -q 'missing=0$' <<<"$out" || status=1
done
exit $status
