//! `flink-rust-preview`: runs a connector of the bridge without Flink, for checking connectivity
//! and options before submitting a job. The connector, its options and the columns are given as
//! a Flink SQL table would give them; they are validated by the registry exactly as at job
//! submission (`Registry::validate_source`, the JNI `validateSource`), then the enumerator and
//! the readers run in this process on rust-core's [`Harness`] (the in-process stand-in for
//! Flink that connector tests use), so the rate limits and the row encoding apply as in a job.
//! See docs/preview.md.
//!
//! Exit codes: 0 rows read (limit, end of input or timeout), 1 failure while reading,
//! 2 rejected as a job submission would be (options, columns, preflight checks) or bad usage.

mod output;
mod schema;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use rust_core::api::{Boundedness, DEFAULT_BATCH_ROWS};
use rust_core::options::{display_value, OptionValue};
use rust_core::registry::Registry;
use rust_core::testing::Harness;
use rust_core::{logging, BridgeError};

use output::Sink;

/// Runs a flink-rust connector without Flink and prints its first rows (or writes them as an
/// Arrow IPC file): options and columns exactly as in a Flink SQL table, validated as at job
/// submission.
#[derive(Parser, Debug)]
#[command(name = "flink-rust-preview", version, after_help = AFTER_HELP)]
struct Args {
    /// Connector identifier, as in 'connector' = '...' (default: the `connector` key of the options)
    #[arg(short = 'c', long)]
    connector: Option<String>,

    /// A connector option as in the table's WITH clause; repeatable, wins over --options-file
    #[arg(short = 'o', long = "option", value_name = "KEY=VALUE")]
    options: Vec<String>,

    /// A file of KEY=VALUE lines (blank lines and lines starting with # are skipped): keeps
    /// passwords out of the command line
    #[arg(short = 'f', long, value_name = "FILE")]
    options_file: Option<PathBuf>,

    /// The columns, as in CREATE TABLE: 'id BIGINT NOT NULL, name STRING, price DECIMAL(10, 2)';
    /// metadata columns as `name TYPE METADATA [FROM 'key']`
    #[arg(short = 's', long, value_name = "COLUMNS")]
    schema: String,

    /// Number of readers (default: the scan.parallelism option, else 1)
    #[arg(short = 'p', long)]
    parallelism: Option<u32>,

    /// Stop after this many rows (0: no limit)
    #[arg(short = 'n', long, default_value_t = 20)]
    limit: u64,

    /// Stop after this long, with the rows read so far (Flink's duration syntax: 500 ms, 10 s, 5 min)
    #[arg(short = 't', long, default_value = "30 s", value_parser = parse_duration)]
    timeout: Duration,

    /// Output on stdout: a table (printed at the end) or JSON lines ({"op":"+I","row":{...}}, as they come)
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,

    /// Write the rows as an Arrow IPC file instead (a leading `op` column holds each row's kind)
    #[arg(long, value_name = "FILE")]
    arrow_ipc: Option<PathBuf>,

    /// rust-mysql-cdc: the binlog server id, or a range with one id per reader (ID-ID). By default
    /// the options' `server-id` is replaced by random ids above 4,200,000,000, which no job is
    /// likely to use: the server keeps one binlog connection per id, so a preview with a running
    /// job's id would disconnect that job's binlog reader
    #[arg(long, value_name = "ID[-ID]")]
    server_id: Option<String>,

    /// More logs on stderr: -v INFO, -vv DEBUG, -vvv TRACE (default: WARN)
    #[arg(short = 'v', long, action = clap::ArgAction::Count)]
    verbose: u8,
}

const AFTER_HELP: &str =
    "Exit codes: 0 rows read (limit, end of input or timeout); 1 failure while reading; \
2 rejected as at job submission (options, columns, preflight checks) or bad usage.";

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Table,
    Json,
}

fn parse_duration(raw: &str) -> Result<Duration, String> {
    Duration::parse_option(raw)
}

/// Exit code for a source rejected as at job submission, or bad usage (clap's too).
const EXIT_REJECTED: u8 = 2;
const EXIT_FAILED: u8 = 1;

