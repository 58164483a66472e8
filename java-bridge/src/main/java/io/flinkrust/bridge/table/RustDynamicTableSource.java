package io.flinkrust.bridge.table;

import io.flinkrust.bridge.source.RustSource;

import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.connector.source.ScanTableSource;
import org.apache.flink.table.connector.source.SourceProvider;

import javax.annotation.Nullable;

/** A scan over a Rust connector: an insert-only {@link RustSource}. */
public final class RustDynamicTableSource implements ScanTableSource {
    private final RustSource source;
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
    public DynamicTableSource copy() {
        return new RustDynamicTableSource(source, parallelism);
    }

    @Override
    public String asSummaryString() {
        return source.spec().connector();
    }
}
