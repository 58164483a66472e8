package io.flinkrust.it;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.checkpoint.CheckpointStatsSnapshot;
import org.apache.flink.runtime.checkpoint.RestoredCheckpointStats;
import org.apache.flink.runtime.executiongraph.AccessExecutionGraph;
import org.apache.flink.runtime.executiongraph.AccessExecutionJobVertex;
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
import org.junit.jupiter.api.io.TempDir;

import javax.annotation.Nullable;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * A rust-datagen sequence job is stopped with a savepoint about a third of the way through and the
 * same pipeline is restored from it at a different parallelism (2 -> 3); together the two runs emit
 * every sequence value exactly once.
 *
 * <p>The sink appends to a static queue in this JVM and is not transactional, which is exact here:
 * stop-with-savepoint (without drain) is not a failure, so every row emitted before the savepoint
 * barrier reaches the (chained) sink and the source emits nothing after it; restarts are disabled,
 * so no replay can add duplicates of its own. Anything lost or repeated is therefore the source's
 * doing: the reader state (partially read splits) and the enumerator state (splits not assigned
 * yet) in the savepoint, redistributed over three readers.
 *
 * <p>Both jobs are built by the same code, so their stream graphs have the same topology; the
 * planner sets no operator uids for SQL that is not a compiled plan ({@code table.exec.uid.generation}
 * = PLAN_ONLY), and Flink derives the operator ids from the topology (StreamGraphHasherV2), which
 * does not depend on the parallelism. Job B does not allow non-restored state, so if the source's
 * state did not map onto job B's source, the submission would fail rather than start from scratch.
 */
class SavepointRestoreITCase {

    private static final int TASK_MANAGERS = 2;
    private static final int SLOTS_PER_TM = 2;

    private static final int PARALLELISM_A = 2;
    /** Rescaled on restore: one more reader than there are reader states in the savepoint. */
    private static final int PARALLELISM_B = 3;

    private static final long ROWS = 12_000;
    /** For the whole source: about 8 s of data, so the savepoint lands mid-stream. */
    private static final long ROWS_PER_SECOND = 1_500;

