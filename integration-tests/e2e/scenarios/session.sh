# Scenario: one session cluster, many jobs. The DataStream example job jar is uploaded once over
# REST and run E2E_SESSION_RUNS times in a row; each run is a new job, with its own user-code class
# loader, and so its own copy of the native library, in every TaskManager.
#   After each run: the job finished, every id exactly once, readers on both TaskManagers. Then
#   each TaskManager JVM gets a full GC (jcmd GC.run, so class loaders of finished jobs can be
#   collected and their native library copies unloaded), and its RSS, threads and open files
#   (/proc/PID/status, /proc/PID/fd) and mapped native library copies are printed as a table.
#   Fails when, from the end of the warm-up runs to the last run, a TaskManager's RSS grows by more
#   than E2E_MAX_RSS_GROWTH_MB, its threads or open files grow by one per run or more (a leak per
#   job), or the copies of the native library pile up: more than E2E_MAX_NATIVE_COPIES still
#   mapped after the last run's GC. A few stay mapped for a while even without a leak (measured:
#   2-3 after 10 runs, not growing with more runs; the JVM and Flink keep some recently used class
#   loaders reachable through caches), so the default limit is half the runs: a copy leaked per job
#   exceeds it, a bounded few do not.
# Environment: E2E_SESSION_RUNS (10), E2E_SESSION_WARMUP (2), E2E_SESSION_ROWS (20000),
#   E2E_MAX_RSS_GROWTH_MB (256), E2E_MAX_NATIVE_COPIES (E2E_SESSION_RUNS / 2).

scenario_session() {
  local runs="${E2E_SESSION_RUNS:-10}" warmup="${E2E_SESSION_WARMUP:-2}" rows="${E2E_SESSION_ROWS:-20000}"
  local max_rss="${E2E_MAX_RSS_GROWTH_MB:-256}" max_copies="${E2E_MAX_NATIVE_COPIES:-$((runs / 2))}"
  local parallelism=4 dir="$E2E_WORK/session"
  ((runs > warmup)) || { fail "E2E_SESSION_RUNS ($runs) must exceed E2E_SESSION_WARMUP ($warmup)"; return 0; }
  mkdir -p "$dir"
  local tms
  mapfile -t tms < <(taskmanager_pids | sort -n)
  if [[ ${#tms[@]} -ne $E2E_TASKMANAGERS ]]; then
    fail "found ${#tms[@]} TaskManager processes (pids: ${tms[*]}), expected $E2E_TASKMANAGERS"
    return 0
  fi
  command -v jcmd >/dev/null || say "no jcmd: measuring without forcing a GC first"

  local upload jar_id
  upload="$(curl -fsS --max-time 60 -X POST -H 'Expect:' -F "jarfile=@$E2E_JOB_JAR" "$FLINK_REST_URL/jars/upload")" || {
    fail "jar upload failed"
    return 0
  }
  jar_id="$(python3 -c 'import json, os, sys; print(os.path.basename(json.load(sys.stdin)["filename"]))' <<<"$upload")"

  # stats[run,tm] = "RSS_MB THREADS FDS LIBS"
  declare -A stats=()
  local header="run" i pid
  for i in "${!tms[@]}"; do header+=" | TM$((i + 1)) (pid ${tms[$i]}): RSS MB, threads, FDs, library copies before -> after GC"; done
  echo "$header" >"$dir/table.txt"

  local run body response jid state
  for ((run = 1; run <= runs; run++)); do
    local t_run=$SECONDS
    body="$(python3 -c 'import json, sys; print(json.dumps({"programArgsList": sys.argv[1:], "parallelism": int('"$parallelism"')}))' \
      --rows "$rows" --output "file://$dir/run-$run")"
    response="$(curl -sS --max-time 120 -X POST -H 'Content-Type: application/json' -d "$body" "$FLINK_REST_URL/jars/$jar_id/run")"
    jid="$(python3 -c 'import json, sys; print(json.load(sys.stdin).get("jobid", ""))' <<<"$response" 2>/dev/null || true)"
    if [[ -z "$jid" ]]; then
      fail "run $run: submission failed: ${response:0:2000}"
      break
    fi
    state="$(wait_for_job "$jid")"
    [[ "$state" == FINISHED ]] || { fail "run $run: job $jid $state"; break; }
    check_ids "$dir/run-$run" "$rows"
    check_job "$jid" "$parallelism"

    local row="$run" before
    for i in "${!tms[@]}"; do
      pid="${tms[$i]}"
      before="$(process_stats "$pid")"
      command -v jcmd >/dev/null && jcmd "$pid" GC.run >/dev/null 2>&1
      stats[$run,$i]="$(process_stats "$pid")"
      row+=" | $(awk -v b="${before##* }" '{printf "%6d %5d %5d %3d -> %d", $1, $2, $3, b, $4}' <<<"${stats[$run,$i]}")"
    done
    echo "$row" >>"$dir/table.txt"
    say "run $run: job $jid finished, checked and measured in $((SECONDS - t_run)) s: $row"
  done
  say "TaskManagers after each run (after a full GC):"
  column -t -s '|' -o '|' "$dir/table.txt" >&2 2>/dev/null || cat "$dir/table.txt" >&2
  ((run > runs)) || return 0 # a run failed: already reported

  local rss0 thr0 fd0 rss1 thr1 fd1 libs1 grown=$((runs - warmup))
  for i in "${!tms[@]}"; do
    read -r rss0 thr0 fd0 _ <<<"${stats[$warmup,$i]}"
    read -r rss1 thr1 fd1 libs1 <<<"${stats[$runs,$i]}"
    say "TM$((i + 1)) from run $warmup to run $runs: RSS $((rss1 - rss0)) MB, threads $((thr1 - thr0)), FDs $((fd1 - fd0)), $libs1 native library copies mapped"
    ((rss1 - rss0 <= max_rss)) || fail "TM$((i + 1)) RSS grew by $((rss1 - rss0)) MB over $grown jobs (limit $max_rss MB)"
    ((thr1 - thr0 < grown)) || fail "TM$((i + 1)) threads grew by $((thr1 - thr0)) over $grown jobs: a thread per job?"
    ((fd1 - fd0 < grown)) || fail "TM$((i + 1)) open files grew by $((fd1 - fd0)) over $grown jobs: a file per job?"
    ((libs1 <= max_copies)) || fail "TM$((i + 1)) still maps $libs1 copies of the native library after $runs jobs (limit $max_copies): job class loaders are not collected"
  done
  return 0
}
