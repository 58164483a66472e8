//! The binary against rust-datagen and rust-testkit: its rows are the ones the connector emits
//! in-process (as in a job), its errors the ones job submission gives, with the documented exit
//! codes.

mod common;

use std::time::Instant;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::Array;
use rust_core::types::RowType;

use common::*;

const SEQ_SCHEMA: &str = "id BIGINT NOT NULL, name STRING";

fn datagen_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--connector",
        "rust-datagen",
        "--schema",
        SEQ_SCHEMA,
        "-o",
        "fields.id.kind=sequence",
        "-o",
        "fields.id.start=1",
        "-o",
        "fields.id.end=500",
        "-o",
        "fields.name.length=7",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn the_first_rows_are_the_connectors_own_in_a_table() {
    let out = preview(&datagen_args(&["-n", "25"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    // Rule, header, rule, 25 rows, rule.
    assert_eq!(lines.len(), 29, "{text}");
    let header: Vec<&str> = lines[1]
        .split('|')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(header, ["op", "id", "name"]);
    let row_type = RowType::parse(&["id", "name"], &["BIGINT NOT NULL", "STRING"]).unwrap();
    let expected: Vec<i64> = kinds_and_ids(
        &run_in_process(
            "rust-datagen",
            &[
                ("fields.id.kind", "sequence"),
                ("fields.id.start", "1"),
                ("fields.id.end", "500"),
                ("fields.name.length", "7"),
            ],
            &row_type,
            1,
        ),
        0,
    )
    .into_iter()
    .map(|(_, id)| id)
    .take(25)
    .collect();
    let mut ids = Vec::new();
    for line in &lines[3..28] {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        assert_eq!(cells[1], "+I", "{line}");
        ids.push(cells[2].parse::<i64>().unwrap());
        assert_eq!(cells[3].chars().count(), 7, "fields.name.length: {line}");
    }
    assert_eq!(ids, expected);
    assert!(
        stderr(&out).contains("25 rows (limit reached)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn json_lines_carry_the_row_kind_of_a_changelog() {
    let out = preview(&[
        "-c",
        "rust-testkit",
        "-s",
        "id BIGINT",
        "-o",
        "rows=40",
        "-o",
        "changelog=true",
        "-n",
        "0",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got: Vec<(String, i64)> = json_lines(&out)
        .iter()
        .map(|v| {
            (
                v["op"].as_str().unwrap().to_string(),
                v["row"]["id"].as_i64().unwrap(),
            )
        })
        .collect();
    let row_type = RowType::parse(&["id"], &["BIGINT"]).unwrap();
    let expected = kinds_and_ids(
        &run_in_process(
            "rust-testkit",
            &[("rows", "40"), ("changelog", "true")],
            &row_type,
            1,
        ),
        0,
    );
    assert_eq!(got, expected);
    assert!(
        got.iter().any(|(k, _)| k == "-U") && got.iter().any(|(k, _)| k == "-D"),
        "{got:?}"
    );
    assert!(stderr(&out).contains("(end of input)"), "{}", stderr(&out));
}

#[test]
fn every_reader_runs_at_parallelism_two() {
    let out = preview(&datagen_args(&["-p", "2", "-n", "0", "--format", "json"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let mut ids: Vec<i64> = json_lines(&out)
        .iter()
        .map(|v| v["row"]["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        (1..=500).collect::<Vec<_>>(),
        "every sequence value exactly once"
    );
}

#[test]
fn the_arrow_ipc_file_holds_the_rows_and_their_kinds() {
    let dir = std::env::temp_dir().join(format!("flink-rust-preview-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("rows.arrow");
    let path = file.to_str().unwrap();
    let out = preview(&[
        "-c",
        "rust-testkit",
        "-s",
        "id BIGINT",
        "-o",
        "rows=5000",
        "-o",
        "changelog=true",
        "-o",
        "splits=3",
        "-n",
        "3000",
        "--arrow-ipc",
        path,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).is_empty(),
        "nothing on stdout with --arrow-ipc: {}",
        stdout(&out)
    );

    let reader =
        arrow_ipc::reader::FileReader::try_new(std::fs::File::open(&file).unwrap(), None).unwrap();
    let schema = reader.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["op", "id"]);
    let mut got = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let ops = batch.column(0).as_string::<i32>();
        let ids = batch.column(1).as_primitive::<Int64Type>();
        assert_eq!(ids.null_count(), 0);
        got.extend((0..batch.num_rows()).map(|i| (ops.value(i).to_string(), ids.value(i))));
    }
    let row_type = RowType::parse(&["id"], &["BIGINT"]).unwrap();
    let emitted = run_in_process(
        "rust-testkit",
        &[("rows", "5000"), ("changelog", "true"), ("splits", "3")],
        &row_type,
        1,
    );
    let expected: Vec<_> = kinds_and_ids(&emitted, 0).into_iter().take(3000).collect();
    assert_eq!(got, expected);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_options_exit_2_with_the_message_of_job_submission() {
    let cases: [(&[(&str, &str)], &str); 3] = [
        (
            &[("fields.id.kind", "bogus")],
            "Unsupported generator kind 'bogus'",
        ),
        (
            &[
                ("fields.id.kind", "sequence"),
                ("fields.id.start", "1"),
                ("fields.id.end", "10"),
                ("no-such-option", "1"),
            ],
            "Unsupported options found for 'rust-datagen'",
        ),
        (
            &[("scan.rate-limit.rows-per-second", "fast")],
            "scan.rate-limit.rows-per-second",
        ),
    ];
    for (pairs, excerpt) in cases {
        let mut args = vec![
            "-c".to_string(),
            "rust-datagen".into(),
            "-s".into(),
            "id BIGINT".into(),
        ];
        for (k, v) in pairs {
            args.extend(["-o".to_string(), format!("{k}={v}")]);
        }
        let out = preview(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let expected = submission_error("rust-datagen", pairs, &["id"], &["BIGINT"]);
        assert!(expected.contains(excerpt), "{expected}");
        assert_eq!(out.status.code(), Some(2), "{pairs:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), format!("error: {expected}\n"));
        assert!(stdout(&out).is_empty());
    }
}

#[test]
fn unknown_connectors_bad_columns_and_bad_usage_exit_2() {
    let unknown = preview(&["-c", "rust-nope", "-s", "id BIGINT"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("unknown connector 'rust-nope'; available connectors: rust-datagen, rust-mysql-cdc, rust-testkit"),
        "{}", stderr(&unknown));

    let column = preview(&[
        "-c",
        "rust-datagen",
        "-s",
        "id BIGINT, tags MULTISET<STRING>",
    ]);
    assert_eq!(column.status.code(), Some(2));
    assert!(
        stderr(&column).contains("column 'tags': unsupported column type 'MULTISET<STRING>'"),
        "{}",
        stderr(&column)
    );
    // ARRAY<STRING> is a type the bridge produces (rust-mysql-cdc, for SET), not one datagen generates.
    let array = preview(&["-c", "rust-datagen", "-s", "id BIGINT, tags ARRAY<STRING>"]);
    assert_eq!(array.status.code(), Some(2));
    assert!(
        stderr(&array).contains("rust-datagen does not generate ARRAY columns"),
        "{}",
        stderr(&array)
    );

    // The connector rejects the column type, as at submission.
    let testkit = preview(&["-c", "rust-testkit", "-s", "id STRING"]);
    assert_eq!(testkit.status.code(), Some(2));
    assert_eq!(
        stderr(&testkit),
        format!(
            "error: {}\n",
            submission_error("rust-testkit", &[], &["id"], &["STRING"])
        )
    );

    for args in [
        &["-s", "id BIGINT"][..],
        &["-c", "rust-datagen"],
        &["-c", "rust-datagen", "-s", "id BIGINT", "-o", "novalue"],
    ] {
        let out = preview(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn options_come_from_a_file_and_the_command_line_wins() {
    let dir = std::env::temp_dir().join(format!("flink-rust-preview-opts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("table.properties");
    std::fs::write(
        &file,
        "# the table's WITH clause\nconnector = rust-testkit\nrows=1000\n\nsplits=2\n",
    )
    .unwrap();
    let out = preview(&[
        "-f",
        file.to_str().unwrap(),
        "-o",
        "rows=7",
        "-s",
        "id BIGINT",
        "-n",
        "0",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut ids: Vec<i64> = json_lines(&out)
        .iter()
        .map(|v| v["row"]["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..7).collect::<Vec<_>>());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failure_while_reading_exits_1_after_the_rows_read() {
    let out = preview(&[
        "-c",
        "rust-testkit",
        "-s",
        "id BIGINT",
        "-o",
        "rows=100",
        "-o",
        "splits=1",
        "-o",
        "fail.on=poll-error",
        "-o",
        "fail.after-rows=10",
        "-n",
        "0",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).starts_with("error: "), "{}", stderr(&out));
    assert!(json_lines(&out).len() <= 10);
}

#[test]
fn rate_limits_apply_as_in_a_job_and_the_timeout_ends_an_unbounded_source() {
    // 40 rows at 20 rows/s: about 2 s (a burst is at most 5% of a second's limit).
    let started = Instant::now();
    let out = preview(&[
        "-c",
        "rust-datagen",
        "-s",
        "id BIGINT",
        "-o",
        "scan.rate-limit.rows-per-second=20",
        "-n",
        "40",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json_lines(&out).len(), 40);
    assert!(
        started.elapsed().as_secs_f64() > 1.5,
        "{:?}",
        started.elapsed()
    );

    let out = preview(&[
        "-c",
        "rust-datagen",
        "-s",
        "id BIGINT",
        "-o",
        "rows-per-second=5",
        "-n",
        "1000",
        "-t",
        "1 s",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = json_lines(&out).len();
    assert!((1..=20).contains(&rows), "{rows} rows in 1 s at 5 rows/s");
    assert!(stderr(&out).contains("(timeout)"), "{}", stderr(&out));
}
