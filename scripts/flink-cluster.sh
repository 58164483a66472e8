#!/usr/bin/env bash
# A local standalone Flink session cluster for end-to-end tests: one JobManager and N TaskManagers
# (separate JVMs), every address on 127.0.0.1, free ports, its own FLINK_CONF_DIR, logs and pid
# files under one state directory.
#
# Usage: scripts/flink-cluster.sh start VERSION [TASKMANAGERS=2]
#        scripts/flink-cluster.sh stop  VERSION
#        scripts/flink-cluster.sh env   VERSION   (prints the exports below for a running cluster)
#
# start installs the distribution if needed (scripts/flink-dist.sh), waits (with a deadline, no
# blind sleeps) until the REST API reports all TaskManagers registered, and prints shell exports:
#   FLINK_HOME FLINK_CONF_DIR FLINK_LOG_DIR FLINK_REST_URL FLINK_PID_DIR
# Environment: FLINK_CLUSTER_DIR (state dir, default ${TMPDIR:-/tmp}/flink-rust-cluster/VERSION),
#   FLINK_TM_SLOTS (2), FLINK_START_TIMEOUT (120 s), FLINK_JM_MEMORY (1024m), FLINK_TM_MEMORY (1280m),
#   FLINK_CLUSTER_CONF (more config.yaml entries, whitespace-separated key=value, applied last; e.g.
#   'execution.checkpointing.dir=file:///tmp/chk heartbeat.interval=2000').
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cmd="${1:?usage: flink-cluster.sh start|stop|env VERSION [TASKMANAGERS]}"
version="${2:?usage: flink-cluster.sh start|stop|env VERSION [TASKMANAGERS]}"
tms="${3:-2}"
state="${FLINK_CLUSTER_DIR:-${TMPDIR:-/tmp}/flink-rust-cluster/$version}"
slots="${FLINK_TM_SLOTS:-2}"
timeout="${FLINK_START_TIMEOUT:-120}"

