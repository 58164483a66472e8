//! Newly added tables (`scan.newly-added-table.enabled`): tables that start matching the
//! `database-name` / `table-name` patterns while the job runs, or since its checkpoint, are
//! snapshotted and then captured by the binlog reader, without a restart.
//!
//! How a table is added (the "adding tables" phase):
//! 1. The binlog reader meets a table it does not capture that matches the patterns: a table map
//!    (row events of it follow) or a DDL creating or renaming one ([`crate::binlog::table_watch::tables_appearing`]). It
//!    emits every change before that event and SUSPENDS at its offset: the cursor reads nothing
//!    after the event ([`crate::binlog::BinlogCursor::take_found`]), the offset is the start of the
//!    transaction plus the rows of it already emitted (mid-transaction is fine), the binlog
//!    connection closes and the split stays in the reader's state with `suspended` = the tables.
//!    It reports [`ReaderEvent::NewTables`]. Or the enumerator, restored from a state that lacks a
//!    table now matching, asks for the suspension ([`EnumeratorEvent::Suspend`]).
//! 2. The enumerator looks the tables up (chunk key and row type checked as at submission; a
//!    table that cannot be captured fails the job naming it and the fix), splits them into
//!    chunks, and hands the chunks to readers that ask, the suspended binlog reader too (at
//!    parallelism 1 it is the only one), but only once the reader reported its suspension.
//! 3. When every chunk reported its high watermark, the enumerator sends [`EnumeratorEvent::AddTables`]
//!    with the tables' watermarks; the reader merges them into its split and resumes at the
//!    suspended offset. It acknowledges with [`ReaderEvent::TablesAdded`]; then the enumerator
//!    counts them as captured and forgets the phase.
//!
//! Why nothing is lost or repeated: the reader emitted no change of a new table before it
//! suspended, at offset S. Every chunk is read after the suspension was reported, so its low
//! watermark, and its high watermark H, are at or after S (a chunk's watermarks are binlog
//! positions of transaction boundaries the server had written when the chunk was read; S was
//! read from that binlog before). The chunk holds its rows as of H. Resumed at S with the table
//! captured, the reader skips a change of the chunk's keys in a transaction starting before H
//! (the snapshot has it: the watermark filter of the initial snapshot) and emits those from H on.
//! Changes of the old tables from S on were never emitted (the batch before S was, with S as its
//! offset) and are read once. Failover: every step is in checkpointed state. A reader restored
//! suspended reports again; restored from before its suspension it meets the table again (the
//! binlog is the same) or gets the Suspend again when it registers; the enumerator handles a
//! report of tables it already has as a duplicate (answering again with AddTables if the phase
//! is complete). A reader that is not suspended ignores AddTables for tables it does not
//! capture (it will report them) and acknowledges again those it has merged.

use serde::{Deserialize, Serialize};

use rust_core::api::EnumeratorContext;
use rust_core::error::BridgeError;
use rust_core::types::RowType;
use rust_core::Result;

use crate::config::MySqlCdcConfig;
use crate::conn::connect::Connector;
use crate::enumerator::{MySqlCdcEnumerator, CHUNKS_PER_CALL};
use crate::position::offset::{BinlogOffset, BinlogPosition};
use crate::schema::{discover_tables, load_table, TableId};
use crate::snapshot::chunk::{SplitSettings, TableSplitter};
use crate::state::split::{encode_event, CdcSplit, ChunkRange, EnumeratorEvent, TableWatermarks};
use crate::value::BatchBuilder;

/// The enumerator's "adding tables" phase, in its checkpointed state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AddingTables {
    /// Reported (or found on restore) and not looked up yet.
    pub requested: Vec<TableId>,
    /// Looked up: capturable, with their chunk keys; split in this order.
    pub tables: Vec<(TableId, String)>,
    /// Reported but gone when looked up.
    pub dropped: Vec<TableId>,
    /// Index into `tables` of the table being split, and the splitter's cursor.
    pub splitting_table: usize,
    pub splitter: TableSplitter,
    /// Where the binlog reader suspended, from its last report. Chunks go out only once it is
    /// known: their watermarks must be at or after it.
    pub suspended_at: Option<BinlogOffset>,
    /// Tables (and dropped ones) the reader acknowledged as merged.
    pub acked: Vec<TableId>,
}

