# Scenario: examples/datastream-job, built with plain `mvn package` against the installed bridge
# artifact (e2e.sh builds it once), submitted with flink run job.jar --output DIR.
#   The job reads rust-datagen (ids 1..N, random categories) at parallelism 4 in batch mode,
#   writes every row as CSV (FileSink) and prints a total per category (TaskManager stdout).
#   Checks: every id exactly once in the files, the printed totals equal the totals of those
#   files (rows and sum of ids per category), readers on both TaskManagers.
# Environment: E2E_DATASTREAM_ROWS (100000).

scenario_datastream() {
  local rows="${E2E_DATASTREAM_ROWS:-100000}" parallelism=4 dir="$E2E_WORK/datastream"
  mkdir -p "$dir"
  # Where this job's printed totals start in each TaskManager's stdout file.
  local out_file
  declare -A offset=()
  for out_file in "$FLINK_LOG_DIR"/flink-*-taskexecutor-*.out; do
    offset[$out_file]="$(stat -c %s "$out_file")"
  done

  local log="$dir/flink-run.log" rc=0
  "$FLINK_HOME/bin/flink" run -p "$parallelism" "$E2E_JOB_JAR" --rows "$rows" --output "file://$dir/out" >"$log" 2>&1 || rc=$?
  [[ $rc -eq 0 ]] || { fail "flink run exited with $rc:"; tail -n 40 "$log" >&2; }
  local jid
  jid="$(grep -oE 'JobID [0-9a-f]{32}' "$log" | awk '{print $2}' | head -n 1)"
  [[ -n "$jid" ]] || jid="$(latest_job_id "rust-datagen counts per category")"

  check_ids "$dir/out" "$rows"
  if [[ -n "$jid" ]]; then
    check_job "$jid" "$parallelism"
  else
    fail "no job id in the flink run output (log: $log)"
  fi

  # Totals per category: as printed by the job, and as computed from its output files.
  for out_file in "${!offset[@]}"; do
    tail -c +"$((offset[$out_file] + 1))" "$out_file"
  done | grep -oE 'category=[0-9]+ rows=[0-9]+ sum\(id\)=[0-9]+' | sort >"$dir/printed.txt"
  find "$dir/out" -type f ! -name '.*' -exec cat {} + | awk -F, '
    { rows[$2]++; ids[$2] += $1 }
    END { for (c in rows) printf "category=%d rows=%d sum(id)=%.0f\n", c, rows[c], ids[c] }' | sort >"$dir/from-files.txt"
  if [[ -s "$dir/printed.txt" ]] && cmp -s "$dir/printed.txt" "$dir/from-files.txt"; then
    say "OK: printed totals match the output files: $(tr '\n' ';' <"$dir/printed.txt")"
  else
    fail "printed totals differ from the output files:"
    diff "$dir/printed.txt" "$dir/from-files.txt" >&2 || true
  fi
  return 0
}
