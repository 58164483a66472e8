package io.flinkrust.it;

import io.flinkrust.bridge.source.RustSource;
import io.flinkrust.mariadb.LocalMariaDb;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.SinkFunction;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.table.data.RowData;
import org.apache.flink.test.junit5.InjectMiniCluster;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.ExceptionUtils;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The bridge's metrics as an operator sees them: read from a running job through Flink's REST API
 * (the subtasks' metrics, and the JobManager's operator-coordinator metrics for the enumerator),
 * with real values; and the logs' context and password masking, read from the captured log files,
 * exception messages and the REST API's job config and plan.
 */
class MetricsITCase {
    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder()
                    .setConfiguration(clusterConfig())
                    .setNumberTaskManagers(1)
                    .setNumberSlotsPerTaskManager(4)
                    .build());

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final Duration WAIT = Duration.ofSeconds(60);

    /** Log files of this JVM (log4j2-test.properties), read from where they were at the start. */
    private static final Path MAIN_LOG = Paths.get("target", "it-logs", "flink-it.log");
    private static final Path RUST_LOG = Paths.get(System.getProperty("rust.log.file", "target/it-logs/rust-native.log"));
    private static long mainLogStart;
    private static long rustLogStart;

    private static LocalMariaDb db;

    private static Configuration clusterConfig() {
        Configuration conf = new Configuration();
        // The REST API serves metrics from a cache refreshed this often (default 10 s).
        conf.setString("metrics.fetcher.update-interval", "100");
        return conf;
    }

    @BeforeAll
    static void setUp() throws IOException {
        mainLogStart = Files.exists(MAIN_LOG) ? Files.size(MAIN_LOG) : 0;
        rustLogStart = Files.exists(RUST_LOG) ? Files.size(RUST_LOG) : 0;
        db = LocalMariaDb.start();
    }

    // ---- a sink that keeps a finished bounded source's task (and its metrics) alive ------------

    static final AtomicLong SINK_ROWS = new AtomicLong();
    static final CountDownLatch RELEASE = new CountDownLatch(1);

    /** Counts rows; its {@code finish()} blocks until the test releases it (the task stays RUNNING). */
    static final class HoldingSink implements SinkFunction<RowData> {
        @Override
        public void invoke(RowData value, Context context) {
            SINK_ROWS.incrementAndGet();
        }

        @Override
        public void finish() throws Exception {
            RELEASE.await();
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void datagenCountsRowsAndBytesAndPendingRecords(@InjectMiniCluster MiniCluster miniCluster) throws Exception {
        long rows = 50_000;
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        RustSource source = RustSource.builder("rust-datagen")
                .option("number-of-rows", Long.toString(rows))
                .option("fields.id.kind", "sequence")
                .option("fields.id.start", "1")
                .option("fields.id.end", Long.toString(rows))
                .column("id", DataTypes.BIGINT().notNull())
                .column("name", DataTypes.STRING())
                .build();
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "rust-datagen").addSink(new HoldingSink());
        JobClient client = env.executeAsync("metrics-datagen");
        try {
            URI rest = miniCluster.getRestAddress().get();
            String job = client.getJobID().toString();
            String vertex = sourceVertex(rest, job);
            assertThat(ItSupport.waitUntil(() -> SINK_ROWS.get() == rows, WAIT)).as("sink saw every row").isTrue();

            Map<String, Double> sums = new LinkedHashMap<>();
            boolean counted = ItSupport.waitUntil(() -> {
                sums.clear();
                sums.putAll(subtaskSums(rest, job, vertex, "numRecordsIn", "numBytesIn", "pendingRecords",
                        "numRecordsInErrors", "sourceIdleTime"));
                return sums.getOrDefault("numRecordsIn", -1.0) == rows && sums.getOrDefault("pendingRecords", -1.0) == 0;
            }, WAIT, Duration.ofMillis(100));
            assertThat(counted).as("numRecordsIn == %d and pendingRecords == 0: %s", rows, sums).isTrue();
            // BinaryRowData of (BIGINT, STRING of up to 7 bytes, inline): 8 header + 2 x 8 bytes.
            assertThat(sums.get("numBytesIn")).as("numBytesIn").isGreaterThanOrEqualTo(24.0 * rows);
            assertThat(sums).containsEntry("numRecordsInErrors", 0.0).containsKey("sourceIdleTime");
        } finally {
            RELEASE.countDown();
            ItSupport.waitForTerminal(client);
        }
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void cdcSnapshotProgressBinlogPositionAndMaskedPassword(@InjectMiniCluster MiniCluster miniCluster)
            throws Exception {
        String database = CdcSupport.databaseName("metrics");
        long rows = 2_000;
        db.recreateDatabase(database);
        db.execute(database,
                "CREATE TABLE t (id BIGINT PRIMARY KEY, name VARCHAR(64))",
                "INSERT INTO t SELECT seq, CONCAT('n', seq) FROM seq_1_to_" + rows);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        env.enableCheckpointing(200);
        StreamTableEnvironment tEnv = StreamTableEnvironment.create(env, EnvironmentSettings.inStreamingMode());
        tEnv.executeSql("CREATE TABLE t (id BIGINT, name STRING, PRIMARY KEY (id) NOT ENFORCED) WITH ("
                + " 'connector' = 'rust-mysql-cdc', " + db.connectionOptions() + ","
                + " 'database-name' = '" + database + "', 'table-name' = 't',"
                + " 'scan.incremental.snapshot.chunk.size' = '100',"
                + " 'server-id' = '" + CdcSupport.serverIds(0, 2) + "')");
        tEnv.executeSql("CREATE TABLE sink (id BIGINT, name STRING) WITH ('connector' = 'blackhole')");
        TableResult result = tEnv.executeSql("INSERT INTO sink SELECT * FROM t");
        JobClient client = result.getJobClient().orElseThrow();
        try {
            URI rest = miniCluster.getRestAddress().get();
            String job = client.getJobID().toString();
            String vertex = sourceVertex(rest, job);

            // The enumerator's snapshot progress (JobManager operator-coordinator metrics).
            Map<String, Double> progress = new LinkedHashMap<>();
            boolean snapshotDone = ItSupport.waitUntil(() -> {
                progress.clear();
                progress.putAll(coordinatorMetrics(rest, job, vertex));
                return progress.getOrDefault("numSnapshotSplitsTotal", -1.0) == 20
                        && progress.getOrDefault("numSnapshotSplitsFinished", -1.0) == 20
                        && progress.getOrDefault("isStreamReading", -1.0) == 1;
            }, WAIT, Duration.ofMillis(100));
            assertThat(snapshotDone).as("20 of 20 chunks finished, then the binlog: %s", progress).isTrue();
            assertThat(progress).containsEntry("numTablesSnapshotted", 1.0).containsEntry("numTablesRemaining", 0.0)
                    .containsEntry("numSnapshotSplitsRemaining", 0.0).containsEntry("numSnapshotSplitsProcessed", 20.0)
                    .containsEntry("isSnapshotting", 0.0);

            Map<String, Double> sums = new LinkedHashMap<>();
            assertThat(ItSupport.waitUntil(() -> {
                sums.clear();
                sums.putAll(subtaskSums(rest, job, vertex, "numRecordsIn", "numSnapshotRecords", "currentBinlogPosition"));
                return sums.getOrDefault("numRecordsIn", -1.0) == rows
                        && sums.getOrDefault("numSnapshotRecords", -1.0) == rows
                        && sums.getOrDefault("currentBinlogPosition", 0.0) > 0;
            }, WAIT, Duration.ofMillis(100))).as("snapshot rows counted, binlog position known: %s", sums).isTrue();
            double before = sums.get("currentBinlogPosition");

            // Changes: the binlog position advances and every change is counted.
            db.execute(database, "INSERT INTO t SELECT seq, 'new' FROM seq_100001_to_100010");
            Map<String, Double> after = new LinkedHashMap<>();
            assertThat(ItSupport.waitUntil(() -> {
                after.clear();
                after.putAll(subtaskSums(rest, job, vertex, "numRecordsIn", "currentBinlogPosition",
                        "currentFetchEventTimeLag", "secondsBehindServer", "currentEmitEventTimeLag"));
                return after.getOrDefault("numRecordsIn", -1.0) == rows + 10
                        && after.getOrDefault("currentBinlogPosition", 0.0) > before
                        && after.containsKey("currentFetchEventTimeLag");
            }, WAIT, Duration.ofMillis(100))).as("binlog position past %s, 10 changes counted: %s", before, after)
                    .isTrue();
            assertThat(after.get("secondsBehindServer")).as("secondsBehindServer").isBetween(0.0, 60.0);
            Map<String, String> binlogFile = subtaskTexts(rest, job, vertex, "currentBinlogFile");
            assertThat(binlogFile.values()).as("binlog file of the binlog reader").anySatisfy(f -> assertThat(f).matches(".+\\.\\d+"));

            // The password is nowhere in what the REST API (and so the web UI) shows of the job.
            String password = db.cdcPassword();
            for (String path : List.of("/jobs/" + job, "/jobs/" + job + "/config", "/jobs/" + job + "/plan",
                    "/jobs/" + job + "/vertices/" + vertex)) {
                assertThat(getText(rest, path)).as("REST %s", path).doesNotContain(password);
            }
        } finally {
            client.cancel().get();
            ItSupport.waitForTerminal(client);
        }

        // A wrong password fails at planning without echoing it.
        String wrong = "Wr0ng-Pa55-" + System.nanoTime();
        tEnv.executeSql("CREATE TABLE bad (id BIGINT, name STRING, PRIMARY KEY (id) NOT ENFORCED) WITH ("
                + " 'connector' = 'rust-mysql-cdc', 'hostname' = '" + db.host() + "', 'port' = '" + db.port() + "',"
                + " 'username' = '" + db.cdcUser() + "', 'password' = '" + wrong + "',"
                + " 'database-name' = '" + database + "', 'table-name' = 't')");
        assertThatThrownBy(() -> tEnv.executeSql("SELECT * FROM bad").await())
                .satisfies(e -> assertThat(ExceptionUtils.stringifyException(e)).doesNotContain(wrong)
                        .containsIgnoringCase("access denied"));

        // Logs: native events carry their reader's or enumerator's context; no password anywhere.
        String rustLog = readFrom(RUST_LOG, rustLogStart);
        assertThat(rustLog.lines().filter(l -> l.contains("binlog reading started")))
                .as("binlog reader's log line with its context")
                .anySatisfy(l -> assertThat(l).containsPattern("connector=rust-mysql-cdc subtask=[01]"));
        assertThat(rustLog.lines().filter(l -> l.contains("snapshot of table finished")))
                .as("enumerator's per-table progress")
                .anySatisfy(l -> assertThat(l).contains("table=" + database + ".t").contains("connector=rust-mysql-cdc"));
        String mainLog = readFrom(MAIN_LOG, mainLogStart);
        for (String secret : List.of(db.cdcPassword(), wrong)) {
            assertThat(mainLog).as("Flink's log").doesNotContain(secret);
            assertThat(rustLog).as("native log").doesNotContain(secret);
        }
        db.dropDatabase(database);
    }

    // ---- REST ----------------------------------------------------------------------------------

    private static String getText(URI rest, String path) {
        try {
            HttpResponse<String> response = HTTP.send(
                    HttpRequest.newBuilder(rest.resolve(path)).GET().build(), HttpResponse.BodyHandlers.ofString());
            return response.body();
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException("GET " + path, e);
        }
    }

    private static JsonNode get(URI rest, String path) {
        try {
            return JSON.readTree(getText(rest, path));
        } catch (IOException e) {
            throw new IllegalStateException("GET " + path, e);
        }
    }

    private static String sourceVertex(URI rest, String job) throws InterruptedException {
        String[] id = new String[1];
        boolean found = ItSupport.waitUntil(() -> {
            for (JsonNode v : get(rest, "/jobs/" + job).path("vertices")) {
                if (v.path("name").asText().startsWith("Source")) {
                    id[0] = v.path("id").asText();
                    return true;
                }
            }
            return false;
        }, WAIT, Duration.ofMillis(100));
        assertThat(found).as("source vertex of job %s", job).isTrue();
        return id[0];
    }

    /**
     * Sums over the source's subtasks of the operator metrics named {@code names} (REST ids are
     * {@code <operator>.<name>}); names no subtask has are missing from the map.
     */
    private static Map<String, Double> subtaskSums(URI rest, String job, String vertex, String... names) {
        String base = "/jobs/" + job + "/vertices/" + vertex + "/subtasks/metrics";
        Map<String, String> ids = metricIds(get(rest, base), names);
        Map<String, Double> sums = new LinkedHashMap<>();
        if (ids.isEmpty()) {
            return sums;
        }
        for (JsonNode m : get(rest, base + "?agg=sum&get=" + query(ids.keySet()))) {
            sums.put(ids.get(m.path("id").asText()), m.path("sum").asDouble());
        }
        return sums;
    }

    /** The text metric {@code name} of each subtask that has it, by subtask index. */
    private static Map<String, String> subtaskTexts(URI rest, String job, String vertex, String name) {
        Map<String, String> values = new LinkedHashMap<>();
        for (int i = 0; i < 2; i++) {
            String base = "/jobs/" + job + "/vertices/" + vertex + "/subtasks/" + i + "/metrics";
            Map<String, String> ids = metricIds(get(rest, base), name);
            if (!ids.isEmpty()) {
                for (JsonNode m : get(rest, base + "?get=" + query(ids.keySet()))) {
                    values.put(Integer.toString(i), m.path("value").asText());
                }
            }
        }
        return values;
    }

    /** The enumerator's metrics: the JobManager's operator-coordinator metrics of the source. */
    private static Map<String, Double> coordinatorMetrics(URI rest, String job, String vertex) {
        String base = "/jobs/" + job + "/vertices/" + vertex + "/jm-operator-metrics";
        List<String> all = new ArrayList<>();
        for (JsonNode m : get(rest, base)) {
            all.add(m.path("id").asText());
        }
        Map<String, Double> values = new LinkedHashMap<>();
        if (all.isEmpty()) {
            return values;
        }
        for (JsonNode m : get(rest, base + "?get=" + query(all))) {
            String id = m.path("id").asText();
            values.put(id.substring(id.lastIndexOf('.') + 1), m.path("value").asDouble());
        }
        return values;
    }

    /** REST metric id -> short name, for the ids ending in {@code .<name>} of a source operator. */
    private static Map<String, String> metricIds(JsonNode listing, String... names) {
        Map<String, String> ids = new LinkedHashMap<>();
        for (JsonNode m : listing) {
            String id = m.path("id").asText();
            for (String name : names) {
                if (id.startsWith("Source") && id.endsWith("." + name)) {
                    ids.put(id, name);
                }
            }
        }
        return ids;
    }

    /** Metric ids for {@code ?get=}: each URL-encoded (operator names hold brackets), comma-separated. */
    private static String query(java.util.Collection<String> ids) {
        List<String> encoded = new ArrayList<>();
        for (String id : ids) {
            encoded.add(java.net.URLEncoder.encode(id, StandardCharsets.UTF_8));
        }
        return String.join(",", encoded);
    }

    private static String readFrom(Path file, long offset) throws IOException {
        if (!Files.exists(file)) {
            return "";
        }
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            long length = f.length();
            byte[] bytes = new byte[(int) Math.max(0, length - offset)];
            f.seek(Math.min(offset, length));
            f.readFully(bytes);
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }
}
