package io.flinkrust.bridge.source;

import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.SourceOutput;
import org.apache.flink.table.data.RowData;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * A {@link ReaderOutput} handing every row to a consumer; by default it keeps column 0 (BIGINT)
 * of every row in {@link #values}.
 */
final class FakeReaderOutput implements ReaderOutput<RowData> {
    final List<Long> values = new ArrayList<>();
    private final Consumer<RowData> rows;

    FakeReaderOutput() {
        this.rows = row -> values.add(row.getLong(0));
    }

    FakeReaderOutput(Consumer<RowData> rows) {
        this.rows = rows;
    }

    @Override
    public void collect(RowData record) {
        rows.accept(record);
    }

    @Override
    public void collect(RowData record, long timestamp) {
        collect(record);
    }

    @Override
    public void emitWatermark(Watermark watermark) {}

    @Override
    public void markIdle() {}

    @Override
    public void markActive() {}

    @Override
    public SourceOutput<RowData> createOutputForSplit(String splitId) {
        return this;
    }

    @Override
    public void releaseOutputForSplit(String splitId) {}
}
