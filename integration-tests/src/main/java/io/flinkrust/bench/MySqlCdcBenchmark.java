package io.flinkrust.bench;

import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Side-by-side benchmark (not a test) of {@code rust-mysql-cdc} against Flink CDC's {@code mysql-cdc}
 * and against the server's own limit, on one MariaDB server, one table, one Flink (MiniCluster in
 * this JVM), in one run:
 *
 * <ol>
 *   <li><b>snapshot</b>: {@code scan.startup.mode = 'snapshot'} (bounded) of a table of {@code --rows}
 *       rows at each {@code --parallelism}; rows/s over the job's net runtime (scheduling, chunk
 *       splitting and connecting included, planning excluded), and from the first row the sink
 *       receives to the end of input (the streaming rate, comparable with the server's own rate);
 *       the sink verifies the row count.
 *   <li><b>binlog</b>: a burst of {@code --changes} inserts, written once (10 transactions) before the
 *       runs, read by each connector from the binlog position before the burst
 *       ({@code scan.startup.mode = 'specific-offset'}), checkpointing on; changes/s from the first
 *       change received to the last, the count verified exact. Reading a written burst measures the
 *       connector, not the server's insert rate (which is reported too: a live burst cannot be read
 *       faster than the server writes it).
 *   <li><b>server limit</b>: {@code connectors/mysql-cdc/examples/select_rate.rs}, a minimal Rust
 *       client that streams {@code SELECT *} (binary and text protocol; one connection per reader,
 *       each a slice of the key) and counts rows, and reads the same binlog burst decoding and
 *       counting rows.
 * </ol>
 *
 * <p>Runs alternate their order per repetition so machine drift hits all; the report gives medians
 * and the ratios rust / Flink CDC and rust / server. When Flink CDC fails (it may not support the
 * server), its error is printed and recorded, and the comparison keeps what runs.
 *
 * <p>Arguments: {@code --rows N} (default 4,000,000), {@code --changes N} (default 1,000,000),
 * {@code --parallelism 1,2}, {@code --reps 3}, {@code --select-rate PATH} (the example binary;
 * default {@code target/release/examples/select_rate}), {@code --flink-cdc auto|off}, {@code --flink-cdc-options k=v;k=v} and
 * {@code --rust-options k=v;k=v} (extra WITH options per connector). The server
 * comes from {@code scripts/mariadb.sh start} (MARIADB_DIR / MARIADB_PORT select the instance).
 */
public final class MySqlCdcBenchmark {
    private static final String DB = "cdc_bench";
    /** Flink CDC's table factory: present when the harness runs with the flink-cdc profile. */
    private static final String FLINK_CDC_FACTORY = "org.apache.flink.cdc.connectors.mysql.table.MySqlTableSourceFactory";
    private static final String RUST = "rust-mysql-cdc";
    private static final String FLINK_CDC = "mysql-cdc";

    private static final String MYSQL_COLUMNS = "id BIGINT NOT NULL PRIMARY KEY, customer_id INT NOT NULL, quantity INT,"
            + " amount DECIMAL(12,2), status VARCHAR(16), note VARCHAR(64), created_at DATETIME(3), version BIGINT";
    private static final String FLINK_COLUMNS = "id BIGINT NOT NULL, customer_id INT NOT NULL, quantity INT,"
            + " amount DECIMAL(12, 2), status STRING, note STRING, created_at TIMESTAMP(3), version BIGINT";
    /** Row {@code seq} of every table: deterministic, varied values of each type. */
    private static final String ROW_OF_SEQ = "seq, seq % 100003, seq % 17, (seq % 1000003) / 100,"
            + " ELT(1 + seq % 4, 'NEW', 'PAID', 'SHIPPED', 'DELIVERED'), CONCAT('order note ', seq),"
            + " TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq SECOND + INTERVAL (seq % 1000) * 1000 MICROSECOND, seq * 7";

