//! Tests drive the source through rust-core's erased interfaces (`DynSource`, `DynEnumerator`,
//! `DynReader`), so splits and state cross as the versioned bytes Java sees. Where a test must
//! see whether a reader asked for a split (rust-core keeps `ReaderContext`'s signals
//! crate-private), it uses the typed reader.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    Int8Type, Time32MillisecondType, TimestampMicrosecondType, TimestampMillisecondType,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};

use rust_core::api::SourceFactory;
use rust_core::api::{
    Boundedness, EnumeratorCommand, EnumeratorInit, ReaderContext, ReaderInit, ReaderPoll, Source,
    SourceReader, SourceSplit,
};
use rust_core::options::Options;
use rust_core::protocol::SplitBytes;
use rust_core::runtime::{DynEnumerator, DynReader, DynSource, EnumeratorOutput};
use rust_core::types::RowType;

use crate::config::DatagenConfig;
use crate::source::{plan_splits, RateLimiter, MIN_SPLIT_ROWS, SPLITS_PER_READER};
use crate::{DatagenFactory, DatagenSource, DatagenSplit};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Option or column pairs.
type Pairs<'a> = &'a [(&'a str, &'a str)];

/// Fast enough that no test waits for the rate limit unless it sets its own.
const UNLIMITED: (&str, &str) = ("rows-per-second", "1000000000000");

fn options(pairs: &[(&str, &str)]) -> Options {
    let mut map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    map.insert("connector".into(), "rust-datagen".into());
    Options::new("rust-datagen", map)
}

fn row_type(columns: &[(&str, &str)]) -> RowType {
    let names: Vec<&str> = columns.iter().map(|c| c.0).collect();
    let types: Vec<&str> = columns.iter().map(|c| c.1).collect();
    RowType::parse(&names, &types).unwrap()
}

fn create(
    opts: &[(&str, &str)],
    columns: &[(&str, &str)],
) -> rust_core::Result<Box<dyn DynSource>> {
    let options = options(opts);
    let source = DatagenFactory.create(&options, &row_type(columns))?;
    // As the registry does: every option the connector read is declared (and so documented).
    options.ensure_reads_declared(DatagenFactory.options())?;
    Ok(source)
}

/// The validation error for these options, asserting it is one.
fn error(opts: &[(&str, &str)], columns: &[(&str, &str)]) -> String {
    match create(opts, columns) {
        Ok(_) => panic!("expected a validation error for {opts:?} on {columns:?}"),
        Err(e) => {
            assert!(e.is_validation(), "not a validation error: {e}");
            e.to_string()
        }
    }
}

fn typed_source(opts: &[(&str, &str)], columns: &[(&str, &str)]) -> DatagenSource {
    let rt = row_type(columns);
    DatagenSource::new(DatagenConfig::parse(&options(opts), &rt).unwrap(), rt)
}

fn init(subtask: u32, parallelism: u32, batch_rows: usize) -> ReaderInit {
    ReaderInit::new(subtask, parallelism, batch_rows)
}

fn decode_split(bytes: &SplitBytes) -> DatagenSplit {
    rust_core::state::decode("split", 1, &bytes.state).unwrap()
}

struct Node {
    reader: Box<dyn DynReader>,
    ctx: ReaderContext,
    ended: bool,
    /// Splits assigned since this reader started (what Flink adds back if it fails).
    assigned: Vec<SplitBytes>,
}

/// An enumerator and its readers, wired the way the Java layer wires them.
struct Cluster {
    source: Box<dyn DynSource>,
    enumerator: Box<dyn DynEnumerator>,
    nodes: Vec<Node>,
    batch_rows: usize,
}

impl Cluster {
    fn new(source: Box<dyn DynSource>, parallelism: u32, batch_rows: usize) -> Self {
        let mut enumerator = source
            .create_enumerator(&EnumeratorInit { parallelism }, None)
            .unwrap();
        let out = enumerator.start().unwrap();
        assert!(out.commands.is_empty());
        let mut cluster = Cluster {
            source,
            enumerator,
            nodes: Vec::new(),
            batch_rows,
        };
        for i in 0..parallelism {
            let node = cluster.start_reader(i, parallelism, Vec::new());
            cluster.nodes.push(node);
        }
        cluster
    }

    /// Restores an enumerator and readers from a checkpoint (enumerator bytes, reader splits).
    fn restore(
        source: Box<dyn DynSource>,
        enumerator_state: &[u8],
        readers: Vec<Vec<SplitBytes>>,
        batch_rows: usize,
    ) -> Self {
        let parallelism = readers.len() as u32;
        let mut enumerator = source
            .create_enumerator(&EnumeratorInit { parallelism }, Some(enumerator_state))
            .unwrap();
        enumerator.start().unwrap();
        let mut cluster = Cluster {
            source,
            enumerator,
            nodes: Vec::new(),
            batch_rows,
        };
        for (i, splits) in readers.into_iter().enumerate() {
            let node = cluster.start_reader(i as u32, parallelism, splits);
            cluster.nodes.push(node);
        }
        cluster
    }

    /// Creates a reader, hands it restored splits, registers it and starts it (Flink's order).
    fn start_reader(&mut self, subtask: u32, parallelism: u32, restored: Vec<SplitBytes>) -> Node {
        let init = init(subtask, parallelism, self.batch_rows);
        let mut reader = self.source.create_reader(&init).unwrap();
        let mut ctx = ReaderContext::new(init);
        if !restored.is_empty() {
            reader.add_splits(restored, &mut ctx).unwrap();
        }
        let out = self.enumerator.add_reader(subtask).unwrap();
        assert!(out.commands.is_empty(), "readers pull their splits");
        reader.start(&mut ctx).unwrap();
        Node {
            reader,
            ctx,
            ended: false,
            assigned: Vec::new(),
        }
    }

    fn apply(&mut self, out: EnumeratorOutput) {
        for command in out.commands {
            match command {
                EnumeratorCommand::AssignSplits { subtask, splits } => {
                    let node = &mut self.nodes[subtask as usize];
                    node.assigned.extend(splits.iter().cloned());
                    node.reader.add_splits(splits, &mut node.ctx).unwrap();
                }
                EnumeratorCommand::SignalNoMoreSplits { subtask } => {
                    let node = &mut self.nodes[subtask as usize];
                    node.reader.notify_no_more_splits(&mut node.ctx).unwrap();
                }
                other => panic!("unexpected command {other:?}"),
            }
        }
    }

    /// Polls reader `i` once; a reader waiting for a split gets its request answered.
    fn poll(&mut self, i: usize) -> Option<RecordBatch> {
        let node = &mut self.nodes[i];
        if node.ended {
            return None;
        }
        match node.reader.poll_next(&mut node.ctx).unwrap() {
            ReaderPoll::Batch(b) => {
                assert!(b.row_kinds.is_none(), "datagen emits inserts only");
                assert!(b.num_rows() > 0 && b.num_rows() <= self.batch_rows);
                Some(b.rows)
            }
            ReaderPoll::NothingAvailable { retry_after: None } => {
                let out = self
                    .enumerator
                    .handle_split_request(i as u32, None)
                    .unwrap();
                self.apply(out);
                None
            }
            ReaderPoll::NothingAvailable {
                retry_after: Some(d),
            } => panic!("rate limited for {d:?}"),
            ReaderPoll::EndOfInput => {
                node.ended = true;
                None
            }
        }
    }