/// A failure and its exit code.
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    /// Validation errors (what a job submission rejects) exit with 2, others with 1.
    fn from_error(err: &BridgeError) -> Failure {
        Failure {
            code: if err.is_validation() {
                EXIT_REJECTED
            } else {
                EXIT_FAILED
            },
            message: err.message_chain(),
        }
    }

    fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_REJECTED,
            message: message.into(),
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let logs = LogDrain::start(2 + args.verbose.min(3));
    let outcome = run(&args);
    logs.stop();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

fn run(args: &Args) -> Result<(), Failure> {
    let (connector, options) = options(args)?;
    let parallelism = match (args.parallelism, options.get("scan.parallelism")) {
        (Some(p), _) => p,
        (None, Some(raw)) => u32::parse_option(raw).map_err(|expected| {
            Failure::usage(format!(
                "option 'scan.parallelism': expected {expected}, got '{raw}'"
            ))
        })?,
        (None, None) => 1,
    };
    if parallelism == 0 {
        return Err(Failure::usage("the parallelism must be at least 1"));
    }
    let options =
        with_preview_server_id(&connector, options, args.server_id.as_deref(), parallelism);
    let schema = schema::parse(&args.schema).map_err(|e| Failure::from_error(&e))?;
    let shown: Vec<String> = options
        .iter()
        .map(|(k, v)| format!("{k}={}", display_value(k, v)))
        .collect();
    tracing::info!(target: "flink_rust_preview", "validating {connector} with {}", shown.join(", "));

    // What job submission runs, on the registry the shared library installs.
    let registry = Registry::new(flink_rust_bridge::factories());
    let started = Instant::now();
    let source = registry
        .validate_source(&connector, options, &schema.row_type)
        .map_err(|e| Failure::from_error(&e))?;
    let bounded = source.boundedness() == Boundedness::Bounded;
    tracing::info!(target: "flink_rust_preview", "validated in {:?}; the source is {}", started.elapsed(),
        if bounded { "bounded" } else { "unbounded" });

    let mut sink = match &args.arrow_ipc {
        Some(path) => Sink::arrow(
            path,
            &source.row_type().arrow_schema(),
            &schema.display_names,
        ),
        None => Ok(match args.format {
            Format::Table => Sink::table(schema.display_names.clone()),
            Format::Json => Sink::json(schema.display_names.clone()),
        }),
    }
    .map_err(|e| Failure::from_error(&e))?;

    let limit = if args.limit == 0 {
        u64::MAX
    } else {
        args.limit
    };
    let batch_rows = DEFAULT_BATCH_ROWS.min(usize::try_from(limit).unwrap_or(usize::MAX));
    let failed = |e: BridgeError| Failure::from_error(&e);
    let mut harness = Harness::new(source.as_ref(), parallelism, batch_rows).map_err(failed)?;
    let deadline = started + args.timeout;
    let mut rows = 0u64;
    let outcome = loop {
        let emitted = match harness.poll_or_wait(deadline) {
            Ok(emitted) => emitted,
            Err(e) => break Err(e),
        };
        for batch in emitted {
            let take = (limit - rows).min(batch.rows.num_rows() as u64) as usize;
            if take > 0 {
                if let Err(e) = sink.write(&batch.rows.slice(0, take), &batch.kinds[..take]) {
                    return Err(failed(e));
                }
            }
            rows += take as u64;
        }
        if rows >= limit {
            break Ok("limit reached");
        }
        if harness.all_ended() {
            break Ok("end of input");
        }
        if Instant::now() >= deadline {
            break Ok("timeout");
        }
    };
    // Rows read before a failure are still shown.
    let finished = sink.finish();
    let closed = harness.close();
    let reason = outcome.map_err(failed)?;
    finished.map_err(failed)?;
    closed.map_err(failed)?;
    eprintln!(
        "{rows} rows ({reason}) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The connector and its options: the file's, then `-o`'s; `connector` among them as in the
/// table's options Flink hands over, and completed as Java completes them for a job.
fn options(args: &Args) -> Result<(String, BTreeMap<String, String>), Failure> {
    let mut options = BTreeMap::new();
    if let Some(path) = &args.options_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::usage(format!("--options-file {}: {e}", path.display())))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = key_value(line).ok_or_else(|| {
                Failure::usage(format!(
                    "--options-file {} line {}: expected KEY=VALUE",
                    path.display(),
                    n + 1
                ))
            })?;
            options.insert(k, v);
        }
    }
    for option in &args.options {
        // The value may be a password: the message never shows it.
        let (k, v) =
            key_value(option).ok_or_else(|| Failure::usage("-o/--option: expected KEY=VALUE"))?;
        options.insert(k, v);
    }
    let connector = match (&args.connector, options.get("connector")) {
        (Some(c), Some(o)) if c != o => {
            return Err(Failure::usage(format!(
                "--connector is '{c}' but the options say 'connector' = '{o}'"
            )))
        }
        (Some(c), _) => c.clone(),
        (None, Some(o)) => o.clone(),
        (None, None) => return Err(Failure::usage(
            "no connector: give --connector or the option connector=... (for example rust-datagen)",
        )),
    };
    options.insert("connector".to_string(), connector.clone());
    // As RustMySqlCdcTableFactory#completeOptions does for a job without checkpoints (the
    // preview takes none): the binlog phase starts when the snapshot is done.
    if connector == "rust-mysql-cdc" {
        options
            .entry("scan.incremental.snapshot.handover".to_string())
            .or_insert_with(|| "immediate".to_string());
    }
    Ok((connector, options))
}

