#!/usr/bin/env bash
# Upgrade check on a real standalone cluster: a savepoint taken by a rust-mysql-cdc job running the
# PREVIOUS bridge jar (built here from a git ref) restores with the CURRENT jar, and the committed
# output loses and repeats nothing. The golden checkpoint bytes (testdata/state, make test) pin the
# state formats one blob at a time; this runs the whole path a user takes: flink stop
# --savepointPath with the old jar, swap the jar, flink run -s.
#
#   1. the previous jar: `mvn package -pl java-bridge` (no install: the local Maven repository's
#      snapshot stays the current build's) in a temporary `git worktree` at PREVIOUS_REF, with its
#      own CARGO_TARGET_DIR; cached per commit in ~/.cache/flink-rust/upgrade/<commit>/;
#   2. two job jars of the same job (integration-tests/e2e/cdc-job's CdcChangelogJob, compiled
#      against each bridge): the bridge jar plus the job's classes, which is what the job's shade
#      build produces. (Not that build itself: it shades the one bridge installed in the local
#      repository, and Maven 3.8 has no second repository to put the old one in.);
#   3. one Flink cluster (scripts/flink-cluster.sh, one TaskManager with 2 slots), a table of
#      E2E_CDC_ROWS rows in the local MariaDB and cdc_changelog.py's random DML running from before
#      the first job to the end;
#   4. the job with the previous jar at parallelism 2: snapshot, then binlog changes committed;
#   5. `flink stop --savepointPath` (stop with a savepoint); the DML goes on while no job runs;
#   6. `flink run -s <savepoint>` with the current jar (same operator uids); it must report the
#      restore and commit more binlog changes;
#   7. the workload stops; the committed output (FileSink: exactly what completed checkpoints
#      cover) must equal the table with no duplicated, lost or reordered change
#      (cdc_changelog.py check), and no snapshot row may have been committed after the savepoint
#      (the restored job continues the binlog, it does not read the table again).
#
# Usage: integration-tests/e2e/upgrade.sh [PREVIOUS_REF] [FLINK_VERSION]   (or `make test-upgrade`)
# Defaults: PREVIOUS_REF $UPGRADE_FROM or the commit below; FLINK_VERSION $UPGRADE_FLINK_VERSION or
# 1.20.3. Needs the current bridge jar (BRIDGE_JAR, default
# java-bridge/target/flink-rust-bridge-0.1.0-SNAPSHOT.jar: `mvn -B -q -DskipTests -pl java-bridge
# package`, which make test-upgrade runs first). Took 161 s on a shared 2-core machine, 102 s
# of it building the previous jar (a release cargo build: more the first time), cached afterwards.
# Environment: UPGRADE_PREVIOUS_TARGET_DIR (the previous build's CARGO_TARGET_DIR, default a
#   temporary directory; a copy of target/ makes it reuse the compiled dependencies),
#   UPGRADE_CACHE (~/.cache/flink-rust/upgrade), E2E_CDC_ROWS (5000), E2E_CDC_DML_RATE (50
#   statements/s), E2E_CDC_STEP_CHANGES (100 committed binlog changes count as progress),
#   E2E_CDC_STEP_TIMEOUT (180 s per wait), E2E_KEEP=1 (keep the work directory), MVN (mvn -B -q).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

# The previous release. There are no release tags yet; 0f52618 is the last commit of the work
# session before the one that made checkpoint state upgradeable (2667a78: rust-core's version
# dispatch and upgrade hooks, the Java envelopes reading older versions) and changed the native
# library, the reader and the serializers since: the newest earlier build a user can hold
# savepoints of. It writes what this build writes (rust-mysql-cdc state version 2 in version 1
# envelopes), so the restore crosses a jar change without a format change, the common upgrade.
# cfacab0, the last build writing state version 1, exercises the 1 -> 2 upgrade hook instead
# (`upgrade.sh cfacab0`). When releases are tagged, make this the newest tag before the version
# under development.
UPGRADE_PREVIOUS_DEFAULT=0f52618

