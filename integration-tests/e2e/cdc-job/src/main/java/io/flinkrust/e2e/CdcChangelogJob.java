package io.flinkrust.e2e;

import io.flinkrust.bridge.datastream.RustSourceBuilder;
import io.flinkrust.bridge.source.RustSource;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.serialization.SimpleStringEncoder;
import org.apache.flink.connector.file.sink.FileSink;
import org.apache.flink.core.fs.Path;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.filesystem.rollingpolicies.OnCheckpointRollingPolicy;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.data.RowData;

import java.util.HashMap;
import java.util.Map;

/**
 * The changelog of one MySQL/MariaDB table {@code (id BIGINT PRIMARY KEY, version BIGINT NOT NULL,
 * payload VARCHAR)}, read by {@code rust-mysql-cdc} and written as one text line per change:
 *
 * <pre>kind,id,version,payload,subtask,phase</pre>
 *
 * <p>{@code kind} is the row kind ({@code +I}, {@code -U}, {@code +U}, {@code -D}), {@code subtask}
 * the source subtask that emitted the change (source, map and sink are chained, so it is the
 * reader's), {@code phase} {@code s} for a snapshot row ({@code op_ts} 0) and {@code b} for a
 * binlog change. {@code payload} must not contain commas or newlines (the test workload's never do).
 *
 * <p>Why files: Flink's {@link FileSink} with {@link OnCheckpointRollingPolicy} makes a part file
 * visible (renames it from its hidden in-progress name) only when the checkpoint that covers it
 * completes, and a restore from a checkpoint commits exactly that checkpoint's pending files and
 * truncates the in-progress ones to its offsets. The visible files are therefore exactly what
 * completed checkpoints cover: the output of an exactly-once sink, which a checker can read after
 * any number of TaskManager losses, savepoint restores and JobManager restarts.
 *
 * <p>Arguments: {@code --hostname H --port P --username U --password PW --database D --table T
 * --server-id A-B --output DIR} (required), {@code --checkpoint-interval-ms N} (1000),
 * {@code --rate-limit-rows-per-second N} (unlimited: paces the snapshot so a test can interrupt
 * it), {@code --chunk-size N} (connector default), {@code --name NAME} (job name).
 */
public final class CdcChangelogJob {
    private CdcChangelogJob() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> a = parse(args);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        // Checkpoints are what the FileSink commits on, and the binlog phase starts only after one.
        env.enableCheckpointing(Long.parseLong(a.getOrDefault("checkpoint-interval-ms", "1000")));

        RustSourceBuilder builder = RustSource.builder("rust-mysql-cdc")
                .option("hostname", required(a, "hostname"))
                .option("port", required(a, "port"))
                .option("username", required(a, "username"))
                .option("password", required(a, "password"))
                .option("database-name", required(a, "database"))
                .option("table-name", required(a, "table"))
                .option("server-id", required(a, "server-id"))
                .column("id", DataTypes.BIGINT().notNull())
                .column("version", DataTypes.BIGINT())
                .column("payload", DataTypes.STRING())
                .metadata("op_ts", DataTypes.TIMESTAMP_LTZ(3).notNull());
        if (a.containsKey("chunk-size")) {
            builder.option("scan.incremental.snapshot.chunk.size", a.get("chunk-size"));
        }
        if (a.containsKey("rate-limit-rows-per-second")) {
            builder.rateLimitRowsPerSecond(Long.parseLong(a.get("rate-limit-rows-per-second")));
        }

        env.fromSource(builder.build(), WatermarkStrategy.noWatermarks(), "rust-mysql-cdc")
                .uid("rust-mysql-cdc")
                .map(new ToLine())
                .uid("to-line")
                .name("to-line")
                .sinkTo(FileSink.forRowFormat(new Path(required(a, "output")), new SimpleStringEncoder<String>())
                        .withRollingPolicy(OnCheckpointRollingPolicy.build())
                        .build())
                .uid("changelog-files")
                .name("changelog-files");
        env.execute(a.getOrDefault("name", "cdc-changelog-e2e"));
    }

    /** A change as {@code kind,id,version,payload,subtask,phase} (see the class comment). */
    static final class ToLine extends RichMapFunction<RowData, String> {
        private static final long serialVersionUID = 1L;

        @Override
        public String map(RowData row) {
            // getTaskInfo() exists in 1.19+ and 2.x (getIndexOfThisSubtask() on the context is gone in 2.x).
            int subtask = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
            String version = row.isNullAt(1) ? "NULL" : Long.toString(row.getLong(1));
            String payload = row.isNullAt(2) ? "NULL" : row.getString(2).toString();
            boolean snapshot = row.getTimestamp(3, 3).getMillisecond() == 0;
            return row.getRowKind().shortString() + "," + row.getLong(0) + "," + version + "," + payload + ","
                    + subtask + "," + (snapshot ? "s" : "b");
        }
    }

    private static String required(Map<String, String> a, String key) {
        String v = a.get(key);
        if (v == null) {
            throw new IllegalArgumentException("missing --" + key);
        }
        return v;
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> a = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --key value pairs, got " + args[i]);
            }
            a.put(args[i].substring(2), args[++i]);
        }
        return a;
    }
}