    /// Polls all readers round-robin until every one reports end of input.
    fn run_to_end(&mut self) -> Vec<RecordBatch> {
        let mut batches = Vec::new();
        for _ in 0..1_000_000 {
            if self.nodes.iter().all(|n| n.ended) {
                return batches;
            }
            for i in 0..self.nodes.len() {
                batches.extend(self.poll(i));
            }
        }
        panic!("the readers did not end");
    }

    fn snapshot(&mut self, checkpoint: u64) -> (Vec<u8>, Vec<Vec<SplitBytes>>) {
        let enumerator = self.enumerator.snapshot_state(checkpoint).unwrap();
        let readers = self
            .nodes
            .iter_mut()
            .map(|n| n.reader.snapshot_state(checkpoint).unwrap())
            .collect();
        (enumerator, readers)
    }
}

fn i64s(batches: &[RecordBatch], column: usize) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| {
            b.column(column)
                .as_primitive::<Int64Type>()
                .values()
                .to_vec()
        })
        .collect()
}

fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

/// Every declared (documented) option is accepted on a column it applies to, and the table below
/// has one entry per declared option, so a new option needs an example here.
#[test]
fn every_declared_option_is_accepted() {
    let columns = [
        ("id", "BIGINT"),
        ("price", "DOUBLE"),
        ("name", "STRING"),
        ("ts", "TIMESTAMP(3)"),
    ];
    let examples = [
        ("rows-per-second", "500"),
        ("number-of-rows", "10"),
        ("fields.id.kind", "sequence"),
        ("fields.id.start", "1"),
        ("fields.id.end", "10"),
        ("fields.price.min", "1"),
        ("fields.price.max", "2"),
        ("fields.price.null-rate", "0.5"),
        ("fields.name.length", "5"),
        ("fields.name.var-len", "true"),
        ("fields.ts.max-past", "1 min"),
    ];
    create(&examples, &columns).expect("every example is valid");
    for option in crate::config::OPTIONS {
        let n = examples.iter().filter(|(k, _)| option.matches(k)).count();
        assert_eq!(n, 1, "option '{}' needs one example here", option.key);
    }
    assert_eq!(examples.len(), crate::config::OPTIONS.len());
}

#[test]
fn unknown_options_are_listed_with_the_supported_ones() {
    let err = error(
        &[
            ("fields.id.kind", "random"),
            ("rows-per-secnd", "5"),
            ("fields.nope.kind", "random"),
        ],
        &[("id", "INT")],
    );
    assert!(
        err.contains("Unsupported options found for 'rust-datagen'"),
        "{err}"
    );
    assert!(
        err.contains("Unsupported options:\n\nfields.nope.kind\nrows-per-secnd\n"),
        "{err}"
    );
    for supported in [
        "fields.id.kind",
        "fields.id.min",
        "fields.id.max",
        "fields.id.null-rate",
        "number-of-rows",
        "rows-per-second",
    ] {
        assert!(
            err.contains(&format!("\n{supported}")),
            "{supported} missing in {err}"
        );
    }
    // Options of another kind or type are not offered.
    assert!(
        !err.contains("fields.id.start") && !err.contains("fields.id.length"),
        "{err}"
    );
}

#[test]
fn values_of_the_wrong_type_name_the_option_and_the_value() {
    let cases: &[(Pairs, Pairs, &str)] = &[
        (
            &[("rows-per-second", "fast")],
            &[("a", "INT")],
            "'rows-per-second'",
        ),
        (
            &[("number-of-rows", "1e3")],
            &[("a", "INT")],
            "'number-of-rows'",
        ),
        (
            &[("fields.a.min", "ten")],
            &[("a", "INT")],
            "'fields.a.min'",
        ),
        (
            &[("fields.a.max", "300")],
            &[("a", "TINYINT")],
            "'fields.a.max'",
        ),
        (
            &[("fields.a.max", "1.5")],
            &[("a", "BIGINT")],
            "'fields.a.max'",
        ),
        (
            &[("fields.a.null-rate", "half")],
            &[("a", "INT")],
            "'fields.a.null-rate'",
        ),
        (
            &[("fields.a.max-past", "soon")],
            &[("a", "TIMESTAMP(3)")],
            "'fields.a.max-past'",
        ),
        (
            &[("fields.a.length", "-1")],
            &[("a", "STRING")],
            "'fields.a.length'",
        ),
        (
            &[("fields.a.var-len", "yes")],
            &[("a", "STRING")],
            "'fields.a.var-len'",
        ),
        (
            &[
                ("fields.a.kind", "sequence"),
                ("fields.a.start", "x"),
                ("fields.a.end", "5"),
            ],
            &[("a", "BIGINT")],
            "'fields.a.start'",
        ),
        (
            &[
                ("fields.a.kind", "sequence"),
                ("fields.a.start", "0"),
                ("fields.a.end", "40000"),
            ],
            &[("a", "SMALLINT")],
            "'fields.a.end'",
        ),
        (
            &[("fields.a.min", "inf")],
            &[("a", "DOUBLE")],
            "'fields.a.min'",
        ),
    ];
    for (opts, columns, key) in cases {
        let err = error(opts, columns);
        assert!(err.contains(key), "{key} not named in: {err}");
        let value = opts.iter().find(|(k, _)| key.contains(k)).unwrap().1;
        assert!(err.contains(value), "value {value} not named in: {err}");
    }
}

#[test]
fn array_columns_are_refused_by_name() {
    let err = error(&[], &[("id", "INT"), ("tags", "ARRAY<STRING>")]);
    assert!(
        err.contains("Field 'tags' of type ARRAY<VARCHAR(2147483647)>")
            && err.contains("rust-datagen does not generate ARRAY columns"),
        "{err}"
    );
}

#[test]
fn sequences_need_start_and_end_in_order() {
    let err = error(
        &[("fields.id.kind", "sequence"), ("fields.id.start", "1")],
        &[("id", "BIGINT")],
    );
    assert_eq!(
        err,
        "Could not find required property 'fields.id.end' for sequence generator."
    );
    let err = error(
        &[("fields.id.kind", "sequence"), ("fields.id.end", "1")],
        &[("id", "BIGINT")],
    );
    assert!(err.contains("'fields.id.start'"), "{err}");
    let err = error(
        &[
            ("fields.id.kind", "sequence"),
            ("fields.id.start", "10"),
            ("fields.id.end", "9"),
        ],
        &[("id", "INT")],
    );
    assert!(
        err.contains("'fields.id.start' (10) is greater than 'fields.id.end' (9)"),
        "{err}"
    );
    let err = error(
        &[
            ("fields.d.kind", "sequence"),
            ("fields.d.start", "0"),
            ("fields.d.end", "1000"),
        ],
        &[("d", "DECIMAL(5, 2)")],
    );
    assert!(
        err.contains("'fields.d.end'") && err.contains("DECIMAL(5, 2)"),
        "{err}"
    );
    // A single-value sequence is fine.
    let source = create(
        &[
            ("fields.id.kind", "sequence"),
            ("fields.id.start", "7"),
            ("fields.id.end", "7"),
        ],
        &[("id", "INT")],
    )
    .unwrap();
    assert_eq!(source.boundedness(), Boundedness::Bounded);
}

