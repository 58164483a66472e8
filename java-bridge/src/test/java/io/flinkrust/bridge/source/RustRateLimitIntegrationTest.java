package io.flinkrust.bridge.source;

import io.flinkrust.bridge.TestSupport;
import io.flinkrust.bridge.datastream.RustSourceBuilder;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.types.Row;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code scan.rate-limit.*} on real jobs: a limit holds for the whole source at parallelism 2, a
 * reader left alone takes the whole limit, no burst follows a stall, and bad values fail at
 * planning. Each row's emission time is recorded by a map chained to the source (same thread),
 * so the times are those of the reader, not of a downstream buffer.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class RustRateLimitIntegrationTest {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = TestSupport.miniCluster(2);

    /** Emission times (System.nanoTime) and subtasks of every row, per test. */
    private static final Map<String, ConcurrentLinkedQueue<long[]>> EMITTED = new ConcurrentHashMap<>();

    /** Records when (and by which subtask) each row passed; optionally stalls the thread once. */
    static final class Recorder<T> extends RichMapFunction<T, T> {
        private final String test;
        private final long stallAfterRows;
        private final long stallNanos;
        private long seen;

        Recorder(String test, long stallAfterRows, long stallNanos) {
            this.test = test;
            this.stallAfterRows = stallAfterRows;
            this.stallNanos = stallNanos;
        }

        @Override
        public T map(T value) {
            int subtask = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
            EMITTED.computeIfAbsent(test, t -> new ConcurrentLinkedQueue<>()).add(new long[] {System.nanoTime(), subtask});
            if (++seen == stallAfterRows) {
                // A slow consumer: the source's task thread (chained) is blocked, not polling.
                long until = System.nanoTime() + stallNanos;
                for (long left = stallNanos; left > 0; left = until - System.nanoTime()) {
                    LockSupport.parkNanos(left);
                }
                EMITTED.get(test).add(new long[] {System.nanoTime(), -1}); // the stall's end
            }
            return value;
        }
    }

    private static <T> void runChained(DataStream<T> stream, String test, long stallAfterRows, long stallNanos)
            throws Exception {
        EMITTED.remove(test);
        stream.map(new Recorder<T>(test, stallAfterRows, stallNanos)).returns(stream.getType())
                .sinkTo(new DiscardingSink<>());
        stream.getExecutionEnvironment().execute(test);
    }

    private static List<long[]> emitted(String test) {
        return new ArrayList<>(EMITTED.get(test));
    }

    /** Rows per second between the first and the last row, not counting the first batch of each reader. */
    private static double rate(List<long[]> rows, long firstBatchRows) {
        long first = rows.stream().mapToLong(r -> r[0]).min().orElseThrow();
        long last = rows.stream().mapToLong(r -> r[0]).max().orElseThrow();
        double rate = (rows.size() - firstBatchRows) * 1e9 / (last - first);
        System.out.printf("RustRateLimitIntegrationTest: %d rows in %.2f s: %.0f rows/s%n",
                rows.size(), (last - first) / 1e9, rate);
        return rate;
    }

    @Test
    void sqlLimitHoldsForTheWholeSourceAtParallelismTwo() throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        StreamTableEnvironment tEnv = StreamTableEnvironment.create(env);
        // 20,000 rows at 2,000 rows/s: about 10 s. The generator's own pace is far higher.
        tEnv.executeSql("CREATE TABLE t (id BIGINT, v STRING) WITH ("
                + " 'connector' = 'rust-datagen', 'number-of-rows' = '20000', 'rows-per-second' = '1000000000',"
                + " 'scan.rate-limit.rows-per-second' = '2000')");
        DataStream<Row> rows = tEnv.toDataStream(tEnv.sqlQuery("SELECT * FROM t"));
        runChained(rows, "sql-p2", -1, 0);

        List<long[]> emitted = emitted("sql-p2");
        assertThat(emitted).hasSize(20_000);
        assertThat(emitted.stream().filter(r -> r[1] == 0).count()).isGreaterThan(5_000);
        assertThat(emitted.stream().filter(r -> r[1] == 1).count()).isGreaterThan(5_000);
        // Batches are 100 ms of a reader's share (100 rows); each reader's first one is immediate.
        assertThat(rate(emitted, 200)).isBetween(1800.0, 2200.0);
    }

    @Test
    void aLimitHoldsWhenReadersStartOneAfterAnother() throws Exception {
        // Batch mode, parallelism 4 on 2 slots: readers 2 and 3 start only once 0 and 1 finished.
        // Readers that have not started must not keep a share reserved: 0 and 1 read the whole
        // 8,000 rows at the whole 2,000 rows/s (4 s), not at half of it (8 s).
        RustSource source = RustSource.builder("rust-datagen")
                .option("number-of-rows", "8000")
                .option("rows-per-second", "1000000000")
                .rateLimitRowsPerSecond(2000)
                .column("id", DataTypes.BIGINT())
                .build();
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setRuntimeMode(org.apache.flink.api.common.RuntimeExecutionMode.BATCH);
        env.setParallelism(4);
        runChained(env.fromSource(source, WatermarkStrategy.noWatermarks(), "datagen"), "one-after-another", -1, 0);

        List<long[]> emitted = emitted("one-after-another");
        assertThat(emitted).hasSize(8_000);
        // Each reader's first batch (100 ms of its smallest share, 50 rows) goes at once.
        assertThat(rate(emitted, 100)).isBetween(1800.0, 2200.0);
    }

    @Test
    void aReaderLeftAloneTakesTheWholeLimit() throws Exception {
        // One split for two readers: reader 1 finishes at once, reader 0 must run at the whole
        // 1,000 rows/s (6 s), not at its initial half (12 s).
        RustSource source = RustSource.builder("rust-testkit")
                .option("rows", "6000")
                .option("splits", "1")
                .rateLimitRowsPerSecond(1000)
                .column("id", DataTypes.BIGINT())
                .build();
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        runChained(env.fromSource(source, WatermarkStrategy.noWatermarks(), "testkit"), "alone", -1, 0);

        List<long[]> emitted = emitted("alone");
        assertThat(emitted).hasSize(6_000);
        assertThat(emitted.stream().map(r -> r[1]).distinct().count()).isEqualTo(1);
        assertThat(rate(emitted, 50)).isBetween(900.0, 1100.0);
    }

    @Test
    void noBurstAfterTheReaderWasNotPolledForTwoSeconds() throws Exception {
        RustSource source = RustSource.builder("rust-datagen")
                .option("number-of-rows", "8000")
                .option("rows-per-second", "1000000000")
                .rateLimitRowsPerSecond(2000)
                .column("id", DataTypes.BIGINT())
                .build();
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        // After 2,000 rows (1 s) the consumer stalls the task thread for 2 s.
        runChained(env.fromSource(source, WatermarkStrategy.noWatermarks(), "datagen"), "stall", 2000,
                TimeUnit.SECONDS.toNanos(2));

        List<long[]> emitted = emitted("stall");
        long stallEnd = emitted.stream().filter(r -> r[1] == -1).findFirst().orElseThrow()[0];
        long window = TimeUnit.SECONDS.toNanos(2);
        long after = emitted.stream().filter(r -> r[1] >= 0 && r[0] > stallEnd && r[0] <= stallEnd + window).count();
        System.out.printf("RustRateLimitIntegrationTest: %d rows in the 2 s after the stall%n", after);
        // 2 s at 2,000 rows/s, plus at most 50 ms of credit (100 rows) and one batch (200 rows),
        // and a batch of slack for the window edges.
        // A limiter that kept the stall's credit would let 4,000 more through at once.
        assertThat(after).isBetween(3_600L, 4_400L);
    }

    @Test
    void badValuesFailAtPlanningInSql() {
        StreamTableEnvironment tEnv = StreamTableEnvironment.create(StreamExecutionEnvironment.getExecutionEnvironment());
        tEnv.executeSql("CREATE TABLE bad (id BIGINT) WITH ('connector' = 'rust-datagen',"
                + " 'scan.rate-limit.rows-per-second' = '0')");
        assertThatThrownBy(() -> tEnv.sqlQuery("SELECT * FROM bad").explain())
                .satisfies(e -> assertThat(TestSupport.allMessages(e))
                        .contains(ValidationException.class.getName())
                        .contains("'scan.rate-limit.rows-per-second'")
                        .contains("'0' is not a positive integer")
                        .contains("remove the option for no limit"));
    }

    @Test
    void badValuesFailWhenTheDataStreamSourceIsBuilt() {
        assertThatThrownBy(() -> RustSource.builder("rust-datagen").rateLimitRowsPerSecond(0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'" + RustSourceBuilder.RATE_LIMIT_ROWS_PER_SECOND + "'")
                .hasMessageContaining("not a positive integer");
        assertThatThrownBy(() -> RustSource.builder("rust-datagen")
                        .option(RustSourceBuilder.RATE_LIMIT_BYTES_PER_SECOND, "lots")
                        .column("id", DataTypes.BIGINT())
                        .build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'scan.rate-limit.bytes-per-second'")
                .hasMessageContaining("'lots' is not a positive integer");
    }
}
