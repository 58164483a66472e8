package io.flinkrust.bridge.source;

import io.flinkrust.bridge.TestSupport;
import io.flinkrust.bridge.jni.NativeException;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.data.RowData;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;

import org.junit.jupiter.api.AfterEach;
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
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * Rust errors and panics fail the job (no restarts) with a {@link NativeException} naming what
 * happened; the JVM lives on and the next job runs normally.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NativeFailureIntegrationTest {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = TestSupport.miniCluster(2);

    static RustSource testkit(String failOn) {
        return RustSource.builder("rust-testkit")
                .option("rows", "5000")
                .option("fail.on", failOn)
                .option("fail.after-rows", "100")
                .column("v", DataTypes.BIGINT())
                .build();
    }

    @ParameterizedTest(name = "fail.on = {0}")
    @CsvSource({
        "poll-panic, Rust panic, testkit: poll panic as configured after 100 rows",
        "poll-error, reader.pollNext, testkit: poll error as configured after 100 rows",
        "reader-create-error, readerCreate, reader creation failed as configured",
        "enumerator-start-panic, Rust panic, enumerator start panic as configured",
    })
    void nativeFailuresFailTheJob(String failOn, String operation, String message) {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        env.fromSource(testkit(failOn), WatermarkStrategy.noWatermarks(), "testkit").sinkTo(new DiscardingSink<>());

        Throwable thrown = catchThrowable(() -> env.execute("failing " + failOn));

        assertThat(thrown).as("job result").isNotNull();
        NativeException cause = TestSupport.findCause(thrown, NativeException.class)
                .orElseThrow(() -> new AssertionError("no NativeException in\n" + TestSupport.allMessages(thrown)));
        assertThat(cause.getMessage()).contains(operation, message);
        // No restarts: the first failure ends the job.
        assertThat(TestSupport.allMessages(thrown)).contains("NoRestartBackoffTimeStrategy");
    }

    /** After each failure, a healthy job in the same JVM. */
    @AfterEach
    void aHealthyJobStillRuns() throws Exception {
        RustSource source = RustSource.builder("rust-testkit")
                .option("rows", "500")
                .column("v", DataTypes.BIGINT())
                .build();
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        List<Long> values = new ArrayList<>();
        try (CloseableIterator<RowData> it =
                env.fromSource(source, WatermarkStrategy.noWatermarks(), "healthy").executeAndCollect()) {
            it.forEachRemaining(r -> values.add(r.getLong(0)));
        }
        assertThat(values).containsExactlyInAnyOrderElementsOf(
                LongStream.range(0, 500).boxed().collect(Collectors.toList()));
    }
}
