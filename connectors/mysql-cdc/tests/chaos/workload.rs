//! Random DML on the chaos table `t (id PK, uid, ver, val)`: inserts of new rows (a fresh uid,
//! version 0), updates (version + 1), primary-key changes (version + 1, same uid), deletes,
//! range updates (multi-row events) and transactions of several of these, some rolled back.
//! Everything comes from the seeded generator: a seed replays the same statements.
//!
//! Wide plans add a second table mid-run ([`Workload::add_table`], for newly added tables): its
//! keys start at [`NEW_TABLE_BASE`], so one per-key view holds both tables.

use std::collections::BTreeMap;

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use rand::rngs::SmallRng;
use rand::Rng;

/// The first key of a table added mid-run (the first table's keys are far below).
pub const NEW_TABLE_BASE: i64 = 1_000_000_000;

pub struct Workload {
    pub conn: Conn,
    /// Keys stay in 1..=key_space so statements hit existing rows often.
    pub key_space: i64,
    /// A second table, once added: its name and key space (its keys are base + 1..=space).
    added: Option<(String, i64)>,
    next_uid: i64,
    pub statements: usize,
}

impl Workload {
    /// Creates `t` with `rows` rows (id = uid = 1..=rows, version 0) in the connection's database.
    pub async fn create(mut conn: Conn, rows: i64) -> Workload {
        for sql in [
            "CREATE TABLE t (id BIGINT PRIMARY KEY, uid BIGINT NOT NULL, ver BIGINT NOT NULL, val VARCHAR(64))".to_string(),
            format!("INSERT INTO t SELECT seq, seq, 0, CONCAT('s', seq) FROM seq_1_to_{rows}"),
        ] {
            conn.query_drop(&sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        Workload {
            conn,
            key_space: rows + rows / 4 + 10,
            added: None,
            next_uid: rows + 1,
            statements: 0,
        }
    }

    /// Creates `name` like `t` with `rows` rows (keys from [`NEW_TABLE_BASE`], fresh uids);
    /// statements then go to either table.
    pub async fn add_table(&mut self, name: &str, rows: i64) {
        let uid = self.next_uid;
        self.next_uid += rows;
        for sql in [
            format!("CREATE TABLE {name} LIKE t"),
            format!("INSERT INTO {name} SELECT {NEW_TABLE_BASE} + seq, {uid} + seq - 1, 0, CONCAT('n', seq) FROM seq_1_to_{rows}"),
        ] {
            self.exec(sql).await;
        }
        self.added = Some((name.to_string(), rows + rows / 4 + 10));
    }

    /// Runs `n` random operations (a transaction counts as one).
    pub async fn run(&mut self, rng: &mut SmallRng, n: usize) {
        for _ in 0..n {
            if rng.random_range(0..8) == 0 {
                let commit = rng.random_range(0..6) != 0;
                let ops = rng.random_range(2..=6);
                self.exec("BEGIN".into()).await;
                for _ in 0..ops {
                    let sql = self.statement(rng);
                    self.exec(sql).await;
                }
                self.exec(if commit { "COMMIT" } else { "ROLLBACK" }.into())
                    .await;
            } else {
                let sql = self.statement(rng);
                self.exec(sql).await;
            }
        }
    }

    fn statement(&mut self, rng: &mut SmallRng) -> String {
        // The first table's draws come first and alone while it is the only one: a classic seed
        // replays the statements it always ran.
        let id = rng.random_range(1..=self.key_space);
        let (t, base, space, id) = match &self.added {
            Some((name, space)) if rng.random_bool(0.5) => (
                name.as_str(),
                NEW_TABLE_BASE,
                *space,
                NEW_TABLE_BASE + 1 + (id - 1) % space,
            ),
            _ => ("t", 0, self.key_space, id),
        };
        match rng.random_range(0..20) {
            0..=4 => {
                let uid = self.next_uid;
                self.next_uid += 1;
                format!("INSERT IGNORE INTO {t} VALUES ({id}, {uid}, 0, 'i{uid}')")
            }
            5..=10 => format!(
                "UPDATE {t} SET ver = ver + 1, val = 'u{}' WHERE id = {id}",
                rng.random_range(0..1000)
            ),
            11..=13 => {
                format!(
                    "UPDATE IGNORE {t} SET id = {}, ver = ver + 1 WHERE id = {id}",
                    base + rng.random_range(1..=space)
                )
            }
            14..=16 => format!("DELETE FROM {t} WHERE id = {id}"),
            17..=18 => format!(
                "UPDATE {t} SET ver = ver + 1 WHERE id BETWEEN {id} AND {}",
                id + rng.random_range(1..40)
            ),
            _ => format!(
                "UPDATE {t} SET ver = ver + 1, val = 'big' WHERE id % {} = {}",
                rng.random_range(5..20),
                id % 5
            ),
        }
    }

    async fn exec(&mut self, sql: String) {
        self.conn
            .query_drop(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        self.statements += 1;
    }

    /// The table now: id -> (uid, ver, val).
    /// Both tables when a second was added (their keys are disjoint).
    pub async fn table(&mut self) -> BTreeMap<i64, (i64, u64, String)> {
        let mut sql = "SELECT id, uid, ver, val FROM t".to_string();
        if let Some((name, _)) = &self.added {
            sql.push_str(&format!(" UNION ALL SELECT id, uid, ver, val FROM {name}"));
        }
        let rows: Vec<(i64, i64, u64, String)> = self.conn.query(sql).await.unwrap();
        rows.into_iter()
            .map(|(id, uid, ver, val)| (id, (uid, ver, val)))
            .collect()
    }
}
