package io.flinkrust.bridge.source;

import org.apache.flink.core.io.InputStatus;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.types.logical.RowType;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Benchmark harness (not a test; {@code make bench} runs it): the bridge's own cost per row,
 * apart from Flink's runtime. A {@code rust-datagen} reader with the benchmark schema is driven
 * through {@link RustSourceReader} exactly as Flink's task thread would: one JNI call per batch,
 * one byte[] copy, a {@code BinaryRowData} view per row handed to an output that reads one field.
 *
 * <p>Compare with {@code cargo run --release -p flink-rust-bridge --example bridge_cost}, which
 * times generation and encoding without JNI on the same schema: JNI crossing + row wrapping per
 * row = this figure minus its "generation+encoding" figure.
 */
public final class BridgeCostBenchmark {

    /** Rows seen and a checksum of one field: the row views are really read. */
    private static long rowsSeen;
    private static long checksum;

    public static void main(String[] args) throws Exception {
        long rows = args.length > 0 ? Long.parseLong(args[0]) : 20_000_000L;
        run(spec(rows / 10), rows / 10); // warm-up: JIT, native library
        double best = Double.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            best = Math.min(best, run(spec(rows), rows));
        }
        System.out.printf("BridgeCostBenchmark: %,d rows of (id BIGINT, v INT, price DOUBLE, name STRING(10)), one thread, best of 3%n", rows);
        System.out.printf("RESULT through-jni=%.1f ns/row (%.1f M rows/s): generation + encoding + JNI crossing + row views%n",
                best, 1e3 / best);
        metricsOverhead(rows);
    }

    /**
     * The reader's metrics (row and byte counters per batch, native metric mirroring) on and off
     * ({@link RustSourceReader#BENCH_DISABLE_METRICS_PROPERTY}), alternating which goes first, best of 10 each: the
     * per-row cost without Flink's scheduling, which the end-to-end figure cannot resolve.
     */
    private static void metricsOverhead(long rows) throws Exception {
        double on = Double.MAX_VALUE;
        double off = Double.MAX_VALUE;
        try {
            for (int i = 0; i < 10; i++) {
                // Alternating which goes first cancels order effects (GC of the previous run).
                for (boolean metricsOn : i % 2 == 0 ? new boolean[] {false, true} : new boolean[] {true, false}) {
                    System.setProperty(RustSourceReader.BENCH_DISABLE_METRICS_PROPERTY, Boolean.toString(!metricsOn));
                    double nsPerRow = run(spec(rows), rows);
                    if (metricsOn) {
                        on = Math.min(on, nsPerRow);
                    } else {
                        off = Math.min(off, nsPerRow);
                    }
                }
            }
        } finally {
            System.clearProperty(RustSourceReader.BENCH_DISABLE_METRICS_PROPERTY);
        }
        System.out.printf("RESULT metrics-overhead through-jni: on=%.2f ns/row off=%.2f ns/row overhead=%.2f%%%n",
                on, off, 100.0 * (on - off) / off);
    }

    /** The benchmark schema with {@code rows} rows, unthrottled. */
    private static RustSourceSpec spec(long rows) {
        Map<String, String> options = new LinkedHashMap<>();
        options.put("number-of-rows", Long.toString(rows));
        options.put("rows-per-second", "1000000000");
        options.put("fields.name.length", "10");
        RowType rowType = (RowType) DataTypes.ROW(
                        DataTypes.FIELD("id", DataTypes.BIGINT()),
                        DataTypes.FIELD("v", DataTypes.INT()),
                        DataTypes.FIELD("price", DataTypes.DOUBLE()),
                        DataTypes.FIELD("name", DataTypes.STRING()))
                .getLogicalType();
        return RustSourceSpec.of("rust-datagen", options, rowType);
    }

    /** Reads every row once; returns nanoseconds per row. */
    private static double run(RustSourceSpec spec, long rows) throws Exception {
        List<NativeSplit> splits = RustSourceReaderTest.allSplits(spec);
        rowsSeen = 0;
        FakeReaderOutput output = new FakeReaderOutput(row -> {
            rowsSeen++;
            checksum += row.getInt(1);
        });
        try (RustSourceReader reader = new RustSourceReader(spec, new FakeReaderContext(0, 1, true))) {
            reader.start();
            reader.addSplits(splits);
            reader.notifyNoMoreSplits();
            long start = System.nanoTime();
            InputStatus status;
            do {
                status = reader.pollNext(output);
                if (status == InputStatus.NOTHING_AVAILABLE) {
                    reader.isAvailable().get();
                }
            } while (status != InputStatus.END_OF_INPUT);
            long elapsed = System.nanoTime() - start;
            if (rowsSeen != rows) {
                throw new IllegalStateException("read " + rowsSeen + " rows, expected " + rows);
            }
            return (double) elapsed / rows;
        }
    }

    private BridgeCostBenchmark() {}
}
