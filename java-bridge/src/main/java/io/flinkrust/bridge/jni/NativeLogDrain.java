package io.flinkrust.bridge.jni;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Moves native {@code tracing} events into SLF4J. Native threads never call into the JVM: events
 * queue up in Rust and a daemon Java thread ({@value #THREAD_NAME}) drains them, logging each to
 * the logger {@code "rust." + target} (with {@code ::} replaced by {@code .}) at its level.
 *
 * <p>The thread lives exactly as long as native handles do: every handle creation acquires a
 * reference and every close releases it; the thread starts at 0 -> 1 and is stopped and joined at
 * 1 -> 0, so no thread of ours outlives a job and the job's class loader can be unloaded. The
 * native wake-up is sticky, so stopping never misses a thread that has not blocked yet.
 *
 * <p>The most verbose level captured natively follows the effective level of the logger
 * {@code "rust"} when the thread starts (and when the library loads).
 */
final class NativeLogDrain {
    static final String THREAD_NAME = "rust-log-drain";
    static final String ROOT_LOGGER = "rust";

    private static final Logger LOG = LoggerFactory.getLogger(NativeLogDrain.class);
    private static final ConcurrentHashMap<String, Logger> LOGGERS = new ConcurrentHashMap<>();

    /** Guarded by the class lock. */
    private static int references;
    /** Guarded by the class lock. */
    private static Thread thread;

    private static volatile boolean running;

    private NativeLogDrain() {}

    /** One more live native handle; starts the drain thread if it is the first. */
    static synchronized void acquire() {
        if (references++ == 0) {
            start();
        }
    }

    /** One live native handle fewer; stops and joins the drain thread if it was the last. */
    static synchronized void release() {
        if (references <= 0) {
            throw new IllegalStateException("native log drain released more often than acquired");
        }
        if (--references == 0) {
            stop();
        }
    }

    /** Live references (for tests). */
    static synchronized int references() {
        return references;
    }

    /**
     * Logs what is queued now, on the calling thread, if no drain thread runs (for short native
     * calls outside any handle's lifetime, such as validation at job submission).
     */
    static synchronized void flushIfIdle() {
        if (references == 0) {
            flushNow();
        }
    }

    /** Sets the native capture level from the effective level of the {@code "rust"} logger. */
    static void applyMaxLevel() {
        NativeBridge.setMaxLogLevel(levelOf(LoggerFactory.getLogger(ROOT_LOGGER)));
    }

    static int levelOf(Logger logger) {
        if (logger.isTraceEnabled()) {
            return 5;
        } else if (logger.isDebugEnabled()) {
            return 4;
        } else if (logger.isInfoEnabled()) {
            return 3;
        } else if (logger.isWarnEnabled()) {
            return 2;
        } else if (logger.isErrorEnabled()) {
            return 1;
        }
        return 0;
    }

    private static void start() {
        applyMaxLevel();
        running = true;
        Thread t = new Thread(NativeLogDrain::drainLoop, THREAD_NAME);
        t.setDaemon(true);
        t.start();
        thread = t;
    }

    private static void stop() {
        running = false;
        NativeBridge.wakeLogDrain();
        Thread t = thread;
        thread = null;
        joinUninterruptibly(t);
        // Events logged after the thread's last wake-up (e.g. while handles closed).
        flushNow();
    }

    /** Only while no drain thread runs: the wake is sticky, so the await returns at once. */
    private static void flushNow() {
        try {
            NativeBridge.wakeLogDrain();
            log(NativeBridge.awaitLogRecords());
        } catch (RuntimeException e) {
            LOG.warn("Could not drain native log records", e);
        }
    }

    private static void drainLoop() {
        while (running) {
            String[] records;
            try {
                records = NativeBridge.awaitLogRecords();
            } catch (Throwable t) {
                LOG.error("Native log drain failed; native log records are no longer forwarded", t);
                return;
            }
            log(records);
        }
    }

    /** Records are flattened triples (level, target, message). */
    static void log(String[] records) {
        for (int i = 0; i + 2 < records.length; i += 3) {
            Logger logger = LOGGERS.computeIfAbsent(records[i + 1], NativeLogDrain::loggerFor);
            String message = records[i + 2];
            switch (records[i]) {
                case "1":
                    logger.error(message);
                    break;
                case "2":
                    logger.warn(message);
                    break;
                case "3":
                    logger.info(message);
                    break;
                case "4":
                    logger.debug(message);
                    break;
                default:
                    logger.trace(message);
                    break;
            }
        }
    }

    static String loggerName(String target) {
        return target == null || target.isEmpty() ? ROOT_LOGGER : ROOT_LOGGER + "." + target.replace("::", ".");
    }

    private static Logger loggerFor(String target) {
        return LoggerFactory.getLogger(loggerName(target));
    }

    static void joinUninterruptibly(Thread t) {
        if (t == null) {
            return;
        }
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
