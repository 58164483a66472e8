# Scenario: docs/quickstart-cdc.md, run as written. The page's marked blocks (doc_blocks.py) run in
# page order: its MySQL statements against the local MariaDB (scripts/mariadb.sh, as the page
# says), its files written, its shell commands run with FLINK_HOME and BRIDGE_JAR set (the SQL
# client submits the job to this cluster with the jar added by --jar), and its expected output
# compared with what the job's print sink wrote to the TaskManagers' .out files since the start:
# the snapshot as a set, then the changes in order, and no other row. The cancel command must
# leave the job CANCELED. Steps the harness does itself (building the jar, starting and stopping
# the cluster) are the page's unmarked blocks.
# Environment: E2E_QUICKSTART_TIMEOUT (120 s per expected output).

scenario_quickstart_cdc() {
  local page="$E2E_ROOT/docs/quickstart-cdc.md" dir="$E2E_WORK/quickstart-cdc"
  local timeout="${E2E_QUICKSTART_TIMEOUT:-120}" job_name=orders-quickstart
  mkdir -p "$dir/blocks"
  python3 "$E2E_ROOT/integration-tests/e2e/doc_blocks.py" "$page" | python3 -c '
import json, sys
for n, line in enumerate(sys.stdin):
    b = json.loads(line)
    name = "%s/%02d.%s" % (sys.argv[1], n, b["kind"])
    open(name, "w").write(b["text"])
    open(name + ".arg", "w").write(b["arg"] or "")' "$dir/blocks" || { fail "cannot read the blocks of $page"; return 0; }

  eval "$("$E2E_ROOT/scripts/mariadb.sh" start)"
  # A run that failed half-way may have left the page's database behind.
  "$E2E_ROOT/scripts/mariadb.sh" sql -e 'DROP DATABASE IF EXISTS shop' || { fail "cannot reach MariaDB"; return 0; }

  # The print sink's rows since now: the bytes each TaskManager's .out file has so far are skipped.
  declare -A out_start=()
  local f
  for f in "$FLINK_LOG_DIR"/flink-*-taskexecutor-*.out; do out_start[$f]=$(stat -c %s "$f"); done
  printed_rows() {
    local f
    for f in "$FLINK_LOG_DIR"/flink-*-taskexecutor-*.out; do
      tail -c +$((${out_start[$f]:-0} + 1)) "$f"
    done | grep -E '^[-+][IUD]\[' || true
  }
  local snapshot_rows=0
  # Succeeds when the rows printed are the expected snapshot ($1) as a set, then exactly the
  # expected changes ($2, in order; may be empty); prints what it saw otherwise.
  rows_are() {
    local got expected_snapshot expected_changes
    got="$(printed_rows)"
    expected_snapshot="$(sort <"$1")"
    expected_changes="$(cat "$2")"
    local got_snapshot got_changes n
    n=$(wc -l <"$1")
    got_snapshot="$(head -n "$n" <<<"$got" | sort)"
    got_changes="$(tail -n +$((n + 1)) <<<"$got")"
    echo "rows printed: $(tr '\n' ' ' <<<"$got")"
    [[ "$got_snapshot" == "$expected_snapshot" && "$got_changes" == "$expected_changes" ]]
  }

  local block kind arg expected_snapshot="$dir/expected-snapshot" expected_changes="$dir/expected-changes"
  : >"$expected_changes"
  for block in $(ls "$dir/blocks" | grep -v '\.arg$' | sort); do
    kind="${block#*.}"
    arg="$(cat "$dir/blocks/$block.arg")"
    block="$dir/blocks/$block"
    case "$kind" in
      mysql)
        "$E2E_ROOT/scripts/mariadb.sh" sql <"$block" || { fail "the page's SQL failed: $(head -n 1 "$block")"; return 0; }
        ;;
      file) cp "$block" "$dir/$arg" ;;
      shell)
        if ! (cd "$dir" && FLINK_HOME="$FLINK_HOME" BRIDGE_JAR="$E2E_BRIDGE_JAR" bash -euo pipefail "$block") >"$block.log" 2>&1; then
          fail "the page's command failed: $(head -n 1 "$block") (log: $block.log)"
          tail -n 30 "$block.log" >&2
          return 0
        fi
        say "ran: $(head -n 1 "$block")"
        ;;
      expect-snapshot)
        cp "$block" "$expected_snapshot"
        wait_until "the page's snapshot rows" "$timeout" rows_are "$expected_snapshot" "$expected_changes" || return 0
        say "OK: the snapshot rows shown on the page"
        ;;
      expect-changes)
        cp "$block" "$expected_changes"
        wait_until "the page's changelog rows" "$timeout" rows_are "$expected_snapshot" "$expected_changes" || return 0
        say "OK: the changelog rows shown on the page, in order"
        ;;
      *) fail "unknown block kind '$kind' in $page"; return 0 ;;
    esac
  done

  local jid
  jid="$(latest_job_id "$job_name")"
  [[ -n "$jid" ]] || { fail "no job named $job_name"; return 0; }
  wait_until "job $jid CANCELED after the page's cancel command" 60 job_state_is "$jid" CANCELED || return 0
  # Nothing printed after the expected rows (a duplicate would show here).
  rows_are "$expected_snapshot" "$expected_changes" >/dev/null || fail "rows printed after the expected ones: $(printed_rows | tr '\n' ' ')"
  say "OK: job $jid cancelled by the page's command"
}
