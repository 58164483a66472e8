# Helpers shared by the end-to-end scenarios (sourced by e2e.sh). They talk to the running cluster
# through FLINK_REST_URL (exported by scripts/flink-cluster.sh) and parse JSON with python3.
# Every wait polls with a deadline; nothing sleeps to synchronise.

E2E_JOB_TIMEOUT="${E2E_JOB_TIMEOUT:-180}"

say() { echo "e2e[$E2E_VERSION/$E2E_SCENARIO]: $*" >&2; }
fail() {
  say "FAIL: $*"
  E2E_FAILURES+=("$E2E_VERSION/$E2E_SCENARIO: $*")
}

rest() { curl -fsS --max-time 10 "$FLINK_REST_URL$1"; }

# The id of the most recently started job named $1, or nothing.
latest_job_id() {
  rest /jobs/overview | python3 -c '
import json, sys
jobs = sorted((j for j in json.load(sys.stdin)["jobs"] if j["name"] == sys.argv[1]), key=lambda j: j["start-time"])
print(jobs[-1]["jid"] if jobs else "")' "$1"
}

# Waits until job $1 is in a terminal state (deadline E2E_JOB_TIMEOUT s) and prints that state.
wait_for_job() {
  local jid="$1" deadline=$((SECONDS + E2E_JOB_TIMEOUT)) state=""
  while :; do
    state="$(rest "/jobs/$jid" 2>/dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)["state"])' 2>/dev/null || true)"
    case "$state" in
      FINISHED | FAILED | CANCELED) break ;;
    esac
    if ((SECONDS >= deadline)); then
      state="still ${state:-unknown} after ${E2E_JOB_TIMEOUT} s"
      break
    fi
    sleep 0.3
  done
  echo "$state"
}

# Checks that job $1 finished and that its source ran with $2 subtasks spread over all
# $E2E_TASKMANAGERS TaskManagers (REST: subtask -> taskmanager-id).
check_job() {
  local jid="$1" parallelism="$2" out state placement
  if ! out="$(rest "/jobs/$jid" | python3 -c '
import json, sys
job = json.load(sys.stdin)
src = [v for v in job["vertices"] if v["name"].startswith("Source")]
print(job["state"], src[0]["id"] if src else "-")')"; then
    fail "job $jid not found over REST"
    return
  fi
  read -r state vid <<<"$out"
  [[ "$state" == FINISHED ]] || fail "job $jid is $state, expected FINISHED"
  if [[ "$vid" == - ]]; then
    fail "job $jid has no source vertex"
    return
  fi
  placement="$(rest "/jobs/$jid/vertices/$vid" | python3 -c '
import json, sys
for s in json.load(sys.stdin)["subtasks"]:
    print(s["subtask"], s.get("taskmanager-id", s.get("host")), s["status"])')"
  local n_sub n_tm
  n_sub="$(wc -l <<<"$placement")"
  n_tm="$(awk '{print $2}' <<<"$placement" | sort -u | wc -l)"
  say "job $jid $state; source subtasks on $n_tm TaskManagers: $(awk '{printf "%s->%s ", $1, $2}' <<<"$placement")"
  [[ "$n_sub" -eq "$parallelism" ]] || fail "job $jid: $n_sub source subtasks, expected $parallelism"
  [[ "$n_tm" -eq "$E2E_TASKMANAGERS" ]] || fail "job $jid: source subtasks on $n_tm TaskManagers, expected $E2E_TASKMANAGERS"
}

# Checks that the first CSV column of the finished files under $1 is exactly 1..$2, each once
# (in-progress files are hidden, '.'-prefixed, and not counted).
check_ids() {
  local dir="$1" rows="$2" got
  got="$(mktemp "$E2E_WORK/ids.XXXXXX")"
  find "$dir" -type f ! -name '.*' -exec cat {} + 2>/dev/null | cut -d, -f1 | sort -n >"$got"
  if cmp -s "$got" <(seq 1 "$rows"); then
    say "OK: every id 1..$rows exactly once ($(find "$dir" -type f ! -name '.*' | wc -l) files)"
  else
    fail "ids in $dir differ from 1..$rows: $(wc -l <"$got") rows, $(uniq -d "$got" | wc -l) duplicated, $(comm -13 "$got" <(seq 1 "$rows") | wc -l) missing"
  fi
  rm -f "$got"
}