log() { echo "flink-cluster: $*" >&2; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

print_env() {
  cat "$state/env"
}

# Every pid this script's daemons wrote (flink-daemon.sh keeps one pid per line per daemon type).
pids() {
  cat "$state"/pid/*.pid 2>/dev/null || true
}

# Pids of this cluster's daemons that are still running: only processes whose command line names
# this cluster's conf directory (guards against pid reuse after a crash).
live_pids() {
  local pid
  for pid in $(pids); do
    { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qF -- "$state/conf" && echo "$pid"
  done
  return 0
}

stop_cluster() {
  [[ -d "$state" ]] || { log "no cluster state in $state"; return 0; }
  # SIGTERM every daemon at once (Flink's stop-all scripts stop them one by one, each after a
  # JVM start for config parsing), wait with a deadline, then SIGKILL what is left.
  local all; all="$(live_pids)"
  [[ -n "$all" ]] && kill $all 2>/dev/null || true
  local deadline=$((SECONDS + ${FLINK_STOP_TIMEOUT:-30}))
  while [[ -n "$all" ]]; do
    all="$(for pid in $all; do kill -0 "$pid" 2>/dev/null && echo "$pid"; done; true)"
    [[ -z "$all" ]] && break
    if (( SECONDS >= deadline )); then
      log "killing leftover processes: $all"
      kill -9 $all 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$state"/pid/*.pid
  log "stopped ($state)"
}

start_cluster() {
  local t0=$SECONDS
  if [[ -n "$(live_pids)" ]]; then
    log "a cluster from $state seems to be running; stopping it first"
    stop_cluster
  fi
  local home; home="$("$root/scripts/flink-dist.sh" "$version")"
  rm -rf "$state"
  mkdir -p "$state/conf" "$state/log" "$state/pid" "$state/tmp"
  cp -r "$home/conf/." "$state/conf/"
  echo "127.0.0.1" >"$state/conf/masters"
  : >"$state/conf/workers"

  local rest_port rpc_port
  rest_port="$(free_port)"
  rpc_port="$(free_port)"
  local entry extra=()
  for entry in ${FLINK_CLUSTER_CONF:-}; do extra+=(-D "$entry"); done
  # Rewrite config.yaml with Flink's own tool (bin/config-parser-utils.sh, both 1.20 and 2.x):
  # keeps the shipped entries such as env.java.opts.all (the Java 17 add-opens) and the format.
  "$home/bin/config-parser-utils.sh" "$state/conf" "$home/bin" "$home/lib" \
    -D jobmanager.rpc.address=127.0.0.1 \
    -D jobmanager.bind-host=127.0.0.1 \
    -D jobmanager.rpc.port="$rpc_port" \
    -D jobmanager.memory.process.size="${FLINK_JM_MEMORY:-1024m}" \
    -D taskmanager.host=127.0.0.1 \
    -D taskmanager.bind-host=127.0.0.1 \
    -D taskmanager.numberOfTaskSlots="$slots" \
    -D taskmanager.memory.process.size="${FLINK_TM_MEMORY:-1280m}" \
    -D rest.address=127.0.0.1 \
    -D rest.bind-address=127.0.0.1 \
    -D rest.port="$rest_port" \
    -D env.log.dir="$state/log" \
    -D env.pid.dir="$state/pid" \
    -D io.tmp.dirs="$state/tmp" \
    -D parallelism.default=1 \
    "${extra[@]}" \
    >/dev/null
  grep -q "$rest_port" "$state/conf/config.yaml" || { log "config rewrite failed"; exit 1; }

  cat >"$state/env" <<ENV
export FLINK_HOME='$home'
export FLINK_CONF_DIR='$state/conf'
export FLINK_LOG_DIR='$state/log'
export FLINK_REST_URL='http://127.0.0.1:$rest_port'
export FLINK_PID_DIR='$state/pid'
ENV
  # Flink's scripts prefer these variables over config.yaml: a caller's exports (say, from an
  # earlier cluster's env) must not send this cluster's logs or pid files elsewhere.
  export FLINK_CONF_DIR="$state/conf" FLINK_LOG_DIR="$state/log" FLINK_PID_DIR="$state/pid"
  # The JobManager starts alongside the TaskManagers (they retry registration); the TaskManagers
  # start one after another: flink-daemon.sh numbers instances from its pid file, not atomically.
  "$home/bin/jobmanager.sh" start >/dev/null &
  local jm_starter=$! i
  for ((i = 0; i < tms; i++)); do
    "$home/bin/taskmanager.sh" start >/dev/null
  done
  wait "$jm_starter"

  local url="http://127.0.0.1:$rest_port/overview" deadline=$((SECONDS + timeout)) overview="" registered=0
  while :; do
    overview="$(curl -fsS --max-time 2 "$url" 2>/dev/null || true)"
    registered="$(sed -n 's/.*"taskmanagers":\([0-9]*\).*/\1/p' <<<"$overview")"
    [[ "${registered:-0}" -ge "$tms" ]] && break
    local pid dead=""
    for pid in $(pids); do kill -0 "$pid" 2>/dev/null || dead="$dead $pid"; done
    if [[ -n "$dead" ]] || (( SECONDS >= deadline )); then
      log "cluster did not come up (registered TaskManagers: ${registered:-0}/$tms, dead pids:${dead:- none}, $((SECONDS - t0)) s)"
      tail -n 30 "$state"/log/*.log "$state"/log/*.out >&2 2>/dev/null || true
      stop_cluster
      exit 1
    fi
    sleep 0.3
  done
  log "Flink $version up in $((SECONDS - t0)) s: $tms TaskManagers x $slots slots, REST $url ($state)"
  print_env
}

case "$cmd" in
  start) start_cluster ;;
  stop) stop_cluster ;;
  env) print_env ;;
  *) echo "usage: flink-cluster.sh start|stop|env VERSION [TASKMANAGERS]" >&2; exit 2 ;;
esac
