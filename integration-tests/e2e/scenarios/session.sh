# Scenario: one session cluster, many jobs, native hygiene. The CDC job (integration-tests/e2e/
# cdc-job, rust-mysql-cdc into committed files) is uploaded once over REST and then submitted and
# cancelled E2E_SESSION_RUNS times in a row. Each job has its own user-code class loader, so its
# own copy of the native library, its own reader threads, binlog connections and tokio runtimes in
# every TaskManager; cancelling must release all of it.
#   Each cycle: submit at parallelism 4 (readers on both TaskManagers, checked over REST), wait
#   until the committed output equals the (small, unchanging) table exactly (the job emitted every
#   row, through a checkpoint, once), cancel, wait for CANCELED.
#   After the warm-up cycles, every E2E_SESSION_MEASURE_EVERY cycles and after the last, each
#   TaskManager JVM gets a full GC (jcmd GC.run: class loaders of cancelled jobs can be collected
#   and their native library copies unloaded) and is measured: RSS, threads, open files
#   (/proc/PID/status, /proc/PID/fd), mapped native library copies (/proc/PID/maps), native memory
#   committed as the JVM sees it (NativeMemoryTracking, enabled by e2e.sh), Metaspace used and
#   loaded classes (jstat). The figures are printed as a table.
#   Fails when, from the end of the warm-up to the last cycle, a TaskManager's RSS or NMT-committed
#   memory grows by more than E2E_MAX_RSS_GROWTH_MB, Metaspace by more than
#   E2E_MAX_METASPACE_GROWTH_MB, its threads or open files grow by one per cycle or more (a leak
#   per job), or the copies of the native library pile up: more than E2E_MAX_NATIVE_COPIES still
#   mapped after the last GC. A few stay mapped for a while even without a leak (the JVM and Flink
#   keep some recently used class loaders reachable through caches; measured: 2-3 with the bounded
#   datagen job, 5-8 with this CDC job over 50 cycles, not growing), so the default limit is half
#   the cycles, at least 8: a copy leaked per job exceeds it.
# Environment: E2E_SESSION_RUNS (50 on the E2E_LONG_VERSIONS, else 10), E2E_SESSION_WARMUP
#   (E2E_SESSION_RUNS / 10, at least 2), E2E_SESSION_MEASURE_EVERY (5), E2E_SESSION_ROWS (1000),
#   E2E_MAX_RSS_GROWTH_MB (256), E2E_MAX_METASPACE_GROWTH_MB (64), E2E_MAX_NATIVE_COPIES (see above),
#   E2E_SESSION_TIMEOUT (120 s per wait).

