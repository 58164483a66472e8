package io.flinkrust.bridge;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Shared test setup: a small MiniCluster without restarts, and cause-chain helpers. */
public final class TestSupport {
    private TestSupport() {}

    /** One TaskManager with {@code slots} slots; failed jobs are not restarted. */
    public static MiniClusterExtension miniCluster(int slots) {
        Configuration conf = new Configuration();
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        return new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
                .setNumberTaskManagers(1)
                .setNumberSlotsPerTaskManager(slots)
                .setConfiguration(conf)
                .build());
    }

    /** Names of live threads the bridge starts (log drain, availability waiters). */
    public static List<String> bridgeThreads() {
        List<String> names = new ArrayList<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.isAlive() && (t.getName().equals("rust-log-drain") || t.getName().startsWith("rust-source-availability-"))) {
                names.add(t.getName());
            }
        }
        return names;
    }

    /**
     * Waits (up to 60 s) until no bridge thread is alive: Flink closes readers and enumerators
     * asynchronously after a job's result is known.
     */
    public static void awaitNoBridgeThreads() throws InterruptedException {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
        while (!bridgeThreads().isEmpty()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("bridge threads still alive: " + bridgeThreads());
            }
            Thread.sleep(20);
        }
    }

    public static List<Throwable> causeChain(Throwable t) {
        List<Throwable> chain = new ArrayList<>();
        for (Throwable c = t; c != null && !chain.contains(c); c = c.getCause()) {
            chain.add(c);
        }
        return chain;
    }

    public static <T extends Throwable> Optional<T> findCause(Throwable t, Class<T> type) {
        return causeChain(t).stream().filter(type::isInstance).map(type::cast).findFirst();
    }

    /** Every message of the cause chain, one per line. */
    public static String allMessages(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable c : causeChain(t)) {
            sb.append(c.getClass().getName()).append(": ").append(c.getMessage()).append('\n');
        }
        return sb.toString();
    }
}