impl AddingTables {
    fn knows(&self, t: &TableId) -> bool {
        self.requested.contains(t)
            || self.dropped.contains(t)
            || self.tables.iter().any(|(x, _)| x == t)
    }

    pub fn all_tables(&self) -> Vec<TableId> {
        let mut all: Vec<TableId> = self.tables.iter().map(|(t, _)| t.clone()).collect();
        all.extend(self.requested.iter().cloned());
        all.extend(self.dropped.iter().cloned());
        all
    }

    /// Every table looked up and split (chunks may still be read).
    pub fn split_done(&self) -> bool {
        self.requested.is_empty() && self.splitting_table >= self.tables.len()
    }
}

/// What a background step of the phase returns.
#[derive(Serialize, Deserialize)]
pub struct AddResult {
    /// Tables matching now that the state does not know (the restore check).
    pub found: Vec<TableId>,
    /// Of the requested tables looked up: capturable ones and gone ones.
    pub resolved: Vec<(TableId, String)>,
    pub dropped: Vec<TableId>,
    /// Tables of the phase gone while being split (no chunks of them were cut in this step).
    pub vanished: Vec<TableId>,
    pub table_index: usize,
    pub splitter: TableSplitter,
    pub chunks: Vec<(TableId, String, ChunkRange)>,
}

/// One background step: the restore check (`known`: the tables the state has), looking up the
/// requested tables, then cutting up to [`CHUNKS_PER_CALL`] chunks of the phase's tables.
#[allow(clippy::too_many_arguments)]
pub async fn add_step(
    config: std::sync::Arc<MySqlCdcConfig>,
    row_type: Option<RowType>,
    known: Option<Vec<TableId>>,
    requested: Vec<TableId>,
    mut tables: Vec<(TableId, String)>,
    mut table_index: usize,
    mut splitter: TableSplitter,
) -> Result<AddResult> {
    let connector = Connector::new(&config);
    let mut conn = crate::conn::retry::connect(&connector).await?;
    let mut found = Vec::new();
    if let Some(known) = known {
        for t in discover_tables(&mut conn, &config.database_regex, &config.table_regex).await? {
            if !known.contains(&t.id) && !requested.contains(&t.id) {
                found.push(t.id);
            }
        }
    }
    let builder = match &row_type {
        Some(row_type) => Some(
            BatchBuilder::new(row_type, &config.server_time_zone)?
                .with_value_modes(config.debezium.value_modes),
        ),
        None => None,
    };
    let mut resolved = Vec::new();
    let mut dropped = Vec::new();
    for id in &requested {
        let Some(schema) = load_table(&mut conn, id).await? else {
            tracing::warn!(table = %id, "a newly added table no longer exists: not captured");
            dropped.push(id.clone());
            continue;
        };
        let cannot = |e: BridgeError| {
            BridgeError::validation(format!(
                "newly added table {id} matches 'database-name' and 'table-name' but cannot be captured: {e}. \
                 Fix the table, or narrow 'table-name' to exclude it, or set 'scan.newly-added-table.enabled' \
                 to 'false' to ignore new tables, and restart the job from its last checkpoint"
            ))
        };
        let chunk_key = crate::config::chunk_key::chunk_key_of(&schema, &config.chunk_key_columns)
            .map_err(cannot)?;
        if let Some(builder) = &builder {
            builder.binlog_mapping(&schema).map_err(cannot)?;
        }
        resolved.push((id.clone(), chunk_key));
    }
    tables.extend(resolved.iter().cloned());
    let settings = SplitSettings {
        chunk_size: config.chunk_size,
        even_lower: config.even_distribution_lower,
        even_upper: config.even_distribution_upper,
    };
    let mut chunks = Vec::new();
    let mut vanished = Vec::new();
    while chunks.len() < CHUNKS_PER_CALL && table_index < tables.len() {
        let (id, chunk_key) = &tables[table_index];
        match load_table(&mut conn, id).await? {
            Some(schema) => {
                let more = splitter
                    .next_chunks(
                        &mut conn,
                        &schema,
                        chunk_key,
                        settings,
                        CHUNKS_PER_CALL - chunks.len(),
                    )
                    .await?;
                chunks.extend(
                    more.into_iter()
                        .map(|range| (id.clone(), chunk_key.clone(), range)),
                );
            }
            None => {
                // Dropped since it was looked up.
                tracing::warn!(table = %id, "a newly added table no longer exists: not captured");
                vanished.push(id.clone());
                splitter = TableSplitter::default();
                table_index += 1;
                continue;
            }
        }
        if splitter.done {
            table_index += 1;
            splitter = TableSplitter::default();
        }
    }
    let _ = conn.disconnect().await;
    Ok(AddResult {
        found,
        resolved,
        dropped,
        vanished,
        table_index,
        splitter,
        chunks,
    })
}