/// rust-mysql-cdc's `server-id` for the preview: `--server-id` if given, else random ids no job
/// is likely to use in place of the options' (which are often a running job's, copied from its
/// table definition).
fn with_preview_server_id(
    connector: &str,
    mut options: BTreeMap<String, String>,
    chosen: Option<&str>,
    parallelism: u32,
) -> BTreeMap<String, String> {
    const KEY: &str = "server-id";
    if connector != "rust-mysql-cdc" {
        return options;
    }
    let ids = match chosen {
        Some(ids) => ids.to_string(),
        None => {
            // Job ids are small by convention (Flink CDC's examples use 5400-6400); these are not.
            use std::hash::BuildHasher;
            let random =
                std::collections::hash_map::RandomState::new().hash_one(std::process::id());
            let base = 4_200_000_000u64 + random % 90_000_000;
            if parallelism > 1 {
                format!("{base}-{}", base + u64::from(parallelism) - 1)
            } else {
                base.to_string()
            }
        }
    };
    if let Some(given) = options.insert(KEY.to_string(), ids.clone()) {
        if chosen.is_none() && given != ids {
            tracing::info!(target: "flink_rust_preview",
                "server-id {ids} replaces the options' {given}, so that the preview does not disconnect a job's binlog \
                 reader (--server-id chooses the id)");
        }
    }
    options
}

/// `key=value` with both sides trimmed; None without `=` or with an empty key.
fn key_value(text: &str) -> Option<(String, String)> {
    let (k, v) = text.split_once('=')?;
    let k = k.trim();
    (!k.is_empty()).then(|| (k.to_string(), v.trim().to_string()))
}

/// Prints rust-core's log records (connectors' `tracing` events, with their context fields) on
/// stderr from a thread of its own: the queue Java drains into SLF4J in a job.
struct LogDrain {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl LogDrain {
    fn start(level: u8) -> LogDrain {
        logging::install();
        logging::set_max_level(level);
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let print = |records: Vec<logging::LogRecord>| {
            for record in records {
                let level = ["OFF", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"]
                    [usize::from(record.level.min(5))];
                eprintln!("{level} {}: {}", record.target, record.message);
            }
        };
        let thread = std::thread::spawn(move || loop {
            print(logging::await_records());
            if stopping.load(Ordering::Acquire) {
                // What came in since: a wake of its own makes this last call return at once.
                logging::wake();
                print(logging::await_records());
                break;
            }
        });
        LogDrain { stop, thread }
    }

    /// Prints what is still queued, then ends the thread.
    fn stop(self) {
        self.stop.store(true, Ordering::Release);
        logging::wake();
        let _ = self.thread.join();
    }
}
