package io.flinkrust.it;

import org.apache.flink.api.common.JobStatus;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.executiongraph.AccessExecutionGraph;
import org.apache.flink.runtime.executiongraph.AccessExecutionJobVertex;
import org.apache.flink.table.api.TableEnvironment;
import org.apache.flink.types.Row;
import org.apache.flink.util.CloseableIterator;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** Helpers shared by the integration tests. They use only Flink's public APIs and the JDK. */
final class ItSupport {
    private ItSupport() {}

    // ---- the bridge jar -------------------------------------------------------------------------

    /** {@code native/<os>-<arch>/<lib>} as scripts/build-native.sh lays it out in the jar. */
    static String nativeLibraryResource() {
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        String osDir = os.contains("mac") || os.contains("darwin") ? "osx" : "linux";
        String lib = osDir.equals("osx") ? "libflink_rust_bridge.dylib" : "libflink_rust_bridge.so";
        String archDir = arch.equals("amd64") || arch.equals("x86_64") ? "x86_64"
                : arch.equals("aarch64") || arch.equals("arm64") ? "aarch64" : arch;
        return "native/" + osDir + "-" + archDir + "/" + lib;
    }

    /**
     * The packaged bridge jar on the test class path (the one holding {@code io.flinkrust.bridge} and
     * the native library). Fails with instructions if the bridge is only a classes directory, which
     * happens when the reactor runs no further than {@code test}/{@code compile}.
     */
    static Path bridgeJar() {
        String resource = nativeLibraryResource();
        List<String> seen = new ArrayList<>();
        try {
            Enumeration<URL> urls = ItSupport.class.getClassLoader().getResources(resource);
            while (urls.hasMoreElements()) {
                URL url = urls.nextElement();
                seen.add(url.toString());
                if ("jar".equals(url.getProtocol())) {
                    String spec = url.getPath(); // file:/.../flink-rust-bridge-x.jar!/native/...
                    int bang = spec.indexOf("!/");
                    if (bang > 0) {
                        return Paths.get(new URL(spec.substring(0, bang)).toURI()).toAbsolutePath();
                    }
                }
            }
        } catch (IOException | URISyntaxException e) {
            throw new IllegalStateException("cannot resolve the bridge jar from " + resource, e);
        }
        // Fallback: the class path property (surefire sets it to the test class path).
        for (String entry : System.getProperty("java.class.path", "").split(File.pathSeparator)) {
            String name = Paths.get(entry).getFileName() == null ? "" : Paths.get(entry).getFileName().toString();
            if (name.startsWith("flink-rust-bridge-") && name.endsWith(".jar") && !name.endsWith("-tests.jar")) {
                return Paths.get(entry).toAbsolutePath();
            }
        }
        throw new IllegalStateException(
                "The flink-rust-bridge jar is not on the test class path (the native library "
                        + resource
                        + " was found at "
                        + (seen.isEmpty() ? "nowhere" : String.join(", ", seen))
                        + "). This test ships the packaged jar to the cluster, so the bridge must be a jar, "
                        + "not a target/classes directory: run `mvn -B verify` from the repository root "
                        + "(or `mvn -B -DskipTests install -pl java-bridge -am` and then "
                        + "`mvn -B verify -pl integration-tests`).");
    }

    // ---- native library mappings ----------------------------------------------------------------

    /** A per-load temp copy of the native library, as the bridge extracts it: flink-rust-bridge-*.so */
    private static final Pattern NATIVE_COPY = Pattern.compile("(/\\S*/flink-rust-bridge-[^/\\s]*\\.(so|dylib)[^/\\s]*)");

