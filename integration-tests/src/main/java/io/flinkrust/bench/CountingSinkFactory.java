package io.flinkrust.bench;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.streaming.api.functions.sink.SinkFunction;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.sink.DynamicTableSink;
import org.apache.flink.table.connector.sink.SinkFunctionProvider;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.factories.DynamicTableSinkFactory;

import java.util.Collections;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * {@code 'connector' = 'bench-count'}: a sink for the benchmark harness that counts rows (any row
 * kind) and notes when the first arrived, in static counters the harness reads from the same JVM
 * (the MiniCluster runs in-process). It consumes {@link RowData} as the source produced it: no
 * conversion to external types, so it costs about as little per row as {@code blackhole}.
 */
public final class CountingSinkFactory implements DynamicTableSinkFactory {
    public static final String IDENTIFIER = "bench-count";

    /** Rows received by every instance since {@link #reset()}. */
    static final LongAdder COUNT = new LongAdder();
    /** {@link System#nanoTime()} of the first row since {@link #reset()}, 0 before it. */
    static final AtomicLong FIRST_NANOS = new AtomicLong();
    /** {@link System#nanoTime()} when the last instance saw its input end (bounded jobs), 0 before. */
    static final AtomicLong END_NANOS = new AtomicLong();

    static void reset() {
        COUNT.reset();
        FIRST_NANOS.set(0);
        END_NANOS.set(0);
    }

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        return Collections.emptySet();
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        return Collections.emptySet();
    }

    @Override
    public DynamicTableSink createDynamicTableSink(Context context) {
        return new CountingTableSink();
    }

    private static final class CountingTableSink implements DynamicTableSink {
        @Override
        public ChangelogMode getChangelogMode(ChangelogMode requestedMode) {
            return ChangelogMode.all();
        }

        @Override
        public SinkRuntimeProvider getSinkRuntimeProvider(Context context) {
            return SinkFunctionProvider.of(new CountingSink());
        }

        @Override
        public DynamicTableSink copy() {
            return new CountingTableSink();
        }

        @Override
        public String asSummaryString() {
            return IDENTIFIER;
        }
    }

    /** Counts rows into the static counters. */
    @SuppressWarnings("deprecation")
    private static final class CountingSink implements SinkFunction<RowData> {
        private static final long serialVersionUID = 1L;
        private transient boolean seen;

        @Override
        public void invoke(RowData value, Context context) {
            if (!seen) {
                seen = true;
                FIRST_NANOS.compareAndSet(0, System.nanoTime());
            }
            COUNT.increment();
        }

        @Override
        public void finish() {
            END_NANOS.accumulateAndGet(System.nanoTime(), Math::max);
        }
    }
}
