package io.flinkrust.bridge.source;

import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.groups.SourceReaderMetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.runtime.metrics.groups.InternalSourceReaderMetricGroup;
import org.apache.flink.util.SimpleUserCodeClassLoader;
import org.apache.flink.util.UserCodeClassLoader;

import java.util.ArrayList;
import java.util.List;

/** A {@link SourceReaderContext} that records split requests and events. */
final class FakeReaderContext implements SourceReaderContext {
    final int subtask;
    final int parallelism;
    int splitRequests;
    final List<SourceEvent> events = new ArrayList<>();

    /** A metric group whose counters really count (for benchmarks and metric tests); null: no-ops. */
    private final SourceReaderMetricGroup countingGroup;

    FakeReaderContext(int subtask, int parallelism) {
        this(subtask, parallelism, false);
    }

    FakeReaderContext(int subtask, int parallelism, boolean countingMetrics) {
        this(subtask, parallelism, countingMetrics
                ? InternalSourceReaderMetricGroup.wrap(UnregisteredMetricsGroup.createOperatorMetricGroup())
                : null);
    }

    FakeReaderContext(int subtask, int parallelism, SourceReaderMetricGroup group) {
        this.subtask = subtask;
        this.parallelism = parallelism;
        this.countingGroup = group;
    }

    @Override
    public SourceReaderMetricGroup metricGroup() {
        return countingGroup != null ? countingGroup : UnregisteredMetricsGroup.createSourceReaderMetricGroup();
    }

    @Override
    public Configuration getConfiguration() {
        return new Configuration();
    }

    @Override
    public String getLocalHostName() {
        return "localhost";
    }

    @Override
    public int getIndexOfSubtask() {
        return subtask;
    }

    @Override
    public void sendSplitRequest() {
        splitRequests++;
    }

    @Override
    public void sendSourceEventToCoordinator(SourceEvent sourceEvent) {
        events.add(sourceEvent);
    }

    @Override
    public UserCodeClassLoader getUserCodeClassLoader() {
        return SimpleUserCodeClassLoader.create(getClass().getClassLoader());
    }

    @Override
    public int currentParallelism() {
        return parallelism;
    }
}