impl MySqlCdcEnumerator {
    /// The phase keeps chunks from readers until the binlog reader reported its suspension.
    pub(crate) fn adding_holds_chunks(&self) -> bool {
        self.state.binlog_assigned
            && self
                .state
                .adding
                .as_ref()
                .is_some_and(|p| p.suspended_at.is_none())
    }

    /// `ReaderEvent::NewTables`: the binlog reader (`subtask`) suspended at `offset` for `tables`.
    pub(crate) fn on_new_tables(
        &mut self,
        subtask: u32,
        tables: Vec<TableId>,
        offset: BinlogOffset,
        ctx: &mut EnumeratorContext<CdcSplit>,
    ) -> Result<()> {
        if !self.config.newly_added_tables {
            // A split suspended by a run with the option on, restored with it off: resume it
            // without the tables (they stay ignored).
            tracing::info!(tables = ?tables, "'scan.newly-added-table.enabled' is off: resuming the binlog reader without the new tables");
            let event = EnumeratorEvent::AddTables {
                tables: Vec::new(),
                max_high_watermark: None,
                dropped: tables,
            };
            ctx.send_event(subtask, encode_event(&event)?);
            return Ok(());
        }
        self.binlog_reader = Some(subtask);
        // Every report may come from a reader that lost an earlier answer: answer again.
        self.resume_sent = false;
        let phase = self.state.adding.get_or_insert_with(Default::default);
        tracing::info!(tables = ?tables, offset = %offset, subtask, "the binlog reader suspended for newly added tables");
        phase.suspended_at = Some(offset);
        for t in tables {
            // Reported again after it was merged: that reader was restored without it.
            phase.acked.retain(|a| a != &t);
            if !phase.knows(&t) {
                phase.requested.push(t);
            }
        }
        self.resume_if_done(ctx)
    }

    /// `ReaderEvent::TablesAdded`: the binlog reader merged these tables.
    pub(crate) fn on_tables_added(&mut self, tables: Vec<TableId>) {
        let Some(phase) = self.state.adding.as_mut() else {
            return;
        };
        for t in tables {
            if !phase.acked.contains(&t) {
                phase.acked.push(t);
            }
        }
        let all_acked = phase.all_tables().iter().all(|t| phase.acked.contains(t));
        if !(self.phase_complete() && all_acked) {
            return;
        }
        let phase = self.state.adding.take().expect("checked above");
        let captured = self.state.tables.get_or_insert_with(Vec::new);
        for (t, key) in phase.tables {
            self.state.finished.remove_table(&t);
            if !captured.iter().any(|(c, _)| c == &t) {
                captured.push((t, key));
            }
        }
        // The initial snapshot's cursor stays past every table (metrics count them finished).
        self.state.splitting_table = self.state.splitting_table.max(captured.len());
        self.resume_sent = false;
        tracing::info!("newly added tables are captured by the binlog reader");
    }

    /// Every table looked up, split and read.
    pub(crate) fn phase_complete(&self) -> bool {
        self.state.adding.as_ref().is_some_and(|p| p.split_done())
            && self.state.pending.is_empty()
            && self.state.in_flight.is_empty()
    }

