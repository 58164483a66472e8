# Scenario: SQL through sql-client.sh -f, with the bridge jar added by --jar.
#   A bounded rust-datagen sequence (ids 1..N) at parallelism 4, in streaming mode with a
#   checkpoint every second (paced to run ~4 s, so checkpoints snapshot the enumerator and the
#   readers mid-stream), written by Flink's filesystem sink as CSV. Checks: every id exactly once,
#   readers on both TaskManagers, checkpoints completed, and the native library loaded in the
#   JobManager (enumerator) and in every TaskManager (readers).
# Environment: E2E_ROWS (1000000), E2E_ROWS_PER_SECOND (250000).

scenario_sql_client() {
  local rows="${E2E_ROWS:-1000000}" rate="${E2E_ROWS_PER_SECOND:-250000}" parallelism=4
  local dir="$E2E_WORK/sql-client" name="rust-datagen-sql-client-$E2E_VERSION"
  mkdir -p "$dir/out"
  cat >"$dir/job.sql" <<SQL
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
  'path' = 'file://$dir/out',
  'format' = 'csv'
);
INSERT INTO sink SELECT id FROM numbers;
SQL
  local log="$dir/sql-client.log" rc=0
  "$FLINK_HOME/bin/sql-client.sh" --jar "$E2E_BRIDGE_JAR" -f "$dir/job.sql" >"$log" 2>&1 || rc=$?
  [[ $rc -eq 0 ]] || fail "sql-client.sh exited with $rc (log: $log)"
  if grep -qiE 'exception|error' "$log"; then
    fail "sql-client reported an error:"
    grep -iE -m 20 -A 12 'exception|error' "$log" >&2 || true
  fi

  check_ids "$dir/out" "$rows"
  local jid
  jid="$(latest_job_id "$name")"
  if [[ -z "$jid" ]]; then
    fail "job $name not found over REST"
    return
  fi
  check_job "$jid" "$parallelism"

  # Flink itself fails checkpoints that meet tasks starting or finishing, with these reasons of its
  # CheckpointFailureReason (seen here: all three, at the end of the job, by a few milliseconds):
  # TASK_NOT_READY, TASK_CLOSING, CHECKPOINT_COORDINATOR_SUSPEND (the job finished while the
  # checkpoint was pending), and a TaskManager "received a checkpoint request for unknown task"
  # (the subtask had just finished and was released). Those are benign; any other failure (e.g. a bridge state serializer
  # throwing) fails the check. A checkpoint triggered before all tasks run is not in the history.
  local checkpoints cp_ok cp_failed cp_bad
  checkpoints="$(rest "/jobs/$jid/checkpoints" | python3 -c '
import json, sys
j = json.load(sys.stdin)
benign = ("(tasks not ready)", "(task is closing)", "Checkpoint Coordinator is suspending",
          "received a checkpoint request for unknown task")
bad = [h for h in j.get("history", []) if h.get("status") == "FAILED"
       and not any(b in (h.get("failure_message") or "") for b in benign)]
for h in bad:
    print("checkpoint", h["id"], "failed:", (h.get("failure_message") or "")[:500], file=sys.stderr)
print(j["counts"]["completed"], j["counts"]["failed"], len(bad))')"
  read -r cp_ok cp_failed cp_bad <<<"$checkpoints"
  say "checkpoints: $cp_ok completed, $cp_failed failed ($cp_bad not explained by tasks starting or finishing)"
  [[ "$cp_ok" -ge 2 && "$cp_bad" -eq 0 ]] || fail "checkpoints: $cp_ok completed, $cp_bad failed unexpectedly"

  # Native library loaded in the JobManager (the enumerator) and every TaskManager (readers).
  local marker='Loaded Flink Rust native library' jm_log tm_log
  jm_log="$(ls "$FLINK_LOG_DIR"/flink-*-standalonesession-*.log)"
  if grep -q "$marker" "$jm_log" && grep -q 'Starting split enumerator' "$jm_log"; then
    say "OK: JobManager: $(grep -m1 -o "$marker.*" "$jm_log" | cut -c1-120)"
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
  return 0
}