#[test]
fn min_must_not_exceed_max() {
    for (ty, min, max) in [
        ("INT", "5", "4"),
        ("TINYINT", "-1", "-2"),
        ("DOUBLE", "0.5", "0.25"),
        ("DECIMAL(10, 2)", "3", "2"),
        ("FLOAT", "1", "0"),
    ] {
        let err = error(
            &[("fields.x.min", min), ("fields.x.max", max)],
            &[("x", ty)],
        );
        assert!(
            err.contains(&format!(
                "'fields.x.min' ({min}) is greater than 'fields.x.max' ({max})"
            )),
            "{ty}: {err}"
        );
    }
    // Equal bounds give a constant.
    create(
        &[("fields.x.min", "3"), ("fields.x.max", "3")],
        &[("x", "INT")],
    )
    .unwrap();
    // A DECIMAL range entirely outside the type.
    let err = error(
        &[("fields.x.min", "1000"), ("fields.x.max", "2000")],
        &[("x", "DECIMAL(3, 1)")],
    );
    assert!(err.contains("DECIMAL(3, 1)"), "{err}");
}

#[test]
fn null_rate_is_a_fraction_and_needs_a_nullable_column() {
    for rate in ["1.5", "-0.1", "NaN"] {
        let err = error(&[("fields.x.null-rate", rate)], &[("x", "INT")]);
        assert!(
            err.contains("'fields.x.null-rate'") && err.contains("[0, 1]"),
            "{rate}: {err}"
        );
    }
    let err = error(&[("fields.x.null-rate", "0.1")], &[("x", "INT NOT NULL")]);
    assert!(
        err.contains("'fields.x.null-rate'") && err.contains("NOT NULL"),
        "{err}"
    );
    create(&[("fields.x.null-rate", "0")], &[("x", "INT NOT NULL")]).unwrap();
    create(&[("fields.x.null-rate", "1")], &[("x", "STRING")]).unwrap();
}

#[test]
fn options_that_do_not_apply_to_the_type_name_field_and_option() {
    let cases: &[(Pairs, &str, &[&str])] = &[
        (
            &[("fields.f.min", "1")],
            "BOOLEAN",
            &["'fields.f.min'", "'f'", "BOOLEAN", "'fields.f.null-rate'"],
        ),
        (
            &[("fields.f.max-past", "1 s")],
            "INT",
            &["'fields.f.max-past'", "'f'", "INT", "'fields.f.min'"],
        ),
        (
            &[("fields.f.length", "3")],
            "TIMESTAMP(3)",
            &["'fields.f.length'", "'f'", "'fields.f.max-past'"],
        ),
        (
            &[("fields.f.start", "1")],
            "INT",
            &["'fields.f.start'", "'random'"],
        ),
        (
            &[
                ("fields.f.kind", "sequence"),
                ("fields.f.start", "1"),
                ("fields.f.end", "2"),
                ("fields.f.null-rate", "0.5"),
            ],
            "BIGINT",
            &[
                "'fields.f.null-rate'",
                "'sequence'",
                "'fields.f.start'",
                "'fields.f.end'",
            ],
        ),
        (
            &[
                ("fields.f.kind", "sequence"),
                ("fields.f.start", "1"),
                ("fields.f.end", "2"),
                ("fields.f.min", "0"),
            ],
            "INT",
            &["'fields.f.min'", "'sequence'"],
        ),
        // Flink's own messages.
        (
            &[("fields.f.var-len", "true")],
            "CHAR(4)",
            &[
                "Only supports specifying 'fields.#.var-len' option",
                "field 'f'",
            ],
        ),
        (
            &[("fields.f.var-len", "true")],
            "INT",
            &[
                "Only supports specifying 'fields.#.var-len' option",
                "field 'f'",
            ],
        ),
        (
            &[("fields.f.length", "3")],
            "CHAR(4)",
            &["Custom length for fixed-length type (CHAR/BINARY) field 'f' is not supported."],
        ),
        (
            &[("fields.f.length", "3")],
            "BINARY(4)",
            &["Custom length for fixed-length type (CHAR/BINARY) field 'f' is not supported."],
        ),
        (
            &[("fields.f.length", "6")],
            "VARCHAR(5)",
            &["Custom length '6'", "field 'f' should be shorter than '5'"],
        ),
        (
            &[("fields.f.length", "6")],
            "VARBINARY(5)",
            &["Custom length '6'", "field 'f' should be shorter than '5'"],
        ),
    ];
    for (opts, ty, expected) in cases {
        let err = error(opts, &[("f", ty)]);
        for e in *expected {
            assert!(err.contains(e), "{ty} {opts:?}: '{e}' not in: {err}");
        }
    }
}

#[test]
fn kinds_are_checked_against_the_type() {
    for ty in [
        "BOOLEAN",
        "DATE",
        "TIME(0)",
        "TIMESTAMP(3)",
        "TIMESTAMP_LTZ(6)",
    ] {
        let err = error(
            &[
                ("fields.f.kind", "sequence"),
                ("fields.f.start", "1"),
                ("fields.f.end", "2"),
            ],
            &[("f", ty)],
        );
        assert!(
            err.contains("'fields.f.kind' = 'sequence'")
                && err.contains(ty.split(['(', '_']).next().unwrap()),
            "{ty}: {err}"
        );
    }
    let err = error(&[("fields.f.kind", "shuffle")], &[("f", "INT")]);
    assert!(
        err.contains("'shuffle'") && err.contains("'random' or 'sequence'"),
        "{err}"
    );
}

#[test]
fn rates_and_row_counts_are_checked() {
    let err = error(&[("rows-per-second", "0")], &[("a", "INT")]);
    assert!(
        err.contains("'rows-per-second'") && err.contains("positive"),
        "{err}"
    );
    let err = error(&[("number-of-rows", "-1")], &[("a", "INT")]);
    assert!(err.contains("'number-of-rows'"), "{err}");
}

#[test]
fn every_supported_type_is_accepted_with_its_options_and_defaults() {
    let columns = [
        ("b", "BOOLEAN"),
        ("t", "TINYINT"),
        ("s", "SMALLINT"),
        ("i", "INT"),
        ("l", "BIGINT"),
        ("f", "FLOAT"),
        ("d", "DOUBLE"),
        ("dec", "DECIMAL(38, 10)"),
        ("c", "CHAR(3)"),
        ("v", "VARCHAR(20)"),
        ("str", "STRING"),
        ("bin", "BINARY(2)"),
        ("vb", "BYTES"),
        ("date", "DATE"),
        ("time", "TIME(3)"),
        ("ts", "TIMESTAMP(9)"),
        ("ltz", "TIMESTAMP_LTZ(3)"),
    ];
    let opts = [
        ("rows-per-second", "5"),
        ("fields.b.null-rate", "0.5"),
        ("fields.t.min", "-5"),
        ("fields.s.max", "5"),
        ("fields.i.kind", "RANDOM"),
        ("fields.l.min", "0"),
        ("fields.f.min", "-1.5"),
        ("fields.d.max", "2e300"),
        ("fields.dec.min", "-1e20"),
        ("fields.v.length", "20"),
        ("fields.str.var-len", "true"),
        ("fields.vb.length", "7"),
        ("fields.date.null-rate", "0.1"),
        ("fields.ts.max-past", "1 h"),
        ("fields.ltz.null-rate", "0.2"),
    ];
    let source = typed_source(&opts, &columns);
    assert_eq!(source.boundedness(), Boundedness::ContinuousUnbounded);
    assert_eq!(source.config.rows_per_second, 5);
    assert_eq!(source.config.number_of_rows, None);
    let default = typed_source(&[], &[("a", "INT")]);
    assert_eq!(default.config.rows_per_second, 10_000);
}

