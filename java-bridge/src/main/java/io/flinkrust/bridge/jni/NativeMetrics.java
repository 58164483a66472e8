package io.flinkrust.bridge.jni;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.LongFunction;

/**
 * The metrics a native reader or enumerator registered ({@code rust-core/src/metrics.rs}),
 * mirrored into a Flink {@link MetricGroup}: native counters become Flink {@link Counter}s, native
 * gauges and elapsed-time gauges {@code Gauge<Long>}, text gauges {@code Gauge<String>}.
 *
 * <p>Values stay native (atomics): each read by Flink's metric reporter thread is one JNI call,
 * so nothing is copied on the task thread. The handle outlives the native reader or enumerator
 * (reporters may read after the task closed); {@link #close()} frees it under a write lock, after
 * which every metric returns the last value it read.
 *
 * <p>{@link #registerNew} is called by the owner (task or coordinator thread) when the native
 * side may have registered metrics; it costs one JNI call when nothing changed.
 */
public final class NativeMetrics implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NativeMetrics.class);

    /** Kind numbers, as {@code MetricKind} in {@code rust-core/src/metrics.rs}. */
    static final int COUNTER = 1;
    static final int GAUGE = 2;
    static final int TEXT = 3;
    static final int ELAPSED = 4;

    private final String label;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    /** Guarded by {@link #lock}; 0 once closed. */
    private long handle;
    /** Owner thread only. */
    private long seenGeneration = Long.MIN_VALUE;
    /** Native metrics already mirrored (owner thread only): they are indexed in registration order. */
    private int mirrored;

    NativeMetrics(String label, long handle) {
        this.label = label;
        this.handle = handle;
    }

    /** Registers on {@code group} every native metric registered since the last call. */
    public void registerNew(MetricGroup group) {
        Long generation = read(NativeBridge::metricsGeneration);
        if (generation == null || generation == seenGeneration) {
            return;
        }
        String[] described = read(NativeBridge::metricsDescribe);
        if (described == null) {
            return;
        }
        for (int i = mirrored; 2 * i + 1 < described.length; i++) {
            register(group, Integer.parseInt(described[2 * i]), described[2 * i + 1], i);
        }
        mirrored = described.length / 2;
        seenGeneration = generation;
    }

    private void register(MetricGroup group, int kind, String name, int index) {
        switch (kind) {
            case COUNTER:
                group.counter(name, new NativeCounter(index));
                break;
            case GAUGE:
            case ELAPSED:
                group.gauge(name, new LongGauge(index));
                break;
            case TEXT:
                group.gauge(name, new TextGauge(index));
                break;
            default:
                LOG.warn("{}: native metric '{}' has unknown kind {}; not shown", label, name, kind);
        }
    }

    /** Under the read lock; null once closed or when the native read failed. */
    private <T> T read(LongFunction<T> f) {
        lock.readLock().lock();
        try {
            return handle == 0 ? null : f.apply(handle);
        } catch (RuntimeException e) {
            LOG.debug("{}: reading native metrics failed", label, e);
            return null;
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Frees the native handle (once); metrics then keep their last value. */
    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (handle != 0) {
                NativeBridge.metricsRelease(handle);
                handle = 0;
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    private final class LongGauge implements Gauge<Long> {
        private final int index;
        private volatile long last;

        LongGauge(int index) {
            this.index = index;
        }

        @Override
        public Long getValue() {
            Long v = read(h -> NativeBridge.metricsLong(h, index));
            if (v != null) {
                last = v;
            }
            return last;
        }
    }

    private final class TextGauge implements Gauge<String> {
        private final int index;
        private volatile String last = "";

        TextGauge(int index) {
            this.index = index;
        }

        @Override
        public String getValue() {
            String v = read(h -> NativeBridge.metricsText(h, index));
            if (v != null) {
                last = v;
            }
            return last;
        }
    }

    /** A native count; Flink only reads it (inc/dec come from native code). */
    private final class NativeCounter implements Counter {
        private final int index;
        private volatile long last;

        NativeCounter(int index) {
            this.index = index;
        }

        @Override
        public void inc() {}

        @Override
        public void inc(long n) {}

        @Override
        public void dec() {}

        @Override
        public void dec(long n) {}

        @Override
        public long getCount() {
            Long v = read(h -> NativeBridge.metricsLong(h, index));
            if (v != null) {
                last = v;
            }
            return last;
        }
    }

    @Override
    public String toString() {
        return "NativeMetrics{" + label + "}";
    }
}
