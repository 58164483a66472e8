#!/usr/bin/env bash
# End-to-end check of the bridge jar on a real standalone Flink cluster (one JobManager, two
# TaskManager JVMs, 2 slots each), per Flink version:
#   a bounded rust-datagen sequence (ids 1..N) at parallelism 4, submitted with sql-client.sh
#   (--jar bridge.jar), written by Flink's filesystem sink as CSV; checks that every id 1..N
#   arrives exactly once, that the readers ran on both TaskManagers (REST: subtask ->
#   taskmanager-id), and that the native library was loaded in the JobManager (enumerator) and in
#   every TaskManager (readers), and that checkpoints (1 s interval) completed during the run.
#
# Usage: integration-tests/e2e/datagen-sql-e2e.sh [VERSION...]     (default: 1.20.3 2.3.0)
# Environment: BRIDGE_JAR (default java-bridge/target/flink-rust-bridge-0.1.0-SNAPSHOT.jar; build
#   it first with `mvn -B -q -DskipTests install`), E2E_ROWS (default 1000000),
#   E2E_KEEP=1 keeps the work directory and logs.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
versions=("$@")
[[ ${#versions[@]} -gt 0 ]] || versions=(1.20.3 2.3.0)
rows="${E2E_ROWS:-1000000}"
# Paced so the job runs ~4 s: checkpoints (1 s interval) snapshot the enumerator and the readers
# mid-stream, exercising the bridge's state serializers on every version.
rate="${E2E_ROWS_PER_SECOND:-250000}"
parallelism=4
taskmanagers=2
jar="${BRIDGE_JAR:-$root/java-bridge/target/flink-rust-bridge-0.1.0-SNAPSHOT.jar}"
[[ -f "$jar" ]] || { echo "e2e: no bridge jar at $jar (run: mvn -B -q -DskipTests install)" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/flink-rust-e2e.XXXXXX")"
# A snapshot of the jar: a concurrent rebuild must not change it under a running job.
cp "$jar" "$work/flink-rust-bridge.jar"

current=""
failures=()
cleanup() {
  local rc=$?
  [[ -n "$current" ]] && FLINK_CLUSTER_DIR="$work/$current/cluster" "$root/scripts/flink-cluster.sh" stop "$current" || true
  if [[ "${E2E_KEEP:-0}" == 1 || $rc -ne 0 || ${#failures[@]} -gt 0 ]]; then
    echo "e2e: kept $work (cluster logs in $work/VERSION/cluster/log)" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

say() { echo "e2e[$current]: $*" >&2; }
fail() { say "FAIL: $*"; failures+=("$current: $*"); }

# Prints "<job id> <source vertex id> <job state>" of the job named $1 (REST, JSON parsed with python3).
job_and_source_vertex() {
  curl -fsS "$FLINK_REST_URL/jobs/overview" | python3 -c '
import json, sys
jobs = [j for j in json.load(sys.stdin)["jobs"] if j["name"] == sys.argv[1]]
print(jobs[-1]["jid"] if jobs else "")' "$1" | {
    read -r jid
    [[ -n "$jid" ]] || return 1
    curl -fsS "$FLINK_REST_URL/jobs/$jid" | python3 -c '
import json, sys
job = json.load(sys.stdin)
src = [v for v in job["vertices"] if v["name"].startswith("Source")]
print(sys.argv[1], src[0]["id"] if src else "", job["state"])' "$jid"
  }
}

declare -A timing
for version in "${versions[@]}"; do
  current="$version"
  mkdir -p "$work/$version/out"
  t_install=$SECONDS
  "$root/scripts/flink-dist.sh" "$version" >/dev/null
  t_start=$SECONDS
  eval "$(FLINK_CLUSTER_DIR="$work/$version/cluster" "$root/scripts/flink-cluster.sh" start "$version" "$taskmanagers")"
  t_job=$SECONDS
  name="rust-datagen-e2e-$version"
  sql="$work/$version/job.sql"
  cat >"$sql" <<SQL
SET 'execution.runtime-mode' = 'streaming';
SET 'table.dml-sync' = 'true';
SET 'parallelism.default' = '$parallelism';
SET 'pipeline.name' = '$name';
SET 'execution.checkpointing.interval' = '1s';
CREATE TABLE numbers (id BIGINT NOT NULL) WITH (
  'connector' = 'rust-datagen',
  'number-of-rows' = '$rows',
  'rows-per-second' = '$rate',
  'fields.id.kind' = 'sequence',
  'fields.id.start' = '1',
  'fields.id.end' = '$rows'
);
CREATE TABLE sink (id BIGINT NOT NULL) WITH (
  'connector' = 'filesystem',
  'path' = 'file://$work/$version/out',
  'format' = 'csv'
);
INSERT INTO sink SELECT id FROM numbers;
SQL
  client_log="$work/$version/sql-client.log"
  rc=0
  "$FLINK_HOME/bin/sql-client.sh" --jar "$work/flink-rust-bridge.jar" -f "$sql" >"$client_log" 2>&1 || rc=$?
  [[ $rc -eq 0 ]] || fail "sql-client.sh exited with $rc (log: $client_log)"
  if grep -qiE 'exception|error' "$client_log"; then
    fail "sql-client reported an error:"; grep -iE -m 20 -A 12 'exception|error' "$client_log" >&2 || true
  fi
  t_verify=$SECONDS

  # 1. Exactly the ids 1..N, each once (finished part files only; in-progress ones are hidden).
  got="$work/$version/ids.txt"
  find "$work/$version/out" -type f ! -name '.*' -exec cat {} + | sort -n >"$got"
  if cmp -s "$got" <(seq 1 "$rows"); then
    say "OK: $rows rows, every id 1..$rows exactly once ($(find "$work/$version/out" -type f ! -name '.*' | wc -l) part files)"
  else
    fail "ids differ from 1..$rows: $(wc -l <"$got") rows, $(uniq -d "$got" | wc -l) duplicated, $(comm -13 "$got" <(seq 1 "$rows") | wc -l) missing"
  fi

  # 2. Readers on both TaskManagers (REST subtask details of the finished job).
  if read -r jid vid state < <(job_and_source_vertex "$name") && [[ -n "$vid" ]]; then
    placement="$(curl -fsS "$FLINK_REST_URL/jobs/$jid/vertices/$vid" | python3 -c '
import json, sys
v = json.load(sys.stdin)
for s in v["subtasks"]:
    print(s["subtask"], s.get("taskmanager-id", s.get("host")), s["status"])')"
    say "job $jid $state; source subtask -> TaskManager:"; sed 's/^/    /' <<<"$placement" >&2
    [[ "$state" == FINISHED ]] || fail "job state $state"
    # Flink itself fails a checkpoint when it triggers before all tasks run (not in the history)
    # or when a reader has already reached the end of its input ("task is closing"): benign.
    # Any other failure (e.g. a bridge state serializer throwing) fails the check.
    checkpoints="$(curl -fsS "$FLINK_REST_URL/jobs/$jid/checkpoints" | python3 -c '
import json, sys
j = json.load(sys.stdin)
bad = [h for h in j.get("history", []) if h.get("status") == "FAILED"
       and "task is closing" not in (h.get("failure_message") or "")]
for h in bad:
    print("checkpoint", h["id"], "failed:", (h.get("failure_message") or "")[:500], file=sys.stderr)
print(j["counts"]["completed"], j["counts"]["failed"], len(bad))')"
    read -r cp_ok cp_failed cp_bad <<<"$checkpoints"
    say "checkpoints: $cp_ok completed, $cp_failed failed ($cp_bad not explained by task start/end)"
    [[ "$cp_ok" -ge 2 && "$cp_bad" -eq 0 ]] || fail "checkpoints: $cp_ok completed, $cp_bad failed unexpectedly"
    n_sub="$(wc -l <<<"$placement")"
    n_tm="$(awk '{print $2}' <<<"$placement" | sort -u | wc -l)"
    [[ "$n_sub" -eq "$parallelism" ]] || fail "$n_sub source subtasks, expected $parallelism"
    [[ "$n_tm" -eq "$taskmanagers" ]] || fail "source subtasks on $n_tm TaskManagers, expected $taskmanagers"
  else
    fail "job $name not found over REST"
  fi

  # 3. Native library loaded in the JobManager (the enumerator) and every TaskManager (readers).
  marker='Loaded Flink Rust native library'
  jm_log="$(ls "$FLINK_LOG_DIR"/flink-*-standalonesession-*.log)"
  if grep -q "$marker" $jm_log && grep -q 'Starting split enumerator' $jm_log; then
    say "OK: JobManager: $(grep -m1 -o "$marker.*" $jm_log | cut -c1-120)"
  else
    fail "no enumerator / native library line in the JobManager log"
  fi
  for tm_log in "$FLINK_LOG_DIR"/flink-*-taskexecutor-*.log; do
    if grep -q "$marker" "$tm_log"; then
      say "OK: $(basename "$tm_log"): native library loaded"
    else
      fail "no native library line in $(basename "$tm_log")"
    fi
  done
  if grep -lE '^[0-9-]+ [0-9:,]+ (ERROR)' "$FLINK_LOG_DIR"/*.log >/dev/null 2>&1; then
    say "ERROR lines in cluster logs:"; grep -hE -A 8 '^[0-9-]+ [0-9:,]+ ERROR' "$FLINK_LOG_DIR"/*.log | head -60 >&2
  fi

  t_stop=$SECONDS
  FLINK_CLUSTER_DIR="$work/$version/cluster" "$root/scripts/flink-cluster.sh" stop "$version"
  current=""
  timing[$version]="install/check $((t_start - t_install)) s, cluster start $((t_job - t_start)) s, job $((t_verify - t_job)) s, checks $((t_stop - t_verify)) s, stop $((SECONDS - t_stop)) s"
done

for version in "${versions[@]}"; do echo "e2e timing $version: ${timing[$version]:-n/a}" >&2; done
if [[ ${#failures[@]} -gt 0 ]]; then
  printf 'e2e FAILED:\n' >&2; printf '  %s\n' "${failures[@]}" >&2
  exit 1
fi
echo "e2e: all checks passed on ${versions[*]}" >&2