    private final Path root;
    private final Map<String, String> mysqlEnv;
    private final String selectRate;
    private final StreamTableEnvironment snapshotEnv;
    private final StreamTableEnvironment binlogEnv;
    private int nextServerId = 6100;
    /**
     * Extra WITH options for Flink CDC's tables ({@code --flink-cdc-options k=v;k=v}). At its defaults
     * Flink CDC's snapshot waits in Debezium's queue poll ({@code poll.interval.ms}, 500 ms) about a
     * second per chunk, and reads under 10k rows/s here; the comparison runs it with a 10 ms poll
     * (an order of magnitude faster), and measures the defaults once on the warm-up table.
     */
    private static String flinkCdcOptions = "'debezium.poll.interval.ms' = '10'";
    /** Extra WITH options for rust-mysql-cdc's tables ({@code --rust-options k=v;k=v}), for experiments. */
    private static String rustOptions = "";

    /** {@code k=v;k=v} (no quotes: they do not survive exec.args) as a WITH clause's entries. */
    private static String withOptions(String arg) {
        List<String> options = new ArrayList<>();
        for (String kv : arg.split(";")) {
            String[] parts = kv.split("=", 2);
            options.add("'" + parts[0].trim() + "' = '" + parts[1].trim() + "'");
        }
        return String.join(", ", options);
    }
    /** Errors by measurement, printed with the results. */
    private final Map<String, String> errors = new LinkedHashMap<>();

    private MySqlCdcBenchmark(Path root, Map<String, String> mysqlEnv, String selectRate, int maxParallelism) {
        this.root = root;
        this.mysqlEnv = mysqlEnv;
        this.selectRate = selectRate;
        this.snapshotEnv = StreamTableEnvironment.create(
                StreamExecutionEnvironment.createLocalEnvironment(maxParallelism, new Configuration()));
        // Flink CDC's binlog phase wants checkpointing in some versions: on for both connectors.
        Configuration streaming = new Configuration();
        streaming.setString("execution.checkpointing.interval", "3s");
        this.binlogEnv = StreamTableEnvironment.create(StreamExecutionEnvironment.createLocalEnvironment(1, streaming));
        for (StreamTableEnvironment t : List.of(snapshotEnv, binlogEnv)) {
            t.executeSql("CREATE TABLE sink (" + FLINK_COLUMNS + ") WITH ('connector' = '" + CountingSinkFactory.IDENTIFIER + "')");
        }
    }