    /** What each job's sink received, by job key; filled by {@link QueueSink} in the TaskManagers of this JVM. */
    private static final Map<String, Queue<Long>> RECEIVED = new ConcurrentHashMap<>();

    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder()
                    .setNumberTaskManagers(TASK_MANAGERS)
                    .setNumberSlotsPerTaskManager(SLOTS_PER_TM)
                    .build());

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void sequenceIsExactlyOnceAcrossStopWithSavepointAndRescaledRestore(
            @InjectMiniCluster MiniCluster miniCluster, @TempDir Path savepointDir) throws Exception {
        Queue<Long> idsA = new ConcurrentLinkedQueue<>();
        Queue<Long> idsB = new ConcurrentLinkedQueue<>();
        RECEIVED.put("A", idsA);
        RECEIVED.put("B", idsB);

        // ---- Job A: parallelism 2, stopped with a savepoint once about a third of the rows arrived.
        JobClient jobA = submit("A", PARALLELISM_A, null);
        String savepoint;
        try {
            boolean third = ItSupport.waitUntil(
                    () -> idsA.size() >= ROWS / 3 || isTerminal(jobA), Duration.ofSeconds(60));
            assertThat(third).as("a third of %s rows within 60 s (got %s)", ROWS, idsA.size()).isTrue();
            assertThat(isTerminal(jobA))
                    .as("job A must still be running when it is stopped (received %s of %s, status %s; "
                            + "is 'rows-per-second' honoured?)", idsA.size(), ROWS, jobA.getJobStatus().get())
                    .isFalse();
            long receivedAtStop = idsA.size();
            try {
                savepoint = jobA.stopWithSavepoint(false, savepointDir.toUri().toString(), SavepointFormatType.CANONICAL)
                        .get(60, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                throw new AssertionError("stop-with-savepoint of job A did not complete within 60 s (stopped at "
                        + receivedAtStop + " rows, now " + idsA.size() + ", status " + jobA.getJobStatus().get() + ")", e);
            }
            System.out.printf("SavepointRestoreITCase: stopped job A at %d rows, savepoint %s%n", receivedAtStop, savepoint);
        } finally {
            if (!isTerminal(jobA)) {
                jobA.cancel();
            }
        }
        assertThat(ItSupport.waitForTerminal(jobA)).as("job A after stop-with-savepoint").isEqualTo(JobStatus.FINISHED);
        // The sink is chained to the source, so job A's rows are all in the queue once it finished.
        List<Long> a = new ArrayList<>(idsA);

        // ---- Job B: the same pipeline at parallelism 3, restored from the savepoint, run to the end.
        // (Two readers resume their half-read splits, the third takes the split the enumerator still
        // held; each reader emits a third of 'rows-per-second', so B takes about as long as A would.)
        JobClient jobB = submit("B", PARALLELISM_B, savepoint);
        try {
            try {
                jobB.getJobExecutionResult().get(60, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                fail("job B did not finish within 60 s: %s rows, status %s", idsB.size(), jobB.getJobStatus().get());
            }
        } finally {
            if (!isTerminal(jobB)) {
                jobB.cancel();
            }
        }
        assertThat(ItSupport.waitForTerminal(jobB)).as("job B").isEqualTo(JobStatus.FINISHED);
        List<Long> b = new ArrayList<>(idsB);
        System.out.printf("SavepointRestoreITCase: |A| = %d %s, |B| = %d %s, N = %d%n",
                a.size(), runs(a), b.size(), runs(b), ROWS);

        // Exactly once over both jobs: every id 1..N, none twice.
        String problems = exactlyOnceProblems(a, b);
        assertThat(problems).as("exactly-once violation across the savepoint (|A| = %s, |B| = %s)", a.size(), b.size())
                .isEmpty();
        assertThat(a.size()).as("job A emitted some but not all rows").isGreaterThan(0).isLessThan((int) ROWS);
        assertThat((long) b.size()).as("job B emitted exactly the rows job A did not (it did not start over)")
                .isEqualTo(ROWS - a.size());

        // Job B really ran restored from the savepoint, rescaled.
        AccessExecutionGraph graphB = miniCluster.getArchivedExecutionGraph(jobB.getJobID()).get();
        assertThat(ItSupport.sourceVertex(graphB).getParallelism()).as("job B's source parallelism").isEqualTo(PARALLELISM_B);
        CheckpointStatsSnapshot statsB = graphB.getCheckpointStatsSnapshot();
        RestoredCheckpointStats restored = statsB == null ? null : statsB.getLatestRestoredCheckpoint();
        assertThat(restored).as("job B's restored checkpoint").isNotNull();
        assertThat(restored.getExternalPath()).as("job B restored from").isEqualTo(savepoint);
    }

    /** Builds and submits the pipeline; identical for both jobs apart from parallelism, sink key and restore path. */
    private static JobClient submit(String key, int parallelism, @Nullable String savepoint) throws Exception {
        Configuration conf = new Configuration();
        conf.setString("execution.checkpointing.interval", "200 ms");
        conf.setString("execution.checkpointing.mode", "EXACTLY_ONCE");
        // A restart would replay into the non-transactional sink; any failure must fail the test instead.
        conf.setString("restart-strategy.type", "none");
        conf.setString("parallelism.default", String.valueOf(parallelism));
        conf.setString("pipeline.name", "rust-datagen-savepoint-" + key);
        if (savepoint != null) {
            conf.setString("execution.savepoint.path", savepoint);
            conf.setString("execution.savepoint.ignore-unclaimed-state", "false");
        }

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(parallelism);
        StreamTableEnvironment tEnv = StreamTableEnvironment.create(env, EnvironmentSettings.inStreamingMode());
        ItSupport.createSequenceTable(tEnv, "gen", 1, ROWS, ROWS_PER_SECOND);
        tEnv.toDataStream(tEnv.sqlQuery("SELECT id FROM gen"))
                .map(row -> ((Number) row.getField(0)).longValue())
                .returns(Types.LONG)
                .name("id")
                .sinkTo(new QueueSink(key))
                .name("queue-sink");
        return env.executeAsync("rust-datagen-savepoint-" + key);
    }

    /** Empty if A and B together hold every id 1..N exactly once; otherwise the lost and duplicated ids. */
    private static String exactlyOnceProblems(List<Long> a, List<Long> b) {
        int[] counts = new int[(int) ROWS];
        boolean[] inA = new boolean[(int) ROWS];
        List<Long> outside = new ArrayList<>();
        for (List<Long> ids : List.of(a, b)) {
            for (long id : ids) {
                if (id < 1 || id > ROWS) {
                    if (outside.size() < 20) {
                        outside.add(id);
                    }
                    continue;
                }
                counts[(int) (id - 1)]++;
                if (ids == a) {
                    inA[(int) (id - 1)] = true;
                }
            }
        }
        List<Long> lost = new ArrayList<>();
        Map<Long, String> duplicated = new TreeMap<>();
        long lostCount = 0;
        long dupCount = 0;
        for (int i = 0; i < counts.length; i++) {
            if (counts[i] == 0) {
                lostCount++;
                if (lost.size() < 20) {
                    lost.add(i + 1L);
                }
            } else if (counts[i] > 1) {
                dupCount++;
                if (duplicated.size() < 20) {
                    duplicated.put(i + 1L, "x" + counts[i] + (inA[i] ? " (in A)" : " (B only)"));
                }
            }
        }
        StringBuilder sb = new StringBuilder();
        if (lostCount > 0) {
            sb.append(lostCount).append(" ids lost (first ").append(lost.size()).append(": ").append(lost).append("); ");
        }
        if (dupCount > 0) {
            sb.append(dupCount).append(" ids duplicated (first ").append(duplicated.size()).append(": ")
                    .append(duplicated).append("); ");
        }
        if (!outside.isEmpty()) {
            sb.append("ids outside 1..").append(ROWS).append(": ").append(outside).append("; ");
        }
        return sb.toString();
    }

    /** The ids as sorted contiguous ranges, e.g. "[1..2025, 4001..6025]" (at most 10 shown). */
    private static String runs(List<Long> ids) {
        List<Long> sorted = new ArrayList<>(ids);
        sorted.sort(null);
        List<String> runs = new ArrayList<>();
        int count = 0;
        for (int i = 0; i < sorted.size(); ) {
            int j = i;
            while (j + 1 < sorted.size() && sorted.get(j + 1) - sorted.get(j) <= 1) {
                j++;
            }
            if (count++ < 10) {
                runs.add(sorted.get(i) + ".." + sorted.get(j));
            }
            i = j + 1;
        }
        return runs + (count > 10 ? " (" + count + " ranges)" : "");
    }

    private static boolean isTerminal(JobClient client) {
        try {
            return client.getJobStatus().get().isGloballyTerminalState();
        } catch (Exception e) {
            // The job left the dispatcher: it is over.
            return true;
        }
    }

    /** A Sink V2 that appends every id to {@code RECEIVED.get(key)}. Stateless, not transactional. */
    private static final class QueueSink implements Sink<Long> {
        private static final long serialVersionUID = 1L;
        private final String key;

        QueueSink(String key) {
            this.key = key;
        }

        @Override
        public SinkWriter<Long> createWriter(WriterInitContext context) {
            return writer();
        }

        /** Still abstract in Flink 1.20 (deprecated there); Flink calls the WriterInitContext variant. */
        @Override
        @SuppressWarnings("deprecation")
        public SinkWriter<Long> createWriter(InitContext context) {
            return writer();
        }

        private SinkWriter<Long> writer() {
            Queue<Long> queue = RECEIVED.get(key);
            if (queue == null) {
                throw new IllegalStateException("no queue for job " + key + " (sink loaded in another class loader?)");
            }
            return new SinkWriter<>() {
                @Override
                public void write(Long id, Context context) {
                    queue.add(id);
                }

                @Override
                public void flush(boolean endOfInput) {}

                @Override
                public void close() {}
            };
        }
    }
}