    /// Sends the binlog reader the new tables and their watermarks once the phase is complete.
    pub(crate) fn resume_if_done(&mut self, ctx: &mut EnumeratorContext<CdcSplit>) -> Result<()> {
        let (Some(subtask), Some(phase)) = (self.binlog_reader, &self.state.adding) else {
            return Ok(());
        };
        if self.resume_sent || phase.suspended_at.is_none() || !self.phase_complete() {
            return Ok(());
        }
        // Readers emit chunks in parallel: with checkpoint handover the binlog resumes only after
        // a checkpoint that completed with every chunk reported, so every chunk row is downstream
        // before a change of its key (see "Handover" in the connector docs).
        if self.config.handover_after_checkpoint
            && ctx.parallelism() > 1
            && self.phase_ready_epoch != Some(self.phase_epoch)
        {
            return Ok(());
        }
        // Every chunk must end at or after the suspension: the reader passed the table's changes
        // before it. A report from further on (a reader restored from before a suspension the
        // enumerator asked for, by region failover, may suspend later than the first time)
        // makes older chunks stale: their tables are read again (repeating rather than losing).
        let at = phase
            .suspended_at
            .as_ref()
            .map(|o| o.position.clone())
            .expect("checked above");
        let stale: Vec<TableId> = phase
            .tables
            .iter()
            .filter(|(t, _)| {
                self.state
                    .finished
                    .watermarks(t)
                    .iter()
                    .any(|c| c.high_watermark < at)
            })
            .map(|(t, _)| t.clone())
            .collect();
        if !stale.is_empty() {
            tracing::warn!(tables = ?stale, suspended_at = %at, "chunks of newly added tables end before the binlog reader's suspension: reading the tables again");
            let phase = self.state.adding.as_mut().expect("checked above");
            for t in stale {
                self.state.finished.remove_table(&t);
                phase.tables.retain(|(x, _)| x != &t);
                phase.requested.push(t);
            }
            phase.splitting_table = phase.tables.len();
            phase.splitter = TableSplitter::default();
            self.phase_epoch += 1;
            self.schedule_splitting_now(ctx);
            return Ok(());
        }
        let tables: Vec<TableWatermarks> = phase
            .tables
            .iter()
            .map(|(t, key)| TableWatermarks {
                table: t.clone(),
                chunk_key: key.clone(),
                chunks: self.state.finished.watermarks(t),
            })
            .collect();
        let max: Option<BinlogPosition> = tables
            .iter()
            .flat_map(|t| t.chunks.iter().map(|c| c.high_watermark.clone()))
            .max();
        tracing::info!(tables = tables.len(), max_high_watermark = ?max.as_ref().map(|m| m.to_string()), subtask, "newly added tables snapshotted: resuming the binlog reader");
        let event = EnumeratorEvent::AddTables {
            tables,
            max_high_watermark: max,
            dropped: phase.dropped.clone(),
        };
        ctx.send_event(subtask, encode_event(&event)?);
        self.resume_sent = true;
        Ok(())
    }

    /// Asks every registered reader (only the binlog reader acts) to suspend for the phase's
    /// tables, while the phase waits for a suspension.
    pub(crate) fn request_suspension(
        &mut self,
        readers: &[u32],
        ctx: &mut EnumeratorContext<CdcSplit>,
    ) -> Result<()> {
        let Some(phase) = &self.state.adding else {
            return Ok(());
        };
        if phase.suspended_at.is_some() || !self.state.binlog_assigned {
            return Ok(());
        }
        let event = encode_event(&EnumeratorEvent::Suspend(phase.all_tables()))?;
        for &subtask in readers {
            ctx.send_event(subtask, event.clone());
        }
        Ok(())
    }

