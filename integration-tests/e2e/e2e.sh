#!/usr/bin/env bash
# End-to-end tests of the one bridge jar on real standalone Flink clusters: per Flink version, one
# cluster (a JobManager and two TaskManager JVMs with 2 slots each, scripts/flink-cluster.sh) that
# every scenario reuses, in this order (scenarios/<name>.sh has the details):
#   sql-client     SQL through sql-client.sh -f --jar bridge.jar; streaming, checkpoints
#   flink-run-sql  the bridge jar's SQL runner: flink run bridge.jar --sql-file job.sql
#   datastream     examples/datastream-job, built with plain `mvn package`: flink run job.jar
#   session        that job run 10 times on the same cluster; TaskManager RSS/threads/FDs per run
# Every scenario checks its output exactly (each id 1..N once) and that its readers ran on both
# TaskManagers.
#
# Usage: integration-tests/e2e/e2e.sh [VERSION...]     (default: 1.20.3 2.3.0)
# Needs the bridge jar and, for the example job, the bridge installed in the local Maven
# repository: `mvn -B -q -DskipTests install` (what `make test-e2e` runs first).
# Environment: BRIDGE_JAR (default java-bridge/target/flink-rust-bridge-0.1.0-SNAPSHOT.jar),
#   E2E_SCENARIOS (default: all four, in the order above), E2E_KEEP=1 keeps the work directory
#   and the cluster logs; each scenario file lists its own variables.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
versions=("$@")
[[ ${#versions[@]} -gt 0 ]] || versions=(1.20.3 2.3.0)
read -r -a scenarios <<<"${E2E_SCENARIOS:-sql-client flink-run-sql datastream session}"
jar="${BRIDGE_JAR:-$root/java-bridge/target/flink-rust-bridge-0.1.0-SNAPSHOT.jar}"
[[ -f "$jar" ]] || { echo "e2e: no bridge jar at $jar (run: mvn -B -q -DskipTests install)" >&2; exit 1; }

source "$here/lib.sh"
for scenario in "${scenarios[@]}"; do
  [[ -f "$here/scenarios/$scenario.sh" ]] || { echo "e2e: no scenario $scenario in $here/scenarios" >&2; exit 2; }
  source "$here/scenarios/$scenario.sh"
done

work="$(mktemp -d "${TMPDIR:-/tmp}/flink-rust-e2e.XXXXXX")"
E2E_FAILURES=()
E2E_VERSION=-
E2E_SCENARIO=setup
E2E_TASKMANAGERS=2
running=""
cleanup() {
  local rc=$?
  [[ -n "$running" ]] && FLINK_CLUSTER_DIR="$work/$running/cluster" "$root/scripts/flink-cluster.sh" stop "$running" || true
  if [[ "${E2E_KEEP:-0}" == 1 || $rc -ne 0 || ${#E2E_FAILURES[@]} -gt 0 ]]; then
    echo "e2e: kept $work (cluster logs in $work/VERSION/cluster/log)" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

# Snapshots: a concurrent rebuild must not change the jars under a running job.
E2E_BRIDGE_JAR="$work/flink-rust-bridge.jar"
cp "$jar" "$E2E_BRIDGE_JAR"

# The example job, built as a user would: plain `mvn package` against the installed bridge.
# It must shade the very bridge under test (the local repository is shared: another build may
# have installed a different one since).
bridge_entries() {
  unzip -v "$1" | awk '$NF ~ /^(io\/flinkrust\/bridge\/|native\/).*[^\/]$/ {print $7, $NF}' | sort -k2
}
if [[ " ${scenarios[*]} " =~ " datastream " || " ${scenarios[*]} " =~ " session " ]]; then
  t0=$SECONDS
  (cd "$root/examples/datastream-job" && ${MVN:-mvn -B -q} package) >"$work/example-build.log" 2>&1 || {
    cat "$work/example-build.log" >&2
    echo "e2e: building examples/datastream-job failed" >&2
    exit 1
  }
  E2E_JOB_JAR="$work/datastream-job.jar"
  cp "$root/examples/datastream-job/target/datastream-job-0.1.0-SNAPSHOT.jar" "$E2E_JOB_JAR"
  if ! cmp -s <(bridge_entries "$E2E_BRIDGE_JAR") <(bridge_entries "$E2E_JOB_JAR"); then
    echo "e2e: the bridge inside the example job differs from $jar: the installed" \
      "io.flinkrust:flink-rust-bridge is another build. Run: mvn -B -q -DskipTests install" >&2
    exit 1
  fi
  echo "e2e: built examples/datastream-job with mvn package in $((SECONDS - t0)) s (same bridge classes and native library as $(basename "$jar"))" >&2
fi

declare -A timing=()
for version in "${versions[@]}"; do
  E2E_VERSION="$version"
  E2E_SCENARIO=cluster
  E2E_WORK="$work/$version"
  mkdir -p "$E2E_WORK"
  t0=$SECONDS
  "$root/scripts/flink-dist.sh" "$version" >/dev/null
  t_dist=$((SECONDS - t0))
  t0=$SECONDS
  running="$version"
  eval "$(FLINK_CLUSTER_DIR="$E2E_WORK/cluster" "$root/scripts/flink-cluster.sh" start "$version" "$E2E_TASKMANAGERS")"
  timing[$version]="install/check ${t_dist} s, cluster start $((SECONDS - t0)) s"
  for scenario in "${scenarios[@]}"; do
    E2E_SCENARIO="$scenario"
    t0=$SECONDS
    "scenario_${scenario//-/_}" || fail "the scenario stopped with status $?"
    timing[$version]+=", $scenario $((SECONDS - t0)) s"
  done
  E2E_SCENARIO=logs
  if grep -qE '^[0-9-]+ [0-9:,]+ ERROR' "$FLINK_LOG_DIR"/*.log 2>/dev/null; then
    say "ERROR lines in the cluster logs (not failing the test):"
    grep -hE -A 8 '^[0-9-]+ [0-9:,]+ ERROR' "$FLINK_LOG_DIR"/*.log | head -60 >&2
  fi
  t0=$SECONDS
  FLINK_CLUSTER_DIR="$E2E_WORK/cluster" "$root/scripts/flink-cluster.sh" stop "$version"
  running=""
  timing[$version]+=", stop $((SECONDS - t0)) s"
done

for version in "${versions[@]}"; do echo "e2e timing $version: ${timing[$version]:-n/a}" >&2; done
if [[ ${#E2E_FAILURES[@]} -gt 0 ]]; then
  printf 'e2e FAILED:\n' >&2
  printf '  %s\n' "${E2E_FAILURES[@]}" >&2
  exit 1
fi
echo "e2e: all checks passed on ${versions[*]} (${scenarios[*]})" >&2
