package io.flinkrust.bridge.source;

import org.apache.flink.core.io.InputStatus;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.types.logical.RowType;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;

/** Drives enumerator and readers directly, without Flink's runtime. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RustSourceReaderTest {

    static RustSourceSpec testkit(String... options) {
        Map<String, String> map = new LinkedHashMap<>();
        for (int i = 0; i < options.length; i += 2) {
            map.put(options[i], options[i + 1]);
        }
        RowType rowType = (RowType) DataTypes.ROW(DataTypes.FIELD("id", DataTypes.BIGINT().notNull()))
                .notNull()
                .getLogicalType();
        return RustSourceSpec.of("rust-testkit", map, rowType);
    }

    /** All splits of a testkit source, from its enumerator (one reader asking until told "no more"). */
    static List<NativeSplit> allSplits(RustSourceSpec spec) throws Exception {
        FakeEnumeratorContext context = new FakeEnumeratorContext(1);
        try (RustSplitEnumerator enumerator = new RustSplitEnumerator(spec, context, null)) {
            enumerator.start();
            context.registerReader(0);
            enumerator.addReader(0);
            while (!context.noMoreSplits.contains(0)) {
                enumerator.handleSplitRequest(0, "localhost");
            }
        }
        return context.assigned.get(0);
    }

    /** Polls until end of input, waiting on isAvailable() when there is nothing. */
    static void readToEnd(RustSourceReader reader, FakeReaderOutput output) throws Exception {
        while (true) {
            InputStatus status = reader.pollNext(output);
            if (status == InputStatus.END_OF_INPUT) {
                return;
            }
            if (status == InputStatus.NOTHING_AVAILABLE) {
                reader.isAvailable().get(30, TimeUnit.SECONDS);
            }
        }
    }

    static List<Long> range(long n) {
        return LongStream.range(0, n).boxed().collect(Collectors.toList());
    }

    @Test
    void aRestoredReaderContinuesExactlyWhereTheSnapshotWas() throws Exception {
        // Two splits of 10000 rows; a batch is at most 4096 rows, so one poll reads part of a split.
        RustSourceSpec spec = testkit("rows", "20000", "splits", "2");
        List<NativeSplit> splits = allSplits(spec);
        assertThat(splits).hasSize(2);

        FakeReaderOutput before = new FakeReaderOutput();
        List<NativeSplit> snapshot;
        FakeReaderContext context = new FakeReaderContext(0, 1);
        RustSourceReader first = new RustSourceReader(spec, context);
        try {
            first.start();
            assertThat(context.splitRequests).isEqualTo(1);
            first.addSplits(splits);
            assertThat(first.pollNext(before)).isEqualTo(InputStatus.MORE_AVAILABLE);
            assertThat(first.pollNext(before)).isEqualTo(InputStatus.MORE_AVAILABLE);
            snapshot = first.snapshotState(1L);
            first.notifyCheckpointComplete(1L);
            // Rows after the snapshot are lost with the reader, as in a failure.
            first.pollNext(new FakeReaderOutput());
        } finally {
            first.close();
        }
        assertThat(before.values).hasSizeBetween(1, 19_999);
        assertThat(snapshot).isNotEmpty();

        // Through the split serializer, as a checkpoint would store them.
        List<NativeSplit> restored = new ArrayList<>();
        for (NativeSplit split : snapshot) {
            restored.add(NativeSplitSerializer.INSTANCE.deserialize(
                    NativeSplitSerializer.VERSION, NativeSplitSerializer.INSTANCE.serialize(split)));
        }
        FakeReaderOutput after = new FakeReaderOutput();
        RustSourceReader second = new RustSourceReader(spec, new FakeReaderContext(0, 1));
        try {
            second.start();
            second.addSplits(restored);
            second.notifyNoMoreSplits();
            readToEnd(second, after);
        } finally {
            second.close();
        }

        List<Long> all = new ArrayList<>(before.values);
        all.addAll(after.values);
        assertThat(all).containsExactlyInAnyOrderElementsOf(range(20_000));
    }

    @Test
    void availabilityFollowsTheNativeSignal() throws Exception {
        RustSourceSpec spec = testkit("rows", "300", "splits", "3", "data-delay", "50 ms");
        List<NativeSplit> splits = allSplits(spec);
        FakeReaderOutput output = new FakeReaderOutput();
        RustSourceReader reader = new RustSourceReader(spec, new FakeReaderContext(0, 1));
        try {
            reader.start();
            // Nothing yet: the reader waits for its splits.
            assertThat(reader.pollNext(output)).isEqualTo(InputStatus.NOTHING_AVAILABLE);
            CompletableFuture<Void> waiting = reader.isAvailable();
            assertThat(reader.isAvailable()).isSameAs(waiting);
            // New splits complete the pending future at once.
            reader.addSplits(splits);
            assertThat(waiting).isDone();
            reader.notifyNoMoreSplits();
            // Every split's data arrives only after the delay, through the waiter thread.
            readToEnd(reader, output);
        } finally {
            reader.close();
        }
        assertThat(output.values).containsExactlyInAnyOrderElementsOf(range(300));
        assertThat(Thread.getAllStackTraces().keySet())
                .noneMatch(t -> t.getName().startsWith("rust-source-availability-"));
    }

    @Test
    void finishedSplitsAreReportedToTheEnumeratorAsEvents() throws Exception {
        RustSourceSpec spec = testkit("rows", "100", "splits", "2", "finish-acks", "true");
        FakeEnumeratorContext enumContext = new FakeEnumeratorContext(1);
        FakeReaderContext readerContext = new FakeReaderContext(0, 1);
        FakeReaderOutput output = new FakeReaderOutput();
        try (RustSplitEnumerator enumerator = new RustSplitEnumerator(spec, enumContext, null)) {
            enumerator.start();
            enumContext.registerReader(0);
            enumerator.addReader(0);
            RustSourceReader reader = new RustSourceReader(spec, readerContext);
            try {
                reader.start();
                int delivered = 0;
                for (int round = 0; round < 100 && !enumContext.noMoreSplits.contains(0); round++) {
                    // Forward split requests and events from the reader to the enumerator ...
                    for (; readerContext.splitRequests > 0; readerContext.splitRequests--) {
                        enumerator.handleSplitRequest(0, "localhost");
                    }
                    for (org.apache.flink.api.connector.source.SourceEvent e : readerContext.events) {
                        enumerator.handleSourceEvent(0, e);
                    }
                    readerContext.events.clear();
                    // ... and new splits back to the reader.
                    List<NativeSplit> assigned = enumContext.assigned.getOrDefault(0, List.of());
                    if (assigned.size() > delivered) {
                        reader.addSplits(new ArrayList<>(assigned.subList(delivered, assigned.size())));
                        delivered = assigned.size();
                    }
                    if (enumContext.noMoreSplits.contains(0)) {
                        break;
                    }
                    if (reader.pollNext(output) == InputStatus.NOTHING_AVAILABLE
                            && readerContext.splitRequests == 0 && readerContext.events.isEmpty()) {
                        reader.isAvailable().get(30, TimeUnit.SECONDS);
                    }
                }
                assertThat(enumContext.noMoreSplits).containsExactly(0);
                reader.notifyNoMoreSplits();
                readToEnd(reader, output);
            } finally {
                reader.close();
            }
        }
        assertThat(output.values).containsExactlyInAnyOrderElementsOf(range(100));
    }

    @Test
    void asyncDiscoveryRunsThroughCallAsync() throws Exception {
        RustSourceSpec spec = testkit("rows", "10", "splits", "2", "discovery", "async");
        FakeEnumeratorContext context = new FakeEnumeratorContext(1);
        try (RustSplitEnumerator enumerator = new RustSplitEnumerator(spec, context, null)) {
            enumerator.start();
            context.registerReader(0);
            enumerator.addReader(0);
            enumerator.handleSplitRequest(0, null);
            assertThat(context.assigned).isEmpty();
            assertThat(context.asyncCalls).hasSize(1);
            context.runNextAsync();
            assertThat(context.assigned.get(0)).hasSize(1);

            // A checkpoint now holds the remaining split; a restored enumerator serves it.
            EnumeratorCheckpoint checkpoint = EnumeratorCheckpointSerializer.INSTANCE.deserialize(
                    EnumeratorCheckpointSerializer.VERSION,
                    EnumeratorCheckpointSerializer.INSTANCE.serialize(enumerator.snapshotState(1L)));
            FakeEnumeratorContext restoredContext = new FakeEnumeratorContext(1);
            try (RustSplitEnumerator restored = new RustSplitEnumerator(spec, restoredContext, checkpoint.state())) {
                restored.start();
                restoredContext.registerReader(0);
                restored.addReader(0);
                restored.handleSplitRequest(0, null);
                assertThat(restoredContext.asyncCalls).isEmpty();
                assertThat(restoredContext.assigned.get(0)).hasSize(1);
                assertThat(restoredContext.assigned.get(0)).doesNotContainAnyElementsOf(context.assigned.get(0));
            }
        }
    }

    @Test
    void anAsyncTaskThatRacesWithCloseIsDropped() throws Exception {
        RustSourceSpec spec = testkit("discovery", "async");
        FakeEnumeratorContext context = new FakeEnumeratorContext(1);
        RustSplitEnumerator enumerator = new RustSplitEnumerator(spec, context, null);
        enumerator.start();
        enumerator.close();
        // The worker finds the enumerator closed; the handler drops the failure.
        context.runNextAsync();
        assertThat(context.assigned).isEmpty();
        enumerator.close();
    }

    @Test
    void localDirectoriesAreFlinksTemporaryDirectories() {
        org.apache.flink.configuration.Configuration config = new org.apache.flink.configuration.Configuration();
        assertThat(RustSourceReader.localDirs(config)).containsExactly(System.getProperty("java.io.tmpdir"));
        config.set(org.apache.flink.configuration.ConfigOptions.key("io.tmp.dirs").stringType().noDefaultValue(), "/data/1/tmp, /data/2/tmp" + java.io.File.pathSeparator + "/data/3/tmp");
        assertThat(RustSourceReader.localDirs(config)).containsExactly("/data/1/tmp", "/data/2/tmp", "/data/3/tmp");
    }
}
