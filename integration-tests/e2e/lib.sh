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
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$FLINK_CONF_DIR" && echo "$pid"
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
