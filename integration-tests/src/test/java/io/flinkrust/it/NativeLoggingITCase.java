package io.flinkrust.it;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.types.Row;
import org.apache.flink.util.CloseableIterator;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Native log lines reach Flink's log through SLF4J, not the process's stderr.
 *
 * <p>The job runs in a child JVM (same class path, same log4j2-test.properties) whose stdout and
 * stderr go to files: stderr at the file-descriptor level is the only way to see what native code
 * writes there. The log4j configuration routes logger {@code rust} (where the bridge sends native
 * {@code tracing} events, as {@code rust.<target>}) to a file given by {@code -Drust.log.file}.
 */
class NativeLoggingITCase {

    static final String MARKER = "testkit reader started";
    static final String LOGGER = "rust.connector_testkit";
    static final int ROWS = 200;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void testkitReaderLogLineArrivesThroughSlf4j() throws Exception {
        Path dir = Paths.get("target", "it-logs", "native-logging-" + System.currentTimeMillis()).toAbsolutePath();
        Files.createDirectories(dir);
        Path rustLog = dir.resolve("rust-native.log");
        Path stdout = dir.resolve("child-stdout.txt");
        Path stderr = dir.resolve("child-stderr.txt");

        List<String> command = new ArrayList<>();
        command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx768m");
        command.add("--add-opens=java.base/java.util=ALL-UNNAMED");
        command.add("--add-opens=java.base/java.lang=ALL-UNNAMED");
        command.add("-Drust.log.file=" + rustLog);
        command.add("-Dit.log.dir=" + dir);
        command.add("-cp");
        command.add(testClassPath());
        command.add(Child.class.getName());
        Process child = new ProcessBuilder(command)
                .redirectOutput(stdout.toFile())
                .redirectError(stderr.toFile())
                .start();
        boolean exited = child.waitFor(100, TimeUnit.SECONDS);
        if (!exited) {
            child.destroyForcibly().waitFor();
        }
        String out = read(stdout);
        String err = read(stderr);
        String log = read(rustLog);
        String context = String.format("%n--- child stdout ---%n%s%n--- child stderr ---%n%s%n--- %s ---%n%s",
                tail(out), tail(err), rustLog, tail(log));

        assertThat(exited).as("child JVM exited within 100 s%s", context).isTrue();
        assertThat(child.exitValue()).as("child exit code%s", context).isZero();
        assertThat(out).as("child ran the rust-testkit job%s", context).contains("ROWS_OK " + ROWS);

        List<String> nativeLines = log.lines().filter(l -> l.contains(MARKER)).collect(Collectors.toList());
        assertThat(nativeLines).as("'%s' logged through SLF4J into %s%s", MARKER, rustLog, context).isNotEmpty();
        // Pattern "%d %-5p [%t] %c - %m": level INFO, logger rust.connector_testkit.
        assertThat(nativeLines)
                .as("level and logger of the native line%s", context)
                .anySatisfy(l -> assertThat(l).matches(".* INFO +\\[.*\\] " + LOGGER.replace(".", "\\.") + " - " + MARKER + ".*"));
        assertThat(err).as("native log line must not be written to stderr%s", context).doesNotContain(MARKER);
        assertThat(out).as("native log line must not be written to stdout%s", context).doesNotContain(MARKER);
    }

    /** The test class path (surefire puts it into java.class.path of the forked JVM). */
    private static String testClassPath() {
        String cp = System.getProperty("java.class.path");
        boolean hasTestClasses = false;
        for (String entry : cp.split(File.pathSeparator)) {
            if (Paths.get(entry).toAbsolutePath().equals(codeLocation())) {
                hasTestClasses = true;
            }
        }
        assertThat(hasTestClasses).as("java.class.path contains %s: %s", codeLocation(), cp).isTrue();
        return cp;
    }

    private static Path codeLocation() {
        try {
            return Paths.get(NativeLoggingITCase.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                    .toAbsolutePath();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String read(Path p) throws IOException {
        return Files.exists(p) ? new String(Files.readAllBytes(p), StandardCharsets.UTF_8) : "<no file>";
    }

    private static String tail(String s) {
        return s.length() <= 6000 ? s : "..." + s.substring(s.length() - 6000);
    }

    /** Runs in the child JVM: a rust-testkit job on a local MiniCluster. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            Configuration conf = new Configuration();
            conf.setString("parallelism.default", "2");
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
            StreamTableEnvironment tEnv = StreamTableEnvironment.create(env, EnvironmentSettings.inStreamingMode());
            tEnv.executeSql("CREATE TABLE t (id BIGINT) WITH ("
                    + " 'connector' = 'rust-testkit', 'rows' = '" + ROWS + "', 'splits' = '2')");
            BitSet seen = new BitSet(ROWS);
            int count = 0;
            try (CloseableIterator<Row> it = tEnv.executeSql("SELECT id FROM t").collect()) {
                while (it.hasNext()) {
                    long id = (Long) it.next().getField(0);
                    if (id >= 0 && id < ROWS && !seen.get((int) id)) {
                        seen.set((int) id);
                        count++;
                    } else {
                        System.out.println("UNEXPECTED id " + id);
                    }
                }
            }
            if (count == ROWS && seen.cardinality() == ROWS) {
                System.out.println("ROWS_OK " + count);
            } else {
                System.out.println("ROWS_BAD " + count);
            }

            // The bridge drains native records on a Java thread; give it time before exiting (the
            // JVM exit would drop what is still queued). Waiting for a condition, with a deadline.
            Path rustLog = Paths.get(System.getProperty("rust.log.file"));
            boolean logged = ItSupport.waitUntil(() -> {
                try {
                    return Files.exists(rustLog) && new String(Files.readAllBytes(rustLog), StandardCharsets.UTF_8).contains(MARKER);
                } catch (IOException e) {
                    return false;
                }
            }, Duration.ofSeconds(20));
            System.out.println("NATIVE_LOG_SEEN " + logged);
            System.out.flush();
            System.exit(0);
        }
    }
}
