//! Random DML on the chaos table `t (id PK, uid, ver, val)`: inserts of new rows (a fresh uid,
//! version 0), updates (version + 1), primary-key changes (version + 1, same uid), deletes,
//! range updates (multi-row events) and transactions of several of these, some rolled back.
//! Everything comes from the seeded generator: a seed replays the same statements.

use std::collections::BTreeMap;

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use rand::rngs::SmallRng;
use rand::Rng;

pub struct Workload {
    pub conn: Conn,
    /// Keys stay in 1..=key_space so statements hit existing rows often.
    pub key_space: i64,
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
        Workload { conn, key_space: rows + rows / 4 + 10, next_uid: rows + 1, statements: 0 }
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
                self.exec(if commit { "COMMIT" } else { "ROLLBACK" }.into()).await;
            } else {
                let sql = self.statement(rng);
                self.exec(sql).await;
            }
        }
    }

    fn statement(&mut self, rng: &mut SmallRng) -> String {
        let id = rng.random_range(1..=self.key_space);
        match rng.random_range(0..20) {
            0..=4 => {
                let uid = self.next_uid;
                self.next_uid += 1;
                format!("INSERT IGNORE INTO t VALUES ({id}, {uid}, 0, 'i{uid}')")
            }
            5..=10 => format!("UPDATE t SET ver = ver + 1, val = 'u{}' WHERE id = {id}", rng.random_range(0..1000)),
            11..=13 => {
                format!("UPDATE IGNORE t SET id = {}, ver = ver + 1 WHERE id = {id}", rng.random_range(1..=self.key_space))
            }
            14..=16 => format!("DELETE FROM t WHERE id = {id}"),
            17..=18 => format!("UPDATE t SET ver = ver + 1 WHERE id BETWEEN {id} AND {}", id + rng.random_range(1..40)),
            _ => format!("UPDATE t SET ver = ver + 1, val = 'big' WHERE id % {} = {}", rng.random_range(5..20), id % 5),
        }
    }

    async fn exec(&mut self, sql: String) {
        self.conn.query_drop(&sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        self.statements += 1;
    }

    /// The table now: id -> (uid, ver, val).
    pub async fn table(&mut self) -> BTreeMap<i64, (i64, u64, String)> {
        let rows: Vec<(i64, i64, u64, String)> = self.conn.query("SELECT id, uid, ver, val FROM t").await.unwrap();
        rows.into_iter().map(|(id, uid, ver, val)| (id, (uid, ver, val))).collect()
    }
}
