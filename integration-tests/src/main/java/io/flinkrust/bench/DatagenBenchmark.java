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
 * <p>Arguments: {@code --rows N} (default 10,000,000), {@code --parallelism 1,2}, {@code --reps 3}.
 */
public final class DatagenBenchmark {
    /** Four columns, all random; strings of 10 characters. */
    private static final String COLUMNS = "id BIGINT, v INT, price DOUBLE, name STRING";

    public static void main(String[] args) throws Exception {
        long rows = 10_000_000L;
        List<Integer> parallelisms = List.of(1, 2);
        int reps = 3;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--rows": rows = Long.parseLong(args[i + 1]); break;
                case "--parallelism":
                    parallelisms = new ArrayList<>();
                    for (String p : args[i + 1].split(",")) parallelisms.add(Integer.parseInt(p.trim()));
                    break;
                case "--reps": reps = Integer.parseInt(args[i + 1]); break;
                default: throw new IllegalArgumentException("unknown argument " + args[i] + "; use --rows, --parallelism, --reps");
            }
        }
        int maxParallelism = Collections.max(parallelisms);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(maxParallelism, new Configuration());
        StreamTableEnvironment tEnv = StreamTableEnvironment.create(env);
        tEnv.executeSql("CREATE TABLE sink (" + COLUMNS + ") WITH ('connector' = 'blackhole')");
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

        for (int p : parallelisms) {
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
        metricsOverhead(tEnv, rows, parallelisms, reps);
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

    /** Runs one INSERT INTO blackhole and returns rows per second of net job runtime. */
    private static double run(StreamTableEnvironment tEnv, String connector, long rows, int parallelism) throws Exception {
        tEnv.getConfig().set("parallelism.default", Integer.toString(parallelism));
        String sql = "INSERT INTO sink SELECT * FROM `" + connector + "`"
                + " /*+ OPTIONS('number-of-rows'='" + rows + "') */";
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
