package io.flinkrust.bridge.jni;

import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A handle to a native reader's availability signal: an epoch counter that background work bumps
 * when data may be available. Safe to use from any thread. {@link #await} holds the read lock and
 * {@link #release()} the write lock, so the handle is never freed under a waiting thread (close
 * the reader first: that wakes every waiter).
 */
public final class NativeAvailability implements AutoCloseable {
    /** {@link #await} outcomes. */
    public static final int NOTIFIED = 0;
    public static final int TIMED_OUT = 1;
    public static final int CLOSED = 2;

    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final String label;
    /** Guarded by {@link #lock}; 0 once released. */
    private long handle;

    NativeAvailability(String label, long handle) {
        this.label = label;
        this.handle = handle;
    }

    /**
     * Blocks until the epoch differs from {@code seenEpoch}, the reader closes, or
     * {@code timeoutNanos} (if &gt; 0) passes.
     *
     * @return {@link #NOTIFIED}, {@link #TIMED_OUT} or {@link #CLOSED} (also once released)
     */
    public int await(long seenEpoch, long timeoutNanos) {
        lock.readLock().lock();
        try {
            if (handle == 0) {
                return CLOSED;
            }
            return NativeBridge.availabilityAwait(handle, seenEpoch, timeoutNanos);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Frees the handle (once); waits for threads inside {@link #await} to return. */
    public void release() {
        lock.writeLock().lock();
        try {
            long h = handle;
            if (h == 0) {
                return;
            }
            handle = 0;
            try {
                NativeBridge.availabilityRelease(h);
            } finally {
                NativeLogDrain.release();
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public void close() {
        release();
    }

    @Override
    public String toString() {
        return "NativeAvailability{" + label + "}";
    }
}