# The TaskManager JVMs of the cluster, one pid per line (pid files written by flink-daemon.sh).
taskmanager_pids() {
  local pid
  for pid in $(cat "$FLINK_PID_DIR"/flink-*-taskexecutor.pid 2>/dev/null); do
    { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qF -- "$FLINK_CONF_DIR" && echo "$pid"
  done
  return 0
}

# "RSS_MB THREADS FDS LIBS" of process $1: resident memory and threads from /proc/PID/status,
# open files from /proc/PID/fd, and how many copies of the bridge's native library are mapped
# (each job's class loader loads its own copy; a copy stays until that class loader is collected).
process_stats() {
  local pid="$1" rss threads fds libs
  rss="$(awk '/^VmRSS:/ {print int($2 / 1024)}' "/proc/$pid/status")"
  threads="$(awk '/^Threads:/ {print $2}' "/proc/$pid/status")"
  fds="$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)"
  # NativeLibrary loads each copy from a temp file named flink-rust-bridge-*.so (then deleted).
  libs="$(awk '/\/flink-rust-bridge-[^\/]*\.so/ {print $5}' "/proc/$pid/maps" | sort -u | wc -l)"
  echo "$rss $threads $fds $libs"
}

# "NMT_MB METASPACE_MB CLASSES" of JVM $1: native memory committed as NativeMemoryTracking counts
# it (0 when NMT is off), Metaspace used and classes currently loaded (jstat, from the JVM's perf
# data).
jvm_native_stats() {
  local nmt meta classes
  nmt="$(jcmd "$1" VM.native_memory summary scale=MB 2>/dev/null | sed -n 's/^Total: .*committed=\([0-9]*\)MB.*/\1/p')"
  meta="$(jstat -gc "$1" 2>/dev/null | awk 'NR == 1 {for (i = 1; i <= NF; i++) c[$i] = i} NR == 2 {print int($c["MU"] / 1024)}')"
  # jstat -class: Loaded Bytes Unloaded Bytes Time; loaded counts every class ever loaded.
  classes="$(jstat -class "$1" 2>/dev/null | awk 'NR == 2 {print $1 - $3}')"
  echo "${nmt:-0} ${meta:-0} ${classes:-0}"
}

# ---- waiting, jobs and daemons (the CDC scenarios) -----------------------------------------------

# Polls `$3...` (a command that prints what it sees) every 0.5 s until it succeeds; fails the
# scenario with "$1" (what was expected) and the command's last output after $2 seconds. Returns 1
# on timeout, so callers can stop their scenario.
wait_until() {
  local what="$1" timeout="$2" deadline=$((SECONDS + $2))
  shift 2
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      fail "expected $what within $timeout s; last seen: $("$@" 2>&1 | tail -n 1; true)"
      return 1
    fi
    sleep 0.5
  done
}

# The state of job $1 (RUNNING, FINISHED, ...), or nothing if the JobManager does not know it.
job_state() {
  rest "/jobs/$1" 2>/dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)["state"])' 2>/dev/null || true
}

# Succeeds when job $1 is in state $2; prints the state it saw.
job_state_is() {
  local state
  state="$(job_state "$1")"
  echo "job $1 is ${state:-unknown}"
  [[ "$state" == "$2" ]]
}

# Succeeds when job $1 is RUNNING with every subtask of every vertex RUNNING; otherwise prints what it saw.
job_fully_running() {
  rest "/jobs/$1" 2>/dev/null | python3 -c '
import json, sys
j = json.load(sys.stdin)
counts = {}
for v in j["vertices"]:
    for state, n in v.get("tasks", {}).items():
        if n:
            counts[state] = counts.get(state, 0) + n
ok = j["state"] == "RUNNING" and set(counts) == {"RUNNING"}
print("job", j["state"], "subtasks", counts)
sys.exit(0 if ok else 1)'
}

# Checkpoint figures of job $1: "COMPLETED RESTORED_ID" (RESTORED_ID: the checkpoint or savepoint
# the current attempt was restored from, "-" if none).
job_checkpoints() {
  rest "/jobs/$1/checkpoints" 2>/dev/null | python3 -c '
import json, sys
j = json.load(sys.stdin)
restored = (j.get("latest") or {}).get("restored") or {}
print(j["counts"]["completed"], restored.get("id", "-"))' 2>/dev/null || echo "0 -"
}