    /**
     * The distinct files named {@code flink-rust-bridge-*.so} mapped into this process right now
     * (from {@code /proc/self/maps}; a deleted file keeps its path with a " (deleted)" suffix).
     */
    static Set<String> nativeCopiesMapped() {
        List<String> lines;
        try {
            lines = Files.readAllLines(Paths.get("/proc/self/maps"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Set<String> paths = new TreeSet<>();
        for (String line : lines) {
            Matcher m = NATIVE_COPY.matcher(line);
            if (m.find()) {
                paths.add(m.group(1));
            }
        }
        return paths;
    }

    // ---- results --------------------------------------------------------------------------------

    /**
     * Counts the BIGINT values {@code first..last} of column 0 arriving from a collect iterator, on
     * a background thread so the test can watch progress and enforce deadlines.
     */
    static final class IdCounter {
        final long first;
        final long last;
        private final AtomicIntegerArray counts;
        private final AtomicLong received = new AtomicLong();
        private final List<String> unexpected = new ArrayList<>();
        private CompletableFuture<Void> done;

        IdCounter(long first, long last) {
            this.first = first;
            this.last = last;
            this.counts = new AtomicIntegerArray(Math.toIntExact(last - first + 1));
        }

        IdCounter start(CloseableIterator<Row> rows, String name) {
            done = CompletableFuture.runAsync(() -> {
                try (CloseableIterator<Row> it = rows) {
                    while (it.hasNext()) {
                        Row row = it.next();
                        Object v = row.getField(0);
                        long id = ((Number) v).longValue();
                        if (id < first || id > last) {
                            synchronized (unexpected) {
                                if (unexpected.size() < 20) {
                                    unexpected.add(String.valueOf(row));
                                }
                            }
                        } else {
                            counts.incrementAndGet(Math.toIntExact(id - first));
                        }
                        received.incrementAndGet();
                    }
                } catch (Exception e) {
                    throw new RuntimeException("collecting " + name + " failed", e);
                }
            }, runnable -> {
                Thread t = new Thread(runnable, "collect-" + name);
                t.setDaemon(true);
                t.start();
            });
            return this;
        }

        long received() {
            return received.get();
        }

        CompletableFuture<Void> done() {
            return done;
        }

        /** Empty if every id arrived exactly once; otherwise a description of what went wrong. */
        String problems() {
            List<Long> lost = new ArrayList<>();
            List<String> duplicated = new ArrayList<>();
            long lostCount = 0;
            long dupCount = 0;
            for (int i = 0; i < counts.length(); i++) {
                int c = counts.get(i);
                if (c == 0) {
                    lostCount++;
                    if (lost.size() < 20) {
                        lost.add(first + i);
                    }
                } else if (c > 1) {
                    dupCount++;
                    if (duplicated.size() < 20) {
                        duplicated.add((first + i) + "x" + c);
                    }
                }
            }
            StringBuilder sb = new StringBuilder();
            if (lostCount > 0) {
                sb.append(lostCount).append(" ids lost (first ").append(lost.size()).append(": ").append(lost).append("); ");
            }
            if (dupCount > 0) {
                sb.append(dupCount).append(" ids duplicated (id x count, first ").append(duplicated.size()).append(": ")
                        .append(duplicated).append("); ");
            }
            synchronized (unexpected) {
                if (!unexpected.isEmpty()) {
                    sb.append("rows outside ").append(first).append("..").append(last).append(": ").append(unexpected).append("; ");
                }
            }
            if (sb.length() > 0) {
                sb.append("received ").append(received.get()).append(" rows for ").append(counts.length()).append(" ids");
            }
            return sb.toString();
        }
    }

    /** Polls {@code condition} until it holds or the deadline passes; returns whether it held. */
    static boolean waitUntil(BooleanSupplier condition, Duration timeout) throws InterruptedException {
        return waitUntil(condition, timeout, Duration.ofMillis(20));
    }

    /** As {@link #waitUntil(BooleanSupplier, Duration)}, checking every {@code pollInterval}. */
    static boolean waitUntil(BooleanSupplier condition, Duration timeout, Duration pollInterval)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(pollInterval.toMillis());
        }
        return true;
    }

    // ---- jobs -----------------------------------------------------------------------------------

    /** A rust-datagen table {@code name (id BIGINT)} emitting {@code first..last} once each, paced. */
    static void createSequenceTable(TableEnvironment tEnv, String name, long first, long last, long rowsPerSecond) {
        tEnv.executeSql("CREATE TABLE " + name + " (id BIGINT) WITH ("
                + " 'connector' = 'rust-datagen',"
                + " 'rows-per-second' = '" + rowsPerSecond + "',"
                + " 'fields.id.kind' = 'sequence',"
                + " 'fields.id.start' = '" + first + "',"
                + " 'fields.id.end' = '" + last + "')");
    }

    /** The job's one source vertex (Flink names it "Source: ..."). */
    static AccessExecutionJobVertex sourceVertex(AccessExecutionGraph graph) {
        List<AccessExecutionJobVertex> sources = new ArrayList<>();
        for (AccessExecutionJobVertex v : graph.getVerticesTopologically()) {
            if (v.getName().startsWith("Source")) {
                sources.add(v);
            }
        }
        assertThat(sources).as("source vertices of %s", graph.getJobName()).hasSize(1);
        return sources.get(0);
    }

    /** Waits (at most 30 s) until the job is globally terminal and returns that status. */
    static JobStatus waitForTerminal(JobClient client) throws Exception {
        Set<JobStatus> seen = new HashSet<>();
        JobStatus[] status = {null};
        boolean terminal = waitUntil(() -> {
            try {
                status[0] = client.getJobStatus().get();
                seen.add(status[0]);
                return status[0].isGloballyTerminalState();
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        }, Duration.ofSeconds(30));
        assertThat(terminal).as("job status reached a terminal state, saw %s", seen).isTrue();
        return status[0];
    }
}
