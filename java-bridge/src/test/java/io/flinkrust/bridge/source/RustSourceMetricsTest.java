package io.flinkrust.bridge.source;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.SimpleCounter;
import org.apache.flink.metrics.groups.OperatorIOMetricGroup;
import org.apache.flink.metrics.groups.SourceReaderMetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.types.logical.RowType;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The reader's metrics without Flink's runtime: rows and bytes counted per batch, native metrics
 * mirrored into the metric group, and still readable (their last value) after the reader closed,
 * when Flink's reporters may still read them.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RustSourceMetricsTest {

    /** A reader metric group that keeps what is registered, with counting IO counters. */
    static final class RecordingGroup extends UnregisteredMetricsGroup implements SourceReaderMetricGroup {
        final Map<String, Metric> metrics = new ConcurrentHashMap<>();
        final Io io = new Io();

        @Override
        public <C extends Counter> C counter(String name, C counter) {
            metrics.put(name, counter);
            return counter;
        }

        @Override
        public <T, G extends Gauge<T>> G gauge(String name, G gauge) {
            metrics.put(name, gauge);
            return gauge;
        }

        @Override
        public Counter getNumRecordsInErrorsCounter() {
            return counter("numRecordsInErrors", new SimpleCounter());
        }

        @Override
        public void setPendingBytesGauge(Gauge<Long> gauge) {
            gauge("pendingBytes", gauge);
        }

        @Override
        public void setPendingRecordsGauge(Gauge<Long> gauge) {
            gauge("pendingRecords", gauge);
        }

        @Override
        public OperatorIOMetricGroup getIOMetricGroup() {
            return io;
        }

        Object value(String name) {
            Metric m = metrics.get(name);
            return m instanceof Gauge ? ((Gauge<?>) m).getValue() : ((Counter) m).getCount();
        }
    }

    static final class Io extends UnregisteredMetricsGroup implements OperatorIOMetricGroup {
        final SimpleCounter recordsIn = new SimpleCounter();
        final SimpleCounter bytesIn = new SimpleCounter();

        @Override
        public Counter getNumRecordsInCounter() {
            return recordsIn;
        }

        @Override
        public Counter getNumRecordsOutCounter() {
            return new SimpleCounter();
        }

        @Override
        public Counter getNumBytesInCounter() {
            return bytesIn;
        }

        @Override
        public Counter getNumBytesOutCounter() {
            return new SimpleCounter();
        }

        @Override
        public MetricGroup addGroup(String name) {
            return this;
        }
    }

    private static RustSourceSpec datagen(long rows) {
        Map<String, String> options = new LinkedHashMap<>();
        options.put("number-of-rows", Long.toString(rows));
        options.put("rows-per-second", "1000000000");
        RowType rowType = (RowType) DataTypes.ROW(DataTypes.FIELD("id", DataTypes.BIGINT().notNull()))
                .notNull()
                .getLogicalType();
        return RustSourceSpec.of("rust-datagen", options, rowType);
    }

    @Test
    void rowsAndBytesAreCountedAndNativeMetricsMirrored() throws Exception {
        long rows = 10_000;
        RustSourceSpec spec = datagen(rows);
        List<NativeSplit> splits = RustSourceReaderTest.allSplits(spec);
        RecordingGroup group = new RecordingGroup();
        RustSourceReader reader = new RustSourceReader(spec, new FakeReaderContext(0, 1, group));
        try {
            reader.start();
            reader.addSplits(splits);
            assertThat(group.metrics).containsKey("pendingRecords");
            assertThat(group.value("pendingRecords")).isEqualTo(rows);
            reader.notifyNoMoreSplits();
            FakeReaderOutput output = new FakeReaderOutput();
            RustSourceReaderTest.readToEnd(reader, output);
            assertThat(output.values).hasSize((int) rows);
            assertThat(group.value("pendingRecords")).isEqualTo(0L);
        } finally {
            reader.close();
        }
        assertThat(group.io.recordsIn.getCount()).isEqualTo(rows);
        // A BinaryRowData of one BIGINT: 8 bytes of header and null bits, 8 of field.
        assertThat(group.io.bytesIn.getCount()).isEqualTo(16 * rows);
        // After close (reporters may still read): the last value read, no call on a freed handle.
        assertThat(group.value("pendingRecords")).isEqualTo(0L);
    }

    @Test
    void theBenchmarkSwitchTurnsMetricsOff() throws Exception {
        RustSourceSpec spec = datagen(1_000);
        List<NativeSplit> splits = RustSourceReaderTest.allSplits(spec);
        RecordingGroup group = new RecordingGroup();
        System.setProperty(RustSourceReader.BENCH_DISABLE_METRICS_PROPERTY, "true");
        try (RustSourceReader reader = new RustSourceReader(spec, new FakeReaderContext(0, 1, group))) {
            reader.start();
            reader.addSplits(splits);
            reader.notifyNoMoreSplits();
            RustSourceReaderTest.readToEnd(reader, new FakeReaderOutput());
        } finally {
            System.clearProperty(RustSourceReader.BENCH_DISABLE_METRICS_PROPERTY);
        }
        assertThat(group.io.recordsIn.getCount()).isZero();
        assertThat(group.metrics).doesNotContainKey("pendingRecords");
    }
}
