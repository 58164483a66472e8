package io.flinkrust.bridge.table;

import io.flinkrust.bridge.TestSupport;

import org.apache.flink.api.common.JobStatus;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.types.Row;
import org.apache.flink.util.CloseableIterator;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code rust-datagen} through SQL, collected at several parallelisms. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RustDatagenSqlIntegrationTest {
    private static final int ROWS = 2000;

    @RegisterExtension
    static final MiniClusterExtension CLUSTER = TestSupport.miniCluster(4);

    static StreamTableEnvironment tableEnv(int parallelism) {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(parallelism);
        return StreamTableEnvironment.create(env);
    }

    static List<Row> collect(TableResult result) throws Exception {
        List<Row> rows = new ArrayList<>();
        try (CloseableIterator<Row> it = result.collect()) {
            it.forEachRemaining(rows::add);
        }
        JobClient job = result.getJobClient().orElseThrow();
        job.getJobExecutionResult().get(60, TimeUnit.SECONDS);
        assertThat(job.getJobStatus().get()).isEqualTo(JobStatus.FINISHED);
        return rows;
    }

    @ParameterizedTest(name = "parallelism {0}")
    @ValueSource(ints = {1, 2, 3, 4})
    void everySequenceValueOnceAndEveryColumnWithinBounds(int parallelism) throws Exception {
        StreamTableEnvironment tEnv = tableEnv(parallelism);
        tEnv.executeSql("CREATE TABLE gen ("
                + " id BIGINT NOT NULL,"
                + " small INT,"
                + " score DOUBLE,"
                + " name STRING,"
                + " code VARCHAR(8),"
                + " flag BOOLEAN,"
                + " price DECIMAL(10, 2),"
                + " note STRING"
                + ") WITH ("
                + " 'connector' = 'rust-datagen',"
                + " 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '" + ROWS + "',"
                + " 'fields.small.min' = '-5', 'fields.small.max' = '5',"
                + " 'fields.score.min' = '0.5', 'fields.score.max' = '1.5',"
                + " 'fields.name.length' = '12',"
                + " 'fields.price.min' = '1', 'fields.price.max' = '1000',"
                + " 'fields.note.length' = '3', 'fields.note.null-rate' = '0.5'"
                + ")");
        List<Row> rows = collect(tEnv.executeSql("SELECT id, small, score, name, code, flag, price, note FROM gen"));

        assertThat(rows).hasSize(ROWS);
        List<Long> ids = rows.stream().map(r -> (Long) r.getField(0)).collect(Collectors.toList());
        assertThat(ids).containsExactlyInAnyOrderElementsOf(
                LongStream.rangeClosed(1, ROWS).boxed().collect(Collectors.toList()));
        int nullNotes = 0;
        for (Row row : rows) {
            assertThat((Integer) row.getField(1)).isBetween(-5, 5);
            assertThat((Double) row.getField(2)).isBetween(0.5, 1.5);
            assertThat((String) row.getField(3)).hasSize(12).matches("[0-9a-f]+");
            assertThat((String) row.getField(4)).hasSize(8);
            assertThat(row.getField(5)).isInstanceOf(Boolean.class);
            BigDecimal price = (BigDecimal) row.getField(6);
            assertThat(price.scale()).isEqualTo(2);
            assertThat(price).isBetween(BigDecimal.ONE, new BigDecimal("1000"));
            String note = (String) row.getField(7);
            if (note == null) {
                nullNotes++;
            } else {
                assertThat(note).hasSize(3);
            }
        }
        // null-rate 0.5 over 2000 rows: all-or-nothing has probability 2^-1999.
        assertThat(nullNotes).isBetween(1, ROWS - 1);
    }

    @Test
    void aggregatesOverTheSourceInBatchStyle() throws Exception {
        StreamTableEnvironment tEnv = tableEnv(2);
        tEnv.executeSql("CREATE TABLE seq (v BIGINT NOT NULL, w INT NOT NULL) WITH ("
                + " 'connector' = 'rust-datagen', 'rows-per-second' = '1000000',"
                + " 'fields.v.kind' = 'sequence', 'fields.v.start' = '0', 'fields.v.end' = '999',"
                + " 'fields.w.kind' = 'sequence', 'fields.w.start' = '1', 'fields.w.end' = '5000')");
        // The shorter sequence bounds the table: 1000 rows.
        List<Row> rows = collect(tEnv.executeSql("SELECT COUNT(*), SUM(v), MIN(w), MAX(w) FROM seq"));
        Row last = rows.get(rows.size() - 1);
        assertThat(last.getField(0)).isEqualTo(1000L);
        assertThat(last.getField(1)).isEqualTo(999L * 1000 / 2);
        assertThat(last.getField(2)).isEqualTo(1);
        assertThat(last.getField(3)).isEqualTo(1000);
    }

    @Test
    void testkitThroughSqlWithScanParallelism() throws Exception {
        StreamTableEnvironment tEnv = tableEnv(1);
        tEnv.executeSql("CREATE TABLE kit (id BIGINT) WITH ("
                + " 'connector' = 'rust-testkit', 'rows' = '777', 'splits' = '5', 'scan.parallelism' = '3',"
                + " 'discovery' = 'async', 'finish-acks' = 'true')");
        List<Row> rows = collect(tEnv.executeSql("SELECT id FROM kit"));
        assertThat(rows.stream().map(r -> (Long) r.getField(0)).collect(Collectors.toList()))
                .containsExactlyInAnyOrderElementsOf(LongStream.range(0, 777).boxed().collect(Collectors.toList()));
    }
}
