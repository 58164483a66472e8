package io.flinkrust.bridge.source;

import io.flinkrust.bridge.jni.NativeAvailability;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.CompletableFuture;

/**
 * The daemon thread that completes a reader's {@code isAvailable()} future when its native reader
 * may have data: it blocks in {@link NativeAvailability#await} (epoch changed, or the reader's
 * retry-after deadline passed), never busy-waits and never sleeps.
 *
 * <p>One request is pending at a time. A new request, or a wake-up from the task thread (new
 * splits, events), completes the previous future. Every such wake-up follows a native reader call,
 * and the native runtime bumps the availability epoch after each one, so a native wait begun for
 * an older request returns at once and the thread moves on to the newest request. Without a
 * retry-after deadline the native wait has no timeout: an idle reader costs nothing.
 */
final class AvailabilityWaiter {
    private static final Logger LOG = LoggerFactory.getLogger(AvailabilityWaiter.class);

    private final NativeAvailability signal;
    private final Thread thread;
    private final Object lock = new Object();

    // All guarded by lock.
    private CompletableFuture<Void> pending;
    private long pendingEpoch;
    private long pendingRetryNanos;
    private long pendingSince;
    private boolean stopped;
    private RuntimeException failure;

    AvailabilityWaiter(NativeAvailability signal, String threadName) {
        this.signal = signal;
        this.thread = new Thread(this::run, threadName);
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Completes {@code future} once the epoch differs from {@code epoch} or, if
     * {@code retryAfterNanos} &gt; 0, at the latest after that long.
     */
    void await(CompletableFuture<Void> future, long epoch, long retryAfterNanos) {
        CompletableFuture<Void> superseded;
        synchronized (lock) {
            if (stopped) {
                superseded = future;
            } else {
                superseded = pending;
                pending = future;
                pendingEpoch = epoch;
                pendingRetryNanos = retryAfterNanos;
                pendingSince = System.nanoTime();
                lock.notifyAll();
            }
        }
        if (superseded != null) {
            superseded.complete(null);
        }
    }

    /** Completes the pending future now (the reader may have new work). */
    void wakeUp() {
        CompletableFuture<Void> future;
        synchronized (lock) {
            future = pending;
            pending = null;
        }
        if (future != null) {
            future.complete(null);
        }
    }

    /** Why the waiter stopped waiting early, if it failed; the reader rethrows it from pollNext. */
    RuntimeException failure() {
        synchronized (lock) {
            return failure;
        }
    }

    /**
     * Stops and joins the thread. Call after closing the native reader (which wakes a native
     * wait) and before releasing the signal.
     */
    void stop() {
        synchronized (lock) {
            stopped = true;
            lock.notifyAll();
        }
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        wakeUp();
    }

    private void run() {
        try {
            while (true) {
                CompletableFuture<Void> future;
                long epoch;
                long deadline;
                boolean hasDeadline;
                synchronized (lock) {
                    while (!stopped && pending == null) {
                        lock.wait();
                    }
                    if (stopped) {
                        return;
                    }
                    future = pending;
                    epoch = pendingEpoch;
                    hasDeadline = pendingRetryNanos > 0;
                    deadline = pendingSince + pendingRetryNanos;
                }
                long timeout = 0; // no deadline: wait for a notification only
                if (hasDeadline) {
                    timeout = deadline - System.nanoTime();
                    if (timeout <= 0) {
                        finish(future);
                        continue;
                    }
                }
                int outcome = signal.await(epoch, timeout);
                if (outcome == NativeAvailability.CLOSED) {
                    synchronized (lock) {
                        stopped = true;
                    }
                    return;
                }
                // Notified, or the retry-after deadline passed.
                finish(future);
            }
        } catch (InterruptedException e) {
            synchronized (lock) {
                stopped = true;
            }
        } catch (RuntimeException e) {
            LOG.error("Waiting for native data failed", e);
            synchronized (lock) {
                stopped = true;
                failure = e;
            }
        } finally {
            // Nobody completes futures after this thread: let the reader poll (and see why).
            wakeUp();
        }
    }

    /** Completes {@code future} and clears it if it is still the pending one. */
    private void finish(CompletableFuture<Void> future) {
        synchronized (lock) {
            if (pending == future) {
                pending = null;
            }
        }
        future.complete(null);
    }
}
