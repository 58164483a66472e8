package io.flinkrust.bridge.source;

import io.flinkrust.bridge.jni.NativeAvailability;
import io.flinkrust.bridge.jni.NativeMetrics;
import io.flinkrust.bridge.jni.NativeReader;
import io.flinkrust.bridge.jni.ReaderResponse;

import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.core.io.InputStatus;
import org.apache.flink.core.memory.MemorySegment;
import org.apache.flink.core.memory.MemorySegmentFactory;
import org.apache.flink.metrics.Counter;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.binary.BinaryRowData;
import org.apache.flink.util.FileUtils;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Flink's source reader over a native one, driven by the task thread.
 *
 * <p>{@link #pollNext} makes one native poll and emits the whole batch it returns: the rows are
 * {@link BinaryRowData} views into one {@link MemorySegment} over the response. The native split
 * state has advanced exactly past the emitted batch, so a checkpoint (taken between polls) always
 * matches what was emitted.
 *
 * <p>When the native reader has nothing, {@link #isAvailable()} returns a future completed by an
 * {@link AvailabilityWaiter} thread (created on first need) when the native availability signal
 * changes or the reader's retry-after passes; new splits, no-more-splits and source events
 * complete it at once.
 *
 * <p><b>Limit</b> ({@link RustSourceSpec#limit()}, SQL limit push-down, bounded sources only): the
 * reader emits at most that many rows, truncating the batch that reaches the limit, and returns
 * {@link InputStatus#END_OF_INPUT} from that same {@code pollNext}, without polling natively
 * again. The native split state then lies past rows that were never emitted. That is safe:
 * <ul>
 *   <li>no checkpoint can fall between the truncated batch and the end of input: both happen in
 *       one call on the task thread, and every checkpoint before it is exact as usual;
 *   <li>the planner keeps its own Limit operator after the source, and a LIMIT without ORDER BY
 *       may return any {@code limit} rows, so a reader only has to let through at least
 *       {@code limit} rows or all of its input; which rows does not matter;
 *   <li>once a reader ended at its limit it has emitted {@code limit} rows, which already
 *       satisfy the query; the state it leaves (checkpoints after tasks finished) only marks it
 *       finished. Should a job restore from an earlier checkpoint, the reader counts afresh (the
 *       count is per attempt, not checkpointed) and the downstream Limit, restored from the same
 *       checkpoint, discards any excess.
 * </ul>
 *
 * <p><b>Metrics</b> (docs/operations.md). Flink's {@code SourceOperator} registers
 * {@code numRecordsInErrors}, {@code sourceIdleTime} and {@code currentEmitEventTimeLag} itself,
 * but leaves {@code numRecordsIn}/{@code numBytesIn} to the reader ({@code SourceReaderBase}
 * counts them in its own emit loop), so this reader counts them: once per batch, in rows and in
 * {@code BinaryRowData} bytes. A batch with an event time (CDC changes: the server's timestamp)
 * emits its rows with that timestamp, which is what feeds {@code currentEmitEventTimeLag}. Metrics
 * the native reader registers (e.g. {@code currentFetchEventTimeLag}, {@code pendingRecords},
 * connector metrics) are mirrored into the reader's metric group when a response says they changed.
 */
final class RustSourceReader implements SourceReader<RowData, NativeSplit> {
    private static final Logger LOG = LoggerFactory.getLogger(RustSourceReader.class);
    private static final CompletableFuture<Void> AVAILABLE = CompletableFuture.completedFuture(null);

    /**
     * Benchmark-only switch (system property, read when a reader is created): {@code true} turns
     * off the reader's metrics (row/byte counters and native metric mirroring) so that
     * {@code DatagenBenchmark} can measure their cost side by side. Not for production use.
     */
    public static final String BENCH_DISABLE_METRICS_PROPERTY = "flinkrust.bench.disableMetrics";

    private final SourceReaderContext context;
    private final NativeReader reader;
    private final int subtask;
    private final int arity;
    private final int fixedPartBytes;
    private final long limit;
    /** Rows this reader may still emit (the spec's limit); {@link Long#MAX_VALUE} without a limit. */
    private long remaining;

    /** The last poll found nothing: {@link #isAvailable()} waits for the signal. */
    private boolean waitingForData;
    private long waitEpoch;
    private long waitRetryNanos;
    /** The future {@link #isAvailable()} hands out while waiting; null until asked. */
    private CompletableFuture<Void> availableFuture;

    private NativeAvailability signal;
    private AvailabilityWaiter waiter;

    /** Null when metrics are off ({@link #BENCH_DISABLE_METRICS_PROPERTY}). */
    private final NativeMetrics nativeMetrics;
    private final Counter numRecordsIn;
    private final Counter numBytesIn;

    RustSourceReader(RustSourceSpec spec, SourceReaderContext context) {
        this.context = context;
        this.subtask = context.getIndexOfSubtask();
        this.arity = spec.arity();
        this.fixedPartBytes = BinaryRowData.calculateFixPartSizeInBytes(arity);
        this.limit = spec.limit();
        this.remaining = limit == RustSourceSpec.NO_LIMIT ? Long.MAX_VALUE : limit;
        this.reader = NativeReader.create(
                spec.toDefinition(), subtask, context.currentParallelism(), jobLocalDirs(context));
        if (Boolean.getBoolean(BENCH_DISABLE_METRICS_PROPERTY)) {
            this.nativeMetrics = null;
            this.numRecordsIn = null;
            this.numBytesIn = null;
        } else {
            this.numRecordsIn = context.metricGroup().getIOMetricGroup().getNumRecordsInCounter();
            this.numBytesIn = context.metricGroup().getIOMetricGroup().getNumBytesInCounter();
            this.nativeMetrics = reader.metrics();
            nativeMetrics.registerNew(context.metricGroup());
        }
    }

    @Override
    public void start() {
        signals(reader.start());
    }

    @Override
    public InputStatus pollNext(ReaderOutput<RowData> output) {
        if (waiter != null && waiter.failure() != null) {
            throw new IllegalStateException("waiting for native data failed", waiter.failure());
        }
        if (remaining == 0) {
            waitingForData = false;
            return InputStatus.END_OF_INPUT;
        }
        ReaderResponse response = reader.pollNext();
        signals(response);
        switch (response.status()) {
            case ReaderResponse.STATUS_BATCH:
                waitingForData = false;
                remaining -= emit(response, output, remaining);
                if (remaining == 0) {
                    LOG.debug("Reader {} reached its limit of {} rows; ending its input", subtask, limit);
                    return InputStatus.END_OF_INPUT;
                }
                return InputStatus.MORE_AVAILABLE;
            case ReaderResponse.STATUS_NOTHING_AVAILABLE:
                waitingForData = true;
                waitEpoch = response.epoch();
                waitRetryNanos = response.retryAfterNanos();
                availableFuture = null;
                return InputStatus.NOTHING_AVAILABLE;
            case ReaderResponse.STATUS_END_OF_INPUT:
                waitingForData = false;
                return InputStatus.END_OF_INPUT;
            default:
                throw new IllegalStateException("native poll returned status " + response.status());
        }
    }

    /** Emits the batch's first {@code max} rows (all of them when fewer); returns how many it emitted. */
    private int emit(ReaderResponse response, ReaderOutput<RowData> output, long max) {
        int rows = (int) Math.min(response.rowCount(), max);
        if (rows == 0) {
            return 0;
        }
        MemorySegment segment = MemorySegmentFactory.wrap(response.bytes());
        int first = response.rowOffset(0);
        int start = first;
        long eventTime = response.eventTime();
        boolean timestamped = eventTime != ReaderResponse.NO_EVENT_TIME;
        for (int i = 0; i < rows; i++) {
            int end = response.rowOffset(i + 1);
            int size = end - start;
            if (size < fixedPartBytes) {
                throw new IllegalStateException("native row " + i + " of a batch of " + rows + " has " + size
                        + " bytes; a row of " + arity + " fields needs at least " + fixedPartBytes);
            }
            BinaryRowData row = new BinaryRowData(arity);
            row.pointTo(segment, start, size);
            if (timestamped) {
                output.collect(row, eventTime);
            } else {
                output.collect(row);
            }
            start = end;
        }
        if (numRecordsIn != null) {
            numRecordsIn.inc(rows);
            numBytesIn.inc(start - first);
        }
        return rows;
    }

    @Override
    public CompletableFuture<Void> isAvailable() {
        if (!waitingForData) {
            return AVAILABLE;
        }
        if (availableFuture == null) {
            availableFuture = new CompletableFuture<>();
            waiter().await(availableFuture, waitEpoch, waitRetryNanos);
        }
        return availableFuture;
    }

    private AvailabilityWaiter waiter() {
        if (waiter == null) {
            signal = reader.availability();
            waiter = new AvailabilityWaiter(signal, "rust-source-availability-" + subtask);
        }
        return waiter;
    }

    @Override
    public void addSplits(List<NativeSplit> splits) {
        signals(reader.addSplits(splits));
        wakeUp();
    }

    @Override
    public void notifyNoMoreSplits() {
        signals(reader.notifyNoMoreSplits());
        wakeUp();
    }

    @Override
    public void handleSourceEvents(SourceEvent sourceEvent) {
        if (sourceEvent instanceof NativeSourceEvent) {
            signals(reader.handleSourceEvent(((NativeSourceEvent) sourceEvent).payload()));
            wakeUp();
        } else {
            LOG.warn("Reader {} ignores an event of type {}", subtask, sourceEvent.getClass().getName());
        }
    }

    @Override
    public List<NativeSplit> snapshotState(long checkpointId) {
        return reader.snapshotState(checkpointId);
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) {
        reader.notifyCheckpointComplete(checkpointId);
    }

    /** Closes the native reader (waking the waiter), joins the waiter, then frees the signal. */
    @Override
    public void close() {
        try {
            reader.close();
        } finally {
            if (nativeMetrics != null) {
                nativeMetrics.close();
            }
            try {
                if (waiter != null) {
                    waiter.stop();
                }
            } finally {
                if (signal != null) {
                    signal.release();
                }
                if (availableFuture != null) {
                    availableFuture.complete(null);
                }
            }
        }
    }

    /** New work may be pollable: let Flink poll instead of waiting for the native signal. */
    private void wakeUp() {
        waitingForData = false;
        if (waiter != null) {
            waiter.wakeUp();
        }
        if (availableFuture != null) {
            availableFuture.complete(null);
        }
    }

    /** Applies what every native reader call may ask for: a split request and events. */
    private void signals(ReaderResponse response) {
        if (response.metricsChanged() && nativeMetrics != null) {
            nativeMetrics.registerNew(context.metricGroup());
        }
        if (response.requestsSplit()) {
            context.sendSplitRequest();
        }
        for (byte[] event : response.events()) {
            context.sendSourceEventToCoordinator(new NativeSourceEvent(event));
        }
    }

    /** Flink's temporary-file directories key, the same in 1.20 and 2.x (its ConfigOption class moved). */
    private static final ConfigOption<String> TMP_DIRS =
            ConfigOptions.key("io.tmp.dirs").stringType().noDefaultValue();

    /** Names a job's directory under each of {@code io.tmp.dirs}; native readers know the prefix too. */
    static final String JOB_DIR_PREFIX = "flink-rust-job-";

    /** The release hook's name: one per job on a TaskManager, whichever reader registers it first. */
    private static final String JOB_DIRS_RELEASE_HOOK = "flink-rust-job-dirs";

    /**
     * The directories a reader keeps local files in: this job's directory under each of
     * {@code io.tmp.dirs} ({@code flink-rust-job-<job id>}, created by the reader that first
     * writes there), removed with everything in it when the job leaves this TaskManager: Flink
     * releases the job's user-code class loader when the job is cancelled, finishes or fails for
     * good, not on a failover that restarts its tasks here (their slots stay), so a restored
     * reader still finds what the last checkpoint names. Without a job id (a context outside a
     * TaskManager) the plain {@code io.tmp.dirs}.
     */
    static String[] jobLocalDirs(SourceReaderContext context) {
        String[] tmp = localDirs(context.getConfiguration());
        String jobId = context.metricGroup().getAllVariables().get("<job_id>");
        if (jobId == null || jobId.isEmpty()) {
            return tmp;
        }
        String[] jobDirs = Arrays.stream(tmp)
                .map(dir -> new File(dir, JOB_DIR_PREFIX + jobId).getPath())
                .toArray(String[]::new);
        context.getUserCodeClassLoader().registerReleaseHookIfAbsent(JOB_DIRS_RELEASE_HOOK, () -> {
            for (String dir : jobDirs) {
                File file = new File(dir);
                if (file.exists()) {
                    FileUtils.deleteDirectoryQuietly(file);
                    LOG.info("Removed {} (the job's local files: it left this TaskManager)", dir);
                }
            }
        });
        return jobDirs;
    }

    /**
     * The TaskManager's directories for temporary files, as Flink reads {@code io.tmp.dirs} (a list
     * separated by commas or the path separator; unset: {@code java.io.tmpdir}). On YARN and
     * Kubernetes Flink sets it to the container's local disks.
     */
    static String[] localDirs(ReadableConfig config) {
        String raw = config.get(TMP_DIRS);
        if (raw == null || raw.trim().isEmpty()) {
            raw = System.getProperty("java.io.tmpdir");
        }
        return Arrays.stream(raw.split(",|" + java.util.regex.Pattern.quote(File.pathSeparator)))
                .map(String::trim)
                .filter(s -> !s.isEmpty())
                .toArray(String[]::new);
    }
}