    /// Starts a background step of the phase when there is work: the restore check, tables to
    /// look up, or chunks to cut. False when there is none.
    pub(crate) fn schedule_adding(&mut self, ctx: &mut EnumeratorContext<CdcSplit>) -> bool {
        if !self.config.newly_added_tables || !self.state.binlog_assigned {
            return false;
        }
        let check = self.rediscover;
        let phase = self.state.adding.clone().unwrap_or_default();
        let cut = phase.splitting_table < phase.tables.len()
            && self.state.pending.len() < CHUNKS_PER_CALL / 2;
        if !check && phase.requested.is_empty() && !cut {
            return false;
        }
        let known = check.then(|| {
            let mut known: Vec<TableId> = self
                .state
                .tables
                .iter()
                .flatten()
                .map(|(t, _)| t.clone())
                .collect();
            known.extend(phase.all_tables());
            known
        });
        let config = self.config.clone();
        let row_type = self.row_type.clone();
        let task = move || -> Result<Vec<u8>> {
            let step = add_step(
                config.clone(),
                row_type.clone(),
                known.clone(),
                phase.requested.clone(),
                phase.tables.clone(),
                phase.splitting_table,
                phase.splitter.clone(),
            );
            let result = crate::conn::connect::block_on(step)??;
            rust_core::state::encode(
                crate::enumerator::TASK_RESULT_VERSION,
                &crate::enumerator::TaskResult::Adding(result),
            )
        };
        ctx.call_async(Box::new(task), rust_core::api::AsyncSchedule::Once);
        true
    }

