package io.flinkrust.it;

import io.flinkrust.it.CdcSupport.Changelog;
import io.flinkrust.it.CdcSupport.RandomDml;
import io.flinkrust.it.CdcSupport.TagWithSubtask;
import io.flinkrust.mariadb.LocalMariaDb;

import org.apache.flink.api.common.JobStatus;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.executiongraph.AccessExecutionJobVertex;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.TableEnvironment;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.test.junit5.InjectMiniCluster;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.types.Row;
import org.apache.flink.util.CloseableIterator;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * {@code rust-mysql-cdc} through Flink SQL on a MiniCluster against the real MariaDB of
 * {@code scripts/mariadb.sh}: the changelog under concurrent DML equals the table, metadata columns
 * and projection, several tables through one source, the bounded snapshot mode, and bad input
 * failing at planning. Each test has a database and a server-id range of its own.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class MySqlCdcSqlITCase {
    private static final int TASK_MANAGERS = 2;
    private static final int SLOTS_PER_TM = 2;
    private static final int PARALLELISM = TASK_MANAGERS * SLOTS_PER_TM;

    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder()
                    .setNumberTaskManagers(TASK_MANAGERS)
                    .setNumberSlotsPerTaskManager(SLOTS_PER_TM)
                    .build());

    private static LocalMariaDb db;

    @BeforeAll
    static void startMariaDb() {
        db = LocalMariaDb.start();
    }

    private static StreamTableEnvironment tableEnv(StreamExecutionEnvironment env) {
        return StreamTableEnvironment.create(env, EnvironmentSettings.inStreamingMode());
    }

    private static StreamExecutionEnvironment env(int parallelism) {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(parallelism);
        // The collect sink then hands out only what completed checkpoints cover (exactly once).
        env.enableCheckpointing(300);
        return env;
    }

    static void createScores(String database, long rows) throws Exception {
        db.recreateDatabase(database);
        db.execute(database,
                "CREATE TABLE scores (id BIGINT PRIMARY KEY, name VARCHAR(64), score BIGINT)",
                "INSERT INTO scores SELECT seq, CONCAT('n', seq), seq * 10 FROM seq_1_to_" + rows);
    }

    // ---- a. the changelog under concurrent DML equals the table ----------------------------------

    @Test
    void changelogUnderConcurrentDmlEqualsTheTable(@InjectMiniCluster MiniCluster miniCluster) throws Exception {
        final long rows = 50_000;
        String database = CdcSupport.databaseName("changelog");
        createScores(database, rows);
        // Inserts and key changes reach 10% above the seeded keys.
        RandomDml dml = new RandomDml(db, database, 42, rows * 11 / 10, 0);
        JobClient client = null;
        try {
            // The workload runs from before the job starts until well into the binlog phase, so every
            // chunk of the snapshot is read while rows change (asserted below: it never stopped).
            assertThat(ItSupport.waitUntil(() -> dml.statements() >= 20 || dml.done().isDone(), Duration.ofSeconds(30)))
                    .isTrue();
            StreamExecutionEnvironment env = env(PARALLELISM);
            StreamTableEnvironment tEnv = tableEnv(env);
            // 50k rows in chunks of 500: 100 chunks over 4 readers.
            tEnv.executeSql(CdcSupport.scoresTable(db, database, CdcSupport.serverIds(0, PARALLELISM),
                    ", 'scan.incremental.snapshot.chunk.size' = '500'"));
            Changelog changelog = new Changelog();
            long started = System.nanoTime();
            long dmlAtStart = dml.statements();
            client = CdcSupport.runChangelog(env, tEnv, "SELECT id, name, score, op_ts FROM scores", 0, changelog, "cdc-changelog");

            // The binlog phase starts only once every chunk is done; its rows carry op_ts > 0.
            boolean binlog = ItSupport.waitUntil(() -> changelog.binlogRows() > 0 || changelog.done().isDone(),
                    Duration.ofSeconds(120), Duration.ofMillis(50));
            changelog.checkFailure();
            assertThat(binlog).as("binlog rows within 120 s (snapshot rows so far: %s)", changelog.snapshotRows()).isTrue();
            double snapshotSeconds = (System.nanoTime() - started) / 1e9;
            long dmlAtBinlog = dml.statements();
            assertThat(dml.done().isDone()).as("the DML workload ran through the whole snapshot").isFalse();
            CdcSupport.assertTaggingIsChainedToTheSource(miniCluster, client);

            // Some more changes in the binlog phase, then the final table.
            assertThat(ItSupport.waitUntil(() -> dml.statements() >= dmlAtBinlog + 500 || dml.done().isDone(),
                    Duration.ofSeconds(60))).isTrue();
            long statements = dml.stop();
            Map<Long, String> table = CdcSupport.tableState(db, database, "scores", "id, name, score");
            boolean equal = ItSupport.waitUntil(() -> changelog.equalsTable(table) || changelog.done().isDone(),
                    Duration.ofSeconds(60), Duration.ofMillis(50));
            changelog.checkFailure();
            System.out.printf("MySqlCdcSqlITCase: %d seeded rows, %d DML statements (%d while the snapshot ran), "
                            + "binlog phase after %.1f s, %d changes (%d snapshot rows from subtasks %s, %d binlog rows "
                            + "from %s), table now %d rows%n",
                    rows, statements, dmlAtBinlog - dmlAtStart, snapshotSeconds, changelog.changes(),
                    changelog.snapshotRows(), changelog.snapshotSubtasks(), changelog.binlogRows(),
                    changelog.binlogSubtasks(), table.size());
            assertThat(changelog.anomalies()).as("changelog anomalies").isEmpty();
            assertThat(equal).as("materialized changelog equals the table: %s", changelog.diff(table)).isTrue();
            assertThat(changelog.snapshotSubtasks()).as("subtasks that read snapshot chunks").hasSizeGreaterThan(1);
            assertThat(changelog.binlogSubtasks()).as("one binlog reader").hasSize(1);
            assertThat(changelog.snapshotRows()).as("the snapshot covers at least the seeded keys still present")
                    .isGreaterThan(rows / 2);
        } finally {
            if (!dml.done().isDone()) {
                dml.stop();
            }
            if (client != null) {
                CdcSupport.cancelQuietly(client);
            }
        }
        db.dropDatabase(database);
    }

    // ---- b. metadata columns, projection, several tables through one source ---------------------

    @Test
    void metadataColumnsProjectionAndTablesMatchedByRegex(@InjectMiniCluster MiniCluster miniCluster) throws Exception {
        String database = CdcSupport.databaseName("metadata");
        db.recreateDatabase(database);
        db.execute(database,
                "CREATE TABLE orders_1 (id BIGINT PRIMARY KEY, name VARCHAR(20), score BIGINT)",
                "CREATE TABLE orders_2 (id BIGINT PRIMARY KEY, name VARCHAR(20), score BIGINT)",
                "CREATE TABLE orders_x (id BIGINT PRIMARY KEY, name VARCHAR(20), score BIGINT)",
                "INSERT INTO orders_1 VALUES (1, 'a', 10), (2, 'b', 20)",
                "INSERT INTO orders_2 VALUES (3, 'c', 30)",
                "INSERT INTO orders_x VALUES (9, 'not captured', 90)");
        StreamExecutionEnvironment env = env(2);
        StreamTableEnvironment tEnv = tableEnv(env);
        tEnv.executeSql("CREATE TABLE orders (\n"
                + "  id BIGINT NOT NULL,\n"
                + "  name STRING,\n"
                + "  score BIGINT,\n"
                + "  db STRING METADATA FROM 'database_name' VIRTUAL,\n"
                + "  tbl STRING METADATA FROM 'table_name' VIRTUAL,\n"
                + "  kind STRING METADATA FROM 'row_kind' VIRTUAL,\n"
                + "  op_ts TIMESTAMP_LTZ(3) METADATA FROM 'op_ts' VIRTUAL,\n"
                + "  PRIMARY KEY (id) NOT ENFORCED\n"
                + ") WITH (\n"
                + "  'connector' = 'rust-mysql-cdc', " + db.connectionOptions() + ",\n"
                + "  'database-name' = '" + database + "', 'table-name' = 'orders_[0-9]+',\n"
                + "  'server-id' = '" + CdcSupport.serverIds(1, 2) + "')");
        // Projection: 'name' is not read, metadata and physical columns are reordered. The id comes
        // first and op_ts last, as Changelog expects; its value is "score|kind|tbl|db".
        Changelog changelog = new Changelog();
        JobClient client = CdcSupport.runChangelog(env, tEnv, "SELECT id, score, kind, tbl, db, op_ts FROM orders", 0, changelog,
                "cdc-metadata");
        try {
            assertThat(ItSupport.waitUntil(() -> changelog.changes() >= 3 || changelog.done().isDone(),
                    Duration.ofSeconds(60))).as("3 snapshot rows").isTrue();
            changelog.checkFailure();
            assertThat(sortedRows(changelog.firstLines())).containsExactly(
                    "+I\t1\t10\t+I\torders_1\t" + database + "\t0",
                    "+I\t2\t20\t+I\torders_1\t" + database + "\t0",
                    "+I\t3\t30\t+I\torders_2\t" + database + "\t0");

            // MariaDB's binlog timestamps have second precision.
            long before = System.currentTimeMillis() / 1000 * 1000;
            db.execute(database,
                    "UPDATE orders_2 SET score = 31 WHERE id = 3",
                    "INSERT INTO orders_x VALUES (10, 'not captured', 100)",
                    "DELETE FROM orders_1 WHERE id = 1",
                    "INSERT INTO orders_1 VALUES (4, 'd', 40)");
            long after = System.currentTimeMillis();
            assertThat(ItSupport.waitUntil(() -> changelog.changes() >= 7 || changelog.done().isDone(),
                    Duration.ofSeconds(60))).as("4 binlog changes").isTrue();
            changelog.checkFailure();
            List<String> live = changelog.firstLines().subList(3, changelog.firstLines().size());
            List<String> withoutTime = new ArrayList<>();
            for (String line : live) {
                String[] f = line.split("\t");
                long opTs = Long.parseLong(f[f.length - 1]);
                assertThat(opTs).as("op_ts of %s", line).isBetween(before, after + 1000);
                withoutTime.add(line.substring(line.indexOf('\t') + 1, line.lastIndexOf('\t')));
            }
            // One binlog reader: the changes arrive in commit order, each with its own kind.
            assertThat(withoutTime).containsExactly(
                    "-U\t3\t30\t-U\torders_2\t" + database,
                    "+U\t3\t31\t+U\torders_2\t" + database,
                    "-D\t1\t10\t-D\torders_1\t" + database,
                    "+I\t4\t40\t+I\torders_1\t" + database);
            CdcSupport.assertTaggingIsChainedToTheSource(miniCluster, client);
        } finally {
            CdcSupport.cancelQuietly(client);
        }
        db.dropDatabase(database);
    }

    /**
     * The binlog coordinates metadata (beyond Flink CDC): a known transaction's rows carry the file,
     * the position of its GTID event and its GTID as the server lists them ({@code SHOW BINLOG
     * EVENTS}, {@code @@last_gtid}), their index in the transaction and a strictly increasing
     * {@code change_seq}; snapshot rows carry NULL and 0.
     */
    @Test
    void binlogCoordinatesMetadataColumns(@InjectMiniCluster MiniCluster miniCluster) throws Exception {
        String database = CdcSupport.databaseName("coordinates");
        db.recreateDatabase(database);
        db.execute(database,
                "CREATE TABLE orders (id BIGINT PRIMARY KEY, score BIGINT)",
                "INSERT INTO orders VALUES (1, 10), (2, 20)");
        StreamExecutionEnvironment env = env(1);
        StreamTableEnvironment tEnv = tableEnv(env);
        tEnv.executeSql("CREATE TABLE orders (\n"
                + "  id BIGINT NOT NULL,\n"
                + "  score BIGINT,\n"
                + "  file STRING METADATA FROM 'binlog_file' VIRTUAL,\n"
                + "  pos BIGINT METADATA FROM 'binlog_position' VIRTUAL,\n"
                + "  row_index BIGINT METADATA FROM 'binlog_row_index' VIRTUAL,\n"
                + "  gtid STRING METADATA FROM 'gtid' VIRTUAL,\n"
                + "  seq BIGINT METADATA FROM 'change_seq' VIRTUAL,\n"
                + "  op_ts TIMESTAMP_LTZ(3) METADATA FROM 'op_ts' VIRTUAL,\n"
                + "  PRIMARY KEY (id) NOT ENFORCED\n"
                + ") WITH (\n"
                + "  'connector' = 'rust-mysql-cdc', " + db.connectionOptions() + ",\n"
                + "  'database-name' = '" + database + "', 'table-name' = 'orders',\n"
                // Slot 10: no other test of these classes uses it.
                + "  'server-id' = '" + CdcSupport.serverIds(10, 1) + "')");
        Changelog changelog = new Changelog();
        JobClient client = CdcSupport.runChangelog(env, tEnv,
                "SELECT id, score, file, pos, row_index, gtid, seq, op_ts FROM orders", 0, changelog, "cdc-coordinates");
        try {
            assertThat(ItSupport.waitUntil(() -> changelog.changes() >= 2 || changelog.done().isDone(),
                    Duration.ofSeconds(60))).as("2 snapshot rows").isTrue();
            changelog.checkFailure();
            assertThat(sortedRows(changelog.firstLines())).containsExactly(
                    "+I\t1\t10\tNULL\tNULL\tNULL\tNULL\t0\t0",
                    "+I\t2\t20\tNULL\tNULL\tNULL\tNULL\t0\t0");

            // One transaction of two statements, its GTID and its events as the server has them.
            String file;
            String gtid;
            long txnPos = -1;
            List<Long> rowsEvents = new ArrayList<>();
            try (java.sql.Connection c = db.admin(database); java.sql.Statement st = c.createStatement()) {
                java.sql.ResultSet status = st.executeQuery("SHOW MASTER STATUS");
                assertThat(status.next()).isTrue();
                file = status.getString(1);
                long from = status.getLong(2);
                c.setAutoCommit(false);
                st.execute("INSERT INTO orders VALUES (3, 30)");
                st.execute("UPDATE orders SET score = 11 WHERE id = 1");
                c.commit();
                java.sql.ResultSet last = st.executeQuery("SELECT @@last_gtid");
                assertThat(last.next()).isTrue();
                gtid = last.getString(1);
                java.sql.ResultSet events = st.executeQuery("SHOW BINLOG EVENTS IN '" + file + "' FROM " + from);
                while (events.next()) {
                    String type = events.getString("Event_type");
                    if (type.equals("Gtid") && events.getString("Info").endsWith("GTID " + gtid)) {
                        txnPos = events.getLong("Pos");
                    } else if (txnPos >= 0 && (type.startsWith("Write_rows") || type.startsWith("Update_rows"))) {
                        rowsEvents.add(events.getLong("Pos"));
                    } else if (txnPos >= 0 && type.equals("Xid")) {
                        break;
                    }
                }
            }
            assertThat(rowsEvents).as("the transaction's rows events").hasSize(2);
            assertThat(ItSupport.waitUntil(() -> changelog.changes() >= 5 || changelog.done().isDone(),
                    Duration.ofSeconds(60))).as("3 binlog rows").isTrue();
            changelog.checkFailure();
            long number = Long.parseLong(file.substring(file.lastIndexOf('.') + 1));
            List<String> live = new ArrayList<>();
            List<Long> seqs = new ArrayList<>();
            for (String line : changelog.firstLines().subList(2, 5)) {
                String[] f = line.split("\t");
                seqs.add(Long.parseLong(f[8]));
                live.add(String.join("\t", java.util.Arrays.asList(f).subList(1, 8)));
            }
            String at = "\t" + file + "\t" + txnPos;
            assertThat(live).containsExactly(
                    "+I\t3\t30" + at + "\t0\t" + gtid,
                    "-U\t1\t10" + at + "\t1\t" + gtid,
                    "+U\t1\t11" + at + "\t1\t" + gtid);
            // change_seq: file number, position of the row in the file, image (see the connector docs).
            assertThat(seqs).containsExactly(
                    (number << 33) | (rowsEvents.get(0) << 1) | 1,
                    (number << 33) | (rowsEvents.get(1) << 1),
                    (number << 33) | (rowsEvents.get(1) << 1) | 1);
        } finally {
            CdcSupport.cancelQuietly(client);
        }
        db.dropDatabase(database);
    }

    /** Lines without the subtask tag, sorted (snapshot chunks arrive in any order). */
    private static List<String> sortedRows(List<String> lines) {
        List<String> out = new ArrayList<>();
        for (String l : lines) {
            out.add(l.substring(l.indexOf('\t') + 1));
        }
        out.sort(null);
        return out;
    }

    // ---- c. the bounded snapshot mode -----------------------------------------------------------

    @Test
    void snapshotModeIsBoundedAndReadsEveryRowOnce(@InjectMiniCluster MiniCluster miniCluster) throws Exception {
        final long rows = 20_000;
        String database = CdcSupport.databaseName("bounded");
        createScores(database, rows);
        // Rows the snapshot must see as they are: some changed and deleted before it starts.
        db.execute(database, "UPDATE scores SET name = NULL WHERE id % 7 = 0", "DELETE FROM scores WHERE id % 11 = 0");
        Map<Long, String> table = CdcSupport.tableState(db, database, "scores", "id, name, score");
        StreamExecutionEnvironment env = env(3);
        StreamTableEnvironment tEnv = tableEnv(env);
        tEnv.executeSql(CdcSupport.scoresTable(db, database, CdcSupport.serverIds(2, 3),
                ", 'scan.startup.mode' = 'snapshot', 'scan.incremental.snapshot.chunk.size' = '700'"));
        Changelog changelog = new Changelog();
        JobClient client = CdcSupport.runChangelog(env, tEnv, "SELECT id, name, score, op_ts FROM scores", 0, changelog, "cdc-bounded");
        // The job ends by itself: the collect iterator ends when the job finishes.
        changelog.done().get(120, TimeUnit.SECONDS);
        assertThat(ItSupport.waitForTerminal(client)).isEqualTo(JobStatus.FINISHED);
        assertThat(changelog.anomalies()).as("no key twice").isEmpty();
        assertThat(changelog.changes()).as("one row per table row").isEqualTo(table.size());
        assertThat(changelog.binlogRows()).isZero();
        assertThat(changelog.rows()).as(changelog.diff(table)).isEqualTo(table);
        assertThat(changelog.snapshotSubtasks()).as("subtasks that read chunks").hasSizeGreaterThan(1);
        db.dropDatabase(database);
    }

    // ---- d. a bounded snapshot as a batch job --------------------------------------------------

    /**
     * {@code 'scan.startup.mode' = 'snapshot'} is insert-only, so Flink runs it in batch mode (which
     * refuses changelog sources): an aggregation over a join of two tables, each read by three
     * readers, ends with the database's own answer; a LIMIT, pushed into the readers, ends too.
     */
    @Test
    void snapshotModeRunsAsABatchJob() throws Exception {
        final long rows = 20_000;
        String database = CdcSupport.databaseName("batch");
        createScores(database, rows);
        db.execute(database,
                "DELETE FROM scores WHERE id % 13 = 0",
                "CREATE TABLE teams (id BIGINT PRIMARY KEY, team VARCHAR(16))",
                "INSERT INTO teams SELECT seq, CONCAT('t', seq % 5) FROM seq_1_to_" + rows);
        String aggregate = "SELECT t.team, COUNT(*), SUM(s.score) FROM scores s JOIN teams t ON s.id = t.id GROUP BY t.team";
        List<String> expected = new ArrayList<>();
        try (java.sql.Connection c = db.admin(database); java.sql.Statement st = c.createStatement();
                java.sql.ResultSet rs = st.executeQuery(aggregate)) {
            while (rs.next()) {
                expected.add(rs.getString(1) + "|" + rs.getLong(2) + "|" + rs.getLong(3));
            }
        }
        expected.sort(null);
        assertThat(expected).hasSize(5);

        TableEnvironment tEnv = TableEnvironment.create(EnvironmentSettings.inBatchMode());
        tEnv.getConfig().set("parallelism.default", "3");
        String snapshot = ", 'scan.startup.mode' = 'snapshot', 'scan.incremental.snapshot.chunk.size' = '700'";
        tEnv.executeSql(CdcSupport.scoresTable(db, database, CdcSupport.serverIds(4, 3), snapshot));
        tEnv.executeSql("CREATE TABLE teams (id BIGINT NOT NULL, team STRING, PRIMARY KEY (id) NOT ENFORCED) WITH (\n"
                + "  'connector' = 'rust-mysql-cdc', " + db.connectionOptions() + ",\n"
                + "  'database-name' = '" + database + "', 'table-name' = 'teams',\n"
                + "  'server-id' = '" + CdcSupport.serverIds(5, 3) + "'" + snapshot + ")");

        List<String> actual = new ArrayList<>();
        try (CloseableIterator<Row> it = tEnv.executeSql(aggregate).collect()) {
            it.forEachRemaining(r -> {
                assertThat(r.getKind()).isEqualTo(org.apache.flink.types.RowKind.INSERT);
                actual.add(r.getField(0) + "|" + r.getField(1) + "|" + r.getField(2));
            });
        }
        actual.sort(null);
        assertThat(actual).isEqualTo(expected);

        // Not pushed into the readers (one that stopped at a limit could be handed the chunk it
        // asked for ahead after it finished, which fails the job): Flink's LIMIT ends the query.
        List<Row> limited = new ArrayList<>();
        try (CloseableIterator<Row> it = tEnv.executeSql("SELECT id FROM scores LIMIT 10").collect()) {
            it.forEachRemaining(limited::add);
        }
        assertThat(limited).hasSize(10);
        db.dropDatabase(database);
    }

    // ---- e. bad input fails at planning ---------------------------------------------------------

    @Test
    void badInputFailsAtPlanningWithTheCause(@InjectMiniCluster MiniCluster miniCluster) throws Exception {
        String database = CdcSupport.databaseName("invalid");
        db.recreateDatabase(database);
        db.execute(database,
                "CREATE TABLE scores (id BIGINT PRIMARY KEY, name VARCHAR(64), score BIGINT)",
                "CREATE TABLE nokey (id BIGINT, name VARCHAR(64), score BIGINT)");
        int jobsBefore = miniCluster.listJobs().get().size();
        String ids = CdcSupport.serverIds(3, 1);

        String wrongPassword = CdcSupport.scoresTable(db, database, ids, "").replace(
                "'password' = '" + db.cdcPassword() + "'", "'password' = 'not-the-password'");
        assertThat(wrongPassword).contains("not-the-password");
        String message = planningFails(wrongPassword, "scores");
        assertThat(message).contains("Access denied", "'password'").doesNotContain("not-the-password");

        message = planningFails(CdcSupport.scoresTable(db, database, ids, "").replace("'table-name' = 'scores'", "'table-name' = 'nope'"),
                "scores");
        assertThat(message).contains("no table matches", "'nope'", database);

        message = planningFails(CdcSupport.scoresTable(db, database, ids, "").replace("'table-name' = 'scores'", "'table-name' = 'nokey'"),
                "scores");
        assertThat(message).contains("no primary key", "nokey", "scan.incremental.snapshot.chunk.key-column");

        message = planningFails(CdcSupport.scoresTable(db, database, ids, "").replace("score BIGINT", "score BIGINT, missing STRING"),
                "scores");
        assertThat(message).contains("missing");

        // Flink CDC's per-table chunk key columns: a column the matched table lacks names both.
        message = planningFails(CdcSupport.scoresTable(db, database, ids,
                ", 'scan.incremental.snapshot.chunk.key-column' = '" + database + ".scores:ident;other.t:id'"), "scores");
        assertThat(message).contains(database + ".scores has no such column", "'ident'");
        message = planningFails(CdcSupport.scoresTable(db, database, ids,
                ", 'scan.incremental.snapshot.chunk.key-column' = 'scores:id;plain'"), "scores");
        assertThat(message).contains("scan.incremental.snapshot.chunk.key-column", "'plain'", "db.table:column");

        // Debezium's failure modes other than 'fail' would drop changes silently.
        message = planningFails(CdcSupport.scoresTable(db, database, ids,
                ", 'debezium.event.deserialization.failure.handling.mode' = 'warn'"), "scores");
        assertThat(message).contains("debezium.event.deserialization.failure.handling.mode", "only 'fail'");
        message = planningFails(CdcSupport.scoresTable(db, database, ids,
                ", 'scan.startup.mode' = 'specific-offset', 'scan.startup.specific-offset.gtid-set' = '0-1-1',"
                        + " 'scan.startup.specific-offset.skip-events' = '2'"), "scores");
        assertThat(message).contains("scan.startup.specific-offset.skip-events", "skip-rows");

        assertThat(miniCluster.listJobs().get()).as("no job was started").hasSize(jobsBefore);
        db.dropDatabase(database);
    }

    /** Creates the table (never fails) and plans a query over it, which must fail; returns the messages. */
    private static String planningFails(String createTable, String table) {
        StreamTableEnvironment tEnv = tableEnv(env(1));
        tEnv.executeSql(createTable);
        Throwable thrown = catchThrowable(() -> tEnv.executeSql("SELECT * FROM " + table));
        assertThat(thrown).as("planning fails").isInstanceOf(ValidationException.class);
        // The connector's message is ours, from a ValidationException somewhere in the chain.
        StringBuilder messages = new StringBuilder();
        String innermost = null;
        int depth = 0;
        for (Throwable t = thrown; t != null && depth < 20; t = t.getCause(), depth++) {
            messages.append(t.getMessage()).append('\n');
            if (t instanceof ValidationException) {
                innermost = t.getMessage();
            }
        }
        System.out.printf("MySqlCdcSqlITCase: planning failed as expected: %s%n", innermost);
        return messages.toString();
    }
}
