# Scenario: the bridge jar's own main class, the SQL runner: flink run bridge.jar --sql-file job.sql
#   A bounded rust-datagen sequence (ids 1..N) at parallelism 4 in batch mode, written by Flink's
#   filesystem sink as CSV. Checks: the runner reports the job finished, every id exactly once,
#   readers on both TaskManagers.
# Environment: E2E_RUN_SQL_ROWS (200000).

scenario_flink_run_sql() {
  local rows="${E2E_RUN_SQL_ROWS:-200000}" parallelism=4
  local dir="$E2E_WORK/flink-run-sql" name="rust-datagen-flink-run-sql-$E2E_VERSION"
  mkdir -p "$dir/out"
  cat >"$dir/job.sql" <<SQL
-- Batch: the sink's files are final when the job ends.
SET 'execution.runtime-mode' = 'batch';
SET 'parallelism.default' = '$parallelism';
SET 'pipeline.name' = '$name';
CREATE TABLE numbers (id BIGINT NOT NULL) WITH (
  'connector' = 'rust-datagen',
  'number-of-rows' = '$rows',
  'rows-per-second' = '100000000',
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
  local log="$dir/flink-run.log" rc=0
  "$FLINK_HOME/bin/flink" run "$E2E_BRIDGE_JAR" --sql-file "$dir/job.sql" >"$log" 2>&1 || rc=$?
  [[ $rc -eq 0 ]] || { fail "flink run exited with $rc:"; tail -n 40 "$log" >&2; }
  # The runner's own progress lines: submitted, then (attached) finished.
  local jid
  jid="$(grep -oE 'submitted job [0-9a-f]{32}' "$log" | awk '{print $3}' | tail -n 1)"
  if [[ -z "$jid" ]]; then
    fail "no 'submitted job <id>' line from the SQL runner (log: $log)"
    jid="$(latest_job_id "$name")"
  fi
  grep -qF "job $jid finished." "$log" || fail "the SQL runner did not report job $jid finished (log: $log)"
  say "flink run: $(grep -E '^\[INFO\] Statement' "$log" | tr '\n' ' ')"

  check_ids "$dir/out" "$rows"
  [[ -z "$jid" ]] || check_job "$jid" "$parallelism"
}
