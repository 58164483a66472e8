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
import org.apache.flink.types.RowKind;

import javax.annotation.Nullable;

/**
 * A scan over a Rust connector ({@link RustSource}), insert-only or a changelog, as its factory
 * declares ({@link RustDynamicTableSourceFactory#changelogMode}). Connectors that offer metadata
 * columns get the subclass {@link RustMetadataTableSource}; this class itself does not implement
 * {@code SupportsReadingMetadata}, so the planner never offers it metadata (and the factory rejects
 * {@code METADATA} columns with a clear message first).
 *
 * <p><b>Projection push-down</b> (top-level fields only): the source produces only the columns a
 * query reads, in the planner's order. The connector is still created with the table's full
 * physical row type, so every {@code fields.<column>.*} option stays valid and the row count and
 * boundedness do not depend on the query (a {@code rust-datagen} sequence column bounds the table
 * even when it is not selected); native readers drop the unread columns before encoding, so they
 * are neither encoded nor copied across the bridge (see {@code RustSourceSpec}).
 *
 * <p><b>Limit push-down</b>, for bounded insert-only sources: each reader stops after {@code limit}
 * rows. The planner keeps its Limit operator after the source, so a per-reader limit is enough.
 * Otherwise the push-down is ignored ({@link #applyLimit} has no way to refuse, and the planner's
 * Limit still applies); see {@link #applyLimit} for why.
 */
public class RustDynamicTableSource
        implements ScanTableSource, SupportsProjectionPushDown, SupportsLimitPushDown {
    /** Replaced by each push-down; subclasses replace it through {@link #setSource}. */
    private RustSource source;
    @Nullable private final Integer parallelism;
    private final ChangelogMode changelogMode;
    /** Whether {@link #applyLimit} may push a limit into the readers (the connector says so). */
    private final boolean limitPushDown;

    /** An insert-only scan (as created by tests and DataStream-style callers). */
    RustDynamicTableSource(RustSource source, @Nullable Integer parallelism) {
        this(source, parallelism, ChangelogMode.insertOnly());
    }

    RustDynamicTableSource(RustSource source, @Nullable Integer parallelism, ChangelogMode changelogMode) {
        this(source, parallelism, changelogMode, true);
    }

    RustDynamicTableSource(
            RustSource source, @Nullable Integer parallelism, ChangelogMode changelogMode, boolean limitPushDown) {
        this.source = source;
        this.parallelism = parallelism;
        this.changelogMode = changelogMode;
        this.limitPushDown = limitPushDown;
    }

    boolean limitPushDown() {
        return limitPushDown;
    }

    public RustSource source() {
        return source;
    }

    void setSource(RustSource source) {
        this.source = source;
    }

    @Nullable
    Integer parallelism() {
        return parallelism;
    }

    @Override
    public ChangelogMode getChangelogMode() {
        return changelogMode;
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
     * one. The indexes name physical columns only: for a source reading metadata the planner
     * applies the metadata keys it still needs afterwards ({@code applyReadableMetadata}), and
     * {@code producedDataType} then ends with those metadata columns. The spec derives the
     * produced type itself, so {@code producedDataType} is not needed.
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

    /**
     * Pushes the limit into bounded insert-only sources only:
     * <ul>
     *   <li>Unbounded: ending the source early would emit the final watermark and change the
     *       results of windows and timers downstream.
     *   <li>Changelog: a reader limit counts change records, not result rows. The first
     *       {@code limit} records may be rows that later records retract ({@code -U}/{@code -D}),
     *       and those would never be emitted: the query would return rows that are not in the
     *       table, or too few. The planner's Limit over a changelog needs the whole change stream.
     * </ul>
     */
    @Override
    public void applyLimit(long limit) {
        if (limitPushDown && source.getBoundedness() == Boundedness.BOUNDED && changelogMode.containsOnly(RowKind.INSERT)) {
            source = source.withLimit(limit);
        }
    }

    @Override
    public DynamicTableSource copy() {
        return new RustDynamicTableSource(source, parallelism, changelogMode, limitPushDown);
    }

    @Override
    public String asSummaryString() {
        return source.spec().connector();
    }
}