#[test]
fn bounded_when_rows_or_a_sequence_are_given() {
    let seq = [
        ("fields.a.kind", "sequence"),
        ("fields.a.start", "-5"),
        ("fields.a.end", "94"),
    ];
    assert_eq!(
        typed_source(&seq, &[("a", "INT")]).config.total_rows(),
        Some(100)
    );
    let both = [seq.as_slice(), &[("number-of-rows", "30")]].concat();
    assert_eq!(
        typed_source(&both, &[("a", "INT")]).config.total_rows(),
        Some(30)
    );
    let two = [
        seq.as_slice(),
        &[
            ("fields.b.kind", "sequence"),
            ("fields.b.start", "1"),
            ("fields.b.end", "10"),
        ],
    ]
    .concat();
    assert_eq!(
        typed_source(&two, &[("a", "INT"), ("b", "STRING")])
            .config
            .total_rows(),
        Some(10)
    );
    let rows = typed_source(&[("number-of-rows", "0")], &[("a", "INT")]);
    assert_eq!(
        (rows.boundedness(), rows.config.total_rows()),
        (Boundedness::Bounded, Some(0))
    );
    let whole = [
        ("fields.a.kind", "sequence"),
        ("fields.a.start", "-9223372036854775808"),
        ("fields.a.end", "9223372036854775807"),
    ];
    assert_eq!(
        typed_source(&whole, &[("a", "BIGINT")]).config.total_rows(),
        Some(u64::MAX)
    );
}

// ---------------------------------------------------------------------------------------------
// Splits, exactly once, restore
// ---------------------------------------------------------------------------------------------

#[test]
fn splits_cover_the_range_contiguously() {
    assert!(plan_splits(0, 4).is_empty());
    assert_eq!(
        plan_splits(10, 1),
        vec![DatagenSplit {
            id: 0,
            next: 0,
            end: Some(10)
        }]
    );
    // Never fewer splits than readers while there are rows for them: each reader owns a share of
    // rows-per-second, and a reader without a split would leave its share unused.
    assert_eq!(plan_splits(10, 4).len(), 4);
    assert_eq!(
        plan_splits(20, 2)
            .iter()
            .map(|s| (s.next, s.end))
            .collect::<Vec<_>>(),
        [(0, Some(10)), (10, Some(20))]
    );
    assert_eq!(plan_splits(3, 8).len(), 3);
    for (total, p) in [
        (1_000_000u64, 1u32),
        (1_000_000, 3),
        (50_001, 4),
        (4097, 2),
        (u64::MAX, 8),
        (10, 4),
    ] {
        let splits = plan_splits(total, p);
        assert!(splits.len() as u64 <= SPLITS_PER_READER * u64::from(p));
        assert_eq!(splits[0].next, 0);
        assert_eq!(splits.last().unwrap().end, Some(total));
        for w in splits.windows(2) {
            assert_eq!(w[0].end, Some(w[1].next));
        }
        if splits.len() as u64 > u64::from(p) {
            assert!(
                splits
                    .iter()
                    .all(|s| s.end.unwrap() - s.next >= MIN_SPLIT_ROWS / 2),
                "{total}/{p}: {splits:?}"
            );
        }
        let ids: BTreeSet<String> = splits.iter().map(|s| s.split_id()).collect();
        assert_eq!(ids.len(), splits.len());
    }
}

#[test]
fn a_sequence_is_read_exactly_once_at_any_parallelism() {
    const N: i64 = 50_000;
    let end = N.to_string();
    let opts = [
        UNLIMITED,
        ("fields.id.kind", "sequence"),
        ("fields.id.start", "1"),
        ("fields.id.end", end.as_str()),
        ("fields.s.kind", "sequence"),
        ("fields.s.start", "-10"),
        ("fields.s.end", "99999999"),
        ("fields.b.kind", "sequence"),
        ("fields.b.start", "1"),
        ("fields.b.end", "9999999"),
        ("fields.r.min", "0"),
        ("fields.r.max", "9"),
    ];
    let columns = [
        ("id", "BIGINT NOT NULL"),
        ("s", "STRING"),
        ("b", "BYTES"),
        ("r", "INT"),
    ];
    for parallelism in 1..=4u32 {
        let mut cluster = Cluster::new(create(&opts, &columns).unwrap(), parallelism, 1000);
        assert_eq!(cluster.source.boundedness(), Boundedness::Bounded);
        let batches = cluster.run_to_end();
        let mut ids = i64s(&batches, 0);
        assert_eq!(ids.len(), N as usize, "parallelism {parallelism}");
        ids.sort_unstable();
        assert!(
            ids.iter().copied().eq(1..=N),
            "parallelism {parallelism}: not every id exactly once"
        );
        // All sequences advance together: row i has id 1 + i, s = -10 + i, b = 1 + i.
        for batch in &batches {
            let id = batch.column(0).as_primitive::<Int64Type>();
            let s = batch.column(1).as_string::<i32>();
            let b = batch.column(2).as_binary::<i32>();
            for row in 0..batch.num_rows() {
                assert_eq!(s.value(row), (id.value(row) - 11).to_string());
                assert_eq!(b.value(row), id.value(row).to_be_bytes());
            }
        }
        // Every reader took part when there were enough splits for all.
        assert!(
            cluster.nodes.iter().all(|n| !n.assigned.is_empty()),
            "parallelism {parallelism}"
        );
        // Polling after the end keeps reporting the end.
        let node = &mut cluster.nodes[0];
        assert!(matches!(
            node.reader.poll_next(&mut node.ctx).unwrap(),
            ReaderPoll::EndOfInput
        ));
    }
}

#[test]
fn number_of_rows_bounds_a_random_table_and_zero_rows_end_at_once() {
    let mut cluster = Cluster::new(
        create(
            &[UNLIMITED, ("number-of-rows", "12345")],
            &[("a", "INT"), ("b", "STRING")],
        )
        .unwrap(),
        3,
        4096,
    );
    let rows: usize = cluster.run_to_end().iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 12345);

    let mut cluster = Cluster::new(
        create(&[UNLIMITED, ("number-of-rows", "0")], &[("a", "INT")]).unwrap(),
        2,
        4096,
    );
    assert!(cluster.run_to_end().is_empty());

    // A table without columns still has rows.
    let mut cluster = Cluster::new(
        create(&[UNLIMITED, ("number-of-rows", "10")], &[]).unwrap(),
        1,
        4,
    );
    let batches = cluster.run_to_end();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 10);
}

