package io.flinkrust.bridge.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** Command-line arguments of {@link SqlRunner}: usage on missing or unknown ones. */
class SqlRunnerArgsTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return SqlRunner.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void noArgumentsPrintUsage() {
        assertThat(run()).isEqualTo(2);
        assertThat(err()).contains("missing --sql-file <path> or --sql <statements>").contains("Usage:");
    }

    @Test
    void unknownArgumentPrintsUsage() {
        assertThat(run("--sql-fil", "x.sql")).isEqualTo(2);
        assertThat(err()).contains("unknown argument: --sql-fil").contains("Usage:");
    }

    @Test
    void missingValuePrintsUsage() {
        assertThat(run("--sql-file")).isEqualTo(2);
        assertThat(err()).contains("missing value for --sql-file").contains("Usage:");
    }

    @Test
    void bothSourcesAreRejected() {
        assertThat(run("--sql", "SELECT 1", "--sql-file", "x.sql")).isEqualTo(2);
        assertThat(err()).contains("exactly one of --sql-file and --sql");
    }

    @Test
    void missingFileIsReported() {
        assertThat(run("--sql-file", "/nonexistent/job.sql")).isEqualTo(2);
        assertThat(err()).contains("cannot read the SQL script").contains("/nonexistent/job.sql");
    }

    @Test
    void helpGoesToStdoutWithStatusZero() {
        assertThat(run("--help")).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).startsWith("Usage:");
        assertThat(err()).isEmpty();
    }
}
