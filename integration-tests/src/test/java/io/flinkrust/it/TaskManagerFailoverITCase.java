package io.flinkrust.it;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.clusterframework.types.ResourceID;
import org.apache.flink.runtime.execution.ExecutionState;
import org.apache.flink.runtime.executiongraph.AccessExecutionGraph;
import org.apache.flink.runtime.executiongraph.AccessExecutionJobVertex;
import org.apache.flink.runtime.executiongraph.AccessExecutionVertex;
import org.apache.flink.runtime.executiongraph.ArchivedExecution;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.taskmanager.TaskManagerLocation;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.test.junit5.InjectMiniCluster;
import org.apache.flink.test.junit5.MiniClusterExtension;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * A TaskManager running rust-datagen readers dies mid-job; the job restarts from its last
 * checkpoint on the surviving TaskManager and a replacement, and every sequence value still
 * arrives exactly once (collect() with EXACTLY_ONCE checkpointing uses Flink's
 * CheckpointedCollectResultBuffer, so the sink side does not add duplicates of its own).
 */
class TaskManagerFailoverITCase {

    private static final int TASK_MANAGERS = 2;
    private static final int SLOTS_PER_TM = 2;
    /** Fills every slot, so both TaskManagers necessarily run readers (asserted below). */
    private static final int PARALLELISM = TASK_MANAGERS * SLOTS_PER_TM;

