# Scenario: rust-mysql-cdc survives, exactly once, everything a standalone cluster does to a job.
# One job lineage against the local MariaDB (scripts/mariadb.sh, a database of its own), with
# random DML (inserts, updates, primary-key changes, deletes, upserts, small transactions) running
# from before the first submission to the end:
#   1. snapshot phase: kill -9 a TaskManager running readers once a fifth of the (rate-limited)
#      snapshot is committed; a replacement TaskManager is started; the job must restore from a
#      checkpoint and finish the snapshot;
#   2. binlog phase: kill -9 the TaskManager running the binlog reader (the subtask that wrote the
#      newest committed binlog changes); replacement; restore from a checkpoint;
#   3. `flink stop --savepointPath`, then `flink run -s <savepoint>` at parallelism 2 (was 4);
#   4. kill -9 the JobManager, start it again (no HA: the job is gone), and `flink run -s` from the
#      newest retained checkpoint (RETAIN_ON_CANCELLATION, set by e2e.sh) at parallelism 3.
# After each step the job must make progress: more committed binlog changes. Then the workload
# stops and the committed output, materialized per key by cdc_changelog.py check, must equal
# `SELECT id, version, payload` of the table, with no duplicated, lost or out-of-order change.
#
# Why files: the job (integration-tests/e2e/cdc-job) writes each change as a line through Flink's
# FileSink, whose part files become visible only when the checkpoint covering them completes (and
# a restore commits exactly the restored checkpoint's pending files). The visible files are thus
# the output of an exactly-once sink, across restores, savepoints and a new JobManager, and they
# outlive every job, which a collect sink (as the MiniCluster test uses) would not.
#
# Costs about 3 minutes, so e2e.sh runs it on one Flink version unless told otherwise
# (E2E_FAILOVER_VERSIONS). Needs TaskManagers with 2 slots each (parallelism 4 on 2 TaskManagers
# puts readers on both), heartbeats tight enough to notice a dead TaskManager within seconds, a
# checkpoint directory and retention (all set by e2e.sh through FLINK_CLUSTER_CONF).
# Environment: E2E_CDC_ROWS (20000 initial rows), E2E_CDC_SNAPSHOT_RATE (2000 rows/s: the snapshot
#   takes ~10 s, so a TaskManager can die in the middle of it), E2E_CDC_DML_RATE (100 statements/s),
#   E2E_CDC_STEP_CHANGES (200: committed binlog changes that count as progress after each step),
#   E2E_CDC_STEP_TIMEOUT (180 s per wait).