#[test]
fn sequences_of_every_type_have_the_right_values() {
    let opts = [
        UNLIMITED,
        ("fields.t.kind", "sequence"),
        ("fields.t.start", "-128"),
        ("fields.t.end", "127"),
        ("fields.sm.kind", "sequence"),
        ("fields.sm.start", "-100"),
        ("fields.sm.end", "1000"),
        ("fields.i.kind", "sequence"),
        ("fields.i.start", "2147483390"),
        ("fields.i.end", "2147483647"),
        ("fields.f.kind", "sequence"),
        ("fields.f.start", "0"),
        ("fields.f.end", "1000"),
        ("fields.d.kind", "sequence"),
        ("fields.d.start", "5"),
        ("fields.d.end", "1000"),
        ("fields.dec.kind", "sequence"),
        ("fields.dec.start", "-3"),
        ("fields.dec.end", "999"),
        ("fields.c.kind", "sequence"),
        ("fields.c.start", "98"),
        ("fields.c.end", "2000"),
        ("fields.bin.kind", "sequence"),
        ("fields.bin.start", "-1"),
        ("fields.bin.end", "2000"),
    ];
    let columns = [
        ("t", "TINYINT"),
        ("sm", "SMALLINT"),
        ("i", "INT"),
        ("f", "FLOAT"),
        ("d", "DOUBLE"),
        ("dec", "DECIMAL(5, 2)"),
        ("c", "CHAR(3)"),
        ("bin", "BINARY(8)"),
    ];
    let mut cluster = Cluster::new(create(&opts, &columns).unwrap(), 1, 100);
    let batches = cluster.run_to_end();
    let total: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(
        total, 256,
        "the shortest sequence (TINYINT) bounds the table"
    );
    let mut k: i64 = 0;
    for b in &batches {
        assert_eq!(b.column(5).data_type(), &DataType::Decimal128(5, 2));
        for row in 0..b.num_rows() {
            assert_eq!(
                i64::from(b.column(0).as_primitive::<Int8Type>().value(row)),
                -128 + k
            );
            assert_eq!(
                i64::from(b.column(1).as_primitive::<Int16Type>().value(row)),
                -100 + k
            );
            assert_eq!(
                i64::from(b.column(2).as_primitive::<Int32Type>().value(row)),
                2147483390 + k
            );
            assert_eq!(
                b.column(3).as_primitive::<Float32Type>().value(row),
                k as f32
            );
            assert_eq!(
                b.column(4).as_primitive::<Float64Type>().value(row),
                (5 + k) as f64
            );
            assert_eq!(
                b.column(5).as_primitive::<Decimal128Type>().value(row),
                i128::from(-3 + k) * 100
            );
            assert_eq!(
                b.column(6).as_string::<i32>().value(row),
                (98 + k).to_string()
            );
            assert_eq!(
                b.column(7).as_binary::<i32>().value(row),
                (-1 + k).to_be_bytes()
            );
            k += 1;
        }
    }
}

#[test]
fn a_restore_from_a_mid_split_checkpoint_continues_without_gap_or_duplicate() {
    const N: i64 = 40_000;
    let end = N.to_string();
    let opts = [
        UNLIMITED,
        ("fields.id.kind", "sequence"),
        ("fields.id.start", "0"),
        ("fields.id.end", end.as_str()),
    ];
    let columns = [("id", "BIGINT")];
    let total = N as usize + 1;
    for (parallelism, restored_parallelism) in [(2u32, 2u32), (3, 1), (1, 4)] {
        let mut cluster = Cluster::new(create(&opts, &columns).unwrap(), parallelism, 700);
        // Read a while: some splits finished, some half read, some not assigned.
        let mut before = Vec::new();
        for _ in 0..4 {
            for i in 0..cluster.nodes.len() {
                before.extend(cluster.poll(i));
            }
        }
        let (enumerator_state, mut reader_states) = cluster.snapshot(1);
        let state_splits: Vec<DatagenSplit> =
            reader_states.iter().flatten().map(decode_split).collect();
        assert!(
            state_splits.iter().any(|s| s.next
                > plan_splits(total as u64, parallelism)
                    .iter()
                    .find(|p| p.id == s.id)
                    .unwrap()
                    .next),
            "the checkpoint should hold a half-read split: {state_splits:?}"
        );
        // Rows emitted after the checkpoint are lost with the failure.
        for i in 0..cluster.nodes.len() {
            cluster.poll(i);
        }
        drop(cluster);

        // Flink redistributes the readers' splits over the new parallelism.
        let all: Vec<SplitBytes> = reader_states.drain(..).flatten().collect();
        let mut per_reader = vec![Vec::new(); restored_parallelism as usize];
        for (k, s) in all.into_iter().enumerate() {
            per_reader[k % restored_parallelism as usize].push(s);
        }
        let mut restored = Cluster::restore(
            create(&opts, &columns).unwrap(),
            &enumerator_state,
            per_reader,
            700,
        );
        let after = restored.run_to_end();
        let mut ids = i64s(&before, 0);
        ids.extend(i64s(&after, 0));
        assert_eq!(
            ids.len(),
            total,
            "{parallelism} -> {restored_parallelism}: gap or duplicate"
        );
        ids.sort_unstable();
        assert!(
            ids.iter().copied().eq(0..=N),
            "{parallelism} -> {restored_parallelism}"
        );
    }
}

#[test]
fn splits_added_back_after_a_failure_are_read_again() {
    const N: i64 = 30_000;
    let end = N.to_string();
    let opts = [
        UNLIMITED,
        ("fields.id.kind", "sequence"),
        ("fields.id.start", "1"),
        ("fields.id.end", end.as_str()),
    ];
    let mut cluster = Cluster::new(create(&opts, &[("id", "BIGINT")]).unwrap(), 2, 1000);
    let mut kept = Vec::new();
    for _ in 0..3 {
        kept.extend(cluster.poll(0));
        cluster.poll(1); // reader 1's rows are lost with it
    }
    let lost: Vec<SplitBytes> = cluster.nodes[1].assigned.clone();
    assert!(!lost.is_empty());
    let lost_ids: Vec<String> = lost.iter().map(|s| s.id.clone()).collect();

    // Reader 1 fails before any checkpoint: its splits come back as they were assigned.
    let out = cluster.enumerator.add_splits_back(lost, 1).unwrap();
    assert!(out.commands.is_empty());
    let node = cluster.start_reader(1, 2, Vec::new());
    cluster.nodes[1] = node;
    // The restarted reader asks first and gets the returned split back.
    assert!(cluster.poll(1).is_none());
    assert_eq!(
        cluster.nodes[1]
            .assigned
            .iter()
            .map(|s| s.id.clone())
            .collect::<Vec<_>>(),
        lost_ids[..1].to_vec()
    );
    kept.extend(cluster.run_to_end());
    let mut ids = i64s(&kept, 0);
    ids.sort_unstable();
    assert!(ids.iter().copied().eq(1..=N), "{} ids", ids.len());
}