previous_ref="${1:-${UPGRADE_FROM:-$UPGRADE_PREVIOUS_DEFAULT}}"
version="${2:-${UPGRADE_FLINK_VERSION:-1.20.3}}"
jar="${BRIDGE_JAR:-$root/java-bridge/target/flink-rust-bridge-0.1.0-SNAPSHOT.jar}"
[[ -f "$jar" ]] || { echo "upgrade: no current bridge jar at $jar (run: mvn -B -q -DskipTests -pl java-bridge package)" >&2; exit 1; }
MVN="${MVN:-mvn -B -q}"
previous_commit="$(git -C "$root" rev-parse --verify "$previous_ref^{commit}")" || {
  echo "upgrade: $previous_ref is not a commit of $root" >&2
  exit 1
}
cache="${UPGRADE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flink-rust/upgrade}/$previous_commit"

E2E_ROOT="$root"
E2E_VERSION="$version"
E2E_SCENARIO=upgrade
E2E_FAILURES=()
source "$here/lib.sh"
# cdc_progress, cdc_committed_at_least, cdc_converge (the checked changelog of cdc-failover).
source "$here/scenarios/cdc-failover.sh"

work="$(mktemp -d "${TMPDIR:-/tmp}/flink-rust-upgrade.XXXXXX")"
E2E_WORK="$work"
tree=""
running=""
CDC_DML_PID=""
cleanup() {
  local rc=$?
  [[ -z "$CDC_DML_PID" ]] || kill -TERM "$CDC_DML_PID" 2>/dev/null || true
  [[ -z "$tree" ]] || git -C "$root" worktree remove --force "$tree" 2>/dev/null || true
  [[ -z "$running" ]] || FLINK_CLUSTER_DIR="$work/cluster" "$root/scripts/flink-cluster.sh" stop "$version" || true
  if [[ "${E2E_KEEP:-0}" == 1 || $rc -ne 0 || ${#E2E_FAILURES[@]} -gt 0 ]]; then
    echo "upgrade: kept $work (cluster logs in $work/cluster/log)" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
t_start=$SECONDS

# ---- 1. the previous jar ------------------------------------------------------------------------
build_previous() {
  local t0=$SECONDS target="${UPGRADE_PREVIOUS_TARGET_DIR:-$work/previous-target}" log="$work/previous-build.log" built
  tree="$work/previous-src"
  git -C "$root" worktree add --detach "$tree" "$previous_commit" >/dev/null 2>&1 || {
    echo "upgrade: git worktree add $tree $previous_commit failed" >&2
    exit 1
  }
  say "building the bridge jar of ${previous_commit:0:12} ($previous_ref) in $tree (CARGO_TARGET_DIR=$target, log $log)"
  # package, not install; SKIP_AARCH64: this check runs the host's library only.
  if ! (cd "$tree" && CARGO_TARGET_DIR="$target" SKIP_AARCH64=1 $MVN -DskipTests -pl java-bridge package) >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "upgrade: building the jar of $previous_ref failed (log above, $log)" >&2
    exit 1
  fi
  built="$(ls "$tree"/java-bridge/target/flink-rust-bridge-*.jar 2>/dev/null | grep -vE -- '-(sources|javadoc|tests)\.jar$' | head -n 1 || true)"
  [[ -n "$built" ]] || { echo "upgrade: no bridge jar in $tree/java-bridge/target" >&2; exit 1; }
  mkdir -p "$cache"
  cp "$built" "$cache/flink-rust-bridge.jar.tmp"
  mv "$cache/flink-rust-bridge.jar.tmp" "$cache/flink-rust-bridge.jar"
  git -C "$root" worktree remove --force "$tree"
  tree=""
  [[ -n "${UPGRADE_PREVIOUS_TARGET_DIR:-}" ]] || rm -rf "$target"
  say "built the previous jar in $((SECONDS - t0)) s: $cache/flink-rust-bridge.jar"
}
[[ -f "$cache/flink-rust-bridge.jar" ]] || build_previous
t_build=$((SECONDS - t_start))
# Snapshots of both jars: a concurrent rebuild must not change a jar under a running job.
cp "$cache/flink-rust-bridge.jar" "$work/previous-bridge.jar"
cp "$jar" "$work/current-bridge.jar"

# The check means something only if the jars differ where it matters: the native library and the
# bridge's classes (bridge_entries: CRC and name of each).
bridge_entries() {
  unzip -v "$1" | awk '$NF ~ /^(io\/flinkrust\/bridge\/|native\/).*[^\/]$/ {print $7, $NF}' | sort -k2
}
if cmp -s <(bridge_entries "$work/previous-bridge.jar") <(bridge_entries "$work/current-bridge.jar"); then
  echo "upgrade: the bridge of $previous_ref and the current one are identical (classes and native library): nothing to upgrade" >&2
  exit 1
fi
say "previous ${previous_commit:0:12} vs current: $(comm -3 <(bridge_entries "$work/previous-bridge.jar" | sort) <(bridge_entries "$work/current-bridge.jar" | sort) | awk '{print $NF}' | sort -u | wc -l) bridge entries differ (native library: $(cmp -s <(bridge_entries "$work/previous-bridge.jar" | grep ' native/') <(bridge_entries "$work/current-bridge.jar" | grep ' native/') && echo same || echo different))"

# ---- 2. the job jars ----------------------------------------------------------------------------
flink_home="$("$root/scripts/flink-dist.sh" "$version")"
job_src="$here/cdc-job/src/main/java/io/flinkrust/e2e/CdcChangelogJob.java"
JOB_MAIN=io.flinkrust.e2e.CdcChangelogJob
# make_job_jar BRIDGE OUT: the job compiled against BRIDGE (and Flink's lib/), added to a copy of it.
make_job_jar() {
  local bridge="$1" out="$2" classes
  classes="$(mktemp -d "$work/classes.XXXXXX")"
  javac -nowarn --release 11 -d "$classes" -cp "$bridge:$flink_home/lib/*" "$job_src" >"$classes.log" 2>&1 || {
    cat "$classes.log" >&2
    echo "upgrade: compiling $job_src against $bridge failed" >&2
    exit 1
  }
  cp "$bridge" "$out"
  jar --update --file "$out" -C "$classes" .
}
make_job_jar "$work/previous-bridge.jar" "$work/previous-job.jar"
make_job_jar "$work/current-bridge.jar" "$work/current-job.jar"

# ---- 3. cluster, table, workload ----------------------------------------------------------------
rows="${E2E_CDC_ROWS:-5000}" dml_rate="${E2E_CDC_DML_RATE:-50}" step="${E2E_CDC_STEP_CHANGES:-100}"
timeout="${E2E_CDC_STEP_TIMEOUT:-180}"
E2E_TASKMANAGERS=1
E2E_CHECKPOINT_DIR="$work/checkpoints"
t0=$SECONDS
running=1
eval "$(FLINK_CLUSTER_DIR="$work/cluster" FLINK_CLUSTER_CONF="${FLINK_CLUSTER_CONF:-}
  execution.checkpointing.dir=file://$E2E_CHECKPOINT_DIR
  restart-strategy.type=fixed-delay restart-strategy.fixed-delay.attempts=3
  restart-strategy.fixed-delay.delay=1s" \
  "$root/scripts/flink-cluster.sh" start "$version" "$E2E_TASKMANAGERS")"
t_cluster=$((SECONDS - t0))

dir="$work/cdc" db="e2e_upgrade_$$"
tool="$here/cdc_changelog.py"
mkdir -p "$dir"
python3 "$tool" selftest >"$dir/selftest.txt" 2>&1 || { cat "$dir/selftest.txt" >&2; echo "upgrade: cdc_changelog.py selftest failed" >&2; exit 1; }
eval "$("$root/scripts/mariadb.sh" start)"
sql=("$root/scripts/mariadb.sh" sql)
"${sql[@]}" -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db; USE $db;
  CREATE TABLE t (id BIGINT PRIMARY KEY, version BIGINT NOT NULL, payload VARCHAR(64));
  INSERT INTO t SELECT seq, 0, CONCAT('p', seq) FROM seq_1_to_$rows;"
python3 "$tool" dml --statements-per-second "$dml_rate" --key-space $((rows * 11 / 10)) --seed "$$" \
  --stats "$dir/dml.stats" -- "${sql[@]}" "$db" 2>"$dir/dml.err" &
CDC_DML_PID=$!

# The newest statement the workload has applied (each writes version = its number; 0: none yet).
max_version() { "${sql[@]}" -N -e "SELECT IFNULL(MAX(version), 0) FROM $db.t"; }
version_above() {
  local v
  v="$(max_version)"
  echo "newest version in the table: $v"
  ((v > $1))
}

# submit WHICH SERVER_IDS [SAVEPOINT]: flink run -d the WHICH (previous|current) job jar; sets CDC_JOB.
submit() {
  local which="$1" server_ids="$2" restore="${3:-}" log="$dir/submit-$1.log" args=(run -d -p 2 -c "$JOB_MAIN")
  [[ -z "$restore" ]] || args+=(-s "$restore")
  if ! "$FLINK_HOME/bin/flink" "${args[@]}" "$work/$which-job.jar" --hostname "$MYSQL_HOST" --port "$MYSQL_PORT" \
    --username "$MYSQL_USER" --password "$MYSQL_PASSWORD" --database "$db" --table t \
    --server-id "$server_ids" --output "file://$dir/out" --checkpoint-interval-ms 1000 \
    --chunk-size 500 --name "cdc-upgrade-$which" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    fail "flink ${args[*]} ($which jar) failed"
    return 1
  fi
  CDC_JOB="$(submitted_job_id "$log")"
  [[ -n "$CDC_JOB" ]] || { fail "no job id in $log"; return 1; }
  say "submitted $CDC_JOB with the $which jar${restore:+ from $restore}"
}

upgrade_steps() {
  local snapshot binlog subtask
  # ---- 4. the previous jar: snapshot and binlog changes committed ----
  submit previous 91000-91001 || return 0
  wait_until "job $CDC_JOB fully running" "$timeout" job_fully_running "$CDC_JOB" || return 0
  # Binlog changes flow only once every snapshot chunk is done (and a checkpoint covers them).
  wait_until "the snapshot and $step binlog changes committed by the previous jar" "$timeout" \
    cdc_committed_at_least "$dir" 1 "$step" || return 0

  # ---- 5. stop with a savepoint; changes go on while no job runs ----
  local log="$dir/stop.log" savepoint previous_job="$CDC_JOB" stopped_at
  if ! "$FLINK_HOME/bin/flink" stop --savepointPath "file://$dir/savepoints" "$CDC_JOB" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    fail "flink stop --savepointPath failed"
    return 0
  fi
  savepoint="$(grep -oE 'Savepoint completed\. Path: [^ ]+' "$log" | awk '{print $4}')"
  [[ -n "$savepoint" ]] || { fail "no savepoint path in $log"; return 0; }
  wait_until "job $CDC_JOB FINISHED after stop with savepoint" 60 job_state_is "$CDC_JOB" FINISHED || return 0
  stopped_at="$(max_version)"
  read -r snapshot binlog subtask <<<"$(cdc_progress "$dir")"
  UPGRADE_SNAPSHOT_AT_SAVEPOINT="$snapshot"
  say "previous jar stopped with savepoint $savepoint: $snapshot snapshot rows and $binlog binlog changes committed; newest version $stopped_at"
  # At least dml_rate statements (about a second of the workload) while no job runs.
  wait_until "more DML while no job runs" 60 version_above $((stopped_at + dml_rate)) || return 0

  # ---- 6. the current jar from that savepoint ----
  submit current 91002-91003 "$savepoint" || return 0
  wait_until "job $CDC_JOB restored from $savepoint" "$timeout" job_restored "$CDC_JOB" || return 0
  wait_until "job $CDC_JOB fully running" "$timeout" job_fully_running "$CDC_JOB" || return 0
  say "current jar: $(job_restored "$CDC_JOB") (savepoint of $previous_job), all subtasks running"
  wait_until "$step more binlog changes committed by the current jar" "$timeout" \
    cdc_committed_at_least "$dir" 0 $((binlog + step)) || return 0
  wait_until "a checkpoint of the current jar's job" "$timeout" checkpoints_at_least "$CDC_JOB" 1 || return 0
}
CDC_JOB=""
UPGRADE_SNAPSHOT_AT_SAVEPOINT=""
t0=$SECONDS
upgrade_steps
t_steps=$((SECONDS - t0))

# ---- 7. the check ----
kill -TERM "$CDC_DML_PID" 2>/dev/null || true
dml_rc=0
wait "$CDC_DML_PID" || dml_rc=$?
CDC_DML_PID=""
[[ $dml_rc -eq 0 ]] || fail "the DML workload failed (status $dml_rc): $(tail -n 3 "$dir/dml.err")"
say "DML workload: $(cat "$dir/dml.stats" 2>/dev/null) at $dml_rate/s"
if [[ -n "$CDC_JOB" && "$(job_state "$CDC_JOB")" == RUNNING ]]; then
  cdc_converge "$dir" "$db" "$timeout"
  read -r snapshot binlog subtask <<<"$(cdc_progress "$dir")"
  if [[ "$snapshot" == "$UPGRADE_SNAPSHOT_AT_SAVEPOINT" ]]; then
    say "OK: no snapshot row after the restore ($snapshot snapshot rows, all committed by the previous jar; $binlog binlog changes)"
  else
    fail "the restored job read the table again: $snapshot snapshot rows committed, $UPGRADE_SNAPSHOT_AT_SAVEPOINT at the savepoint"
  fi
  curl -fsS --max-time 30 -X PATCH "$FLINK_REST_URL/jobs/$CDC_JOB?mode=cancel" >/dev/null || fail "cancelling $CDC_JOB failed"
  wait_until "job $CDC_JOB CANCELED" 60 job_state_is "$CDC_JOB" CANCELED || true
elif [[ ${#E2E_FAILURES[@]} -eq 0 ]]; then
  fail "the current jar's job is not running: $(job_state "$CDC_JOB")"
fi
if grep -qE '^[0-9-]+ [0-9:,]+ ERROR' "$FLINK_LOG_DIR"/*.log 2>/dev/null; then
  say "ERROR lines in the cluster logs (not failing the test):"
  grep -hE -A 8 '^[0-9-]+ [0-9:,]+ ERROR' "$FLINK_LOG_DIR"/*.log | head -40 >&2
fi
if [[ ${#E2E_FAILURES[@]} -eq 0 ]]; then
  "${sql[@]}" -e "DROP DATABASE $db" || true
else
  say "kept database $db and $dir for inspection"
fi
FLINK_CLUSTER_DIR="$work/cluster" "$root/scripts/flink-cluster.sh" stop "$version"
running=""

echo "upgrade timing: previous jar ${t_build} s$([[ $t_build -le 1 ]] && echo " (cached)"), cluster start ${t_cluster} s, jobs and restore ${t_steps} s, total $((SECONDS - t_start)) s" >&2
if [[ ${#E2E_FAILURES[@]} -gt 0 ]]; then
  printf 'upgrade FAILED:\n' >&2
  printf '  %s\n' "${E2E_FAILURES[@]}" >&2
  exit 1
fi
echo "upgrade: a savepoint of ${previous_commit:0:12} ($previous_ref) restored with $(basename "$jar") on Flink $version: output equals the table, nothing lost or repeated, no re-snapshot" >&2
