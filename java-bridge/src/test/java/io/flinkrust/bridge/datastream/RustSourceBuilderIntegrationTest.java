package io.flinkrust.bridge.datastream;

import io.flinkrust.bridge.TestSupport;
import io.flinkrust.bridge.jni.NativeValidationException;
import io.flinkrust.bridge.source.RustSource;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.data.RowData;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The DataStream builder with {@code env.fromSource(...)}. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RustSourceBuilderIntegrationTest {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = TestSupport.miniCluster(3);

    static List<RowData> run(RustSource source, int parallelism) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(parallelism);
        List<RowData> rows = new ArrayList<>();
        try (CloseableIterator<RowData> it =
                env.fromSource(source, WatermarkStrategy.noWatermarks(), source.spec().connector()).executeAndCollect()) {
            it.forEachRemaining(rows::add);
        }
        return rows;
    }

    static List<Long> longs(List<RowData> rows) {
        return rows.stream().map(r -> r.getLong(0)).collect(Collectors.toList());
    }

    static List<Long> range(long from, long toExclusive) {
        return LongStream.range(from, toExclusive).boxed().collect(Collectors.toList());
    }

    @Test
    void datagenThroughTheBuilder() throws Exception {
        RustSource source = RustSource.builder("rust-datagen")
                .option("fields.id.kind", "sequence")
                .option("fields.id.start", "100")
                .option("fields.id.end", "1099")
                .option("fields.tag.length", "4")
                .column("id", DataTypes.BIGINT().notNull())
                .column("tag", DataTypes.STRING().notNull())
                .build();
        assertThat(source.getBoundedness()).isEqualTo(Boundedness.BOUNDED);
        assertThat(source.getProducedType().toString()).contains("BIGINT NOT NULL", "STRING NOT NULL");

        List<RowData> rows = run(source, 2);
        assertThat(longs(rows)).containsExactlyInAnyOrderElementsOf(range(100, 1100));
        assertThat(rows).allSatisfy(r -> {
            assertThat(r.getArity()).isEqualTo(2);
            assertThat(r.getString(1).toString()).hasSize(4);
        });
    }

    @Test
    void metadataColumnsFollowThePhysicalOnesAndCarryEachRowsKind() throws Exception {
        RustSource source = RustSource.builder("rust-testkit")
                .option("rows", "30")
                .option("changelog", "true")
                .column("id", DataTypes.BIGINT())
                .column("v", DataTypes.BIGINT())
                .metadata("row_kind", DataTypes.STRING().notNull())
                .build();
        assertThat(source.getProducedType().toString()).contains("__metadata.row_kind");
        List<RowData> rows = run(source, 2);
        // Per id: +I; multiples of 3 also -U/+U; multiples of 5 also -D (see rust-testkit).
        assertThat(rows).hasSize(30 + 2 * 10 + 6);
        assertThat(rows).allSatisfy(r -> {
            assertThat(r.getArity()).isEqualTo(3);
            assertThat(r.getString(2).toString()).isEqualTo(r.getRowKind().shortString());
        });
        assertThatThrownBy(() -> RustSource.builder("rust-testkit")
                        .column("id", DataTypes.BIGINT())
                        .metadata("table_name", DataTypes.STRING())
                        .build())
                .hasMessageContaining("row_kind");
    }

    @ParameterizedTest(name = "{0} = {1}")
    @CsvSource({
        "discovery, async",
        "finish-acks, true",
        "data-delay, 200 ms",
    })
    void testkitDeliversEveryRowOnce(String key, String value) throws Exception {
        RustSource source = RustSource.builder("rust-testkit")
                .option("rows", "3000")
                .option("splits", "7")
                .option(key, value)
                .column("v", DataTypes.BIGINT())
                .build();
        assertThat(longs(run(source, 3))).containsExactlyInAnyOrderElementsOf(range(0, 3000));
        // Readers, enumerator and their threads are gone once the job is.
        TestSupport.awaitNoBridgeThreads();
    }

    @Test
    void everythingAtOnceAtParallelismOne() throws Exception {
        RustSource source = RustSource.builder("rust-testkit")
                .option("rows", "1000")
                .option("discovery", "async")
                .option("finish-acks", "true")
                .option("data-delay", "20 ms")
                .column("v", DataTypes.BIGINT().notNull())
                .build();
        assertThat(longs(run(source, 1))).containsExactlyInAnyOrderElementsOf(range(0, 1000));
    }

    @Test
    void badOptionsFailInTheClient() {
        assertThatThrownBy(() -> RustSource.builder("rust-datagen")
                        .option("number-of-rows", "-3")
                        .column("id", DataTypes.BIGINT())
                        .build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasCauseInstanceOf(NativeValidationException.class)
                .hasMessageContaining("'number-of-rows'");
        assertThatThrownBy(() -> RustSource.builder("rust-datagen")
                        .option("rows-per-secnod", "5")
                        .column("id", DataTypes.BIGINT())
                        .build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("rows-per-secnod")
                .hasMessageContaining("rows-per-second");
        assertThatThrownBy(() -> RustSource.builder("rust-nothing").column("id", DataTypes.BIGINT()).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("rust-nothing")
                .hasMessageContaining("rust-datagen");
        assertThatThrownBy(() -> RustSource.builder("rust-datagen").build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least one column");
        assertThatThrownBy(() -> RustSource.builder("rust-datagen")
                        .column("id", DataTypes.BIGINT())
                        .column("id", DataTypes.INT()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'id'");
    }

    @Test
    void withoutARowLimitDatagenIsUnbounded() {
        RustSource source = RustSource.builder("rust-datagen").column("x", DataTypes.INT()).build();
        assertThat(source.getBoundedness()).isEqualTo(Boundedness.CONTINUOUS_UNBOUNDED);
    }
}
