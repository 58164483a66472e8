#!/usr/bin/env bash
# End-to-end tests of the one bridge jar on real standalone Flink clusters: per Flink version, one
# cluster (a JobManager and two TaskManager JVMs with 2 slots each, scripts/flink-cluster.sh) that
# every scenario reuses, in this order (scenarios/<name>.sh has the details):
#   sql-client     SQL through sql-client.sh -f --jar bridge.jar; streaming, checkpoints
#   flink-run-sql  the bridge jar's SQL runner: flink run bridge.jar --sql-file job.sql
#   datastream     examples/datastream-job, built with plain `mvn package`: flink run job.jar
#   session        a rust-mysql-cdc job (integration-tests/e2e/cdc-job) submitted over REST and
#                  cancelled once it emitted every row, 50 times on one cluster (10 on versions not
#                  in E2E_LONG_VERSIONS); TaskManager RSS, NMT, Metaspace, threads, FDs, library copies
#   quickstart-cdc docs/quickstart-cdc.md run as written: its MySQL statements, its files and its
#                  commands (sql-client.sh --jar, flink cancel); the rows the job's print sink
#                  writes must be the output the page shows
#   cdc-failover   that job with DML running, through two TaskManager kills, a savepoint round trip
#                  and a JobManager restart; the committed output must equal the table, exactly
#                  once per change. Runs on E2E_LONG_VERSIONS only (~3 min each).
# The datagen scenarios check their output exactly (each id 1..N once) and that their readers ran
# on both TaskManagers; the CDC ones that the committed output equals the table (cdc_changelog.py).
#
# Usage: integration-tests/e2e/e2e.sh [VERSION...]     (default: 1.20.3 2.3.0)
# Needs the bridge jar and, for the example job, the bridge installed in the local Maven
# repository: `mvn -B -q -DskipTests install` (what `make test-e2e` runs first).
# Environment: BRIDGE_JAR (default java-bridge/target/flink-rust-bridge-0.1.0-SNAPSHOT.jar),
#   E2E_SCENARIOS (default: all, in the order above), E2E_KEEP=1 keeps the work directory
#   and the cluster logs, E2E_LONG_VERSIONS (the versions that run the long scenarios, see above;
#   default: the last version given; "1.20.3 2.3.0" runs them on both),
#   MVN (the Maven command for the job builds, default `mvn -B -q`; pass -Dmaven.repo.local=...
#   to build against a private repository); each scenario file lists its own variables.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
versions=("$@")
[[ ${#versions[@]} -gt 0 ]] || versions=(1.20.3 2.3.0)
read -r -a scenarios <<<"${E2E_SCENARIOS:-sql-client flink-run-sql datastream session quickstart-cdc cdc-failover}"
# Scenarios too slow to run on every version: cdc-failover runs on these versions only, and session
# runs its 50 cycles on these, 10 on the others.
long_only=" cdc-failover "
read -r -a long_versions <<<"${E2E_LONG_VERSIONS:-${versions[${#versions[@]} - 1]}}"
jar="${BRIDGE_JAR:-$root/java-bridge/target/flink-rust-bridge-0.1.0-SNAPSHOT.jar}"
[[ -f "$jar" ]] || { echo "e2e: no bridge jar at $jar (run: mvn -B -q -DskipTests install)" >&2; exit 1; }

E2E_ROOT="$root"
MVN="${MVN:-mvn -B -q}"
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
  # A scenario's background workload (cdc-failover's DML), if e2e.sh was interrupted.
  [[ -z "${CDC_DML_PID:-}" ]] || kill -TERM "$CDC_DML_PID" 2>/dev/null || true
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
# build_job DIR JAR_NAME VAR: `$MVN package` in DIR, copies target/JAR_NAME into the work directory,
# checks that it shades the very bridge under test and sets VAR to the copy's path.
build_job() {
  local project="$1" name="$2" t0=$SECONDS log="$work/$(basename "$1")-build.log"
  (cd "$project" && $MVN package) >"$log" 2>&1 || {
    cat "$log" >&2
    echo "e2e: building $project failed" >&2
    exit 1
  }
  cp "$project/target/$name" "$work/$name"
  if ! cmp -s <(bridge_entries "$E2E_BRIDGE_JAR") <(bridge_entries "$work/$name"); then
    echo "e2e: the bridge inside $name differs from $jar: the installed" \
      "io.flinkrust:flink-rust-bridge is another build. Run: $MVN -DskipTests install" >&2
    exit 1
  fi
  echo "e2e: built $project with mvn package in $((SECONDS - t0)) s (same bridge classes and native library as $(basename "$jar"))" >&2
  printf -v "$3" '%s' "$work/$name"
}
if [[ " ${scenarios[*]} " =~ " datastream " ]]; then
  build_job "$root/examples/datastream-job" datastream-job-0.1.0-SNAPSHOT.jar E2E_JOB_JAR
fi
if [[ " ${scenarios[*]} " =~ " cdc-failover " || " ${scenarios[*]} " =~ " session " ]]; then
  build_job "$here/cdc-job" cdc-changelog-job-0.1.0-SNAPSHOT.jar E2E_CDC_JOB_JAR
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
  # Checkpoints in a directory of the run, kept when a job is cancelled or its JobManager dies (so
  # cdc-failover can resume from one), fixed-delay restarts on both versions (2.x defaults to
  # exponential delays) without a practical limit (until a replacement TaskManager registers, each
  # attempt fails at once for want of slots: on a loaded machine that took more than 20 attempts
  # in 20 s; the scenarios' deadlines bound the wait), heartbeats that notice a killed TaskManager within seconds (two failed
  # heartbeat RPCs), and native memory tracking in the TaskManagers (session: jcmd VM.native_memory).
  E2E_CHECKPOINT_DIR="$E2E_WORK/checkpoints"
  eval "$(FLINK_CLUSTER_DIR="$E2E_WORK/cluster" FLINK_CLUSTER_CONF="${FLINK_CLUSTER_CONF:-}
    execution.checkpointing.dir=file://$E2E_CHECKPOINT_DIR
    execution.checkpointing.externalized-checkpoint-retention=RETAIN_ON_CANCELLATION
    restart-strategy.type=fixed-delay restart-strategy.fixed-delay.attempts=100000
    restart-strategy.fixed-delay.delay=1s heartbeat.interval=2000 heartbeat.timeout=20000
    env.java.opts.taskmanager=-XX:NativeMemoryTracking=summary" \
    "$root/scripts/flink-cluster.sh" start "$version" "$E2E_TASKMANAGERS")"
  timing[$version]="install/check ${t_dist} s, cluster start $((SECONDS - t0)) s"
  for scenario in "${scenarios[@]}"; do
    E2E_SESSION_DEFAULT_RUNS=10
    if [[ " ${long_versions[*]} " == *" $version "* ]]; then
      E2E_SESSION_DEFAULT_RUNS=50
    elif [[ "$long_only" == *" $scenario "* ]]; then
      timing[$version]+=", $scenario skipped (E2E_LONG_VERSIONS=${long_versions[*]})"
      continue
    fi
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
