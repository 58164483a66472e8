package io.flinkrust.bench;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * Side-by-side benchmark (not a test): Flink's {@code datagen} against {@code rust-datagen}, same
 * schema, same row count, same Flink, same JVM, into {@code blackhole}. Runs alternate between the
 * two sources so machine drift hits both; the report gives the median rows/s of each and the
 * ratio. Rates come from the job's net runtime (scheduling included, planning excluded).
 *
 * <p>Then the rate limiter ({@code scan.rate-limit.rows-per-second}, see
 * {@code docs/common-options.md}): {@code rust-datagen} without a limit against the same with a
 * limit far above what the machine reaches, alternating, at the highest parallelism (the limiter's
 * overhead: the limited source is wrapped, its readers check a budget before every poll and pay
 * after every batch); and a run at a modest limit, achieved against configured.
 *
 * <p>Arguments: {@code --rows N} (default 10,000,000), {@code --parallelism 1,2}, {@code --reps 3},
 * {@code --modest-limit R} (rows/s, default 100,000; that run takes about 10 s),
 * {@code --sections compare,rate-limit,metrics} (default all).
 *
 * <p>Last, the cost of the bridge's metrics ({@code metrics}): {@code rust-datagen} with and
 * without them, see {@link #metricsOverhead}.
 */
public final class DatagenBenchmark {
    /** Four columns, all random; strings of 10 characters. */
    private static final String COLUMNS = "id BIGINT, v INT, price DOUBLE, name STRING";

    public static void main(String[] args) throws Exception {
        long rows = 10_000_000L;
        List<Integer> parallelisms = List.of(1, 2);
        int reps = 3;
        long modestLimit = 100_000L;
        List<String> sections = List.of("compare", "rate-limit", "metrics");
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--rows": rows = Long.parseLong(args[i + 1]); break;
                case "--parallelism":
                    parallelisms = new ArrayList<>();
                    for (String p : args[i + 1].split(",")) parallelisms.add(Integer.parseInt(p.trim()));
                    break;
                case "--reps": reps = Integer.parseInt(args[i + 1]); break;
                case "--modest-limit": modestLimit = Long.parseLong(args[i + 1]); break;
                case "--sections": sections = List.of(args[i + 1].split(",")); break;
                default: throw new IllegalArgumentException(
                        "unknown argument " + args[i] + "; use --rows, --parallelism, --reps, --modest-limit, --sections");
            }
        }
        int maxParallelism = Collections.max(parallelisms);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(maxParallelism, new Configuration());
        StreamTableEnvironment tEnv = StreamTableEnvironment.create(env);
        tEnv.executeSql("CREATE TABLE sink (" + COLUMNS + ") WITH ('connector' = 'blackhole')");
        tEnv.executeSql("CREATE TABLE counted (" + COLUMNS + ") WITH ('connector' = '" + CountingSinkFactory.IDENTIFIER + "')");
        for (String connector : List.of("datagen", "rust-datagen")) {
            tEnv.executeSql("CREATE TABLE `" + connector + "` (" + COLUMNS + ") WITH (\n"
                    + "  'connector' = '" + connector + "',\n"
                    + "  'number-of-rows' = '" + rows + "',\n"
                    + "  'rows-per-second' = '1000000000',\n"
                    + "  'fields.name.length' = '10'\n"
                    + ")");
        }

        System.out.printf("DatagenBenchmark: %,d rows of (%s), %d reps, parallelism %s, %d cores%n",
                rows, COLUMNS, reps, parallelisms, Runtime.getRuntime().availableProcessors());
        // One warm-up run each: JIT, class loading, native library extraction.
        run(tEnv, "datagen", Math.min(rows, 1_000_000L), 1);
        run(tEnv, "rust-datagen", Math.min(rows, 1_000_000L), 1);

        for (int p : sections.contains("compare") ? parallelisms : List.<Integer>of()) {
            double[] flink = new double[reps];
            double[] rust = new double[reps];
            for (int r = 0; r < reps; r++) {
                boolean rustFirst = r % 2 == 1;
                if (rustFirst) rust[r] = run(tEnv, "rust-datagen", rows, p);
                flink[r] = run(tEnv, "datagen", rows, p);
                if (!rustFirst) rust[r] = run(tEnv, "rust-datagen", rows, p);
                System.out.printf("  p=%d rep %d: datagen %,.0f rows/s, rust-datagen %,.0f rows/s%n", p, r + 1, flink[r], rust[r]);
            }
            double f = median(flink);
            double s = median(rust);
            System.out.printf("RESULT parallelism=%d datagen=%,.0f rows/s rust-datagen=%,.0f rows/s ratio=%.2fx%n", p, f, s, s / f);
        }
        if (sections.contains("rate-limit")) {
            rateLimit(tEnv, rows, maxParallelism, reps, modestLimit);
        }
        if (sections.contains("metrics")) {
            metricsOverhead(tEnv, rows, parallelisms, reps);
        }
    }

    /**
     * The cost of the bridge's metrics when nothing limits the rate: {@code rust-datagen} into
     * {@code blackhole} with metrics (the default) and without (the benchmark-only switch
     * {@link io.flinkrust.bridge.source.RustSourceReader#BENCH_DISABLE_METRICS_PROPERTY}, read when
     * a reader is created: this JVM runs the MiniCluster, so setting it between jobs is enough).
     * Runs alternate; the report gives the overhead of medians and of best runs (target: under 2%).
     */
    private static void metricsOverhead(StreamTableEnvironment tEnv, long rows, List<Integer> parallelisms, int reps)
            throws Exception {
        String property = "flinkrust.bench.disableMetrics";
        for (int p : parallelisms) {
            double[] with = new double[reps];
            double[] without = new double[reps];
            try {
                for (int r = 0; r < reps; r++) {
                    for (boolean metricsOn : r % 2 == 0 ? new boolean[] {true, false} : new boolean[] {false, true}) {
                        System.setProperty(property, Boolean.toString(!metricsOn));
                        double rate = run(tEnv, "rust-datagen", rows, p);
                        if (metricsOn) with[r] = rate; else without[r] = rate;
                    }
                    System.out.printf("  p=%d rep %d: metrics on %,.0f rows/s, off %,.0f rows/s%n", p, r + 1, with[r], without[r]);
                }
            } finally {
                System.clearProperty(property);
            }
            // Medians, and the best run of each: on a shared machine the best run is the one least
            // disturbed by other load, so it resolves small differences better than the median.
            double on = median(with);
            double off = median(without);
            double bestOn = Arrays.stream(with).max().orElse(0);
            double bestOff = Arrays.stream(without).max().orElse(0);
            System.out.printf("RESULT metrics-overhead parallelism=%d median: on=%,.0f off=%,.0f rows/s overhead=%.2f%%;"
                            + " best: on=%,.0f off=%,.0f rows/s overhead=%.2f%%%n",
                    p, on, off, 100.0 * (off - on) / off, bestOn, bestOff, 100.0 * (bestOff - bestOn) / bestOff);
        }
    }

    /** The rate limiter's overhead (a limit nothing reaches) and its accuracy at a modest limit. */
    private static void rateLimit(StreamTableEnvironment tEnv, long rows, int p, int reps, long modestLimit)
            throws Exception {
        String unreachable = "'scan.rate-limit.rows-per-second'='1000000000000'";
        double[] plain = new double[reps];
        double[] limited = new double[reps];
        for (int r = 0; r < reps; r++) {
            boolean limitedFirst = r % 2 == 1;
            if (limitedFirst) limited[r] = run(tEnv, "rust-datagen", rows, p, unreachable);
            plain[r] = run(tEnv, "rust-datagen", rows, p, "");
            if (!limitedFirst) limited[r] = run(tEnv, "rust-datagen", rows, p, unreachable);
            System.out.printf("  p=%d rep %d: no limit %,.0f rows/s, limit 10^12 rows/s %,.0f rows/s%n", p, r + 1, plain[r], limited[r]);
        }
        double a = median(plain);
        double b = median(limited);
        System.out.printf("RESULT rate-limit overhead parallelism=%d no-limit=%,.0f rows/s unreachable-limit=%,.0f rows/s"
                + " overhead=%.1f%%%n", p, a, b, 100 * (a - b) / a);

        // About 10 s at the modest limit, into the counting sink: the rate counts from the first
        // row to the end of input (job start-up excluded), without the readers' first batches
        // (100 ms of each reader's share, emitted at once).
        long modestRows = modestLimit * 10;
        tEnv.getConfig().set("parallelism.default", Integer.toString(p));
        CountingSinkFactory.reset();
        tEnv.executeSql("INSERT INTO counted SELECT * FROM `rust-datagen` /*+ OPTIONS('number-of-rows'='" + modestRows
                        + "', 'scan.rate-limit.rows-per-second'='" + modestLimit + "') */")
                .getJobClient().orElseThrow().getJobExecutionResult().get();
        double seconds = (CountingSinkFactory.END_NANOS.get() - CountingSinkFactory.FIRST_NANOS.get()) / 1e9;
        double achieved = (CountingSinkFactory.COUNT.sum() - modestLimit / 10.0) / seconds;
        System.out.printf("RESULT rate-limit accuracy parallelism=%d configured=%,d rows/s achieved=%,.0f rows/s"
                + " (%,d rows in %.2f s) error=%+.2f%%%n", p, modestLimit, achieved, CountingSinkFactory.COUNT.sum(),
                seconds, 100 * (achieved - modestLimit) / modestLimit);
    }

    /** Runs one INSERT INTO blackhole and returns rows per second of net job runtime. */
    private static double run(StreamTableEnvironment tEnv, String connector, long rows, int parallelism) throws Exception {
        return run(tEnv, connector, rows, parallelism, "");
    }

    /** As above, with more table options as hint text ({@code 'k'='v'}), or "". */
    private static double run(StreamTableEnvironment tEnv, String connector, long rows, int parallelism, String options)
            throws Exception {
        tEnv.getConfig().set("parallelism.default", Integer.toString(parallelism));
        String sql = "INSERT INTO sink SELECT * FROM `" + connector + "`"
                + " /*+ OPTIONS('number-of-rows'='" + rows + "'" + (options.isEmpty() ? "" : ", " + options) + ") */";
        TableResult result = tEnv.executeSql(sql);
        long millis = result.getJobClient().orElseThrow().getJobExecutionResult().get().getNetRuntime();
        return rows * 1000.0 / Math.max(1, millis);
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private DatagenBenchmark() {}
}