    /// The result of [`add_step`].
    pub(crate) fn on_add_result(
        &mut self,
        result: AddResult,
        ctx: &mut EnumeratorContext<CdcSplit>,
    ) -> Result<()> {
        if self.rediscover {
            self.rediscover = false;
            if !result.found.is_empty() {
                tracing::info!(tables = ?result.found, "tables matching the patterns that the restored state lacks: adding them");
                let phase = self.state.adding.get_or_insert_with(Default::default);
                phase.requested.extend(result.found.iter().cloned());
                let readers: Vec<u32> = ctx.registered_readers().iter().copied().collect();
                self.request_suspension(&readers, ctx)?;
            }
        }
        let Some(phase) = self.state.adding.as_mut() else {
            return Ok(());
        };
        let looked_up: Vec<TableId> = result
            .resolved
            .iter()
            .map(|(t, _)| t.clone())
            .chain(result.dropped.iter().cloned())
            .collect();
        phase.requested.retain(|t| !looked_up.contains(t));
        phase.tables.extend(result.resolved);
        phase.dropped.extend(result.dropped);
        phase.splitting_table = result.table_index;
        phase.splitter = result.splitter;
        for gone in result.vanished {
            if let Some(i) = phase.tables.iter().position(|(t, _)| t == &gone) {
                phase.tables.remove(i);
                if i < phase.splitting_table {
                    phase.splitting_table -= 1;
                }
                self.state.finished.remove_table(&gone);
                phase.dropped.push(gone);
            }
        }
        if !result.chunks.is_empty() {
            self.phase_epoch += 1;
        }
        for (table, chunk_key, range) in result.chunks {
            let id = self.state.next_chunk_id;
            self.state.next_chunk_id += 1;
            self.state
                .pending
                .push_back(crate::state::split::SnapshotSplit {
                    id,
                    table,
                    chunk_key,
                    range,
                    high_watermark: None,
                });
        }
        self.resume_if_done(ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enumerator::{EnumeratorState, TaskResult};
    use crate::source::MySqlCdcSource;
    use crate::state::split::{decode_event, ReaderEvent, SnapshotSplit};
    use rust_core::api::{EnumeratorCommand, EnumeratorInit, Source};
    use rust_core::runtime::{DynEnumerator, EnumeratorOutput};

    fn config() -> MySqlCdcConfig {
        crate::config::test_config(
            "t[0-9]",
            &[
                ("scan.newly-added-table.enabled", "true"),
                // The checkpoint wait before resuming is tested against the server.
                ("scan.incremental.snapshot.handover", "immediate"),
            ],
        )
    }

    fn t(name: &str) -> TableId {
        TableId::new("db", name)
    }

    fn enumerator(state: EnumeratorState) -> Box<dyn DynEnumerator> {
        let version = <MySqlCdcSource as Source>::STATE_VERSION;
        let source =
            rust_core::runtime::erase(MySqlCdcSource::new(config(), RowType::default()).unwrap());
        let state = rust_core::state::encode(version, &state).unwrap();
        source
            .create_enumerator(&EnumeratorInit { parallelism: 2 }, Some(&state))
            .unwrap()
    }

    fn streaming() -> EnumeratorState {
        EnumeratorState {
            tables: Some(vec![(t("t1"), "id".into())]),
            splitting_table: 1,
            binlog_assigned: true,
            ..EnumeratorState::default()
        }
    }

    fn events(out: &EnumeratorOutput) -> Vec<(u32, EnumeratorEvent)> {
        out.commands
            .iter()
            .filter_map(|c| match c {
                EnumeratorCommand::SendEvent { subtask, event } => {
                    Some((*subtask, decode_event(event).unwrap()))
                }
                _ => None,
            })
            .filter(|(_, e)| !matches!(e, EnumeratorEvent::ChunksAcknowledged(_)))
            .collect()
    }

    fn assigned(out: &EnumeratorOutput) -> usize {
        out.commands
            .iter()
            .filter(|c| matches!(c, EnumeratorCommand::AssignSplits { .. }))
            .count()
    }

    fn send(e: &mut Box<dyn DynEnumerator>, subtask: u32, event: ReaderEvent) -> EnumeratorOutput {
        e.handle_source_event(subtask, &encode_event(&event).unwrap())
            .unwrap()
    }

    fn state_of(e: &mut Box<dyn DynEnumerator>) -> EnumeratorState {
        let version = <MySqlCdcSource as Source>::STATE_VERSION;
        rust_core::state::decode("test", version, &e.snapshot_state(1).unwrap()).unwrap()
    }

    /// The phase's protocol without a server: a report, the lookup and split (the background
    /// step's result given by hand), the chunk, AddTables; a repeated report (a reader restored
    /// suspended) is answered again; the acknowledgement ends the phase.
    #[test]
    fn reports_are_idempotent_and_the_phase_ends_with_the_acknowledgement() {
        let mut e = enumerator(streaming());
        e.add_reader(0).unwrap();
        let start = e.start().unwrap();
        // Restored with the option on: the background step looks for tables the state lacks
        // (a task run once; the handover watchdog's runs periodically).
        let task = start.commands.iter().find_map(|c| match c {
            EnumeratorCommand::CallAsync {
                task_id,
                schedule: rust_core::api::AsyncSchedule::Once,
            } => Some(*task_id),
            _ => None,
        });
        let suspended_at = BinlogOffset::at(BinlogPosition::new("bin.000001", 500));
        let out = send(
            &mut e,
            0,
            ReaderEvent::NewTables {
                tables: vec![t("t2")],
                offset: suspended_at.clone(),
            },
        );
        assert!(
            events(&out).is_empty(),
            "nothing to answer before t2 is read"
        );
        let step = AddResult {
            found: Vec::new(),
            resolved: vec![(t("t2"), "id".into())],
            dropped: Vec::new(),
            vanished: Vec::new(),
            table_index: 1,
            splitter: TableSplitter::default(),
            chunks: vec![(t("t2"), "id".into(), ChunkRange::whole())],
        };
        let bytes = rust_core::state::encode(1, &TaskResult::Adding(step)).unwrap();
        e.handle_async_result(task.expect("a background step"), Ok(bytes))
            .unwrap();
        assert_eq!(
            state_of(&mut e).adding.unwrap().suspended_at,
            Some(suspended_at.clone())
        );

        // The suspended reader asks for a split and gets t2's chunk.
        let out = e.handle_split_request(0, None).unwrap();
        assert_eq!(assigned(&out), 1);
        let chunk = state_of(&mut e).in_flight.values().next().unwrap().clone();
        let hw = BinlogPosition::new("bin.000001", 900);
        let done = SnapshotSplit {
            high_watermark: Some(hw.clone()),
            ..chunk
        };
        let out = send(&mut e, 0, ReaderEvent::ChunksFinished(vec![done]));
        let expected = EnumeratorEvent::AddTables {
            tables: vec![TableWatermarks {
                table: t("t2"),
                chunk_key: "id".into(),
                chunks: vec![crate::state::split::ChunkWatermark {
                    end: None,
                    high_watermark: hw.clone(),
                }],
            }],
            max_high_watermark: Some(hw.clone()),
            dropped: Vec::new(),
        };
        assert_eq!(events(&out), vec![(0, expected.clone())]);

        // Reported again (restored suspended, the answer lost): answered again, not re-read.
        let out = send(
            &mut e,
            1,
            ReaderEvent::NewTables {
                tables: vec![t("t2")],
                offset: suspended_at,
            },
        );
        assert_eq!(events(&out), vec![(1, expected)]);
        assert!(state_of(&mut e).pending.is_empty());

        send(&mut e, 1, ReaderEvent::TablesAdded(vec![t("t2")]));
        let state = state_of(&mut e);
        assert_eq!(state.adding, None);
        assert_eq!(
            state
                .tables
                .unwrap()
                .iter()
                .map(|(t, _)| t.table.as_str())
                .collect::<Vec<_>>(),
            ["t1", "t2"]
        );
        assert!(state.finished.is_empty());
    }

    /// A report from beyond the chunks' high watermarks (a reader that suspended later than the
    /// first time) sends the table back to be read again instead of resuming with stale chunks.
    #[test]
    fn chunks_ending_before_the_suspension_are_read_again() {
        let mut state = streaming();
        state.adding = Some(AddingTables {
            tables: vec![(t("t2"), "id".into())],
            splitting_table: 1,
            suspended_at: Some(BinlogOffset::at(BinlogPosition::new("bin.000001", 100))),
            ..AddingTables::default()
        });
        let chunk = SnapshotSplit {
            id: 3,
            table: t("t2"),
            chunk_key: "id".into(),
            range: ChunkRange::whole(),
            high_watermark: None,
        };
        state
            .finished
            .insert(&chunk, BinlogPosition::new("bin.000001", 200));
        state.next_chunk_id = 4;
        let mut e = enumerator(state);
        let later = BinlogOffset::at(BinlogPosition::new("bin.000001", 300));
        let out = send(
            &mut e,
            0,
            ReaderEvent::NewTables {
                tables: vec![t("t2")],
                offset: later,
            },
        );
        assert!(
            events(&out).is_empty(),
            "no resume with a chunk that ends before the suspension"
        );
        let phase = state_of(&mut e).adding.unwrap();
        assert_eq!(phase.requested, vec![t("t2")]);
        assert!(phase.tables.is_empty());
    }

    /// Case 1 restored mid-way: the enumerator found t3 new but the binlog reader has not
    /// suspended yet. Chunks of t3 wait (their watermarks must follow the suspension), and a
    /// reader that registers is asked to suspend.
    #[test]
    fn chunks_wait_for_the_suspension_the_enumerator_asked_for() {
        let mut state = streaming();
        state.adding = Some(AddingTables {
            tables: vec![(t("t3"), "id".into())],
            splitting_table: 1,
            ..AddingTables::default()
        });
        state.pending.push_back(SnapshotSplit {
            id: 7,
            table: t("t3"),
            chunk_key: "id".into(),
            range: ChunkRange::whole(),
            high_watermark: None,
        });
        state.next_chunk_id = 8;
        let mut e = enumerator(state);
        let out = e.add_reader(1).unwrap();
        assert_eq!(
            events(&out),
            vec![(1, EnumeratorEvent::Suspend(vec![t("t3")]))]
        );
        assert_eq!(
            assigned(&e.handle_split_request(1, None).unwrap()),
            0,
            "no chunk before the suspension"
        );
        let offset = BinlogOffset::at(BinlogPosition::new("bin.000002", 4));
        let out = send(
            &mut e,
            0,
            ReaderEvent::NewTables {
                tables: vec![t("t3")],
                offset,
            },
        );
        assert_eq!(
            assigned(&out),
            1,
            "the waiting reader gets the chunk once the binlog reader suspended"
        );
    }
}
