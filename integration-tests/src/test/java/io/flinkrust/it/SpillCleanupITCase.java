package io.flinkrust.it;

import io.flinkrust.it.CdcSupport.Changelog;
import io.flinkrust.mariadb.LocalMariaDb;

import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.core.execution.JobClient;
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

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A cancelled job's binlog spill is removed from the TaskManager. A reader cannot tell a cancel
 * from a failover, so when it closes it keeps the spill segments its last completed checkpoint
 * names; the bridge gives each job a directory of its own under {@code io.tmp.dirs}
 * ({@code flink-rust-job-<job id>}) and removes it when Flink releases the job's class loader on
 * this TaskManager, which a cancel does and a failover that restarts the tasks here does not.
 *
 * <p>The job is slowed by a paced map chained to the source, so a burst of binlog rows backs up
 * and spills; the test waits for checkpoints to complete while spilled batches are unread (those
 * segments are then kept at close), cancels, and waits for the job's directory to go.
 */
class SpillCleanupITCase {
    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder()
                    .setNumberTaskManagers(1)
                    .setNumberSlotsPerTaskManager(1)
                    .build());

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void aCancelledJobsSpillIsRemovedFromTheTaskManager(@InjectMiniCluster MiniCluster miniCluster) throws Exception {
        LocalMariaDb db = LocalMariaDb.start();
        String database = CdcSupport.databaseName("spillclean");
        db.recreateDatabase(database);
        db.execute(database,
                "CREATE TABLE scores (id BIGINT PRIMARY KEY, name VARCHAR(64), score BIGINT)",
                "INSERT INTO scores SELECT seq, CONCAT('n', seq), seq FROM seq_1_to_100");

        Configuration jobConf = new Configuration();
        jobConf.setString("execution.checkpointing.interval", "200 ms");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(jobConf);
        env.setParallelism(1);
        StreamTableEnvironment tEnv = StreamTableEnvironment.create(env, EnvironmentSettings.inStreamingMode());
        tEnv.executeSql(CdcSupport.scoresTable(db, database, CdcSupport.serverIds(0, 1),
                ", 'scan.binlog.spill.enabled' = 'true', 'scan.binlog.spill.segment-size' = '64kb'"));

        Changelog changelog = new Changelog();
        JobClient client = CdcSupport.runChangelog(env, tEnv, "SELECT id, name, score, op_ts FROM scores",
                2_000, changelog, "spill-cleanup");
        try {
            // The extension gives the TaskManager an io.tmp.dirs of its own.
            Path tmpDir = Path.of(miniCluster.getConfiguration().get(CoreOptions.TMP_DIRS).split(",")[0]);
            Path jobDir = tmpDir.resolve("flink-rust-job-" + client.getJobID());
            assertThat(ItSupport.waitUntil(() -> changelog.snapshotRows() >= 100 || changelog.done().isDone(),
                    Duration.ofSeconds(60))).as("the snapshot within 60 s").isTrue();
            changelog.checkFailure();

            // A burst the paced job takes about a minute to emit: it backs up into the spill.
            db.execute(database, "INSERT INTO scores SELECT seq, CONCAT('b', seq), seq FROM seq_1000_to_120000");
            assertThat(ItSupport.waitUntil(() -> segments(jobDir) > 1 || changelog.done().isDone(),
                    Duration.ofSeconds(60))).as("spill segments under %s", jobDir).isTrue();
            changelog.checkFailure();
            long completed = completedCheckpoints(miniCluster, client);
            assertThat(ItSupport.waitUntil(() -> completedCheckpoints(miniCluster, client) >= completed + 2,
                    Duration.ofSeconds(60))).as("two checkpoints completed while spilled").isTrue();
            assertThat(changelog.binlogRows()).as("the burst is still being emitted").isLessThan(119_001);
            assertThat(segments(jobDir)).as("spilled batches unread at the cancel").isPositive();

            client.cancel().get(30, TimeUnit.SECONDS);
            assertThat(ItSupport.waitForTerminal(client)).isEqualTo(JobStatus.CANCELED);
            assertThat(ItSupport.waitUntil(() -> !Files.exists(jobDir), Duration.ofSeconds(60)))
                    .as("the job's directory %s is removed once the job left the TaskManager", jobDir).isTrue();
        } finally {
            CdcSupport.cancelQuietly(client);
            db.dropDatabase(database);
        }
    }

    private static long completedCheckpoints(MiniCluster miniCluster, JobClient client) {
        try {
            return miniCluster.getExecutionGraph(client.getJobID()).get()
                    .getCheckpointStatsSnapshot().getCounts().getNumberOfCompletedCheckpoints();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Spill segment files in the job's directory, in any reader's spill directory. */
    private static long segments(Path jobDir) {
        if (!Files.isDirectory(jobDir)) {
            return 0;
        }
        try (Stream<Path> files = Files.walk(jobDir)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".arrows")).count();
        } catch (IOException | UncheckedIOException e) {
            return 0; // a segment deleted while walking: look again
        }
    }
}
