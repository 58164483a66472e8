package io.flinkrust.bridge.table;

import io.flinkrust.bridge.TestSupport;
import io.flinkrust.bridge.source.RustSource;
import io.flinkrust.bridge.source.RustSourceSpec;

import org.apache.flink.api.common.JobID;
import org.apache.flink.client.deployment.StandaloneClusterId;
import org.apache.flink.client.program.rest.RestClusterClient;
import org.apache.flink.runtime.rest.messages.job.JobDetailsInfo;
import org.apache.flink.runtime.rest.messages.job.metrics.IOMetricsInfo;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.types.Row;
import org.apache.flink.util.InstantiationUtil;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Projection and limit push-down into Rust sources, checked in the plan and at runtime.
 *
 * <p>Runtime checks read the source vertex's I/O metrics from the MiniCluster's REST API. Jobs run
 * with operator chaining disabled, so the source is a vertex of its own and its
 * {@code write-records} / {@code write-bytes} are exactly the rows the source emitted, serialized
 * (a {@code BinaryRowData} is written as its length and its bytes, i.e. the natively encoded row).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RustPushDownIntegrationTest {
    private static final int PARALLELISM = 2;

    @RegisterExtension
    static final MiniClusterExtension CLUSTER = TestSupport.miniCluster(4);

    private static StreamTableEnvironment unchainedTableEnv() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(PARALLELISM);
        env.disableOperatorChaining();
        return StreamTableEnvironment.create(env);
    }

    /**
     * Ten columns, every one with {@code fields.<column>.*} options; the unselected sequence
     * column {@code seq} bounds the table at 1500 rows (below {@code number-of-rows}).
     */
    private static void createWide(StreamTableEnvironment tEnv) {
        tEnv.executeSql("CREATE TABLE wide ("
                + " id BIGINT NOT NULL, seq INT NOT NULL, a STRING, b STRING, c VARCHAR(64), d DOUBLE,"
                + " e DECIMAL(10, 2), f BOOLEAN, g INT, h BYTES"
                + ") WITH ("
                + " 'connector' = 'rust-datagen', 'number-of-rows' = '2000', 'rows-per-second' = '10000000',"
                + " 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '1000000',"
                + " 'fields.seq.kind' = 'sequence', 'fields.seq.start' = '1', 'fields.seq.end' = '1500',"
                + " 'fields.a.length' = '40', 'fields.b.length' = '40', 'fields.c.var-len' = 'true',"
                + " 'fields.d.min' = '0', 'fields.d.max' = '1', 'fields.e.min' = '1', 'fields.e.max' = '9',"
                + " 'fields.f.null-rate' = '0.1', 'fields.g.min' = '0', 'fields.g.max' = '9',"
                + " 'fields.h.length' = '32'"
                + ")");
    }

    private static JobID run(TableResult result, List<Row> into) throws Exception {
        return run(result, into, Long.MAX_VALUE);
    }

    private static JobID run(TableResult result, List<Row> into, long max) throws Exception {
        JobID jobId = result.getJobClient().orElseThrow().getJobID();
        try (var it = result.collect()) {
            while (into.size() < max && it.hasNext()) {
                into.add(it.next());
            }
        }
        result.getJobClient().orElseThrow().getJobExecutionResult().get(60, TimeUnit.SECONDS);
        return jobId;
    }

    /** The I/O metrics of the job's source vertex (the only vertex named "Source: ..."). */
    private static IOMetricsInfo sourceMetrics(JobID jobId) throws Exception {
        try (RestClusterClient<StandaloneClusterId> client =
                new RestClusterClient<>(CLUSTER.getClientConfiguration(), StandaloneClusterId.getInstance())) {
            JobDetailsInfo details = client.getJobDetails(jobId).get(30, TimeUnit.SECONDS);
            List<JobDetailsInfo.JobVertexDetailsInfo> sources = details.getJobVertexInfos().stream()
                    .filter(v -> v.getName().startsWith("Source:"))
                    .collect(Collectors.toList());
            assertThat(sources).as("source vertices of %s", details.getJobVertexInfos().stream()
                    .map(JobDetailsInfo.JobVertexDetailsInfo::getName).collect(Collectors.toList()))
                    .hasSize(1);
            return sources.get(0).getJobVertexMetrics();
        }
    }

    @Test
    void onlyTheSelectedColumnIsEncodedAndPrunedColumnsKeepTheirOptionsAndBounds() throws Exception {
        StreamTableEnvironment tEnv = unchainedTableEnv();
        createWide(tEnv);

        String plan = tEnv.explainSql("SELECT g FROM wide");
        assertThat(plan).contains("project=[g]");

        List<Row> rows = new ArrayList<>();
        IOMetricsInfo projected = sourceMetrics(run(tEnv.executeSql("SELECT g FROM wide"), rows));
        // The unselected sequence column still bounds the table.
        assertThat(rows).hasSize(1500);
        assertThat(rows).allSatisfy(r -> {
            assertThat(r.getArity()).isEqualTo(1);
            assertThat((Integer) r.getField(0)).isBetween(0, 9);
        });
        assertThat(projected.getRecordsWritten()).isEqualTo(1500);
        // Per record: a 1-field BinaryRowData is 16 bytes (header word + one slot), plus 17 bytes
        // of Flink framing (record length 4, StreamRecord tag 1 and timestamp 8, row length 4):
        // 33. Every further column adds at least 8; ten need 88 + 17 before any string data.
        double projectedBytesPerRow = (double) projected.getBytesWritten() / projected.getRecordsWritten();
        assertThat(projectedBytesPerRow).isLessThan(40);

        // The same measurement without projection, to show it sees the difference.
        rows.clear();
        IOMetricsInfo full = sourceMetrics(run(tEnv.executeSql("SELECT * FROM wide"), rows));
        assertThat(rows).hasSize(1500);
        assertThat(rows.stream().map(r -> ((Number) r.getField(1)).longValue()).collect(Collectors.toList()))
                .containsExactlyInAnyOrderElementsOf(LongStream.rangeClosed(1, 1500).boxed().collect(Collectors.toList()));
        assertThat((double) full.getBytesWritten() / full.getRecordsWritten()).isGreaterThan(88 + 80);
    }

    @Test
    void projectionsInAnotherOrderAndEmptyProjectionsWork() throws Exception {
        StreamTableEnvironment tEnv = unchainedTableEnv();
        createWide(tEnv);

        List<Row> rows = new ArrayList<>();
        run(tEnv.executeSql("SELECT seq, g, id FROM wide"), rows);
        assertThat(rows).hasSize(1500);
        assertThat(rows.stream().map(r -> (Integer) r.getField(0)).collect(Collectors.toList()))
                .containsExactlyInAnyOrderElementsOf(
                        LongStream.rangeClosed(1, 1500).mapToObj(i -> (int) i).collect(Collectors.toList()));
        assertThat(rows).allSatisfy(r -> assertThat((Integer) r.getField(1)).isBetween(0, 9));
        assertThat(rows).allSatisfy(r -> assertThat(r.getField(2)).isInstanceOf(Long.class));

        rows.clear();
        run(tEnv.executeSql("SELECT COUNT(*) FROM wide"), rows);
        assertThat(rows.get(rows.size() - 1).getField(0)).isEqualTo(1500L);
    }

    @Test
    void limitStopsEveryReaderEarly() throws Exception {
        StreamTableEnvironment tEnv = unchainedTableEnv();
        // The default rate, 10,000 rows/s: the whole table would take 100 s.
        tEnv.executeSql("CREATE TABLE big (id BIGINT NOT NULL, name STRING) WITH ("
                + " 'connector' = 'rust-datagen', 'number-of-rows' = '1000000',"
                + " 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '1000000')");
        assertThat(tEnv.explainSql("SELECT * FROM big LIMIT 5")).contains("limit=[5]");
        // The planner pushes offset + fetch, and never a limit under an ORDER BY.
        assertThat(tEnv.explainSql("SELECT * FROM big LIMIT 5 OFFSET 3")).contains("limit=[8]");
        assertThat(tEnv.explainSql("SELECT * FROM big ORDER BY name LIMIT 5")).doesNotContain("limit=[");

        long started = System.nanoTime();
        List<Row> rows = new ArrayList<>();
        IOMetricsInfo metrics = sourceMetrics(run(tEnv.executeSql("SELECT * FROM big LIMIT 5"), rows));
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);

        assertThat(rows).hasSize(5);
        assertThat(metrics.getRecordsWritten()).isPositive().isLessThanOrEqualTo(PARALLELISM * 5L);
        assertThat(millis).as("job time in ms").isLessThan(30_000);
    }

    @Test
    void theProjectionTravelsInTheReservedOptionAndSurvivesSerialization() throws Exception {
        RustSource source = RustSource.builder("rust-datagen")
                .option("number-of-rows", "10")
                .column("a", DataTypes.BIGINT())
                .column("b", DataTypes.STRING())
                .column("c", DataTypes.INT())
                .build();
        RustDynamicTableSource scan = new RustDynamicTableSource(source, null);
        scan.applyProjection(new int[][] {{2}, {0}}, DataTypes.ROW(
                DataTypes.FIELD("c", DataTypes.INT()), DataTypes.FIELD("a", DataTypes.BIGINT())));
        RustSourceSpec spec = scan.source().spec();
        assertThat(spec.rowType()).isEqualTo(source.spec().rowType());
        assertThat(spec.producedType().getFieldNames()).containsExactly("c", "a");
        assertThat(spec.arity()).isEqualTo(2);
        assertThat(scan.source().getProducedType().toString()).contains("c", "a").doesNotContain("b STRING");
        assertThat(spec.options()).doesNotContainKey(RustSourceSpec.PROJECTION_OPTION);
        assertThat(spec.toDefinition().toString()).contains(RustSourceSpec.PROJECTION_OPTION).contains("fields=a,b,c");
        // Projections compose: indexes refer to the currently produced type.
        assertThat(spec.withProjection(new int[] {1}).projection()).hasValueSatisfying(
                p -> assertThat(p).containsExactly(0));
        RustSourceSpec copy = InstantiationUtil.clone(spec.withLimit(3));
        assertThat(copy).isEqualTo(spec.withLimit(3)).isNotEqualTo(spec);
        assertThat(copy.producedType()).isEqualTo(spec.producedType());
        assertThat(copy.toString()).contains("projection=[2, 0]", "limit=3");
    }

    @Test
    void limitAppliesToBoundedSourcesOnlyAndTheReservedOptionIsRejected() {
        RustSource bounded = RustSource.builder("rust-datagen")
                .option("number-of-rows", "100")
                .column("id", DataTypes.BIGINT())
                .build();
        RustDynamicTableSource scan = new RustDynamicTableSource(bounded, null);
        scan.applyLimit(7);
        assertThat(scan.source().spec().limit()).isEqualTo(7);

        RustSource unbounded = RustSource.builder("rust-datagen").column("id", DataTypes.BIGINT()).build();
        RustDynamicTableSource stream = new RustDynamicTableSource(unbounded, null);
        stream.applyLimit(7);
        assertThat(stream.source().spec().limit()).isEqualTo(RustSourceSpec.NO_LIMIT);

        StreamTableEnvironment tEnv = unchainedTableEnv();
        tEnv.executeSql("CREATE TABLE sneaky (id BIGINT) WITH ("
                + " 'connector' = 'rust-datagen', '" + RustSourceSpec.PROJECTION_OPTION + "' = '0')");
        assertThatThrownBy(() -> tEnv.explainSql("SELECT id FROM sneaky"))
                .satisfies(e -> assertThat(TestSupport.allMessages(e)).contains(RustSourceSpec.PROJECTION_OPTION))
                .satisfies(e -> assertThat(TestSupport.findCause(e, ValidationException.class)).isPresent());
    }
}
