package io.flinkrust.bridge.source;

import org.apache.flink.api.connector.source.ReaderInfo;
import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.connector.source.SplitsAssignment;
import org.apache.flink.metrics.groups.SplitEnumeratorMetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.BiConsumer;

/**
 * A {@link SplitEnumeratorContext} that records what the enumerator decided; async calls queue up
 * until the test runs them ({@link #runNextAsync()}: the callable, then the handler). Like Flink's,
 * it refuses splits and "no more splits" for a reader that is not registered
 * ({@link #registerReader}).
 */
final class FakeEnumeratorContext implements SplitEnumeratorContext<NativeSplit> {
    final int parallelism;
    final Map<Integer, List<NativeSplit>> assigned = new HashMap<>();
    final Set<Integer> noMoreSplits = new HashSet<>();
    final List<Map.Entry<Integer, SourceEvent>> events = new ArrayList<>();
    final Deque<Runnable> asyncCalls = new ArrayDeque<>();
    final List<long[]> periodicSchedules = new ArrayList<>();
    final Map<Integer, ReaderInfo> readers = new HashMap<>();

    FakeEnumeratorContext(int parallelism) {
        this.parallelism = parallelism;
    }

    @Override
    public SplitEnumeratorMetricGroup metricGroup() {
        return UnregisteredMetricsGroup.createSplitEnumeratorMetricGroup();
    }

    @Override
    public void sendEventToSourceReader(int subtaskId, SourceEvent event) {
        events.add(Map.entry(subtaskId, event));
    }

    @Override
    public int currentParallelism() {
        return parallelism;
    }

    @Override
    public Map<Integer, ReaderInfo> registeredReaders() {
        return readers;
    }

    /** A reader (attempt) registered, as Flink records it before calling {@code addReader}. */
    void registerReader(int subtask) {
        readers.put(subtask, new ReaderInfo(subtask, "localhost"));
    }

    /** Flink drops a failed attempt's reader at once; the enumerator hears of it later. */
    void unregisterReader(int subtask) {
        readers.remove(subtask);
    }

    @Override
    public void assignSplits(SplitsAssignment<NativeSplit> newSplitAssignments) {
        newSplitAssignments.assignment().forEach((subtask, splits) -> {
            if (!readers.containsKey(subtask)) {
                // Flink's SourceCoordinatorContext#assignSplits, which fails the job.
                throw new IllegalArgumentException(String.format(
                        "Cannot assign splits %s to subtask %d because the subtask is not registered.",
                        splits, subtask));
            }
        });
        newSplitAssignments.assignment().forEach(
                (subtask, splits) -> assigned.computeIfAbsent(subtask, s -> new ArrayList<>()).addAll(splits));
    }

    @Override
    public void signalNoMoreSplits(int subtask) {
        if (!readers.containsKey(subtask)) {
            // Flink's fails with a NullPointerException looking up the reader's attempts.
            throw new IllegalStateException("no registered reader for subtask " + subtask);
        }
        noMoreSplits.add(subtask);
    }

    @Override
    public <T> void callAsync(Callable<T> callable, BiConsumer<T, Throwable> handler) {
        asyncCalls.add(() -> {
            T result = null;
            Throwable error = null;
            try {
                result = callable.call();
            } catch (Throwable t) {
                error = t;
            }
            handler.accept(result, error);
        });
    }

    @Override
    public <T> void callAsync(
            Callable<T> callable, BiConsumer<T, Throwable> handler, long initialDelay, long period) {
        periodicSchedules.add(new long[] {initialDelay, period});
        callAsync(callable, handler);
    }

    @Override
    public void runInCoordinatorThread(Runnable runnable) {
        runnable.run();
    }

    void runNextAsync() {
        asyncCalls.removeFirst().run();
    }
}