scenario_session() {
  local runs="${E2E_SESSION_RUNS:-$E2E_SESSION_DEFAULT_RUNS}" rows="${E2E_SESSION_ROWS:-1000}"
  local warmup="${E2E_SESSION_WARMUP:-$((runs / 10 > 2 ? runs / 10 : 2))}" every="${E2E_SESSION_MEASURE_EVERY:-5}"
  local max_rss="${E2E_MAX_RSS_GROWTH_MB:-256}" max_meta="${E2E_MAX_METASPACE_GROWTH_MB:-64}"
  local max_copies="${E2E_MAX_NATIVE_COPIES:-$((runs / 2 > 8 ? runs / 2 : 8))}" timeout="${E2E_SESSION_TIMEOUT:-120}" parallelism=4
  local dir="$E2E_WORK/session" db="e2e_session_$$_${E2E_VERSION//./_}"
  local tool="$E2E_ROOT/integration-tests/e2e/cdc_changelog.py"
  ((runs > warmup)) || { fail "E2E_SESSION_RUNS ($runs) must exceed E2E_SESSION_WARMUP ($warmup)"; return 0; }
  mkdir -p "$dir"
  local tms
  mapfile -t tms < <(taskmanager_pids | sort -n)
  if [[ ${#tms[@]} -ne $E2E_TASKMANAGERS ]]; then
    fail "found ${#tms[@]} TaskManager processes (pids: ${tms[*]}), expected $E2E_TASKMANAGERS"
    return 0
  fi
  command -v jcmd >/dev/null && command -v jstat >/dev/null || { fail "jcmd and jstat (JDK) are needed"; return 0; }

  eval "$("$E2E_ROOT/scripts/mariadb.sh" start)"
  local sql=("$E2E_ROOT/scripts/mariadb.sh" sql)
  "${sql[@]}" -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db; USE $db;
    CREATE TABLE t (id BIGINT PRIMARY KEY, version BIGINT NOT NULL, payload VARCHAR(64));
    INSERT INTO t SELECT seq, 0, CONCAT('p', seq) FROM seq_1_to_$rows;" || { fail "could not create $db"; return 0; }
  "${sql[@]}" -N -e "SELECT id, version, IFNULL(payload, 'NULL') FROM $db.t" >"$dir/table.tsv"

  local upload jar_id
  upload="$(curl -fsS --max-time 60 -X POST -H 'Expect:' -F "jarfile=@$E2E_CDC_JOB_JAR" "$FLINK_REST_URL/jars/upload")" || {
    fail "jar upload failed"
    return 0
  }
  jar_id="$(python3 -c 'import json, os, sys; print(os.path.basename(json.load(sys.stdin)["filename"]))' <<<"$upload")"

  # stats[cycle,tm] = "RSS_MB THREADS FDS LIBS NMT_MB METASPACE_MB CLASSES"
  declare -A stats=()
  local i pid header="cycle"
  for i in "${!tms[@]}"; do
    header+=" | TM$((i + 1)) (pid ${tms[$i]}): RSS MB, threads, FDs, lib copies, NMT committed MB, Metaspace MB, classes"
  done
  echo "$header" >"$dir/table.txt"

  local run body response jid t_start=$SECONDS failures_before=${#E2E_FAILURES[@]}
  for ((run = 1; run <= runs; run++)); do
    # Each job its own replication client ids: a cancelled job's binlog connection may linger briefly.
    local ids=$((91000 + run * parallelism))
    body="$(python3 -c 'import json, sys; print(json.dumps({"programArgsList": sys.argv[2:], "parallelism": int(sys.argv[1])}))' \
      "$parallelism" --hostname "$MYSQL_HOST" --port "$MYSQL_PORT" --username "$MYSQL_USER" --password "$MYSQL_PASSWORD" \
      --database "$db" --table t --server-id "$ids-$((ids + parallelism - 1))" --output "file://$dir/run-$run" \
      --checkpoint-interval-ms 500 --name "cdc-session-$E2E_VERSION-$run")"
    response="$(curl -sS --max-time 120 -X POST -H 'Content-Type: application/json' -d "$body" "$FLINK_REST_URL/jars/$jar_id/run")"
    jid="$(python3 -c 'import json, sys; print(json.load(sys.stdin).get("jobid", ""))' <<<"$response" 2>/dev/null || true)"
    [[ -n "$jid" ]] || { fail "cycle $run: submission failed: ${response:0:2000}"; break; }
    wait_until "cycle $run: job $jid's committed output equal to the table ($rows rows)" "$timeout" \
      python3 "$tool" check "$dir/run-$run" --expected "$dir/table.tsv" --quiet || break
    local n_tm
    n_tm="$(source_subtask_taskmanagers "$jid" | wc -l)"
    ((n_tm == E2E_TASKMANAGERS)) || fail "cycle $run: source subtasks on $n_tm TaskManagers, expected $E2E_TASKMANAGERS"
    curl -fsS --max-time 30 -X PATCH "$FLINK_REST_URL/jobs/$jid?mode=cancel" >/dev/null || { fail "cycle $run: cancel failed"; break; }
    wait_until "cycle $run: job $jid CANCELED" "$timeout" job_state_is "$jid" CANCELED || break

    if ((run == warmup || run == runs || (run > warmup && run % every == 0))); then
      local row="$run"
      for i in "${!tms[@]}"; do
        pid="${tms[$i]}"
        jcmd "$pid" GC.run >/dev/null 2>&1 || fail "cycle $run: jcmd $pid GC.run failed (TaskManager gone?)"
        stats[$run,$i]="$(process_stats "$pid") $(jvm_native_stats "$pid")"
        row+=" | $(awk '{printf "%6d %5d %5d %3d %6d %6d %6d", $1, $2, $3, $4, $5, $6, $7}' <<<"${stats[$run,$i]}")"
      done
      echo "$row" >>"$dir/table.txt"
      say "cycle $run ($((SECONDS - t_start)) s): $row"
    fi
  done
  say "TaskManagers after a full GC, per cycle (submit, all rows committed, cancel):"
  column -t -s '|' -o '|' "$dir/table.txt" >&2 2>/dev/null || cat "$dir/table.txt" >&2
  ((run > runs)) || return 0 # a cycle failed: already reported
  say "$runs cycles in $((SECONDS - t_start)) s"

  local rss0 thr0 fd0 nmt0 meta0 cls0 rss1 thr1 fd1 libs1 nmt1 meta1 cls1 grown=$((runs - warmup))
  for i in "${!tms[@]}"; do
    read -r rss0 thr0 fd0 _ nmt0 meta0 cls0 <<<"${stats[$warmup,$i]}"
    read -r rss1 thr1 fd1 libs1 nmt1 meta1 cls1 <<<"${stats[$runs,$i]}"
    say "TM$((i + 1)) from cycle $warmup to cycle $runs: RSS $((rss1 - rss0)) MB, NMT committed $((nmt1 - nmt0)) MB," \
      "Metaspace $((meta1 - meta0)) MB, classes $((cls1 - cls0)), threads $((thr1 - thr0)), FDs $((fd1 - fd0)), $libs1 native library copies mapped"
    ((rss1 - rss0 <= max_rss)) || fail "TM$((i + 1)) RSS grew by $((rss1 - rss0)) MB over $grown jobs (limit $max_rss MB)"
    ((nmt1 - nmt0 <= max_rss)) || fail "TM$((i + 1)) NMT committed memory grew by $((nmt1 - nmt0)) MB over $grown jobs (limit $max_rss MB)"
    ((meta1 - meta0 <= max_meta)) || fail "TM$((i + 1)) Metaspace grew by $((meta1 - meta0)) MB over $grown jobs (limit $max_meta MB): job class loaders are not collected"
    ((thr1 - thr0 < grown)) || fail "TM$((i + 1)) threads grew by $((thr1 - thr0)) over $grown jobs: a thread per job?"
    ((fd1 - fd0 < grown)) || fail "TM$((i + 1)) open files grew by $((fd1 - fd0)) over $grown jobs: a file per job?"
    ((libs1 <= max_copies)) || fail "TM$((i + 1)) still maps $libs1 copies of the native library after $runs jobs (limit $max_copies): job class loaders are not collected"
  done
  [[ ${#E2E_FAILURES[@]} -ne $failures_before ]] || "${sql[@]}" -e "DROP DATABASE $db" || true
  return 0
}