    private static final long ROWS = 20_000;
    /** For the whole source: about 8 s of data, so the failure lands mid-stream. */
    private static final long ROWS_PER_SECOND = 2_500;

    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder()
                    .setNumberTaskManagers(TASK_MANAGERS)
                    .setNumberSlotsPerTaskManager(SLOTS_PER_TM)
                    .setConfiguration(clusterConfiguration())
                    .build());

    private static Configuration clusterConfiguration() {
        Configuration conf = new Configuration();
        conf.setString("restart-strategy.type", "fixed-delay");
        conf.setString("restart-strategy.fixed-delay.attempts", "5");
        conf.setString("restart-strategy.fixed-delay.delay", "200 ms");
        // Detect the lost TaskManager quickly even if the graceful disconnect is missed.
        conf.setString("heartbeat.interval", "1000");
        conf.setString("heartbeat.timeout", "5000");
        return conf;
    }

    @Test
    @Timeout(value = 150, unit = TimeUnit.SECONDS)
    void sequenceIsExactlyOnceAcrossTaskManagerLoss(@InjectMiniCluster MiniCluster miniCluster) throws Exception {
        Configuration jobConf = new Configuration();
        jobConf.setString("execution.checkpointing.interval", "200 ms");
        jobConf.setString("execution.checkpointing.mode", "EXACTLY_ONCE");
        jobConf.setString("restart-strategy.type", "fixed-delay");
        jobConf.setString("restart-strategy.fixed-delay.attempts", "5");
        jobConf.setString("restart-strategy.fixed-delay.delay", "200 ms");
        jobConf.setString("parallelism.default", String.valueOf(PARALLELISM));
        jobConf.setString("pipeline.name", "rust-datagen-tm-failover");

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(jobConf);
        env.setParallelism(PARALLELISM);
        StreamTableEnvironment tEnv = StreamTableEnvironment.create(env, EnvironmentSettings.inStreamingMode());
        ItSupport.createSequenceTable(tEnv, "gen", 1, ROWS, ROWS_PER_SECOND);

        TableResult result = tEnv.executeSql("SELECT id FROM gen");
        JobClient jobClient = result.getJobClient().orElseThrow();
        JobID jobId = jobClient.getJobID();
        ItSupport.IdCounter ids = new ItSupport.IdCounter(1, ROWS).start(result.collect(), "failover");

        try {
            // 1. A third of the rows arrived (i.e. covered by completed checkpoints).
            boolean third = ItSupport.waitUntil(
                    () -> ids.received() >= ROWS / 3 || ids.done().isDone(), Duration.ofSeconds(60));
            if (ids.done().isCompletedExceptionally()) {
                ids.done().join(); // surfaces why collecting failed
            }
            assertThat(third).as("a third of %s rows within 60 s (got %s)", ROWS, ids.received()).isTrue();
            assertThat(ids.done().isDone())
                    .as("the job must still be running when the TaskManager is killed (received %s of %s; "
                            + "is 'rows-per-second' honoured?)", ids.received(), ROWS)
                    .isFalse();

            // 2. Both TaskManagers run readers: with every slot taken, killing either one hits readers.
            Map<Integer, ResourceID> readersBefore = sourceSubtaskLocations(miniCluster.getExecutionGraph(jobId).get());
            assertThat(new HashSet<>(readersBefore.values()))
                    .as("source subtasks -> TaskManager before the kill: %s", readersBefore)
                    .hasSize(TASK_MANAGERS);
            long receivedAtKill = ids.received();

            // 3. Kill a TaskManager and start a replacement.
            miniCluster.terminateTaskManager(0).get(30, TimeUnit.SECONDS);
            miniCluster.startTaskManager();

            // 4. The job restarts from its checkpoint and finishes.
            try {
                ids.done().get(90, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                fail("the job did not finish within 90 s after the TaskManager was killed at %s rows; "
                        + "now %s rows, status %s", receivedAtKill, ids.received(), jobClient.getJobStatus().get());
            }
            JobStatus finalStatus = ItSupport.waitForTerminal(jobClient);
            assertThat(finalStatus).isEqualTo(JobStatus.FINISHED);

            // Exactly once: every id 1..N, none twice.
            assertThat(ids.problems()).as("exactly-once violation after TaskManager loss").isEmpty();
            assertThat(ids.received()).isEqualTo(ROWS);

            // A restart really happened: the source subtasks run in a later execution attempt, and
            // the earlier attempt on the killed TaskManager did not finish.
            AccessExecutionGraph graph = miniCluster.getArchivedExecutionGraph(jobId).get();
            Map<Integer, String> attempts = new TreeMap<>();
            int restartedSubtasks = 0;
            for (AccessExecutionVertex v : sourceVertex(graph).getTaskVertices()) {
                int attempt = v.getCurrentExecutionAttempt().getAttemptNumber();
                List<String> history = new ArrayList<>();
                for (ArchivedExecution e : v.getExecutionHistory().getHistoricalExecutions()) {
                    history.add("#" + e.getAttemptNumber() + ":" + e.getState());
                }
                attempts.put(v.getParallelSubtaskIndex(), "attempt " + attempt + " " + v.getExecutionState()
                        + ", earlier " + history);
                if (attempt > 0 && !history.isEmpty()
                        && history.stream().noneMatch(h -> h.endsWith(ExecutionState.FINISHED.name()))) {
                    restartedSubtasks++;
                }
            }
            System.out.printf("TaskManagerFailoverITCase: killed TaskManager at %d/%d rows; source subtasks %s%n",
                    receivedAtKill, ROWS, attempts);
            assertThat(restartedSubtasks)
                    .as("source subtasks restarted after the TaskManager loss: %s", attempts)
                    .isGreaterThan(0);
        } finally {
            if (!ids.done().isDone()) {
                jobClient.cancel();
            }
        }
    }

    private static AccessExecutionJobVertex sourceVertex(AccessExecutionGraph graph) {
        AccessExecutionJobVertex source = ItSupport.sourceVertex(graph);
        assertThat(source.getParallelism()).isEqualTo(PARALLELISM);
        return source;
    }

    private static Map<Integer, ResourceID> sourceSubtaskLocations(AccessExecutionGraph graph) {
        Map<Integer, ResourceID> locations = new TreeMap<>();
        for (AccessExecutionVertex v : sourceVertex(graph).getTaskVertices()) {
            TaskManagerLocation location = v.getCurrentAssignedResourceLocation();
            assertThat(location).as("location of %s", v.getTaskNameWithSubtaskIndex()).isNotNull();
            locations.put(v.getParallelSubtaskIndex(), location.getResourceID());
        }
        return locations;
    }
}
