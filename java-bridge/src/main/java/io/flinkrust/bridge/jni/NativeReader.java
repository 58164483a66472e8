package io.flinkrust.bridge.jni;

import io.flinkrust.bridge.source.NativeSplit;

import java.util.List;
import java.util.function.LongFunction;

/**
 * A native source reader. Driven by one thread (Flink's task thread); the only part another
 * thread touches is its {@link NativeAvailability} signal, which has its own handle. After
 * {@link #close()} every call throws {@link IllegalStateException}.
 */
public final class NativeReader implements AutoCloseable {
    private final String label;
    /** 0 once closed. */
    private long handle;

    private NativeReader(String label, long handle) {
        this.label = label;
        this.handle = handle;
    }

    /** A reader outside a TaskManager: temporary files go to the system temporary directory. */
    public static NativeReader create(SourceDefinition def, int subtaskIndex, int parallelism) {
        return create(def, subtaskIndex, parallelism, new String[0]);
    }

    /**
     * @param localDirs the TaskManager's directories for temporary files (Flink's {@code io.tmp.dirs}),
     *     for readers that keep files on local disk
     */
    public static NativeReader create(SourceDefinition def, int subtaskIndex, int parallelism, String[] localDirs) {
        NativeLibrary.ensureLoaded();
        NativeLogDrain.acquire();
        try {
            long handle = NativeBridge.readerCreate(
                    def.connector(),
                    def.optionKeys(),
                    def.optionValues(),
                    def.fieldNames(),
                    def.fieldTypes(),
                    subtaskIndex,
                    parallelism,
                    localDirs);
            return new NativeReader(def.connector() + " reader " + (subtaskIndex + 1) + "/" + parallelism, handle);
        } catch (RuntimeException | Error e) {
            NativeLogDrain.release();
            throw e;
        }
    }

    public ReaderResponse start() {
        return response(NativeBridge::readerStart);
    }

    /** One poll: a batch of rows, nothing available (and what to wait for), or end of input. */
    public ReaderResponse pollNext() {
        return response(NativeBridge::readerPollNext);
    }

    public ReaderResponse addSplits(List<NativeSplit> splits) {
        byte[] encoded = SplitListCodec.encode(splits);
        return response(h -> NativeBridge.readerAddSplits(h, encoded));
    }

    public ReaderResponse notifyNoMoreSplits() {
        return response(NativeBridge::readerNotifyNoMoreSplits);
    }

    public ReaderResponse handleSourceEvent(byte[] event) {
        return response(h -> NativeBridge.readerHandleSourceEvent(h, event));
    }

    /** The current state of every split the reader still owns. */
    public List<NativeSplit> snapshotState(long checkpointId) {
        byte[] list = call(h -> NativeBridge.readerSnapshotState(h, checkpointId));
        return SplitListCodec.decode(list);
    }

    public void notifyCheckpointComplete(long checkpointId) {
        call(h -> {
            NativeBridge.readerNotifyCheckpointComplete(h, checkpointId);
            return null;
        });
    }

    /**
     * A new handle to the reader's availability signal. It outlives the reader; the caller
     * releases it once no thread waits on it any more.
     */
    public NativeAvailability availability() {
        NativeLogDrain.acquire();
        try {
            return new NativeAvailability(label, call(NativeBridge::readerAvailability));
        } catch (RuntimeException | Error e) {
            NativeLogDrain.release();
            throw e;
        }
    }

    /**
     * A new handle to the reader's native metrics. It outlives the reader (Flink's reporters may
     * read after the task closed); the caller closes it when the reader closes.
     */
    public NativeMetrics metrics() {
        return new NativeMetrics(label, call(NativeBridge::readerMetrics));
    }

    public boolean isClosed() {
        return handle == 0;
    }

    /** Frees the native reader (once; later calls do nothing) and wakes its availability waiters. */
    @Override
    public void close() {
        long h = handle;
        if (h == 0) {
            return;
        }
        handle = 0;
        try {
            NativeBridge.readerClose(h);
        } finally {
            NativeLogDrain.release();
        }
    }

    private ReaderResponse response(LongFunction<byte[]> f) {
        return ReaderResponse.parse(call(f));
    }

    private <T> T call(LongFunction<T> f) {
        long h = handle;
        if (h == 0) {
            throw new IllegalStateException("the native " + label + " is closed");
        }
        return f.apply(h);
    }

    @Override
    public String toString() {
        return "NativeReader{" + label + (handle == 0 ? ", closed" : "") + "}";
    }
}
