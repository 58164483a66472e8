package io.flinkrust.bridge.table;

import io.flinkrust.bridge.TestSupport;
import io.flinkrust.bridge.jni.NativeValidationException;

import org.apache.flink.client.program.ClusterClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.test.junit5.InjectClusterClient;
import org.apache.flink.test.junit5.MiniClusterExtension;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Bad options fail at planning with Flink's ValidationException, before any job starts. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RustSqlValidationIntegrationTest {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = TestSupport.miniCluster(1);

    private StreamTableEnvironment tEnv;
    private ClusterClient<?> client;
    private int jobsBefore;

    @BeforeEach
    void setUp(@InjectClusterClient ClusterClient<?> client) throws Exception {
        this.client = client;
        this.jobsBefore = client.listJobs().get().size();
        tEnv = StreamTableEnvironment.create(StreamExecutionEnvironment.getExecutionEnvironment());
    }

    @AfterEach
    void noJobWasStarted() throws Exception {
        assertThat(client.listJobs().get()).hasSize(jobsBefore);
    }

    /** Creates a table (which never fails) and plans a query over it (which must). */
    private ValidationException planningFails(String connector, String columns, String options) {
        tEnv.executeSql("DROP TABLE IF EXISTS t");
        tEnv.executeSql("CREATE TABLE t (" + columns + ") WITH ('connector' = '" + connector + "'" + options + ")");
        Throwable thrown = org.assertj.core.api.Assertions.catchThrowable(() -> tEnv.executeSql("SELECT * FROM t"));
        assertThat(thrown).isInstanceOf(ValidationException.class);
        // The connector's own message travels unchanged: ours wraps the native exception.
        ValidationException ours = TestSupport.causeChain(thrown).stream()
                .filter(c -> c instanceof ValidationException && c.getCause() instanceof NativeValidationException)
                .map(ValidationException.class::cast)
                .findFirst()
                .orElseThrow(() -> new AssertionError("no connector ValidationException in " + TestSupport.allMessages(thrown)));
        assertThat(ours.getMessage()).isEqualTo(ours.getCause().getMessage());
        return ours;
    }

    @Test
    void unknownOptionIsNamedWithTheSupportedOnes() {
        ValidationException e = planningFails("rust-datagen", "id BIGINT, name STRING",
                ", 'number-of-rows' = '10', 'fields.nmae.length' = '5'");
        assertThat(e.getMessage())
                .contains("Unsupported options", "fields.nmae.length")
                .contains("Supported options", "number-of-rows", "rows-per-second", "fields.name.length", "fields.id.kind");
    }

    @Test
    void wrongValueTypeIsNamed() {
        ValidationException e = planningFails("rust-datagen", "id BIGINT", ", 'number-of-rows' = 'many'");
        assertThat(e.getMessage()).contains("'number-of-rows'", "many");
    }

    @Test
    void outOfRangeValueIsNamed() {
        ValidationException e = planningFails("rust-datagen", "id BIGINT", ", 'rows-per-second' = '0'");
        assertThat(e.getMessage()).contains("'rows-per-second'");

        ValidationException nullRate = planningFails("rust-datagen", "id BIGINT",
                ", 'fields.id.null-rate' = '1.5'");
        assertThat(nullRate.getMessage()).contains("fields.id.null-rate");
    }

    @Test
    void testkitOptionsAndSchemaAreValidatedToo() {
        ValidationException badValue = planningFails("rust-testkit", "id BIGINT", ", 'fail.on' = 'sometimes'");
        assertThat(badValue.getMessage()).contains("'fail.on'", "poll-panic");

        ValidationException badSchema = planningFails("rust-testkit", "id INT", "");
        assertThat(badSchema.getMessage()).contains("BIGINT");
    }

    @Test
    void badScanParallelismIsNamed() {
        Throwable thrown = org.assertj.core.api.Assertions.catchThrowable(() -> {
            tEnv.executeSql("CREATE TABLE t (id BIGINT) WITH ('connector' = 'rust-testkit', 'scan.parallelism' = '-1')");
            tEnv.executeSql("SELECT * FROM t");
        });
        assertThat(thrown).isInstanceOf(ValidationException.class);
        assertThat(TestSupport.allMessages(thrown)).contains("scan.parallelism");
    }

    @Test
    void validOptionsPlan() {
        tEnv.executeSql("CREATE TABLE ok (id BIGINT) WITH ('connector' = 'rust-testkit', 'rows' = '5')");
        assertThat(tEnv.explainSql("SELECT * FROM ok")).contains("TableSourceScan", "ok");
        assertThatThrownBy(() -> tEnv.explainSql("SELECT * FROM t_missing")).isInstanceOf(ValidationException.class);
    }
}
