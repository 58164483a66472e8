package io.flinkrust.it;

import io.flinkrust.it.CdcSupport.RandomDml;
import io.flinkrust.mariadb.LocalMariaDb;

import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code rust-mysql-cdc} into a real upsert sink: Flink's JDBC sink (MySQL dialect) writing into a
 * MariaDB table with {@code PRIMARY KEY ... NOT ENFORCED}. The planner drops {@code -U} for an
 * upsert sink, so a primary-key change emitted as {@code -U}/{@code +U} would leave the old key in
 * the sink forever (issue 14); emitted as {@code -D}/{@code +I}, as Flink CDC does, the sink ends
 * equal to the source. Random inserts, updates, key changes, deletes and transactions run from
 * before the job starts until the snapshot is half written, then scripted key changes and another
 * random burst run in the binlog phase; after each, the sink table must become equal to the source
 * table. At parallelism 1 and 4 (snapshot chunks written by several sink subtasks).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MySqlCdcUpsertSinkITCase {
    private static final int TASK_MANAGERS = 2;
    private static final int SLOTS_PER_TM = 2;
    private static final long ROWS = 5_000;
    private static final Duration CATCH_UP = Duration.ofSeconds(60);

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

    @ParameterizedTest(name = "parallelism {0}")
    @ValueSource(ints = {1, 4})
    void jdbcUpsertSinkEndsEqualToTheSourceThroughKeyChanges(int parallelism) throws Exception {
        String database = CdcSupport.databaseName("upsert_p" + parallelism);
        db.recreateDatabase(database);
        db.execute(database,
                "CREATE TABLE scores (id BIGINT PRIMARY KEY, name VARCHAR(64), score BIGINT)",
                "INSERT INTO scores SELECT seq, CONCAT('n', seq), seq * 10 FROM seq_1_to_" + ROWS,
                "CREATE TABLE sink (id BIGINT PRIMARY KEY, name VARCHAR(64), score BIGINT)");
        // Inserts and key changes reach 10% above the seeded keys.
        RandomDml dml = new RandomDml(db, database, 14 + parallelism, ROWS * 11 / 10, 0);
        JobClient client = null;
        try {
            assertThat(ItSupport.waitUntil(() -> dml.statements() >= 20 || dml.done().isDone(), Duration.ofSeconds(30)))
                    .isTrue();
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
            env.setParallelism(parallelism);
            // The JDBC sink flushes at checkpoints, and the default 'checkpoint' handover starts the
            // binlog phase after one, so no snapshot row is still buffered in a sink subtask when
            // the binlog reader's subtask writes a later change of its key.
            env.enableCheckpointing(300);
            StreamTableEnvironment tEnv = StreamTableEnvironment.create(env, EnvironmentSettings.inStreamingMode());
            // 20 chunks: at parallelism 4 every reader (and its chained sink subtask) writes some.
            tEnv.executeSql(CdcSupport.scoresTable(db, database, CdcSupport.serverIds(parallelism == 1 ? 0 : 1, parallelism),
                    ", 'scan.incremental.snapshot.chunk.size' = '250'"));
            tEnv.executeSql("CREATE TABLE sink (\n"
                    + "  id BIGINT NOT NULL,\n"
                    + "  name STRING,\n"
                    + "  score BIGINT,\n"
                    + "  PRIMARY KEY (id) NOT ENFORCED\n"
                    + ") WITH (\n"
                    + "  'connector' = 'jdbc',\n"
                    // The MySQL dialect is chosen by the URL's scheme; the MariaDB driver takes
                    // that scheme with permitMysqlScheme.
                    + "  'url' = 'jdbc:mysql://" + db.host() + ":" + db.port() + "/" + database + "?permitMysqlScheme',\n"
                    + "  'driver' = 'org.mariadb.jdbc.Driver',\n"
                    + "  'table-name' = 'sink',\n"
                    + "  'username' = '" + db.adminUser() + "', 'password' = '" + db.adminPassword() + "',\n"
                    + "  'sink.buffer-flush.interval' = '100ms', 'sink.buffer-flush.max-rows' = '500')");
            TableResult result = tEnv.executeSql("INSERT INTO sink SELECT id, name, score FROM scores");
            client = result.getJobClient().orElseThrow(() -> new AssertionError("no job client"));

            // The workload runs on until half the snapshot is in the sink: it overlaps the snapshot.
            assertThat(ItSupport.waitUntil(() -> sinkRows(database) >= ROWS / 2 || dml.done().isDone(), CATCH_UP,
                    Duration.ofMillis(50))).as("half the snapshot in the sink").isTrue();
            assertThat(dml.done().isDone()).as("the DML workload ran while the snapshot was written").isFalse();
            long atHalf = dml.statements();
            assertThat(ItSupport.waitUntil(() -> dml.statements() >= atHalf + 200 || dml.done().isDone(),
                    Duration.ofSeconds(30))).isTrue();
            long statements = dml.stop();
            assertSinkCatchesUp(database, client, "after " + statements + " random statements during the snapshot");

            // The binlog phase: the case (a key change, then the old key used again), an
            // update, a delete, an insert, several keys in one statement and in one transaction.
            db.execute(database,
                    "INSERT INTO scores VALUES (9000001, 'a', 1), (9000002, 'b', 2), (9000003, 'c', 3)",
                    "UPDATE scores SET id = 9000010 WHERE id = 9000001",
                    "UPDATE scores SET name = 'b2' WHERE id = 9000002",
                    "DELETE FROM scores WHERE id = 9000003",
                    "INSERT INTO scores VALUES (9000001, 'again', 4)",
                    "UPDATE scores SET id = id + 20000000 WHERE id BETWEEN 100 AND 120",
                    "BEGIN",
                    "UPDATE scores SET id = 9000020, score = -1 WHERE id = 9000002",
                    "UPDATE scores SET id = 9000002 WHERE id = 9000010",
                    "COMMIT");
            assertSinkCatchesUp(database, client, "after the scripted key changes");

            RandomDml burst = new RandomDml(db, database, 140 + parallelism, ROWS * 11 / 10, 0);
            assertThat(ItSupport.waitUntil(() -> burst.statements() >= 500 || burst.done().isDone(), Duration.ofSeconds(30)))
                    .isTrue();
            statements = burst.stop();
            assertSinkCatchesUp(database, client, "after " + statements + " random statements in the binlog phase");
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

    /** Polls until the sink table equals the source table (no more DML runs), or fails at the deadline. */
    private static void assertSinkCatchesUp(String database, JobClient client, String when) throws Exception {
        Map<Long, String> source = CdcSupport.tableState(db, database, "scores", "id, name, score");
        boolean equal = ItSupport.waitUntil(() -> source.equals(sinkState(database)) || client.getJobStatus().join().isTerminalState(),
                CATCH_UP, Duration.ofMillis(100));
        assertThat(client.getJobStatus().join().isTerminalState()).as("the job ended (%s)", when).isFalse();
        Map<Long, String> sink = sinkState(database);
        assertThat(equal).as("%s: the sink equals the source; %s", when, diff(source, sink)).isTrue();
        System.out.printf("MySqlCdcUpsertSinkITCase: %s: the sink equals the source (%d rows)%n", when, source.size());
    }

    private static Map<Long, String> sinkState(String database) {
        try {
            return CdcSupport.tableState(db, database, "sink", "id, name, score");
        } catch (SQLException e) {
            throw new IllegalStateException("reading the sink table of " + database, e);
        }
    }

    private static long sinkRows(String database) {
        try (Connection c = db.admin(database); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM sink")) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new IllegalStateException("counting the sink table of " + database, e);
        }
    }

    /** Keys whose rows differ, for the failure message: keys left behind are what issue 14 was. */
    private static String diff(Map<Long, String> source, Map<Long, String> sink) {
        StringBuilder out = new StringBuilder();
        int n = 0;
        for (Map.Entry<Long, String> e : source.entrySet()) {
            if (!e.getValue().equals(sink.get(e.getKey())) && n++ < 20) {
                out.append(e.getKey()).append(": source ").append(e.getValue()).append(", sink ").append(sink.get(e.getKey())).append("; ");
            }
        }
        for (Map.Entry<Long, String> e : sink.entrySet()) {
            if (!source.containsKey(e.getKey()) && n++ < 20) {
                out.append(e.getKey()).append(": only in the sink (").append(e.getValue()).append("); ");
            }
        }
        return n + " keys differ (source " + source.size() + " rows, sink " + sink.size() + "): " + out;
    }
}