scenario_cdc_failover() {
  local rows="${E2E_CDC_ROWS:-20000}" snapshot_rate="${E2E_CDC_SNAPSHOT_RATE:-2000}"
  local dml_rate="${E2E_CDC_DML_RATE:-100}" step="${E2E_CDC_STEP_CHANGES:-200}"
  local timeout="${E2E_CDC_STEP_TIMEOUT:-180}"
  local dir="$E2E_WORK/cdc-failover" db="e2e_failover_$$_${E2E_VERSION//./_}"
  local tool="$E2E_ROOT/integration-tests/e2e/cdc_changelog.py"
  mkdir -p "$dir"
  # The checker must be able to fail: made-up duplicated, lost and reordered changes.
  python3 "$tool" selftest >"$dir/selftest.txt" 2>&1 || { fail "cdc_changelog.py selftest: $(cat "$dir/selftest.txt")"; return 0; }
  eval "$("$E2E_ROOT/scripts/mariadb.sh" start)"
  local sql=("$E2E_ROOT/scripts/mariadb.sh" sql)
  "${sql[@]}" -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db; USE $db;
    CREATE TABLE t (id BIGINT PRIMARY KEY, version BIGINT NOT NULL, payload VARCHAR(64));
    INSERT INTO t SELECT seq, 0, CONCAT('p', seq) FROM seq_1_to_$rows;" || { fail "could not create $db"; return 0; }

  # The workload runs from before the first job to the end of the scenario.
  python3 "$tool" dml --statements-per-second "$dml_rate" --key-space $((rows * 11 / 10)) --seed "$$" \
    --stats "$dir/dml.stats" -- "${sql[@]}" "$db" 2>"$dir/dml.err" &
  CDC_DML_PID=$!

  cdc_failover_steps "$dir" "$db" "$rows" "$snapshot_rate" "$step" "$timeout"

  # Stop the workload (if a step failed, too) and the last job; keep the database only on failure.
  kill -TERM "$CDC_DML_PID" 2>/dev/null || true
  local dml_rc=0
  wait "$CDC_DML_PID" || dml_rc=$?
  CDC_DML_PID="" # (e2e.sh's exit trap stops it if set)
  [[ $dml_rc -eq 0 ]] || fail "the DML workload failed (status $dml_rc): $(tail -n 3 "$dir/dml.err")"
  say "DML workload: $(cat "$dir/dml.stats" 2>/dev/null) at $dml_rate/s"
  if [[ -n "${CDC_JOB:-}" && "$(job_state "$CDC_JOB")" == RUNNING ]]; then
    cdc_converge "$dir" "$db" "$timeout"
    curl -fsS --max-time 30 -X PATCH "$FLINK_REST_URL/jobs/$CDC_JOB?mode=cancel" >/dev/null || fail "cancelling $CDC_JOB failed"
    wait_until "job $CDC_JOB CANCELED" 60 job_state_is "$CDC_JOB" CANCELED || true
  fi
  local failures_before="${CDC_FAILURES_BEFORE:-0}"
  if [[ ${#E2E_FAILURES[@]} -eq $failures_before ]]; then
    "${sql[@]}" -e "DROP DATABASE $db" || true
  else
    say "kept database $db and $dir for inspection"
  fi
  return 0
}

# The newest complete checkpoint (chk-N with its _metadata) under $1, or nothing.
newest_retained_checkpoint() {
  local n
  for n in $(ls "$1" 2>/dev/null | sed -n 's/^chk-\([0-9]*\)$/\1/p' | sort -rn); do
    [[ -f "$1/chk-$n/_metadata" ]] && { echo "$1/chk-$n"; return 0; }
  done
  return 0
}

# Committed binlog changes so far (cdc_changelog.py progress: "snapshot binlog last_subtask").
cdc_progress() { python3 "$E2E_ROOT/integration-tests/e2e/cdc_changelog.py" progress "$1/out"; }

# Succeeds when the committed output in $1 has at least $2 snapshot rows and $3 binlog changes.
cdc_committed_at_least() {
  local snapshot binlog subtask
  read -r snapshot binlog subtask <<<"$(cdc_progress "$1")"
  echo "committed: $snapshot snapshot rows, $binlog binlog changes"
  ((snapshot >= $2 && binlog >= $3))
}

# flink run -d [-s PATH] at parallelism $2 with server ids $3; sets CDC_JOB.
cdc_submit() {
  local dir="$1" parallelism="$2" server_ids="$3" restore="${4:-}" log
  log="$dir/submit-$(date +%s%N).log"
  local args=(run -d -p "$parallelism")
  [[ -z "$restore" ]] || args+=(-s "$restore")
  # MYSQL_* come from scripts/mariadb.sh start (127.0.0.1:3307 and the CDC user it creates).
  if ! "$FLINK_HOME/bin/flink" "${args[@]}" "$E2E_CDC_JOB_JAR" --hostname "$MYSQL_HOST" --port "$MYSQL_PORT" \
    --username "$MYSQL_USER" --password "$MYSQL_PASSWORD" --database "$CDC_DB" --table t \
    --server-id "$server_ids" --output "file://$dir/out" --checkpoint-interval-ms 1000 \
    --rate-limit-rows-per-second "$CDC_SNAPSHOT_RATE" --chunk-size 500 --name "cdc-failover-$E2E_VERSION" >"$log" 2>&1; then
    fail "flink ${args[*]} failed:"
    tail -n 30 "$log" >&2
    return 1
  fi
  CDC_JOB="$(submitted_job_id "$log")"
  [[ -n "$CDC_JOB" ]] || { fail "no job id in $log"; return 1; }
  say "submitted $CDC_JOB at parallelism $parallelism${restore:+ from $restore}"
  # A job that ignored -s would read a fresh snapshot; the checker would see duplicates, but say so first.
  [[ -z "$restore" ]] || wait_until "job $CDC_JOB restored from $restore" "$CDC_STEP_TIMEOUT" job_restored "$CDC_JOB"
}

# kill -9 the TaskManager that runs source subtask $2 ("" = any) of CDC_JOB, then start a
# replacement and wait for the job to restore from a checkpoint and run on every subtask.
cdc_kill_taskmanager() {
  local what="$1" subtask="$2" timeout="$3" tm pid
  tm="$(source_subtask_taskmanagers "$CDC_JOB" "$subtask" | head -n 1)"
  pid="$(taskmanager_pid_of "$tm")" || { fail "$what: no pid for TaskManager $tm"; return 1; }
  say "$what: kill -9 TaskManager $tm (pid $pid, runs source subtask ${subtask:-any})"
  kill_hard "$pid" || return 1
  replace_taskmanager "$tm" || return 1
  wait_until "job $CDC_JOB restored from a checkpoint after $what" "$timeout" job_restored "$CDC_JOB" || return 1
  wait_until "job $CDC_JOB fully running after $what" "$timeout" job_fully_running "$CDC_JOB" || return 1
  say "$what: $(job_restored "$CDC_JOB"), all subtasks running again"
}

cdc_failover_steps() {
  local dir="$1" db="$2" rows="$3" step="$5" timeout="$6" t0 snapshot binlog subtask
  CDC_DB="$db" CDC_SNAPSHOT_RATE="$4" CDC_STEP_TIMEOUT="$6" CDC_JOB="" CDC_FAILURES_BEFORE=${#E2E_FAILURES[@]}
  # Each submission its own replication client ids: a reader of a lost attempt may hold its binlog
  # connection for a while, and two connections with one server id disconnect each other.
  local ids=90000
  t0=$SECONDS
  cdc_submit "$dir" 4 "$ids-$((ids + 3))" || return 0

  # 1. Mid-snapshot. At least one checkpoint must have completed, or the restore starts afresh.
  wait_until "a fifth of the snapshot committed" "$timeout" cdc_committed_at_least "$dir" $((rows / 5)) 0 || return 0
  read -r snapshot binlog subtask <<<"$(cdc_progress "$dir")"
  ((binlog == 0)) || { fail "the binlog phase began before the first kill ($snapshot snapshot rows, $binlog changes): raise E2E_CDC_ROWS or lower E2E_CDC_SNAPSHOT_RATE"; return 0; }
  # (The workload changes the row count while the snapshot runs: compare with a margin.)
  ((snapshot < rows * 9 / 10)) || { fail "the snapshot was nearly complete at the first kill ($snapshot rows): lower E2E_CDC_SNAPSHOT_RATE"; return 0; }
  cdc_kill_taskmanager "snapshot phase ($snapshot/$rows rows committed)" "" "$timeout" || return 0
  local t1=$SECONDS

  # 2. Binlog phase: the snapshot completed after the restore (binlog changes flow only after it,
  # the handover waits for a checkpoint after the last chunk) and changes stream.
  wait_until "the snapshot complete and $step binlog changes committed" "$timeout" \
    cdc_committed_at_least "$dir" $((snapshot + 1)) "$step" || return 0
  read -r snapshot binlog subtask <<<"$(cdc_progress "$dir")"
  cdc_kill_taskmanager "binlog phase ($binlog changes committed)" "$subtask" "$timeout" || return 0
  local t2=$SECONDS

  # 3. Stop with a savepoint; resume from it at another parallelism.
  wait_until "$step more binlog changes after the binlog-phase restore" "$timeout" \
    cdc_committed_at_least "$dir" 0 $((binlog + step)) || return 0
  local log="$dir/stop.log" savepoint
  if ! "$FLINK_HOME/bin/flink" stop --savepointPath "file://$dir/savepoints" "$CDC_JOB" >"$log" 2>&1; then
    fail "flink stop --savepointPath failed:"
    tail -n 30 "$log" >&2
    return 0
  fi
  savepoint="$(grep -oE 'Savepoint completed\. Path: [^ ]+' "$log" | awk '{print $4}')"
  [[ -n "$savepoint" ]] || { fail "no savepoint path in $log"; return 0; }
  wait_until "job $CDC_JOB FINISHED after stop with savepoint" 60 job_state_is "$CDC_JOB" FINISHED || return 0
  read -r snapshot binlog subtask <<<"$(cdc_progress "$dir")"
  say "stopped with savepoint $savepoint ($binlog binlog changes committed)"
  cdc_submit "$dir" 2 "$((ids + 4))-$((ids + 7))" "$savepoint" || return 0
  wait_until "job $CDC_JOB fully running" "$timeout" job_fully_running "$CDC_JOB" || return 0
  wait_until "$step more binlog changes after resuming from the savepoint at parallelism 2" "$timeout" \
    cdc_committed_at_least "$dir" 0 $((binlog + step)) || return 0
  local t3=$SECONDS

  # 4. JobManager loss: kill -9, start it again, resume from the newest retained checkpoint.
  wait_until "a checkpoint of $CDC_JOB after the savepoint restore" "$timeout" checkpoints_at_least "$CDC_JOB" 1 || return 0
  local jm lost_job="$CDC_JOB" checkpoint
  jm="$(jobmanager_pid)"
  [[ -n "$jm" ]] || { fail "no JobManager pid"; return 0; }
  read -r snapshot binlog subtask <<<"$(cdc_progress "$dir")"
  say "kill -9 JobManager (pid $jm) with job $lost_job running ($binlog binlog changes committed)"
  kill_hard "$jm" || return 0
  "$FLINK_HOME/bin/jobmanager.sh" start >/dev/null
  wait_until "the restarted JobManager with $E2E_TASKMANAGERS TaskManagers" "$timeout" \
    taskmanagers_registered "$E2E_TASKMANAGERS" || return 0
  checkpoint="$(newest_retained_checkpoint "$E2E_CHECKPOINT_DIR/$lost_job")"
  [[ -n "$checkpoint" ]] || { fail "no retained checkpoint of $lost_job in $E2E_CHECKPOINT_DIR"; return 0; }
  say "JobManager back; resuming from retained checkpoint $checkpoint"
  cdc_submit "$dir" 3 "$((ids + 8))-$((ids + 11))" "$checkpoint" || return 0
  wait_until "job $CDC_JOB fully running" "$timeout" job_fully_running "$CDC_JOB" || return 0
  wait_until "$step more binlog changes after resuming from the retained checkpoint at parallelism 3" "$timeout" \
    cdc_committed_at_least "$dir" 0 $((binlog + step)) || return 0
  say "steps took: snapshot kill and restore $((t1 - t0)) s, binlog kill and restore $((t2 - t1)) s," \
    "savepoint round trip $((t3 - t2)) s, JobManager restart and resume $((SECONDS - t3)) s"
}

# After the workload stopped: polls the checker until the committed output equals the table
# (checkpoints commit the last changes within seconds), then prints its full report.
cdc_converge() {
  local dir="$1" db="$2" timeout="$3" tool="$E2E_ROOT/integration-tests/e2e/cdc_changelog.py" rc=0
  "$E2E_ROOT/scripts/mariadb.sh" sql -N -e "SELECT id, version, IFNULL(payload, 'NULL') FROM $db.t" >"$dir/table.tsv"
  local deadline=$((SECONDS + timeout))
  while :; do
    rc=0
    python3 "$tool" check "$dir/out" --expected "$dir/table.tsv" --quiet >"$dir/check.txt" 2>&1 || rc=$?
    # 0: equal and clean; 1: anomalies (final); 2: not equal yet; anything else: the checker broke.
    [[ $rc -eq 2 ]] || break
    ((SECONDS < deadline)) || break
    sleep 1
  done
  rc=0
  python3 "$tool" check "$dir/out" --expected "$dir/table.tsv" >"$dir/check.txt" 2>&1 || rc=$?
  sed "s/^/e2e[$E2E_VERSION\/$E2E_SCENARIO]: /" "$dir/check.txt" >&2
  case $rc in
    0) say "OK: the committed changelog equals the table ($(wc -l <"$dir/table.tsv") rows), no anomaly" ;;
    1) fail "the committed changelog has anomalies (see above; $dir/check.txt)" ;;
    2) fail "the committed changelog still differs from the table after $timeout s (see above)" ;;
    *) fail "the checker failed with status $rc: $(tail -n 3 "$dir/check.txt")" ;;
  esac
}
