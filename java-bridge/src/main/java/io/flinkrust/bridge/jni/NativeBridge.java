package io.flinkrust.bridge.jni;

/**
 * Every native function of the bridge; the Rust side is {@code rust-core/src/jni.rs}.
 *
 * <p>Native objects are opaque {@code long} handles, freed exactly once by the matching
 * {@code ...Close}/{@code ...Release}. Errors and Rust panics arrive as {@link NativeException}
 * (user errors as {@link NativeValidationException}); the JVM is never at risk.
 *
 * <p>Byte formats (all little-endian) are documented in {@code rust-core/src/protocol.rs}: split
 * lists, enumerator commands, reader responses. {@link NativeLibrary#ensureLoaded()} must run
 * before any call; the wrappers in this package do that.
 */
public final class NativeBridge {
    private NativeBridge() {}

    // ---- library ------------------------------------------------------------------------------

    static native String nativeVersion();

    /** The identifiers of the connectors in this library. */
    static native String[] connectors();

    /** Most verbose native log level captured: 0 off, 1 error, 2 warn, 3 info, 4 debug, 5 trace. */
    static native void setMaxLogLevel(int level);

    /**
     * Blocks until native log records are queued or {@link #wakeLogDrain()} is called; returns
     * flattened triples (level, target, message), empty when woken with nothing.
     */
    static native String[] awaitLogRecords();

    /** Makes the current or next {@link #awaitLogRecords()} return. */
    static native void wakeLogDrain();

    // ---- source (client side, at job submission) ------------------------------------------------

    /**
     * Validates options and row type exactly as enumerator and readers will. Returns true if the
     * source is bounded. Field types are {@code LogicalType#asSerializableString()}.
     */
    static native boolean validateSource(
            String connector, String[] optionKeys, String[] optionValues, String[] fieldNames, String[] fieldTypes);

    // ---- enumerator (JobManager; coordinator thread unless noted) ----------------------------

    /** @param restoredState enumerator state from a checkpoint, or null for a fresh start */
    static native long enumeratorCreate(
            String connector, String[] optionKeys, String[] optionValues, String[] fieldNames, String[] fieldTypes,
            int parallelism, byte[] restoredState);

    /** The methods returning byte[] return enumerator commands (protocol.rs). */
    static native byte[] enumeratorStart(long handle);

    static native byte[] enumeratorAddReader(long handle, int subtask);

    static native byte[] enumeratorHandleSplitRequest(long handle, int subtask, String hostnameOrNull);

    static native byte[] enumeratorAddSplitsBack(long handle, int subtask, byte[] splitList);

    static native byte[] enumeratorHandleSourceEvent(long handle, int subtask, byte[] event);

    /** Returns the enumerator state (not commands). */
    static native byte[] enumeratorSnapshotState(long handle, long checkpointId);

    static native byte[] enumeratorNotifyCheckpointComplete(long handle, long checkpointId);

    static native void enumeratorNotifyCheckpointAborted(long handle, long checkpointId);

    /** Runs an async task on the calling worker thread; returns its result bytes (not commands). */
    static native byte[] enumeratorRunAsync(long handle, long taskId, boolean periodic);

    /** Hands an async result (or the error message of a failed task) back; returns commands. */
    static native byte[] enumeratorHandleAsyncResult(long handle, long taskId, byte[] resultOrNull, String errorOrNull);

    static native void enumeratorClose(long handle);

    // ---- reader (TaskManager; task thread) -----------------------------------------------------

    static native long readerCreate(
            String connector, String[] optionKeys, String[] optionValues, String[] fieldNames, String[] fieldTypes,
            int subtaskIndex, int parallelism, String[] localDirs);

    /** The methods returning byte[] return a reader response (protocol.rs), except snapshotState. */
    static native byte[] readerStart(long handle);

    static native byte[] readerPollNext(long handle);

    static native byte[] readerAddSplits(long handle, byte[] splitList);

    static native byte[] readerNotifyNoMoreSplits(long handle);

    static native byte[] readerHandleSourceEvent(long handle, byte[] event);

    /** Returns the reader's splits as a split list. */
    static native byte[] readerSnapshotState(long handle, long checkpointId);

    static native void readerNotifyCheckpointComplete(long handle, long checkpointId);

    /** A new handle to the reader's availability signal; outlives the reader until released. */
    static native long readerAvailability(long handle);

    static native void readerClose(long handle);

    // ---- availability signal (any thread) ------------------------------------------------------

    /**
     * Blocks until the signal's epoch differs from {@code seenEpoch}, the reader closes, or
     * {@code timeoutNanos} (if > 0) passes. Returns 0 notified, 1 timed out, 2 closed.
     */
    static native int availabilityAwait(long handle, long seenEpoch, long timeoutNanos);

    static native void availabilityRelease(long handle);

    // ---- metrics (any thread: Flink's metric reporters read them) ------------------------------

    /** A new handle to the reader's metrics; outlives the reader until released. */
    static native long readerMetrics(long readerHandle);

    /** A new handle to the enumerator's metrics; outlives the enumerator until released. */
    static native long enumeratorMetrics(long enumeratorHandle);

    /** Changes whenever a metric is registered natively. */
    static native long metricsGeneration(long handle);

    /** Flattened pairs (kind, name) in registration order; a metric's index is its position. */
    static native String[] metricsDescribe(long handle);

    /** The value of counter, gauge or elapsed-time metric {@code index}. */
    static native long metricsLong(long handle, int index);

    /** The value of text metric {@code index}. */
    static native String metricsText(long handle, int index);

    static native void metricsRelease(long handle);
}
