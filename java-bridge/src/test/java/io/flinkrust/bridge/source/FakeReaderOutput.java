package io.flinkrust.bridge.source;

import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.SourceOutput;
import org.apache.flink.table.data.RowData;

import java.util.ArrayList;
import java.util.List;

/** A {@link ReaderOutput} keeping column 0 (BIGINT) of every row. */
final class FakeReaderOutput implements ReaderOutput<RowData> {
    final List<Long> values = new ArrayList<>();

    @Override
    public void collect(RowData record) {
        values.add(record.getLong(0));
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
