package io.flinkrust.examples;

import io.flinkrust.bridge.source.RustSource;

import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.serialization.SimpleStringEncoder;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple4;
import org.apache.flink.connector.file.sink.FileSink;
import org.apache.flink.core.fs.Path;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.data.RowData;

/**
 * Reads {@code rust-datagen} through the bridge's DataStream builder, counts rows and sums two
 * columns per category (a keyed reduce), and prints one line per category.
 *
 * <p>Arguments (all optional): {@code --rows N} (default 100000), {@code --categories K} (5),
 * {@code --output DIR}: also write every row as a CSV line {@code id,category,amount} into text
 * files under {@code DIR} (a path or a URI of any Flink file system), with Flink's
 * {@link FileSink}.
 *
 * <p>The source is bounded, so the job runs in BATCH mode and each category's line is its final
 * total; the ids are a sequence 1..N, so the sum of all id sums is N(N+1)/2 at any parallelism.
 */
public final class DatagenCountsJob {
    private DatagenCountsJob() {}

    public static void main(String[] args) throws Exception {
        long rows = 100_000;
        int categories = 5;
        String output = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--rows") && i + 1 < args.length) {
                rows = Long.parseLong(args[++i]);
            } else if (args[i].equals("--categories") && i + 1 < args.length) {
                categories = Integer.parseInt(args[++i]);
            } else if (args[i].equals("--output") && i + 1 < args.length) {
                output = args[++i];
            } else {
                throw new IllegalArgumentException(
                        "unknown argument " + args[i] + "; usage: [--rows N] [--categories K] [--output DIR]");
            }
        }

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setRuntimeMode(RuntimeExecutionMode.BATCH);

        RustSource source = RustSource.builder("rust-datagen")
                .option("number-of-rows", Long.toString(rows))
                // datagen's default is 10000 rows/s for the whole source; let it run flat out.
                .option("rows-per-second", "100000000")
                .option("fields.id.kind", "sequence")
                .option("fields.id.start", "1")
                .option("fields.id.end", Long.toString(rows))
                .option("fields.category.min", "0")
                .option("fields.category.max", Integer.toString(categories - 1))
                .option("fields.amount.min", "1")
                .option("fields.amount.max", "100")
                .column("id", DataTypes.BIGINT().notNull())
                .column("category", DataTypes.INT().notNull())
                .column("amount", DataTypes.DOUBLE().notNull())
                .build();

        DataStream<RowData> generated = env.fromSource(source, WatermarkStrategy.noWatermarks(), "rust-datagen");

        if (output != null) {
            // One line per row: the raw data behind the totals (and a way to check exactly-once).
            generated
                    .map(r -> r.getLong(0) + "," + r.getInt(1) + "," + r.getDouble(2))
                    .returns(Types.STRING)
                    .sinkTo(FileSink.forRowFormat(new Path(output), new SimpleStringEncoder<String>()).build())
                    .name("rows to " + output);
        }

        generated
                // (category, rows, sum of ids, sum of amounts)
                .map(r -> Tuple4.of(r.getInt(1), 1L, r.getLong(0), r.getDouble(2)))
                .returns(Types.TUPLE(Types.INT, Types.LONG, Types.LONG, Types.DOUBLE))
                .keyBy(t -> t.f0)
                .reduce((a, b) -> Tuple4.of(a.f0, a.f1 + b.f1, a.f2 + b.f2, a.f3 + b.f3))
                .map(t -> String.format("category=%d rows=%d sum(id)=%d avg(amount)=%.2f", t.f0, t.f1, t.f2, t.f3 / t.f1))
                .returns(Types.STRING)
                .print();

        env.execute("rust-datagen counts per category");
    }
}