#[test]
fn unbounded_sources_give_every_reader_an_endless_split() {
    let source = create(&[UNLIMITED], &[("a", "BIGINT"), ("s", "STRING")]).unwrap();
    assert_eq!(source.boundedness(), Boundedness::ContinuousUnbounded);
    let mut cluster = Cluster::new(source, 3, 512);
    for round in 0..5 {
        for i in 0..3 {
            let batch = cluster.poll(i);
            // The first poll of each reader waits for its split; then batches keep coming.
            assert_eq!(batch.is_some(), round > 0, "reader {i} round {round}");
            if let Some(b) = batch {
                assert_eq!(b.num_rows(), 512);
            }
        }
    }
    let splits: Vec<DatagenSplit> = cluster
        .nodes
        .iter()
        .flat_map(|n| n.assigned.iter().map(decode_split))
        .collect();
    assert_eq!(splits.len(), 3);
    assert!(splits.iter().all(|s| s.end.is_none()));
    assert_eq!(
        splits.iter().map(|s| s.id).collect::<BTreeSet<_>>().len(),
        3
    );
    let (_, states) = cluster.snapshot(1);
    for (i, state) in states.iter().enumerate() {
        assert_eq!(state.len(), 1);
        assert_eq!(decode_split(&state[0]).next, 4 * 512, "reader {i}");
    }

    // Reader 2 fails; its split comes back and goes to the restarted reader.
    let back = cluster.nodes[2].assigned.clone();
    cluster.enumerator.add_splits_back(back.clone(), 2).unwrap();
    let node = cluster.start_reader(2, 3, Vec::new());
    cluster.nodes[2] = node;
    assert!(cluster.poll(2).is_none());
    assert_eq!(cluster.nodes[2].assigned, back);
    assert!(cluster.poll(2).is_some());

    // A reader scaled in later gets a fresh split.
    let node = cluster.start_reader(3, 4, Vec::new());
    cluster.nodes.push(node);
    assert!(cluster.poll(3).is_none());
    let fresh = decode_split(&cluster.nodes[3].assigned[0]);
    assert_eq!((fresh.id, fresh.end), (3, None));
}

