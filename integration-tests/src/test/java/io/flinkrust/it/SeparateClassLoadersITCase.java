package io.flinkrust.it;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.executiongraph.AccessExecutionGraph;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.util.TestStreamEnvironment;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.test.junit5.InjectClusterRESTAddress;
import org.apache.flink.test.junit5.InjectMiniCluster;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.test.util.TestEnvironment;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Two SQL jobs submitted the way {@code flink run} does it: over REST, each shipping the bridge
 * jar, so the cluster runs each job's sources in its own child-first user-code classloader. Each
 * such classloader loads its own copy of the native library (the bridge extracts it to a unique
 * {@code flink-rust-bridge-*.so} per load), and the copies must not interfere.
 *
 * <p>The copies are counted in {@code /proc/self/maps} (the MiniCluster shares this JVM). A
 * background sampler keeps the union of all copies ever seen, so a copy that is unloaded when its
 * job's classloader is collected still counts. The client (this test's application classloader)
 * may load one copy itself while planning; the second round proves that new jobs load new copies
 * even though that client copy already exists. Finally, once the jobs are gone, their copies must
 * be unloaded when the JVM collects their classloaders (polled with System.gc() and a deadline):
 * nothing of the bridge may pin a finished job's classloader.
 */
@EnabledOnOs(OS.LINUX)
class SeparateClassLoadersITCase {

