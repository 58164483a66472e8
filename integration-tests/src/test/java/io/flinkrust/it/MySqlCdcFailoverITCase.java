package io.flinkrust.it;

import io.flinkrust.it.CdcSupport.Changelog;
import io.flinkrust.it.CdcSupport.RandomDml;
import io.flinkrust.mariadb.LocalMariaDb;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.executiongraph.AccessExecutionVertex;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.test.junit5.InjectMiniCluster;
import org.apache.flink.test.junit5.MiniClusterExtension;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code rust-mysql-cdc} through Flink SQL survives losing a TaskManager twice: once while the
 * snapshot is being read, once in the binlog phase, with random DML running throughout and
 * checkpoints every 200 ms. Each loss is a whole TaskManager shut down on the MiniCluster
 * ({@code terminateTaskManager}, as in TaskManagerFailoverITCase), and a replacement started; the
 * job restarts from its last checkpoint.
 *
 * <p>The collect sink with checkpointing hands out exactly what completed checkpoints cover, so
 * the collected changelog is the one a transactional sink would have committed. Materialized by
 * key it must equal the table, with no anomaly: a row repeated after the restore would show up as
 * {@code +I} of a present key or {@code -U}/{@code -D} of an absent one.
 */
class MySqlCdcFailoverITCase {
    private static final int TASK_MANAGERS = 2;
    private static final int SLOTS_PER_TM = 2;
    /** Every slot: both TaskManagers run readers, so each loss hits readers. */
    private static final int PARALLELISM = TASK_MANAGERS * SLOTS_PER_TM;
    private static final long ROWS = 40_000;
    /**
     * Paces each source subtask (in the chained tagging map) so the snapshot takes about 7 s and
     * the first loss lands while chunks are still unread.
     */
    private static final double ROWS_PER_SECOND_PER_SUBTASK = 1_500;

    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder()
                    .setNumberTaskManagers(TASK_MANAGERS)
                    .setNumberSlotsPerTaskManager(SLOTS_PER_TM)
                    .setConfiguration(clusterConfiguration())
                    .build());

    private static Configuration clusterConfiguration() {
        Configuration conf = new Configuration();
        conf.setString("heartbeat.interval", "1000");
        conf.setString("heartbeat.timeout", "5000");
        return conf;
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void changelogEqualsTheTableAfterTaskManagerLossInSnapshotAndBinlogPhases(
            @InjectMiniCluster MiniCluster miniCluster) throws Exception {
        LocalMariaDb db = LocalMariaDb.start();
        String database = CdcSupport.databaseName("failover");
        db.recreateDatabase(database);
        db.execute(database,
                "CREATE TABLE scores (id BIGINT PRIMARY KEY, name VARCHAR(64), score BIGINT)",
                "INSERT INTO scores SELECT seq, CONCAT('n', seq), seq * 10 FROM seq_1_to_" + ROWS);

        Configuration jobConf = new Configuration();
        jobConf.setString("execution.checkpointing.interval", "200 ms");
        jobConf.setString("execution.checkpointing.mode", "EXACTLY_ONCE");
        jobConf.setString("restart-strategy.type", "fixed-delay");
        // A restart can fail once more while the replacement TaskManager registers its slots.
        jobConf.setString("restart-strategy.fixed-delay.attempts", "10");
        jobConf.setString("restart-strategy.fixed-delay.delay", "200 ms");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(jobConf);
        env.setParallelism(PARALLELISM);
        StreamTableEnvironment tEnv = StreamTableEnvironment.create(env, EnvironmentSettings.inStreamingMode());
        tEnv.executeSql(CdcSupport.scoresTable(db, database, CdcSupport.serverIds(0, PARALLELISM),
                ", 'scan.incremental.snapshot.chunk.size' = '500'"));

        // Paced, so it is still running after both restarts.
        RandomDml dml = new RandomDml(db, database, 7, ROWS * 11 / 10, 300);
        Changelog changelog = new Changelog();
        JobClient client = CdcSupport.runChangelog(env, tEnv, "SELECT id, name, score, op_ts FROM scores",
                ROWS_PER_SECOND_PER_SUBTASK, changelog, "cdc-failover");
        try {
            // 1. Mid-snapshot: a fifth of the rows are in (covered by completed checkpoints), no binlog row yet.
            assertThat(ItSupport.waitUntil(() -> changelog.snapshotRows() >= ROWS / 5 || changelog.done().isDone(),
                    Duration.ofSeconds(60))).as("a fifth of the snapshot within 60 s").isTrue();
            changelog.checkFailure();
            long snapshotAtKill = changelog.snapshotRows();
            CdcSupport.assertTaggingIsChainedToTheSource(miniCluster, client);
            assertThat(changelog.binlogRows())
                    .as("still in the snapshot phase at the first loss (%s snapshot rows collected)", snapshotAtKill)
                    .isZero();
            miniCluster.terminateTaskManager(0).get(30, TimeUnit.SECONDS);
            miniCluster.startTaskManager();

            // 2. Binlog phase: the snapshot completed after the restore and changes stream.
            assertThat(ItSupport.waitUntil(() -> changelog.binlogRows() >= 300 || changelog.done().isDone(),
                    Duration.ofSeconds(90))).as("300 binlog rows after the first restore (now %s snapshot, %s binlog)",
                    changelog.snapshotRows(), changelog.binlogRows()).isTrue();
            changelog.checkFailure();
            long binlogAtKill = changelog.binlogRows();
            // terminateTaskManager keeps indexes: 1 is the other original TaskManager.
            miniCluster.terminateTaskManager(1).get(30, TimeUnit.SECONDS);
            miniCluster.startTaskManager();

            // 3. The binlog reader resumes; then the workload stops and the result must equal the table.
            assertThat(ItSupport.waitUntil(() -> changelog.binlogRows() >= binlogAtKill + 300 || changelog.done().isDone(),
                    Duration.ofSeconds(90))).as("300 more binlog rows after the second restore").isTrue();
            changelog.checkFailure();
            long statements = dml.stop();
            Map<Long, String> table = CdcSupport.tableState(db, database, "scores", "id, name, score");
            boolean equal = ItSupport.waitUntil(() -> changelog.equalsTable(table) || changelog.done().isDone(),
                    Duration.ofSeconds(60), Duration.ofMillis(50));
            changelog.checkFailure();

            Map<Integer, Integer> attempts = new TreeMap<>();
            for (AccessExecutionVertex v : ItSupport.sourceVertex(miniCluster.getExecutionGraph(client.getJobID()).get())
                    .getTaskVertices()) {
                attempts.put(v.getParallelSubtaskIndex(), v.getCurrentExecutionAttempt().getAttemptNumber());
            }
            System.out.printf("MySqlCdcFailoverITCase: lost a TaskManager at %d/%d snapshot rows and at %d binlog rows; "
                            + "%d DML statements; %d changes (%d snapshot, %d binlog); source attempts %s; table %d rows%n",
                    snapshotAtKill, ROWS, binlogAtKill, statements, changelog.changes(), changelog.snapshotRows(),
                    changelog.binlogRows(), attempts, table.size());
            assertThat(changelog.anomalies()).as("changelog anomalies (duplicates or losses)").isEmpty();
            assertThat(equal).as("materialized changelog equals the table: %s", changelog.diff(table)).isTrue();
            assertThat(changelog.snapshotRows()).as("the snapshot went on after the first restore")
                    .isGreaterThan(snapshotAtKill);
            assertThat(attempts.values()).as("source subtasks restarted twice (attempt numbers)")
                    .allSatisfy(a -> assertThat(a).isGreaterThanOrEqualTo(2));
        } finally {
            if (!dml.done().isDone()) {
                dml.stop();
            }
            CdcSupport.cancelQuietly(client);
        }
        db.dropDatabase(database);
    }
}
