package io.flinkrust.bridge.table;

import io.flinkrust.bridge.source.RustSource;

import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.connector.source.ScanTableSource;
import org.apache.flink.table.connector.source.SourceProvider;
import org.apache.flink.table.connector.source.abilities.SupportsLimitPushDown;
import org.apache.flink.table.connector.source.abilities.SupportsProjectionPushDown;
import org.apache.flink.table.types.DataType;

import javax.annotation.Nullable;

/**
 * A scan over a Rust connector: an insert-only {@link RustSource}.
 *
 * <p><b>Projection push-down</b> (top-level fields only): the source produces only the columns a
 * query reads, in the planner's order. The connector is still created with the table's full
 * physical row type, so every {@code fields.<column>.*} option stays valid and the row count and
 * boundedness do not depend on the query (a {@code rust-datagen} sequence column bounds the table
 * even when it is not selected); native readers drop the unread columns before encoding, so they
 * are neither encoded nor copied across the bridge (see {@code RustSourceSpec}).
 *
 * <p><b>Limit push-down</b>, for bounded sources: each reader stops after {@code limit} rows. The
 * planner keeps its Limit operator after the source, so a per-reader limit is enough. For an
 * unbounded source the push-down is ignored ({@link #applyLimit} has no way to refuse, and the
 * planner's Limit still applies): ending an unbounded source early would emit the final
 * watermark and change the results of windows and timers downstream.
 */
public final class RustDynamicTableSource
        implements ScanTableSource, SupportsProjectionPushDown, SupportsLimitPushDown {
    private RustSource source;
    @Nullable private final Integer parallelism;

    RustDynamicTableSource(RustSource source, @Nullable Integer parallelism) {
        this.source = source;
        this.parallelism = parallelism;
    }

    public RustSource source() {
        return source;
    }

    @Override
    public ChangelogMode getChangelogMode() {
        return ChangelogMode.insertOnly();
    }

    @Override
    public ScanRuntimeProvider getScanRuntimeProvider(ScanContext runtimeProviderContext) {
        return SourceProvider.of(source, parallelism);
    }

    @Override
    public boolean supportsNestedProjection() {
        return false;
    }

    /**
     * Only the two-argument variant: the one-argument {@code applyProjection(int[][])} is
     * deprecated in Flink 1.x and removed in 2.x. Without nested projection each path has length
     * one, and {@code producedDataType} is the physical row type projected in the same order.
     */
    @Override
    public void applyProjection(int[][] projectedFields, DataType producedDataType) {
        int[] fields = new int[projectedFields.length];
        for (int i = 0; i < projectedFields.length; i++) {
            if (projectedFields[i].length != 1) {
                throw new IllegalArgumentException("nested projection is not supported");
            }
            fields[i] = projectedFields[i][0];
        }
        source = source.withProjection(fields);
    }

    @Override
    public void applyLimit(long limit) {
        if (source.getBoundedness() == Boundedness.BOUNDED) {
            source = source.withLimit(limit);
        }
    }

    @Override
    public DynamicTableSource copy() {
        return new RustDynamicTableSource(source, parallelism);
    }

    @Override
    public String asSummaryString() {
        return source.spec().connector();
    }
}