    public static void main(String[] args) throws Exception {
        long rows = 4_000_000L;
        long changes = 1_000_000L;
        List<Integer> parallelisms = List.of(1, 2);
        int reps = 3;
        String selectRate = null;
        String flinkCdcMode = "auto";
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--rows": rows = Long.parseLong(args[i + 1]); break;
                case "--changes": changes = Long.parseLong(args[i + 1]); break;
                case "--parallelism":
                    parallelisms = new ArrayList<>();
                    for (String p : args[i + 1].split(",")) parallelisms.add(Integer.parseInt(p.trim()));
                    break;
                case "--reps": reps = Integer.parseInt(args[i + 1]); break;
                case "--select-rate": selectRate = args[i + 1]; break;
                case "--flink-cdc": flinkCdcMode = args[i + 1]; break;
                case "--flink-cdc-options": flinkCdcOptions = withOptions(args[i + 1]); break;
                case "--rust-options": rustOptions = withOptions(args[i + 1]); break;
                default:
                    throw new IllegalArgumentException("unknown argument " + args[i]
                            + "; use --rows, --changes, --parallelism, --reps, --select-rate, --flink-cdc,"
                            + " --flink-cdc-options, --rust-options");
            }
        }
        Path root = repositoryRoot();
        if (selectRate == null) selectRate = root.resolve("target/release/examples/select_rate").toString();
        if (!new File(selectRate).canExecute()) {
            throw new IllegalStateException(selectRate + " is missing: cargo build --release -p connector-mysql-cdc --example select_rate");
        }
        boolean flinkCdc = !flinkCdcMode.equals("off") && onClassPath(FLINK_CDC_FACTORY);
        Map<String, String> env = startMariaDb(root);
        MySqlCdcBenchmark bench = new MySqlCdcBenchmark(root, env, selectRate, Collections.max(parallelisms));
        System.out.printf("MySqlCdcBenchmark: %,d rows snapshot, %,d binlog changes, %d reps, parallelism %s, %d cores, "
                        + "MariaDB %s on %s:%s, Flink CDC %s%n",
                rows, changes, reps, parallelisms, Runtime.getRuntime().availableProcessors(),
                bench.sql("SELECT VERSION()").trim(), env.get("MYSQL_HOST"), env.get("MYSQL_PORT"),
                flinkCdc ? flinkCdcVersion() : "not on the class path (run with -Pflink-cdc; `make bench-cdc` does)");
        bench.run(rows, changes, parallelisms, reps, flinkCdc);
    }

    // ---- the run --------------------------------------------------------------------------------

    private void run(long rows, long changes, List<Integer> parallelisms, int reps, boolean flinkCdc) throws Exception {
        long t0 = System.nanoTime();
        setUp(rows);
        System.out.printf("loaded %,d rows into %s.orders in %.1f s%n", rows, DB, (System.nanoTime() - t0) / 1e9);
        String[] burstStart = masterStatus();
        long t1 = System.nanoTime();
        writeBurst(changes);
        double writeSeconds = (System.nanoTime() - t1) / 1e9;
        String[] burstEnd = masterStatus();
        System.out.printf("burst: %,d inserts into %s.burst from binlog %s:%s, written by the server in %.1f s (%,.0f rows/s)%n",
                changes, DB, burstStart[0], burstStart[1], writeSeconds, changes / writeSeconds);

        List<String> connectors = new ArrayList<>(List.of(RUST));
        if (flinkCdc) connectors.add(FLINK_CDC);
        // Warm-up: JIT, class loading, native library extraction, the server's buffer pool.
        for (String c : connectors) {
            double[] r = snapshot(c, "warmup", 100_000L, 1, "warm-up " + c);
            System.out.printf("  warm-up %s: %s%n", c, fmt(r[0], "rows/s"));
        }
        double[] flinkCdcDefaults = {Double.NaN, Double.NaN};
        if (flinkCdc && !errors.containsKey("warm-up " + FLINK_CDC)) {
            flinkCdcDefaults = snapshot(FLINK_CDC, "warmup", 100_000L, 1, "snapshot mysql-cdc at its defaults", "");
            System.out.printf("  mysql-cdc at its defaults (no extra options), 100,000-row table, p=1: %s (streaming %s)%n",
                    fmt(flinkCdcDefaults[0], "rows/s"), fmt(flinkCdcDefaults[1], "rows/s"));
        }

        List<String[]> table = new ArrayList<>();
        for (int p : parallelisms) {
            Map<String, double[]> m = new LinkedHashMap<>();
            for (String k : List.of(RUST, FLINK_CDC, RUST + " stream", FLINK_CDC + " stream", "binary", "text")) m.put(k, nans(reps));
            for (int r = 0; r < reps; r++) {
                List<String> order = new ArrayList<>(connectors);
                order.add("server");
                Collections.rotate(order, r);
                for (String what : order) {
                    if (what.equals("server")) {
                        Map<String, Double> s = selectRate("select", "--table", DB + ".orders", "--protocol", "both", "--streams", Integer.toString(p));
                        m.get("binary")[r] = s.getOrDefault("binary", Double.NaN);
                        m.get("text")[r] = s.getOrDefault("text", Double.NaN);
                    } else if (!errors.containsKey("snapshot " + what)) {
                        double[] rates = snapshot(what, "orders", rows, p, "snapshot " + what);
                        m.get(what)[r] = rates[0];
                        m.get(what + " stream")[r] = rates[1];
                    }
                }
                System.out.printf("  snapshot p=%d rep %d: rust-mysql-cdc %s (streaming %s), mysql-cdc %s (streaming %s),"
                                + " server SELECT binary %s, text %s%n",
                        p, r + 1, fmt(m.get(RUST)[r], "rows/s"), fmt(m.get(RUST + " stream")[r], "rows/s"),
                        fmt(m.get(FLINK_CDC)[r], "rows/s"), fmt(m.get(FLINK_CDC + " stream")[r], "rows/s"),
                        fmt(m.get("binary")[r], "rows/s"), fmt(m.get("text")[r], "rows/s"));
            }
            table.add(resultRow("snapshot rows/s, p=" + p + " (job)", m, flinkCdc));
            Map<String, double[]> streaming = new LinkedHashMap<>(m);
            streaming.put(RUST, m.get(RUST + " stream"));
            streaming.put(FLINK_CDC, m.get(FLINK_CDC + " stream"));
            table.add(resultRow("snapshot rows/s, p=" + p + " (first to last row)", streaming, flinkCdc));
        }

        Map<String, double[]> b = new LinkedHashMap<>();
        for (String k : List.of(RUST, FLINK_CDC, "binlog", "binlog-raw")) b.put(k, nans(reps));
        for (int r = 0; r < reps; r++) {
            List<String> order = new ArrayList<>(connectors);
            order.add("server");
            Collections.rotate(order, r);
            for (String what : order) {
                if (what.equals("server")) {
                    Map<String, Double> s = selectRate("binlog", "--table", DB + ".burst", "--file", burstStart[0],
                            "--pos", burstStart[1], "--expect", Long.toString(changes), "--server-id", Integer.toString(6190 + r));
                    b.get("binlog")[r] = s.getOrDefault("binlog", Double.NaN);
                    if (burstEnd[0].equals(burstStart[0])) {
                        Map<String, Double> raw = selectRate("binlog", "--table", DB + ".burst", "--file", burstStart[0],
                                "--pos", burstStart[1], "--expect", Long.toString(changes), "--end-pos", burstEnd[1],
                                "--server-id", Integer.toString(6195 + r));
                        b.get("binlog-raw")[r] = raw.getOrDefault("binlog-raw", Double.NaN);
                    }
                } else if (!errors.containsKey("binlog " + what)) {
                    b.get(what)[r] = binlog(what, burstStart, changes, "binlog " + what);
                }
            }
            System.out.printf("  binlog rep %d: rust-mysql-cdc %s, mysql-cdc %s, minimal client decoding rows %s,"
                            + " server sending (no decoding) %s%n", r + 1,
                    fmt(b.get(RUST)[r], "changes/s"), fmt(b.get(FLINK_CDC)[r], "changes/s"), fmt(b.get("binlog")[r], "changes/s"),
                    fmt(b.get("binlog-raw")[r], "changes/s"));
        }
        double flinkCdcBinlogDefaults = Double.NaN;
        if (flinkCdc && !errors.containsKey("binlog " + FLINK_CDC)) {
            String saved = flinkCdcOptions;
            flinkCdcOptions = "";
            flinkCdcBinlogDefaults = binlog(FLINK_CDC, burstStart, changes, "binlog mysql-cdc at its defaults");
            flinkCdcOptions = saved;
            System.out.printf("  binlog mysql-cdc at its defaults: %s%n", fmt(flinkCdcBinlogDefaults, "changes/s"));
        }
        Map<String, double[]> bm = new LinkedHashMap<>();
        bm.put(RUST, b.get(RUST));
        bm.put(FLINK_CDC, b.get(FLINK_CDC));
        bm.put("binary", b.get("binlog"));
        double raw = median(b.get("binlog-raw"));
        bm.put("raw", new double[] {raw});
        table.add(resultRow("binlog changes/s, burst of " + String.format("%,d", changes), bm, flinkCdc));

        System.out.println();
        System.out.printf("RESULTS (medians of %d; whole run %.0f s)%n", reps, (System.nanoTime() - t0) / 1e9);
        System.out.println("| measurement | rust-mysql-cdc | Flink CDC mysql-cdc | server limit (minimal client) | rust / Flink CDC (target >= 3x) | rust / server (target >= 70%) |");
        System.out.println("|---|---|---|---|---|---|");
        for (String[] row : table) System.out.println("| " + String.join(" | ", row) + " |");
        System.out.printf("%nThe server sends the binlog burst at %s changes/s to a client that does not decode rows.%n", fmtM(raw));
        if (flinkCdc) {
            System.out.printf("Flink CDC %s ran with: %s. At its defaults: snapshot (100,000-row table, p=1) %s rows/s (job),"
                            + " %s rows/s (first to last row); binlog %s changes/s (rust-mysql-cdc / defaults: %s).%n",
                    flinkCdcVersion(), flinkCdcOptions.isBlank() ? "its defaults" : flinkCdcOptions, fmtM(flinkCdcDefaults[0]),
                    fmtM(flinkCdcDefaults[1]), fmtM(flinkCdcBinlogDefaults),
                    Double.isNaN(flinkCdcBinlogDefaults) ? "n/a" : String.format("%.2fx", median(b.get(RUST)) / flinkCdcBinlogDefaults));
        }
        if (!errors.isEmpty()) {
            System.out.println();
            System.out.println("ERRORS (measurements that could not run):");
            errors.forEach((k, v) -> System.out.println("  " + k + ": " + v));
        }
    }

    private String[] resultRow(String label, Map<String, double[]> m, boolean flinkCdc) {
        double rust = median(m.get(RUST));
        double flink = median(m.get(FLINK_CDC));
        double binary = median(m.get("binary"));
        double text = m.containsKey("text") ? median(m.get("text")) : Double.NaN;
        double server = Double.isNaN(text) ? binary : Math.max(binary, text);
        boolean binlog = m.containsKey("raw");
        String serverText = binlog
                ? fmtM(binary) + " (a client decoding rows with mysql_common; the server sends " + fmtM(m.get("raw")[0]) + " undecoded)"
                : fmtM(server) + " (binary " + fmtM(binary) + ", text " + fmtM(text) + ")";
        String flinkText = !flinkCdc ? "not run" : Double.isNaN(flink) ? "failed (see ERRORS)" : fmtM(flink);
        String vsFlink = Double.isNaN(flink) || Double.isNaN(rust) ? "n/a" : String.format("%.2fx", rust / flink);
        String vsServer = Double.isNaN(server) || Double.isNaN(rust) ? "n/a"
                : String.format(binlog ? "%.0f%% of that client" : "%.0f%%", 100 * rust / server);
        System.out.printf("RESULT %s: rust-mysql-cdc=%s mysql-cdc=%s server=%s rust/mysql-cdc=%s rust/server=%s%n",
                label, fmtM(rust), flinkText, serverText, vsFlink, vsServer);
        return new String[] {label, fmtM(rust), flinkText, serverText, vsFlink, vsServer};
    }

    // ---- measurements ---------------------------------------------------------------------------

    /**
     * A bounded snapshot of {@code table} into the counting sink: {job rows/s over the net runtime,
     * stream rows/s from the first row to the end of input}, NaNs on failure.
     */
    private double[] snapshot(String connector, String table, long expected, int parallelism, String what) {
        return snapshot(connector, table, expected, parallelism, what, connector.equals(FLINK_CDC) ? flinkCdcOptions : rustOptions);
    }

    private double[] snapshot(String connector, String table, long expected, int parallelism, String what, String extraOptions) {
        String name = createSource(snapshotEnv, connector, table, "'scan.startup.mode' = 'snapshot'", parallelism, extraOptions);
        snapshotEnv.getConfig().set("parallelism.default", Integer.toString(parallelism));
        CountingSinkFactory.reset();
        try {
            TableResult result = snapshotEnv.executeSql("INSERT INTO sink SELECT * FROM " + name);
            long millis = result.getJobClient().orElseThrow().getJobExecutionResult().get().getNetRuntime();
            long count = CountingSinkFactory.COUNT.sum();
            if (count != expected) {
                fail(what, "received " + count + " rows, expected " + expected);
                return new double[] {Double.NaN, Double.NaN};
            }
            long streamNanos = CountingSinkFactory.END_NANOS.get() - CountingSinkFactory.FIRST_NANOS.get();
            return new double[] {expected * 1000.0 / Math.max(1, millis), expected * 1e9 / Math.max(1, streamNanos)};
        } catch (Exception | LinkageError e) {
            fail(what, describe(e));
            return new double[] {Double.NaN, Double.NaN};
        }
    }

    /** Streams the burst from its start offset; changes/s from the first change to the last, NaN on failure. */
    private double binlog(String connector, String[] start, long expected, String what) throws Exception {
        String options = "'scan.startup.mode' = 'specific-offset', 'scan.startup.specific-offset.file' = '" + start[0]
                + "', 'scan.startup.specific-offset.pos' = '" + start[1] + "'";
        String name = createSource(binlogEnv, connector, "burst", options, 1);
        CountingSinkFactory.reset();
        JobClient job = null;
        try {
            job = binlogEnv.executeSql("INSERT INTO sink SELECT * FROM " + name).getJobClient().orElseThrow();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(600);
            long lastStatusCheck = 0;
            while (CountingSinkFactory.COUNT.sum() < expected) {
                long now = System.nanoTime();
                if (now > deadline) {
                    return fail(what, "timed out after 600 s with " + CountingSinkFactory.COUNT.sum() + " of " + expected + " changes");
                }
                if (now - lastStatusCheck > 100_000_000L) {
                    lastStatusCheck = now;
                    JobStatus status = job.getJobStatus().get();
                    if (status.isGloballyTerminalState()) {
                        try {
                            job.getJobExecutionResult().get();
                            return fail(what, "job ended (" + status + ") after " + CountingSinkFactory.COUNT.sum() + " changes");
                        } catch (ExecutionException e) {
                            return fail(what, describe(e));
                        }
                    }
                }
                // Polling a counter with a 1 ms period: the end time is exact to a millisecond.
                Thread.sleep(1);
            }
            long end = System.nanoTime();
            long first = CountingSinkFactory.FIRST_NANOS.get();
            // Extra changes (duplicates) would show within a moment.
            Thread.sleep(500);
            long count = CountingSinkFactory.COUNT.sum();
            if (count != expected) {
                return fail(what, "received " + count + " changes, expected " + expected);
            }
            return expected * 1e9 / Math.max(1, end - first);
        } catch (Exception | LinkageError e) {
            return fail(what, describe(e));
        } finally {
            if (job != null) {
                try {
                    job.cancel().get(60, TimeUnit.SECONDS);
                    job.getJobExecutionResult().exceptionally(t -> null).get(60, TimeUnit.SECONDS);
                } catch (Exception ignored) {
                    // Already finished or failed.
                }
            }
        }
    }

    /** Runs select_rate; its {@code SELECT_RATE mode=M ... rows_per_s=R} lines by mode. */
    private Map<String, Double> selectRate(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(selectRate);
        command.addAll(Arrays.asList(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().putAll(mysqlEnv);
        Process process = pb.start();
        Map<String, Double> rates = new LinkedHashMap<>();
        StringBuilder output = new StringBuilder();
        Pattern line = Pattern.compile("SELECT_RATE mode=([\\w-]+) .*rows_per_s=(\\d+)");
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String l; (l = r.readLine()) != null; ) {
                output.append(l).append('\n');
                Matcher m = line.matcher(l);
                if (m.find()) rates.put(m.group(1), Double.parseDouble(m.group(2)));
            }
        }
        if (process.waitFor() != 0) {
            fail("server " + args[0], "select_rate failed: " + output.toString().trim());
        }
        return rates;
    }

    private String createSource(StreamTableEnvironment tEnv, String connector, String table, String startup, int parallelism) {
        return createSource(tEnv, connector, table, startup, parallelism, connector.equals(FLINK_CDC) ? flinkCdcOptions : rustOptions);
    }

    private String createSource(StreamTableEnvironment tEnv, String connector, String table, String startup, int parallelism,
            String extraOptions) {
        String name = "src_" + connector.replace('-', '_') + "_" + table + "_" + nextServerId;
        int first = nextServerId;
        nextServerId += Math.max(2, parallelism);
        if (nextServerId >= 6190) nextServerId = 6100;
        tEnv.executeSql("CREATE TEMPORARY TABLE " + name + " (" + FLINK_COLUMNS + ", PRIMARY KEY (id) NOT ENFORCED) WITH (\n"
                + "  'connector' = '" + connector + "',\n"
                + "  'hostname' = '" + mysqlEnv.get("MYSQL_HOST") + "',\n"
                + "  'port' = '" + mysqlEnv.get("MYSQL_PORT") + "',\n"
                + "  'username' = '" + mysqlEnv.get("MYSQL_USER") + "',\n"
                + "  'password' = '" + mysqlEnv.get("MYSQL_PASSWORD") + "',\n"
                + "  'database-name' = '" + DB + "',\n"
                + "  'table-name' = '" + table + "',\n"
                + "  'server-id' = '" + first + "-" + (first + Math.max(2, parallelism) - 1) + "',\n"
                + "  'server-time-zone' = 'UTC',\n"
                + "  " + startup
                + (extraOptions.isBlank() ? "" : ",\n  " + extraOptions) + "\n"
                + ")");
        return name;
    }

    // ---- the database ---------------------------------------------------------------------------

    private void setUp(long rows) throws Exception {
        // A buffer pool that holds the table: the snapshot measures streaming, not disk reads.
        sql("SET GLOBAL innodb_buffer_pool_size = GREATEST(@@innodb_buffer_pool_size, 1073741824)");
        sql("DROP DATABASE IF EXISTS " + DB + "; CREATE DATABASE " + DB + ";"
                + " CREATE TABLE " + DB + ".orders (" + MYSQL_COLUMNS + ");"
                + " CREATE TABLE " + DB + ".burst LIKE " + DB + ".orders;"
                + " CREATE TABLE " + DB + ".warmup LIKE " + DB + ".orders;");
        // Bulk load without binlog (only the burst should be in it), in slices of 500k rows.
        // seq_1_to_N (the SEQUENCE engine) lives in the current database.
        StringBuilder load = new StringBuilder("USE " + DB + "; SET SESSION sql_log_bin = 0;");
        for (long lo = 1; lo <= rows; lo += 500_000) {
            long hi = Math.min(rows, lo + 499_999);
            load.append(" INSERT INTO ").append(DB).append(".orders SELECT ").append(ROW_OF_SEQ)
                    .append(" FROM seq_").append(lo).append("_to_").append(hi).append(';');
        }
        load.append(" INSERT INTO ").append(DB).append(".warmup SELECT ").append(ROW_OF_SEQ).append(" FROM seq_1_to_100000;");
        load.append(" SELECT COUNT(*), SUM(LENGTH(note)) FROM ").append(DB).append(".orders;");
        sql(load.toString());
    }

    /** {@code changes} inserts into the burst table, ten transactions. */
    private void writeBurst(long changes) throws Exception {
        StringBuilder burst = new StringBuilder("USE " + DB + ";");
        long step = Math.max(1, (changes + 9) / 10);
        for (long lo = 1; lo <= changes; lo += step) {
            long hi = Math.min(changes, lo + step - 1);
            burst.append(" INSERT INTO ").append(DB).append(".burst SELECT ").append(ROW_OF_SEQ)
                    .append(" FROM seq_").append(lo).append("_to_").append(hi).append(';');
        }
        sql(burst.toString());
    }

    private String[] masterStatus() throws Exception {
        String[] f = sql("SHOW MASTER STATUS").trim().split("\\s+");
        return new String[] {f[0], f[1]};
    }

    /** Runs SQL as root through scripts/mariadb.sh; the output (tab-separated, no headers). */
    private String sql(String statements) throws IOException, InterruptedException {
        return exec(List.of(root.resolve("scripts/mariadb.sh").toString(), "sql", "-N", "-B", "-e", statements));
    }

    private static String exec(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) throw new IOException(String.join(" ", command.subList(0, 2)) + " failed: " + out);
        return out;
    }

    private static Map<String, String> startMariaDb(Path root) throws IOException, InterruptedException {
        String out = exec(List.of(root.resolve("scripts/mariadb.sh").toString(), "start"));
        Map<String, String> env = new LinkedHashMap<>();
        Matcher m = Pattern.compile("(?m)^export (\\w+)=(.*)$").matcher(out);
        while (m.find()) env.put(m.group(1), m.group(2));
        if (!env.containsKey("MYSQL_PORT")) throw new IOException("scripts/mariadb.sh start printed no exports: " + out);
        return env;
    }

    // ---- helpers --------------------------------------------------------------------------------

    private double fail(String what, String error) {
        errors.putIfAbsent(what, error);
        System.out.println("  FAILED " + what + ": " + error);
        return Double.NaN;
    }

    /** The distinct messages of an exception's cause chain, outermost first, without Flink's wrappers. */
    private static String describe(Throwable t) {
        Set<String> messages = new LinkedHashSet<>();
        for (Throwable c = t; c != null && messages.size() < 12; c = c.getCause()) {
            String msg = c.getMessage();
            if (msg == null || msg.startsWith("Job execution failed") || msg.startsWith("org.apache.flink.runtime.client")
                    || msg.startsWith("Recovery is suppressed")) {
                continue;
            }
            messages.add(c.getClass().getSimpleName() + ": " + msg.replaceAll("\\s+", " "));
        }
        List<String> list = new ArrayList<>(messages);
        // The innermost causes say what went wrong; keep the last few.
        return String.join(" <- caused by: ", list.subList(Math.max(0, list.size() - 4), list.size()));
    }

    private static Path repositoryRoot() {
        for (Path p = Paths.get("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("scripts/mariadb.sh"))) return p;
        }
        throw new IllegalStateException("run from inside the repository (scripts/mariadb.sh not found)");
    }

    private static boolean onClassPath(String className) {
        try {
            Class.forName(className, false, MySqlCdcBenchmark.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }

    /** The version in the SQL connector jar's Maven metadata. */
    private static String flinkCdcVersion() {
        String resource = "META-INF/maven/org.apache.flink/flink-sql-connector-mysql-cdc/pom.properties";
        try (java.io.InputStream in = MySqlCdcBenchmark.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) return "(version unknown)";
            java.util.Properties props = new java.util.Properties();
            props.load(in);
            return props.getProperty("version", "(version unknown)");
        } catch (IOException e) {
            return "(version unknown)";
        }
    }

    private static double[] nans(int n) {
        double[] a = new double[n];
        Arrays.fill(a, Double.NaN);
        return a;
    }

    /** Median of the values that are not NaN; NaN when none is. */
    private static double median(double[] values) {
        double[] v = Arrays.stream(values).filter(d -> !Double.isNaN(d)).sorted().toArray();
        int n = v.length;
        if (n == 0) return Double.NaN;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    private static String fmt(double v, String unit) {
        return Double.isNaN(v) ? "-" : String.format("%,.0f %s", v, unit);
    }

    private static String fmtM(double v) {
        if (Double.isNaN(v)) return "-";
        return v >= 1e6 ? String.format("%.2f M", v / 1e6) : String.format("%.0f k", v / 1e3);
    }
}