    private static final long ROWS_PER_JOB = 4_000;
    /** Whole source, per job: ~2 s per job, so both jobs are running at the same time. */
    private static final long ROWS_PER_SECOND = 2_000;
    private static final int PARALLELISM = 2;

    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder()
                    .setNumberTaskManagers(1)
                    .setNumberSlotsPerTaskManager(2 * PARALLELISM)
                    .setConfiguration(clusterConfiguration())
                    .build());

    private static Configuration clusterConfiguration() {
        Configuration conf = new Configuration();
        conf.setString("classloader.resolve-order", "child-first"); // Flink's default, stated for clarity
        return conf;
    }

    /**
     * MiniClusterExtension installs context environments that run jobs in-process without shipping
     * jars; a RemoteStreamEnvironment refuses to exist next to them. This test submits over REST
     * like the CLI, so it removes them (the extension's afterEach removes them again, harmlessly).
     */
    @BeforeEach
    void removeContextEnvironments() {
        TestStreamEnvironment.unsetAsContext();
        TestEnvironment.unsetAsContext();
    }

    /** Union of every native copy seen mapped since the sampler started. */
    private final Set<String> everMapped = new TreeSet<>();

    private synchronized Set<String> sample() {
        everMapped.addAll(ItSupport.nativeCopiesMapped());
        return new TreeSet<>(everMapped);
    }

    @Test
    @Timeout(value = 150, unit = TimeUnit.SECONDS)
    void concurrentJobsLoadTheNativeLibraryInTheirOwnClassLoaders(
            @InjectMiniCluster MiniCluster miniCluster, @InjectClusterRESTAddress URI rest) throws Exception {
        Path bridgeJar = ItSupport.bridgeJar();

        Set<String> initial = sample();

        // The client plans both queries first (may load the library once, in the app classloader).
        for (int job = 0; job < 2; job++) {
            newTableEnv(rest, bridgeJar, "warm-up").explainSql(query(job));
        }
        Set<String> afterPlanning = sample();

        Thread sampler = startSampler();
        try {
            List<String> round1 = runBothJobs(miniCluster, rest, bridgeJar, 1);
            Set<String> afterRound1 = sample();
            List<String> round2 = runBothJobs(miniCluster, rest, bridgeJar, 2);
            Set<String> afterRound2 = sample();
            Set<String> liveAfterJobs = ItSupport.nativeCopiesMapped();

            // The finished jobs' classloaders can be collected, and with them their native copies
            // unloaded (nothing of the bridge, e.g. its log drain thread, may keep them alive).
            // Only the client's copy (application classloader) may stay. Polled with a deadline.
            AtomicReference<Set<String>> live = new AtomicReference<>(liveAfterJobs);
            boolean unloaded = ItSupport.waitUntil(() -> {
                System.gc();
                live.set(ItSupport.nativeCopiesMapped());
                return afterPlanning.containsAll(live.get());
            }, Duration.ofSeconds(30), Duration.ofMillis(200));

            String report = String.format(
                    "native copies (distinct flink-rust-bridge-*.so mappings, cumulative): initial=%d, "
                            + "after client planning=%d, after round 1=%d, after round 2=%d; "
                            + "mapped right after the jobs=%d, after GC=%d%n"
                            + "  bridge jar shipped: %s%n  round 1: %s%n  round 2: %s%n  copies: %s%n  mapped after GC: %s",
                    initial.size(), afterPlanning.size(), afterRound1.size(), afterRound2.size(),
                    liveAfterJobs.size(), live.get().size(), bridgeJar, round1, round2, afterRound2, live.get());
            System.out.println("SeparateClassLoadersITCase: " + report);

            assertThat(afterRound1.size() - afterPlanning.size())
                    .as("new native copies loaded by the two jobs of round 1 (one per job classloader at least)\n%s", report)
                    .isGreaterThanOrEqualTo(2);
            assertThat(afterRound2.size() - afterRound1.size())
                    .as("new native copies loaded by the two jobs of round 2\n%s", report)
                    .isGreaterThanOrEqualTo(2);
            assertThat(unloaded)
                    .as("the native copies of finished jobs are unloaded once their classloaders are "
                            + "collected (only the client's copy may stay mapped)\n%s", report)
                    .isTrue();
        } finally {
            sampler.interrupt();
            sampler.join();
        }
    }

    private Thread startSampler() {
        Thread t = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                sample();
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "native-mapping-sampler");
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static long firstId(int job) {
        return 1 + job * 1_000_000L;
    }

    private static String query(int job) {
        return "SELECT id FROM gen" + job;
    }

    private static StreamTableEnvironment newTableEnv(URI rest, Path bridgeJar, String name) {
        Configuration conf = new Configuration();
        conf.setString("pipeline.name", name);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createRemoteEnvironment(
                rest.getHost(), rest.getPort(), conf, bridgeJar.toString());
        env.setParallelism(PARALLELISM);
        StreamTableEnvironment tEnv = StreamTableEnvironment.create(env, EnvironmentSettings.inStreamingMode());
        for (int job = 0; job < 2; job++) {
            long first = firstId(job);
            ItSupport.createSequenceTable(tEnv, "gen" + job, first, first + ROWS_PER_JOB - 1, ROWS_PER_SECOND);
        }
        return tEnv;
    }

    /** Submits both jobs, then drains both; returns a line per job for the report. */
    private List<String> runBothJobs(MiniCluster miniCluster, URI rest, Path bridgeJar, int round) throws Exception {
        List<JobClient> clients = new ArrayList<>();
        List<ItSupport.IdCounter> counters = new ArrayList<>();
        try {
            for (int job = 0; job < 2; job++) {
                StreamTableEnvironment tEnv = newTableEnv(rest, bridgeJar, "round" + round + "-job" + job);
                TableResult result = tEnv.executeSql(query(job));
                clients.add(result.getJobClient().orElseThrow());
                long first = firstId(job);
                counters.add(new ItSupport.IdCounter(first, first + ROWS_PER_JOB - 1)
                        .start(result.collect(), "round" + round + "-job" + job));
            }
            List<String> lines = new ArrayList<>();
            long[][] runningIntervals = new long[2][];
            for (int job = 0; job < 2; job++) {
                ItSupport.IdCounter ids = counters.get(job);
                try {
                    ids.done().get(60, TimeUnit.SECONDS);
                } catch (TimeoutException e) {
                    fail("round %d job %d did not finish within 60 s: %d of %d rows, status %s", round, job,
                            ids.received(), ROWS_PER_JOB, clients.get(job).getJobStatus().get());
                }
                assertThat(ids.problems()).as("round %d job %d results", round, job).isEmpty();
                assertThat(ids.received()).isEqualTo(ROWS_PER_JOB);

                JobID jobId = clients.get(job).getJobID();
                assertThat(ItSupport.waitUntil(() -> terminal(miniCluster, jobId), Duration.ofSeconds(30)))
                        .as("round %d job %d reached a terminal state", round, job).isTrue();
                AccessExecutionGraph graph = miniCluster.getArchivedExecutionGraph(jobId).get();
                assertThat(graph.getState()).isEqualTo(JobStatus.FINISHED);
                runningIntervals[job] = new long[] {
                    graph.getStatusTimestamp(JobStatus.RUNNING), graph.getStatusTimestamp(JobStatus.FINISHED)
                };
                lines.add(String.format("job %d (%s): %d rows ok", job, jobId, ids.received()));
            }
            // Informational only (no timing assertion): did the two jobs run at the same time?
            boolean overlapped = runningIntervals[0][0] < runningIntervals[1][1]
                    && runningIntervals[1][0] < runningIntervals[0][1];
            lines.add("jobs overlapped in time: " + overlapped);
            return lines;
        } finally {
            for (int i = 0; i < counters.size(); i++) {
                if (!counters.get(i).done().isDone()) {
                    clients.get(i).cancel();
                }
            }
        }
    }

    private static boolean terminal(MiniCluster miniCluster, JobID jobId) {
        try {
            return miniCluster.getJobStatus(jobId).get().isGloballyTerminalState();
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }
}
