package io.flinkrust.bridge.cli;

import io.flinkrust.bridge.source.SupportedFlinkVersions;

import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.DeploymentOptions;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.core.fs.FSDataInputStream;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.ResultKind;
import org.apache.flink.table.api.StatementSet;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.types.Row;
import org.apache.flink.util.CloseableIterator;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs a Flink SQL script: the bridge jar's {@code Main-Class}.
 *
 * <pre>
 * flink run flink-rust-bridge-0.1.0-SNAPSHOT.jar --sql-file job.sql
 * flink run flink-rust-bridge-0.1.0-SNAPSHOT.jar --sql "CREATE TABLE ...; INSERT INTO ...;"
 * </pre>
 *
 * <p>Statements are separated by {@code ;} (see {@link SqlScript} for quotes and comments) and run
 * in order on one {@link StreamTableEnvironment} over
 * {@link StreamExecutionEnvironment#getExecutionEnvironment()}, so the same script runs under
 * {@code flink run} and in a local JVM:
 *
 * <ul>
 *   <li>{@code SET 'key' = 'value'} sets an option of the {@code TableConfig} (also
 *       {@code SET key = value}); {@code SET} alone prints the options set so far;
 *       {@code RESET 'key'} and {@code RESET} undo them.
 *   <li>{@code INSERT INTO ...} submits a job. When the client is attached (plain {@code flink run},
 *       or a local run) the runner waits for the job with {@link TableResult#await()} before the
 *       next statement, so the jobs of a script run one after the other and a failed job fails
 *       the script. With {@code flink run -d} (detached, {@code execution.attached = false}) it
 *       submits and moves on. An unbounded INSERT, attached, never returns.
 *   <li>{@code EXECUTE STATEMENT SET BEGIN INSERT ...; INSERT ...; END;} and
 *       {@code BEGIN STATEMENT SET; INSERT ...; INSERT ...; END;} collect their INSERTs into one
 *       {@link StatementSet}: one job, submitted (and awaited, as above) at {@code END}.
 *   <li>Everything else ({@code CREATE TABLE/VIEW/FUNCTION}, {@code DROP}, {@code USE}, ...) goes
 *       to {@code executeSql}. Statements that return rows ({@code SELECT}, {@code SHOW},
 *       {@code EXPLAIN}, ...) have them printed to standard output, one row per line.
 * </ul>
 *
 * <p>The runtime mode is fixed when the table environment is created: {@code SET
 * 'execution.runtime-mode' = 'batch';} among the script's leading {@code SET}s, or {@code flink run
 * -Dexecution.runtime-mode=BATCH}, selects batch; the default is streaming.
 *
 * <p>The first failing statement stops the script with a {@link SqlScriptException} naming its
 * number, its line and its first line; {@link #main} prints that message and exits with status 1.
 * Bad arguments print the usage and exit with status 2.
 */
public final class SqlRunner {
    static final String USAGE = String.join("\n",
            "Usage: flink run flink-rust-bridge.jar (--sql-file <path> | --sql <statements>)",
            "",
            "  --sql-file <path>   a SQL script: a local path, or a URI of any Flink file system",
            "  --sql <statements>  the script itself, inline",
            "  --help              this text",
            "",
            "Statements are separated by ';'. Supported: SET 'k' = 'v', RESET, CREATE/DROP/ALTER ...,",
            "INSERT INTO ..., SELECT/SHOW/EXPLAIN (rows are printed), and statement sets:",
            "EXECUTE STATEMENT SET BEGIN INSERT ...; INSERT ...; END;  or",
            "BEGIN STATEMENT SET; INSERT ...; INSERT ...; END;",
            "Attached (plain 'flink run'), each job is awaited before the next statement;",
            "detached ('flink run -d'), jobs are submitted and the script moves on.");

    private static final Pattern SET_QUOTED = Pattern.compile(
            "SET\\s+'((?:[^']|'')*)'\\s*=\\s*'((?:[^']|'')*)'", Pattern.CASE_INSENSITIVE | Pattern.DOTALL);
    private static final Pattern SET_PLAIN = Pattern.compile(
            "SET\\s+([^\\s=']+)\\s*=\\s*(.*?)", Pattern.CASE_INSENSITIVE | Pattern.DOTALL);
    private static final Pattern SET_ALONE = Pattern.compile("SET", Pattern.CASE_INSENSITIVE);
    private static final Pattern RESET = Pattern.compile(
            "RESET(?:\\s+(?:'((?:[^']|'')*)'|([^\\s']+)))?", Pattern.CASE_INSENSITIVE | Pattern.DOTALL);
    private static final Pattern BEGIN_SET = Pattern.compile(
            "BEGIN\\s+STATEMENT\\s+SET", Pattern.CASE_INSENSITIVE);
    private static final Pattern EXECUTE_SET_BEGIN = Pattern.compile(
            "EXECUTE\\s+STATEMENT\\s+SET\\s+BEGIN\\b", Pattern.CASE_INSENSITIVE);
    private static final Pattern END = Pattern.compile("END", Pattern.CASE_INSENSITIVE);
    private static final Pattern INSERT = Pattern.compile(
            "(?:EXECUTE\\s+)?INSERT\\b.*", Pattern.CASE_INSENSITIVE | Pattern.DOTALL);

    private final StreamTableEnvironment tEnv;
    private final PrintStream out;
    private final boolean awaitJobs;
    private final Map<String, String> initialConfig;

    /**
     * @param tEnv where the statements run
     * @param out where rows of queries and progress lines are printed
     * @param awaitJobs whether to wait for every submitted job to finish before the next statement
     */
    public SqlRunner(StreamTableEnvironment tEnv, PrintStream out, boolean awaitJobs) {
        this.tEnv = tEnv;
        this.out = out;
        this.awaitJobs = awaitJobs;
        this.initialConfig = new TreeMap<>(tEnv.getConfig().getConfiguration().toMap());
    }

    public static void main(String[] args) {
        int status = run(args, System.out, System.err);
        if (status != 0) {
            System.out.flush();
            System.err.flush();
            System.exit(status);
        }
    }

    /** {@link #main} without the exit: 0 on success, 1 if the script failed, 2 on bad arguments. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        String script;
        try {
            script = readScript(args);
        } catch (UsageException e) {
            if (e.getMessage() != null) {
                err.println("Error: " + e.getMessage());
                err.println();
            }
            (e.getMessage() == null ? out : err).println(USAGE);
            return e.getMessage() == null ? 0 : 2;
        } catch (IOException e) {
            err.println("Error: cannot read the SQL script: " + e);
            return 2;
        }

        try {
            // Before planning: on another Flink the planner could fail first, with a less clear error.
            SupportedFlinkVersions.ensureSupported();
        } catch (UnsupportedOperationException e) {
            err.println("Error: " + e.getMessage());
            return 1;
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        // `flink run` sets execution.attached explicitly (false with -d); a local run leaves it unset.
        boolean attached = env.getConfiguration().getOptional(DeploymentOptions.ATTACHED).orElse(true);
        try {
            StreamTableEnvironment tEnv = createTableEnvironment(env, script);
            new SqlRunner(tEnv, out, attached).execute(script);
            return 0;
        } catch (SqlScriptException e) {
            err.println(e.getMessage());
            return 1;
        }
    }

    /**
     * A table environment in the runtime mode of the script: the value of
     * {@code execution.runtime-mode} in the leading {@code SET} statements of the script (before
     * any other statement), else in the environment's configuration ({@code flink run
     * -Dexecution.runtime-mode=BATCH}), else streaming. Flink fixes the mode when the table
     * environment is created, so a later {@code SET} of it cannot take effect.
     */
    static StreamTableEnvironment createTableEnvironment(StreamExecutionEnvironment env, String script) {
        RuntimeExecutionMode mode = env.getConfiguration().get(ExecutionOptions.RUNTIME_MODE);
        List<SqlScript.Statement> statements;
        try {
            statements = SqlScript.split(script);
        } catch (IllegalArgumentException e) {
            statements = Collections.emptyList(); // reported by execute()
        }
        for (SqlScript.Statement st : statements) {
            Matcher m;
            boolean quoted = (m = SET_QUOTED.matcher(st.text())).matches();
            if (!quoted && !(m = SET_PLAIN.matcher(st.text())).matches()) {
                break;
            }
            if (m.group(1).trim().equals(ExecutionOptions.RUNTIME_MODE.key())) {
                String value = m.group(2).trim();
                try {
                    mode = RuntimeExecutionMode.valueOf(value.toUpperCase(Locale.ROOT));
                } catch (IllegalArgumentException e) {
                    throw new SqlScriptException(st, "Unknown runtime mode '" + value
                            + "': use 'streaming' or 'batch'.", null);
                }
            }
        }
        EnvironmentSettings settings = mode == RuntimeExecutionMode.BATCH
                ? EnvironmentSettings.inBatchMode()
                : EnvironmentSettings.inStreamingMode();
        return StreamTableEnvironment.create(env, settings);
    }

    private static String readScript(String[] args) throws IOException {
        String file = null;
        String inline = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--help":
                case "-h":
                    throw new UsageException(null);
                case "--sql-file":
                case "--sql":
                    if (i + 1 >= args.length) {
                        throw new UsageException("missing value for " + a);
                    }
                    if (file != null || inline != null) {
                        throw new UsageException("give exactly one of --sql-file and --sql");
                    }
                    if (a.equals("--sql")) {
                        inline = args[++i];
                    } else {
                        file = args[++i];
                    }
                    break;
                default:
                    throw new UsageException("unknown argument: " + a);
            }
        }
        if (file == null && inline == null) {
            throw new UsageException("missing --sql-file <path> or --sql <statements>");
        }
        return inline != null ? inline : readFile(file);
    }

    private static String readFile(String location) throws IOException {
        if (!location.contains("://")) {
            return new String(Files.readAllBytes(Paths.get(location)), StandardCharsets.UTF_8);
        }
        Path path = new Path(location);
        FileSystem fs = path.getFileSystem();
        try (FSDataInputStream in = fs.open(path)) {
            return readAll(in);
        }
    }

    private static String readAll(InputStream in) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        byte[] chunk = new byte[8192];
        for (int n; (n = in.read(chunk)) > 0; ) {
            buf.write(chunk, 0, n);
        }
        return new String(buf.toByteArray(), StandardCharsets.UTF_8);
    }

    /**
     * Runs every statement of {@code script} in order.
     *
     * @return one {@link TableResult} per statement handed to Flink (SET, RESET and the statement
     *     set markers return none; a statement set returns one, at its {@code END}), in order
     * @throws SqlScriptException for the first statement that fails, or if the script cannot be split
     */
    public List<TableResult> execute(String script) {
        List<SqlScript.Statement> statements;
        try {
            statements = SqlScript.split(script);
        } catch (IllegalArgumentException e) {
            throw new SqlScriptException("Cannot split the SQL script: " + e.getMessage(), e);
        }
        List<TableResult> results = new ArrayList<>();
        StatementSet set = null;
        SqlScript.Statement setStart = null;
        int inserts = 0;
        for (SqlScript.Statement st : statements) {
            String text = st.text();
            try {
                Matcher m;
                if (set == null && (m = EXECUTE_SET_BEGIN.matcher(text)).lookingAt()) {
                    set = tEnv.createStatementSet();
                    setStart = st;
                    inserts = 0;
                    SqlScript.Statement first = st.dropPrefix(m.end());
                    if (!first.text().isEmpty()) {
                        addToSet(set, first);
                        inserts++;
                    }
                } else if (set == null && BEGIN_SET.matcher(text).matches()) {
                    set = tEnv.createStatementSet();
                    setStart = st;
                    inserts = 0;
                } else if (END.matcher(text).matches()) {
                    if (set == null) {
                        throw new SqlScriptException(st, "END without an open statement set.", null);
                    }
                    StatementSet toRun = set;
                    SqlScript.Statement begin = setStart;
                    set = null;
                    setStart = null;
                    if (inserts == 0) {
                        out.println("[INFO] Statement " + begin.number() + " (line " + begin.line()
                                + "): the statement set is empty; nothing to run.");
                    } else {
                        runStatementSet(toRun, begin, st, results);
                    }
                } else if (set != null) {
                    addToSet(set, st);
                    inserts++;
                } else {
                    runStatement(st, results);
                }
            } catch (SqlScriptException e) {
                throw e;
            } catch (Exception e) {
                throw new SqlScriptException(st, null, e);
            }
        }
        if (set != null) {
            throw new SqlScriptException(setStart, "The statement set is not closed with END.", null);
        }
        return Collections.unmodifiableList(results);
    }

    private void addToSet(StatementSet set, SqlScript.Statement st) {
        if (!INSERT.matcher(st.text()).matches()) {
            throw new SqlScriptException(st, "Only INSERT statements are allowed inside a statement set.", null);
        }
        try {
            set.addInsertSql(st.text());
        } catch (Exception e) {
            throw new SqlScriptException(st, null, e);
        }
    }

    private void runStatementSet(StatementSet set, SqlScript.Statement begin, SqlScript.Statement end, List<TableResult> results)
            throws Exception {
        TableResult result;
        try {
            result = set.execute();
        } catch (Exception e) {
            throw new SqlScriptException(begin, "The statement set (closed at statement " + end.number() + ", line "
                    + end.line() + ") could not be submitted.", e);
        }
        results.add(result);
        submitted(begin, result);
    }

    private void runStatement(SqlScript.Statement st, List<TableResult> results) throws Exception {
        String text = st.text();
        Matcher m;
        boolean quoted = (m = SET_QUOTED.matcher(text)).matches();
        if (quoted || (m = SET_PLAIN.matcher(text)).matches()) {
            String key = quoted ? m.group(1).replace("''", "'") : m.group(1).trim();
            String value = quoted ? m.group(2).replace("''", "'") : m.group(2).trim();
            tEnv.getConfig().set(key, value);
            out.println("[INFO] Set '" + key + "' = '" + value + "'.");
        } else if (SET_ALONE.matcher(text).matches()) {
            tEnv.getConfig().getConfiguration().toMap().entrySet().stream()
                    .sorted(Map.Entry.comparingByKey())
                    .forEach(e -> out.println("'" + e.getKey() + "' = '" + e.getValue() + "'"));
        } else if ((m = RESET.matcher(text)).matches()) {
            reset(m.group(1) != null ? m.group(1).replace("''", "'") : m.group(2));
        } else {
            TableResult result = tEnv.executeSql(text);
            results.add(result);
            if (INSERT.matcher(text).matches()) {
                submitted(st, result);
            } else if (result.getResultKind() == ResultKind.SUCCESS_WITH_CONTENT) {
                printRows(result);
            }
        }
    }

    private void reset(String key) {
        Configuration conf = tEnv.getConfig().getConfiguration();
        if (key == null) {
            for (String k : new ArrayList<>(conf.keySet())) {
                conf.removeKey(k);
            }
            initialConfig.forEach(conf::setString);
            out.println("[INFO] Reset all options.");
        } else {
            conf.removeKey(key);
            if (initialConfig.containsKey(key)) {
                conf.setString(key, initialConfig.get(key));
            }
            out.println("[INFO] Reset '" + key + "'.");
        }
    }

    private void submitted(SqlScript.Statement st, TableResult result) throws Exception {
        String job = result.getJobClient().map(c -> "job " + c.getJobID()).orElse("job");
        out.println("[INFO] Statement " + st.number() + " (line " + st.line() + "): submitted " + job + ".");
        if (awaitJobs) {
            try {
                result.await();
            } catch (Exception e) {
                throw new SqlScriptException(st, "The job failed.", e);
            }
            out.println("[INFO] Statement " + st.number() + ": " + job + " finished.");
        }
    }

    private void printRows(TableResult result) throws Exception {
        out.println(String.join(" | ", result.getResolvedSchema().getColumnNames()));
        try (CloseableIterator<Row> rows = result.collect()) {
            while (rows.hasNext()) {
                out.println(rows.next());
            }
        }
    }

    private static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }
}
