package io.flinkrust.bridge.cli;

import io.flinkrust.bridge.TestSupport;

import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link SqlRunner} on a MiniCluster: scripts with rust-datagen sources and print sinks. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SqlRunnerIntegrationTest {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = TestSupport.miniCluster(2);

    private static final String GEN = "CREATE TABLE gen (\n"
            + "  id BIGINT NOT NULL,\n"
            + "  name STRING\n"
            + ") WITH (\n"
            + "  'connector' = 'rust-datagen',\n"
            + "  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '40',\n"
            + "  'fields.name.length' = '4'\n"
            + ");\n";

    /** Print sinks write to System.out in the TaskManager, which here is this JVM. */
    private PrintStream originalOut;
    private ByteArrayOutputStream captured;

    @BeforeEach
    void captureStdout() {
        originalOut = System.out;
        captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void restoreStdout() {
        System.setOut(originalOut);
        originalOut.print(captured.toString(StandardCharsets.UTF_8));
    }

    private static StreamTableEnvironment tableEnv() {
        return StreamTableEnvironment.create(StreamExecutionEnvironment.getExecutionEnvironment());
    }

    /** The ids printed by print sinks with {@code identifier}, e.g. {@code id;x> +I[3, abcd]}. */
    private List<Long> printedIds(String identifier) {
        Pattern p = Pattern.compile("^" + Pattern.quote(identifier) + "(?::\\d+)?> \\+I\\[(\\d+), .*\\]$", Pattern.MULTILINE);
        Matcher m = p.matcher(captured.toString(StandardCharsets.UTF_8));
        List<Long> ids = new java.util.ArrayList<>();
        while (m.find()) {
            ids.add(Long.parseLong(m.group(1)));
        }
        return ids;
    }

    private static List<Long> range(long from, long to) {
        return LongStream.rangeClosed(from, to).boxed().collect(Collectors.toList());
    }

    @Test
    void setCreateAndInsertRunToCompletion() {
        StreamTableEnvironment tEnv = tableEnv();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        String script = "-- a script; comments and all\n"
                + "SET 'parallelism.default' = '2';\n"
                + "SET pipeline.name = sql-runner-test;\n"
                + GEN
                + "CREATE TABLE sink (id BIGINT, name STRING)\n"
                + "  WITH ('connector' = 'print', 'print-identifier' = 'out;1');\n"
                + "INSERT INTO sink SELECT id, name FROM gen;\n"
                + "SELECT COUNT(*) AS n FROM gen WHERE name <> ';' AND id > 0;\n";

        List<TableResult> results = new SqlRunner(tEnv, new PrintStream(out, true, StandardCharsets.UTF_8), true)
                .execute(script);

        assertThat(tEnv.getConfig().getConfiguration().toMap())
                .containsEntry("parallelism.default", "2")
                .containsEntry(PipelineOptions.NAME.key(), "sql-runner-test");
        assertThat(printedIds("out;1")).containsExactlyInAnyOrderElementsOf(range(1, 40));
        // CREATE TABLE x2, INSERT, SELECT
        assertThat(results).hasSize(4);
        String printed = out.toString(StandardCharsets.UTF_8);
        assertThat(printed).contains("Statement 5 (line 14): submitted job").contains("Statement 5: job");
        // The streaming COUNT ends with the final update.
        List<String> lines = printed.lines().collect(Collectors.toList());
        assertThat(lines).contains("n");
        assertThat(lines.get(lines.size() - 1)).isEqualTo("+U[40]");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"EXECUTE STATEMENT SET BEGIN\n%s\nEND;\n", "BEGIN STATEMENT SET;\n%s\nEND;\n"})
    void statementSetRunsBothInsertsAsOneJob(String form) {
        StreamTableEnvironment tEnv = tableEnv();
        String inserts = "INSERT INTO odd SELECT id, name FROM gen WHERE MOD(id, 2) = 1;\n"
                + "INSERT INTO even SELECT id, name FROM gen WHERE MOD(id, 2) = 0;";
        String script = GEN
                + "CREATE TABLE odd (id BIGINT, name STRING) WITH ('connector' = 'print', 'print-identifier' = 'odd');\n"
                + "CREATE TABLE even (id BIGINT, name STRING) WITH ('connector' = 'print', 'print-identifier' = 'even');\n"
                + String.format(form, inserts);

        List<TableResult> results = new SqlRunner(tEnv, System.err, true).execute(script);

        // three CREATE TABLEs, then the one statement set
        assertThat(results).hasSize(4);
        assertThat(results.get(3).getJobClient()).isPresent();
        assertThat(results.get(3).getResolvedSchema().getColumnCount()).isEqualTo(2); // one column per sink
        assertThat(printedIds("odd")).containsExactlyInAnyOrderElementsOf(
                range(1, 40).stream().filter(i -> i % 2 == 1).collect(Collectors.toList()));
        assertThat(printedIds("even")).containsExactlyInAnyOrderElementsOf(
                range(1, 40).stream().filter(i -> i % 2 == 0).collect(Collectors.toList()));
    }

    @Test
    void failingStatementIsNamedByNumberLineAndFirstLine() {
        String script = GEN
                + "\n"
                + "/* the sink is never created */\n"
                + "INSERT INTO missing_sink\n"
                + "SELECT id, name FROM gen;\n"
                + "SELECT 1;\n";
        assertThatThrownBy(() -> new SqlRunner(tableEnv(), System.err, true).execute(script))
                .isInstanceOfSatisfying(SqlScriptException.class, e -> {
                    assertThat(e.statementNumber()).isEqualTo(2);
                    assertThat(e.line()).isEqualTo(11);
                })
                .hasMessageStartingWith("Statement 2 (line 11) failed: INSERT INTO missing_sink\n")
                .hasMessageContaining("Cannot find table").hasMessageContaining("missing_sink");
    }

    @Test
    void invalidConnectorOptionFailsTheStatementThatPlansIt() {
        String script = "CREATE TABLE bad (id BIGINT) WITH ('connector' = 'rust-datagen', 'no-such-option' = '1');\n"
                + "CREATE TABLE sink (id BIGINT) WITH ('connector' = 'blackhole');\n"
                + "INSERT INTO sink SELECT id FROM bad;\n";
        assertThatThrownBy(() -> new SqlRunner(tableEnv(), System.err, true).execute(script))
                .isInstanceOf(SqlScriptException.class)
                .hasMessageStartingWith("Statement 3 (line 3) failed: INSERT INTO sink SELECT id FROM bad")
                .hasMessageContaining("no-such-option");
    }

    @Test
    void unclosedStatementSetAndStrayEndAreErrors() {
        assertThatThrownBy(() -> new SqlRunner(tableEnv(), System.err, true).execute(
                "CREATE TABLE s (id BIGINT) WITH ('connector' = 'blackhole');\nBEGIN STATEMENT SET;\n"))
                .hasMessageStartingWith("Statement 2 (line 2) failed: BEGIN STATEMENT SET")
                .hasMessageContaining("not closed with END");
        assertThatThrownBy(() -> new SqlRunner(tableEnv(), System.err, true).execute("SELECT 1;\nEND;"))
                .hasMessageStartingWith("Statement 2 (line 2) failed: END")
                .hasMessageContaining("END without an open statement set");
        assertThatThrownBy(() -> new SqlRunner(tableEnv(), System.err, true).execute(
                "BEGIN STATEMENT SET;\nCREATE TABLE s (id BIGINT) WITH ('connector' = 'blackhole');\nEND;"))
                .hasMessageStartingWith("Statement 2 (line 2) failed: CREATE TABLE s")
                .hasMessageContaining("Only INSERT statements");
    }

    @Test
    void setAndResetChangeTheTableConfig() {
        StreamTableEnvironment tEnv = tableEnv();
        SqlRunner runner = new SqlRunner(tEnv, System.err, true);
        runner.execute("SET 'pipeline.name' = 'it''s';\nSET 'table.exec.resource.default-parallelism' = '3';");
        assertThat(tEnv.getConfig().getConfiguration().toMap())
                .containsEntry("pipeline.name", "it's")
                .containsEntry("table.exec.resource.default-parallelism", "3");
        runner.execute("RESET 'pipeline.name';");
        assertThat(tEnv.getConfig().getConfiguration().toMap())
                .doesNotContainKey("pipeline.name")
                .containsEntry("table.exec.resource.default-parallelism", "3");
        runner.execute("RESET;");
        assertThat(tEnv.getConfig().getConfiguration().toMap()).doesNotContainKey("table.exec.resource.default-parallelism");
    }

    @Test
    void leadingSetOfRuntimeModeBatchGivesFinalResultsOnly() {
        String script = "SET 'execution.runtime-mode' = 'batch';\n"
                + GEN
                + "CREATE TABLE counts (bucket BIGINT, n BIGINT) WITH ('connector' = 'print', 'print-identifier' = 'batch');\n"
                + "INSERT INTO counts SELECT MOD(id, 4), COUNT(*) FROM gen GROUP BY MOD(id, 4);\n";
        StreamTableEnvironment tEnv = SqlRunner.createTableEnvironment(StreamExecutionEnvironment.getExecutionEnvironment(), script);
        new SqlRunner(tEnv, System.err, true).execute(script);
        // Batch: one final row per group, no retractions.
        String printed = captured.toString(StandardCharsets.UTF_8);
        assertThat(printed.lines().filter(l -> l.matches("batch(:\\d+)?> .*")).sorted().collect(Collectors.toList()))
                .hasSize(4)
                .allMatch(l -> l.endsWith(", 10]") && l.contains("+I["));
    }

    @Test
    void commandLineRunsAFileAndReportsErrorsWithStatusOne(@TempDir Path dir) throws Exception {
        Path ok = dir.resolve("ok.sql");
        Files.writeString(ok, GEN
                + "CREATE TABLE sink (id BIGINT, name STRING) WITH ('connector' = 'blackhole');\n"
                + "INSERT INTO sink SELECT * FROM gen;\n");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = SqlRunner.run(new String[] {"--sql-file", ok.toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(status).as(err.toString(StandardCharsets.UTF_8)).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("Statement 3 (line 10): submitted job").contains("finished");

        err.reset();
        status = SqlRunner.run(new String[] {"--sql", "SELECT 1;\nSELECT nope FROM nowhere;"},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(status).isEqualTo(1);
        assertThat(err.toString(StandardCharsets.UTF_8))
                .startsWith("Statement 2 (line 2) failed: SELECT nope FROM nowhere")
                .contains("nowhere");
    }
}