# Succeeds once job $1 has completed at least $2 checkpoints since its (latest) start.
checkpoints_at_least() {
  local completed
  read -r completed _ <<<"$(job_checkpoints "$1")"
  echo "completed checkpoints: $completed"
  ((completed >= $2))
}

# Succeeds once job $1 was restored from a checkpoint (REST latest.restored); prints what it saw.
job_restored() {
  local completed restored
  read -r completed restored <<<"$(job_checkpoints "$1")"
  echo "restored from: $restored"
  [[ "$restored" != - ]]
}

# The job id printed by `flink run -d` (both versions: "Job has been submitted with JobID <id>").
submitted_job_id() {
  grep -oE 'JobID [0-9a-f]{32}' "$1" | awk '{print $2}' | tail -n 1
}

# The pid of the TaskManager with REST id $1: its RPC port (from its actor path) -> listening pid.
taskmanager_pid_of() {
  local port pid
  port="$(rest "/taskmanagers/$1" | python3 -c '
import json, re, sys
print(re.search(r"@[^:/]+:([0-9]+)/", json.load(sys.stdin)["path"]).group(1))')" || return 1
  for pid in $(taskmanager_pids); do
    if ss -Hltnp "sport = :$port" | grep -q "pid=$pid,"; then
      echo "$pid"
      return 0
    fi
  done
  return 1
}

# REST ids of the TaskManagers running subtask $2 of job $1's source vertex ("" for every subtask).
source_subtask_taskmanagers() {
  local vid
  vid="$(rest "/jobs/$1" | python3 -c '
import json, sys
print([v["id"] for v in json.load(sys.stdin)["vertices"] if v["name"].startswith("Source")][0])')" || return 1
  rest "/jobs/$1/vertices/$vid" | python3 -c '
import json, sys
want = sys.argv[1]
for s in json.load(sys.stdin)["subtasks"]:
    if want in ("", str(s["subtask"])):
        print(s.get("taskmanager-id", s.get("host")))' "${2:-}" | sort -u
}

# Number of TaskManagers registered with the JobManager; succeeds when it is at least $1.
taskmanagers_registered() {
  local n
  n="$(rest /overview 2>/dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)["taskmanagers"])' 2>/dev/null || echo 0)"
  echo "registered TaskManagers: $n"
  ((n >= $1))
}

# Succeeds once the TaskManager with REST id $1 is no longer registered.
taskmanager_gone() {
  local ids
  ids="$(rest /taskmanagers 2>/dev/null | python3 -c '
import json, sys
print(" ".join(t["id"] for t in json.load(sys.stdin)["taskmanagers"]))' 2>/dev/null)" || return 1
  echo "registered: $ids"
  [[ " $ids " != *" $1 "* ]]
}

# Replaces the lost TaskManager with REST id $1: starts another TaskManager JVM of this cluster
# (same conf, logs and pid files) right away, then waits until the JobManager has noticed the loss
# (the id is gone) and $E2E_TASKMANAGERS TaskManagers are registered.
replace_taskmanager() {
  "$FLINK_HOME/bin/taskmanager.sh" start >/dev/null
  wait_until "lost TaskManager $1 unregistered" 120 taskmanager_gone "$1" || return 1
  wait_until "$E2E_TASKMANAGERS registered TaskManagers with the replacement" 120 \
    taskmanagers_registered "$E2E_TASKMANAGERS"
}

# The JobManager JVM of this cluster (pid file written by flink-daemon.sh, checked by command line).
jobmanager_pid() {
  local pid
  for pid in $(cat "$FLINK_PID_DIR"/flink-*-standalonesession.pid 2>/dev/null); do
    { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qF -- "$FLINK_CONF_DIR" && echo "$pid"
  done
  return 0
}

# kill -9 process $1 and wait until it is gone (a killed JVM can take a moment to be reaped).
kill_hard() {
  kill -9 "$1"
  local deadline=$((SECONDS + 30))
  while kill -0 "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || { fail "process $1 still alive 30 s after kill -9"; return 1; }
    sleep 0.1
  done
}
