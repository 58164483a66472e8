package io.flinkrust.bridge.jni;

import io.flinkrust.bridge.source.NativeSplit;

import javax.annotation.Nullable;

import java.util.List;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.LongFunction;

/**
 * A native split enumerator. Flink drives it from the coordinator thread, and async tasks run
 * concurrently on Flink's worker threads ({@link #runAsync}). Every call holds the read lock and
 * checks the handle; {@link #close()} takes the write lock, so the native object is never freed
 * while a worker thread is still inside it. After close every call throws
 * {@link IllegalStateException}.
 */
public final class NativeEnumerator implements AutoCloseable {
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final String connector;
    /** Guarded by {@link #lock}; 0 once closed. */
    private long handle;

    private NativeEnumerator(String connector, long handle) {
        this.connector = connector;
        this.handle = handle;
    }

    /**
     * Creates (or, with {@code restoredState}, restores) a native enumerator.
     *
     * @param restoredState enumerator state from a checkpoint, or null for a fresh start
     */
    public static NativeEnumerator create(SourceDefinition def, int parallelism, @Nullable byte[] restoredState) {
        NativeLibrary.ensureLoaded();
        NativeLogDrain.acquire();
        try {
            long handle = NativeBridge.enumeratorCreate(
                    def.connector(),
                    def.optionKeys(),
                    def.optionValues(),
                    def.fieldNames(),
                    def.fieldTypes(),
                    parallelism,
                    restoredState);
            return new NativeEnumerator(def.connector(), handle);
        } catch (RuntimeException | Error e) {
            NativeLogDrain.release();
            throw e;
        }
    }

    public List<EnumeratorCommand> start() {
        return commands(NativeBridge::enumeratorStart);
    }

    public List<EnumeratorCommand> addReader(int subtask) {
        return commands(h -> NativeBridge.enumeratorAddReader(h, subtask));
    }

    public List<EnumeratorCommand> handleSplitRequest(int subtask, @Nullable String hostname) {
        return commands(h -> NativeBridge.enumeratorHandleSplitRequest(h, subtask, hostname));
    }

    public List<EnumeratorCommand> addSplitsBack(int subtask, List<NativeSplit> splits) {
        byte[] encoded = SplitListCodec.encode(splits);
        return commands(h -> NativeBridge.enumeratorAddSplitsBack(h, subtask, encoded));
    }

    public List<EnumeratorCommand> handleSourceEvent(int subtask, byte[] event) {
        return commands(h -> NativeBridge.enumeratorHandleSourceEvent(h, subtask, event));
    }

    /** The enumerator state (the native bytes carry their own version). */
    public byte[] snapshotState(long checkpointId) {
        return call(h -> NativeBridge.enumeratorSnapshotState(h, checkpointId));
    }

    public List<EnumeratorCommand> notifyCheckpointComplete(long checkpointId) {
        return commands(h -> NativeBridge.enumeratorNotifyCheckpointComplete(h, checkpointId));
    }

    public void notifyCheckpointAborted(long checkpointId) {
        call(h -> {
            NativeBridge.enumeratorNotifyCheckpointAborted(h, checkpointId);
            return null;
        });
    }

    /** Runs async task {@code taskId} on the calling (worker) thread; returns its result bytes. */
    public byte[] runAsync(long taskId, boolean periodic) {
        return call(h -> NativeBridge.enumeratorRunAsync(h, taskId, periodic));
    }

    /** Hands an async task's result, or the message of its failure, back to the enumerator. */
    public List<EnumeratorCommand> handleAsyncResult(long taskId, @Nullable byte[] result, @Nullable String error) {
        return commands(h -> NativeBridge.enumeratorHandleAsyncResult(h, taskId, error == null ? result : null, error));
    }

    /** A new handle to the enumerator's native metrics; the caller closes it with the enumerator. */
    public NativeMetrics metrics() {
        return new NativeMetrics(connector + " enumerator", call(NativeBridge::enumeratorMetrics));
    }

    public boolean isClosed() {
        lock.readLock().lock();
        try {
            return handle == 0;
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Frees the native enumerator (once; later calls do nothing). Waits for async tasks running
     * inside it to return.
     */
    @Override
    public void close() {
        long h;
        lock.writeLock().lock();
        try {
            h = handle;
            if (h == 0) {
                return;
            }
            handle = 0;
            try {
                NativeBridge.enumeratorClose(h);
            } finally {
                NativeLogDrain.release();
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    private List<EnumeratorCommand> commands(LongFunction<byte[]> f) {
        return EnumeratorCommand.parse(call(f));
    }

    private <T> T call(LongFunction<T> f) {
        lock.readLock().lock();
        try {
            if (handle == 0) {
                throw new IllegalStateException("the native " + connector + " enumerator is closed");
            }
            return f.apply(handle);
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public String toString() {
        return "NativeEnumerator{" + connector + (isClosed() ? ", closed" : "") + "}";
    }
}