#[test]
fn the_enumerator_state_round_trips_through_a_restore() {
    let opts = [UNLIMITED, ("number-of-rows", "100000")];
    let source = create(&opts, &[("a", "INT")]).unwrap();
    let mut enumerator = source
        .create_enumerator(&EnumeratorInit { parallelism: 2 }, None)
        .unwrap();
    enumerator.add_reader(0).unwrap();
    let first = enumerator.handle_split_request(0, None).unwrap();
    let state = enumerator.snapshot_state(1).unwrap();

    let mut restored = source
        .create_enumerator(&EnumeratorInit { parallelism: 2 }, Some(&state))
        .unwrap();
    let mut handed_out = BTreeSet::new();
    for cmd in first.commands {
        if let EnumeratorCommand::AssignSplits { splits, .. } = cmd {
            handed_out.extend(splits.iter().map(|s| s.id.clone()));
        }
    }
    // The restored enumerator hands out exactly the splits the first one had not.
    loop {
        let out = restored.handle_split_request(1, None).unwrap();
        match out.commands.as_slice() {
            [EnumeratorCommand::AssignSplits { splits, .. }] => {
                assert!(
                    handed_out.insert(splits[0].id.clone()),
                    "split handed out twice"
                );
            }
            [EnumeratorCommand::SignalNoMoreSplits { subtask: 1 }] => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(handed_out.len(), plan_splits(100_000, 2).len());
    assert!(source
        .create_enumerator(&EnumeratorInit { parallelism: 2 }, Some(&state[..3]))
        .is_err());
}

// ---------------------------------------------------------------------------------------------
// Reader protocol (typed reader: sees whether it asked for a split)
// ---------------------------------------------------------------------------------------------

#[test]
fn a_reader_asks_for_splits_when_it_has_none_and_ends_only_when_told() {
    let source = typed_source(&[UNLIMITED, ("number-of-rows", "10")], &[("a", "INT")]);
    let init = init(0, 1, 4);
    let mut ctx = ReaderContext::new(init.clone());
    let mut reader = source.create_reader(&init).unwrap();
    reader.start(&mut ctx).unwrap();
    assert!(reader.awaiting_split(), "start asks for a split");
    assert!(matches!(
        reader.poll_next(&mut ctx).unwrap(),
        ReaderPoll::NothingAvailable { retry_after: None }
    ));

    let epoch = ctx.availability().epoch();
    reader
        .add_splits(
            vec![DatagenSplit {
                id: 0,
                next: 3,
                end: Some(10),
            }],
            &mut ctx,
        )
        .unwrap();
    assert_ne!(
        ctx.availability().epoch(),
        epoch,
        "a waiting Java thread is woken"
    );
    assert!(!reader.awaiting_split());
    let mut rows = Vec::new();
    while let ReaderPoll::Batch(b) = reader.poll_next(&mut ctx).unwrap() {
        rows.push(b.num_rows());
    }
    assert_eq!(
        rows,
        vec![4, 3],
        "batches of batch_rows, cut at the split's end"
    );
    assert!(
        reader.awaiting_split(),
        "a drained reader asks for the next split"
    );
    assert!(reader.snapshot_state(1).unwrap().is_empty());
    assert!(matches!(
        reader.poll_next(&mut ctx).unwrap(),
        ReaderPoll::NothingAvailable { retry_after: None }
    ));

    let epoch = ctx.availability().epoch();
    reader.notify_no_more_splits(&mut ctx).unwrap();
    assert_ne!(ctx.availability().epoch(), epoch);
    assert!(matches!(
        reader.poll_next(&mut ctx).unwrap(),
        ReaderPoll::EndOfInput
    ));

    // A reader restored with splits does not ask at start, and drains them before ending.
    let mut ctx = ReaderContext::new(init.clone());
    let mut reader = source.create_reader(&init).unwrap();
    reader
        .add_splits(
            vec![DatagenSplit {
                id: 1,
                next: 0,
                end: Some(2),
            }],
            &mut ctx,
        )
        .unwrap();
    reader.start(&mut ctx).unwrap();
    assert!(!reader.awaiting_split());
    reader.notify_no_more_splits(&mut ctx).unwrap();
    assert!(
        matches!(reader.poll_next(&mut ctx).unwrap(), ReaderPoll::Batch(b) if b.num_rows() == 2)
    );
    assert!(matches!(
        reader.poll_next(&mut ctx).unwrap(),
        ReaderPoll::EndOfInput
    ));
}

// ---------------------------------------------------------------------------------------------
// Random values
// ---------------------------------------------------------------------------------------------

#[test]
fn random_values_respect_ranges_lengths_and_null_rates() {
    const N: usize = 20_000;
    let opts = [
        UNLIMITED,
        ("number-of-rows", "20000"),
        ("fields.i.min", "10"),
        ("fields.i.max", "20"),
        ("fields.i.null-rate", "0.25"),
        ("fields.d.min", "-1"),
        ("fields.d.max", "1"),
        ("fields.dec.min", "-5"),
        ("fields.dec.max", "5"),
        ("fields.v.length", "8"),
        ("fields.vl.length", "10"),
        ("fields.vl.var-len", "true"),
        ("fields.vl.null-rate", "0.5"),
        ("fields.vb.var-len", "true"),
        ("fields.ts.max-past", "10 s"),
        ("fields.n.null-rate", "1"),
        ("fields.f.min", "100"),
        ("fields.f.max", "200"),
    ];
    let columns = [
        ("i", "INT"),
        ("t", "TINYINT NOT NULL"),
        ("d", "DOUBLE"),
        ("dec", "DECIMAL(6, 2)"),
        ("v", "VARCHAR(50)"),
        ("vl", "STRING"),
        ("c", "CHAR(5)"),
        ("b", "BINARY(4)"),
        ("vb", "VARBINARY(12)"),
        ("bool", "BOOLEAN"),
        ("ts", "TIMESTAMP(3)"),
        ("ltz", "TIMESTAMP_LTZ(6)"),
        ("date", "DATE"),
        ("time", "TIME(0)"),
        ("n", "BIGINT"),
        ("f", "FLOAT"),
        ("dd", "DOUBLE"),
        ("ddec", "DECIMAL(4, 1)"),
        ("s", "STRING"),
    ];
    let start = now_nanos();
    let mut cluster = Cluster::new(create(&opts, &columns).unwrap(), 2, 4096);
    let batches = cluster.run_to_end();
    let end = now_nanos();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), N);
    let rt = row_type(&columns);
    let schema = rt.arrow_schema();
    for b in &batches {
        assert_eq!(
            b.schema(),
            schema,
            "batches have the row type's Arrow schema"
        );
    }
    let col = |name: &str| -> Vec<std::sync::Arc<dyn Array>> {
        let idx = schema.index_of(name).unwrap();
        batches.iter().map(|b| b.column(idx).clone()).collect()
    };
    let null_fraction =
        |name: &str| col(name).iter().map(|a| a.null_count()).sum::<usize>() as f64 / N as f64;

    // INT in [10, 20], both ends reached, about a quarter null.
    let mut seen = BTreeSet::new();
    for a in col("i") {
        let a = a.as_primitive::<Int32Type>();
        seen.extend(a.iter().flatten());
    }
    assert_eq!(seen, (10..=20).collect::<BTreeSet<i32>>());
    assert!(
        (null_fraction("i") - 0.25).abs() < 0.02,
        "{}",
        null_fraction("i")
    );
    assert_eq!(null_fraction("d"), 0.0);
    assert!(
        col("d").iter().all(|a| a.nulls().is_none()),
        "no null buffer without a null rate"
    );

    // TINYINT over its whole range by default.
    let t: Vec<i8> = col("t")
        .iter()
        .flat_map(|a| a.as_primitive::<Int8Type>().values().to_vec())
        .collect();
    assert!(
        t.contains(&-128) && t.contains(&127),
        "the full TINYINT range, ends included"
    );

    // DOUBLE in [-1, 1), mean about 0.
    let d: Vec<f64> = col("d")
        .iter()
        .flat_map(|a| a.as_primitive::<Float64Type>().values().to_vec())
        .collect();
    assert!(d.iter().all(|v| (-1.0..=1.0).contains(v)));
    let mean = d.iter().sum::<f64>() / d.len() as f64;
    assert!(mean.abs() < 0.05, "mean {mean}");
    // Flink's defaults: FLOAT/DOUBLE/DECIMAL between the smallest positive value and the largest.
    let dd: Vec<f64> = col("dd")
        .iter()
        .flat_map(|a| a.as_primitive::<Float64Type>().values().to_vec())
        .collect();
    assert!(dd.iter().all(|v| *v > 0.0 && v.is_finite()));
    let f: Vec<f32> = col("f")
        .iter()
        .flat_map(|a| a.as_primitive::<Float32Type>().values().to_vec())
        .collect();
    assert!(f.iter().all(|v| (100.0..=200.0).contains(v)));

    // DECIMAL(6, 2) in [-5, 5]: unscaled in [-500, 500]; DECIMAL(4, 1) defaults to (0, 999.9].
    for a in col("dec") {
        assert_eq!(a.data_type(), &DataType::Decimal128(6, 2));
        assert!(a
            .as_primitive::<Decimal128Type>()
            .values()
            .iter()
            .all(|v| (-500..=500).contains(v)));
    }
    let ddec: Vec<i128> = col("ddec")
        .iter()
        .flat_map(|a| a.as_primitive::<Decimal128Type>().values().to_vec())
        .collect();
    assert!(ddec.iter().all(|v| (0..=9999).contains(v)));
    assert!(ddec.iter().any(|v| *v > 5000));

    // Strings: hex digits of the configured, declared or default length.
    let is_hex = |s: &str| {
        s.bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    };
    for (name, len) in [("v", 8usize), ("c", 5), ("s", 100)] {
        for a in col(name) {
            assert!(
                a.as_string::<i32>()
                    .iter()
                    .flatten()
                    .all(|s| s.len() == len && is_hex(s)),
                "{name}"
            );
        }
    }
    let mut lengths = BTreeSet::new();
    for a in col("vl") {
        for s in a.as_string::<i32>().iter().flatten() {
            assert!(is_hex(s));
            lengths.insert(s.len());
        }
    }
    assert_eq!(
        lengths,
        (1..=10).collect::<BTreeSet<usize>>(),
        "var-len draws lengths 1..=length"
    );
    assert!((null_fraction("vl") - 0.5).abs() < 0.02);
    let all_chars: String = col("s")
        .iter()
        .flat_map(|a| {
            a.as_string::<i32>()
                .iter()
                .flatten()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    let digit_fraction =
        all_chars.bytes().filter(u8::is_ascii_digit).count() as f64 / all_chars.len() as f64;
    assert!(
        (digit_fraction - 10.0 / 16.0).abs() < 0.01,
        "hex digits are uniform: {digit_fraction}"
    );

    // Bytes: BINARY(n) has n bytes; VARBINARY(12) var-len 1..=12; bytes look random.
    for a in col("b") {
        assert!(a.as_binary::<i32>().iter().flatten().all(|v| v.len() == 4));
    }
    let mut blens = BTreeSet::new();
    for a in col("vb") {
        blens.extend(a.as_binary::<i32>().iter().flatten().map(<[u8]>::len));
    }
    assert_eq!(blens, (1..=12).collect::<BTreeSet<usize>>());
    let ones: u32 = col("b")
        .iter()
        .flat_map(|a| a.as_binary::<i32>().values().to_vec())
        .map(u8::count_ones)
        .sum();
    assert!((f64::from(ones) / (N as f64 * 32.0) - 0.5).abs() < 0.01);

    // BOOLEAN about half true.
    let trues: usize = col("bool")
        .iter()
        .map(|a| a.as_boolean().true_count())
        .sum();
    assert!((trues as f64 / N as f64 - 0.5).abs() < 0.02, "{trues}");

    // Timestamps: within max-past of now, at the column's precision; LTZ in UTC.
    for a in col("ts") {
        assert_eq!(
            a.data_type(),
            &DataType::Timestamp(TimeUnit::Millisecond, None)
        );
        for v in a.as_primitive::<TimestampMillisecondType>().values() {
            assert!(
                *v >= start / 1_000_000 - 10_001 && *v <= end / 1_000_000,
                "{v}"
            );
        }
    }
    let spread: BTreeSet<i64> = col("ts")
        .iter()
        .flat_map(|a| {
            a.as_primitive::<TimestampMillisecondType>()
                .values()
                .to_vec()
        })
        .collect();
    assert!(spread.len() > 1000, "random pasts, not one value");
    for a in col("ltz") {
        assert_eq!(
            a.data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        for v in a.as_primitive::<TimestampMicrosecondType>().values() {
            assert!(
                *v >= start / 1000 - 1 && *v <= end / 1000,
                "max-past 0 means now"
            );
        }
    }
    for a in col("date") {
        let today = (start / 86_400_000_000_000) as i32;
        assert!(a
            .as_primitive::<Date32Type>()
            .values()
            .iter()
            .all(|v| *v == today || *v == today + 1));
    }
    for a in col("time") {
        assert!(a
            .as_primitive::<Time32MillisecondType>()
            .values()
            .iter()
            .all(|v| v % 1000 == 0 && (0..86_400_000).contains(v)));
    }

    // null-rate 1: every value null.
    assert_eq!(null_fraction("n"), 1.0);
}

// ---------------------------------------------------------------------------------------------
// Rate
// ---------------------------------------------------------------------------------------------

#[test]
fn the_token_bucket_refills_at_the_rate_up_to_the_burst() {
    let t0 = Instant::now();
    let ms = |n: u64| t0 + Duration::from_millis(n);
    let mut limiter = RateLimiter::new(100.0, 20.0, 10.0, t0);
    assert_eq!(limiter.try_acquire(10, t0), Ok(()));
    assert_eq!(limiter.try_acquire(10, t0), Err(Duration::from_millis(100)));
    assert_eq!(
        limiter.try_acquire(10, ms(50)),
        Err(Duration::from_millis(50))
    );
    assert_eq!(limiter.try_acquire(10, ms(100)), Ok(()));
    // A long pause accrues at most the burst.
    assert_eq!(limiter.try_acquire(20, ms(10_100)), Ok(()));
    assert!(limiter.try_acquire(1, ms(10_100)).is_err());
}

#[test]
fn a_reader_ahead_of_its_rate_says_when_to_come_back() {
    // 10 rows/s for one reader: one row per batch, every 100 ms.
    let source = typed_source(&[("rows-per-second", "10")], &[("a", "INT")]);
    let init1 = init(0, 1, 4096);
    let mut ctx = ReaderContext::new(init1.clone());
    let mut reader = source.create_reader(&init1).unwrap();
    assert_eq!(reader.max_batch_rows(), 1);
    reader
        .add_splits(
            vec![DatagenSplit {
                id: 0,
                next: 0,
                end: None,
            }],
            &mut ctx,
        )
        .unwrap();
    assert!(
        matches!(reader.poll_next(&mut ctx).unwrap(), ReaderPoll::Batch(b) if b.num_rows() == 1)
    );
    let wait = match reader.poll_next(&mut ctx).unwrap() {
        ReaderPoll::NothingAvailable {
            retry_after: Some(d),
        } => d,
        other => panic!("expected a rate-limit wait, got {other:?}"),
    };
    assert!(
        wait > Duration::from_millis(50) && wait <= Duration::from_millis(100),
        "{wait:?}"
    );
    std::thread::sleep(wait);
    assert!(
        matches!(reader.poll_next(&mut ctx).unwrap(), ReaderPoll::Batch(b) if b.num_rows() == 1)
    );

    // The rate is the source's: 40000 rows/s over 4 readers is 10000 each, 1000 per 100 ms.
    let source = typed_source(&[("rows-per-second", "40000")], &[("a", "INT")]);
    let reader = source.create_reader(&init(1, 4, 4096)).unwrap();
    assert_eq!(reader.max_batch_rows(), 1000);
    // A fast rate is capped by batch_rows, long rows by bytes.
    let fast = typed_source(&[UNLIMITED], &[("a", "INT")]);
    assert_eq!(
        fast.create_reader(&init(0, 1, 4096))
            .unwrap()
            .max_batch_rows(),
        4096
    );
    let wide = typed_source(
        &[UNLIMITED, ("fields.s.length", "1000000")],
        &[("s", "VARCHAR(1000000)")],
    );
    assert_eq!(
        wide.create_reader(&init(0, 1, 4096))
            .unwrap()
            .max_batch_rows(),
        33
    );
}

#[test]
fn a_rate_limited_reader_keeps_its_rate_over_time() {
    // 400 rows/s over 2 readers: reader 0 should emit about 200 rows/s in batches of 20.
    let source = create(&[("rows-per-second", "400")], &[("a", "BIGINT")]).unwrap();
    let init0 = init(0, 2, 4096);
    let mut ctx = ReaderContext::new(init0.clone());
    let mut reader = source.create_reader(&init0).unwrap();
    let split = SplitBytes {
        id: "datagen-0".into(),
        state: rust_core::state::encode(
            1,
            &DatagenSplit {
                id: 0,
                next: 0,
                end: None,
            },
        )
        .unwrap(),
    };
    reader.add_splits(vec![split], &mut ctx).unwrap();
    let started = Instant::now();
    let mut rows = 0;
    while started.elapsed() < Duration::from_millis(1000) {
        match reader.poll_next(&mut ctx).unwrap() {
            ReaderPoll::Batch(b) => {
                assert_eq!(b.num_rows(), 20);
                rows += b.num_rows();
            }
            ReaderPoll::NothingAvailable {
                retry_after: Some(d),
            } => {
                assert!(d <= Duration::from_millis(100), "{d:?}");
                std::thread::sleep(d);
            }
            other => panic!("{other:?}"),
        }
    }
    let secs = started.elapsed().as_secs_f64();
    // At most the rate plus the initial batch and burst; at least most of the rate.
    assert!(
        rows as f64 <= 200.0 * secs + 60.0,
        "{rows} rows in {secs:.2} s"
    );
    assert!(rows as f64 >= 100.0 * secs, "{rows} rows in {secs:.2} s");
}

// ---------------------------------------------------------------------------------------------
// Speed (run with --ignored --nocapture)
// ---------------------------------------------------------------------------------------------

#[test]
#[ignore]
fn throughput() {
    let schemas: &[(&str, Pairs, Pairs)] = &[
        (
            "bigint sequence",
            &[("id", "BIGINT")],
            &[
                ("fields.id.kind", "sequence"),
                ("fields.id.start", "0"),
                ("fields.id.end", "1000000000000"),
            ],
        ),
        (
            "int+bigint+double",
            &[("a", "INT"), ("b", "BIGINT"), ("c", "DOUBLE")],
            &[],
        ),
        (
            "orders",
            &[
                ("id", "BIGINT"),
                ("price", "DECIMAL(10, 2)"),
                ("buyer", "STRING"),
                ("ts", "TIMESTAMP(3)"),
                ("flag", "BOOLEAN"),
            ],
            &[
                ("fields.buyer.length", "16"),
                ("fields.ts.max-past", "1 min"),
            ],
        ),
        ("string(100)", &[("s", "STRING")], &[]),
    ];
    for (name, columns, opts) in schemas {
        let mut all = vec![UNLIMITED];
        all.extend_from_slice(opts);
        let source = typed_source(&all, columns);
        let init = init(0, 1, 4096);
        let mut ctx = ReaderContext::new(init.clone());
        let mut reader = source.create_reader(&init).unwrap();
        reader
            .add_splits(
                vec![DatagenSplit {
                    id: 0,
                    next: 0,
                    end: None,
                }],
                &mut ctx,
            )
            .unwrap();
        let started = Instant::now();
        let mut rows = 0usize;
        while started.elapsed() < Duration::from_secs(2) {
            if let ReaderPoll::Batch(b) = reader.poll_next(&mut ctx).unwrap() {
                rows += b.num_rows();
            }
        }
        println!(
            "{name}: {:.1} M rows/s",
            rows as f64 / started.elapsed().as_secs_f64() / 1e6
        );
    }
}
