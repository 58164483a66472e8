package io.flinkrust.bridge.source;

import io.flinkrust.bridge.jni.EnumeratorCommand;
import io.flinkrust.bridge.jni.NativeEnumerator;
import io.flinkrust.bridge.jni.NativeException;
import io.flinkrust.bridge.jni.NativeMetrics;

import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.connector.source.SplitsAssignment;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.annotation.Nullable;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Flink's split enumerator over a native one. Flink calls it on the coordinator thread; each
 * native call returns the enumerator's decisions as {@link EnumeratorCommand}s, applied here to
 * the {@link SplitEnumeratorContext} in order. Async work runs through
 * {@link SplitEnumeratorContext#callAsync}: the task on a worker thread, its result back on the
 * coordinator thread. No threads of its own, no sleeps.
 */
final class RustSplitEnumerator implements SplitEnumerator<NativeSplit, EnumeratorCheckpoint> {
    private static final Logger LOG = LoggerFactory.getLogger(RustSplitEnumerator.class);

    private final SplitEnumeratorContext<NativeSplit> context;
    private final NativeEnumerator enumerator;
    private final String connector;
    /** The native enumerator's metrics, mirrored into the coordinator's metric group. */
    private final NativeMetrics metrics;

    RustSplitEnumerator(
            RustSourceSpec spec, SplitEnumeratorContext<NativeSplit> context, @Nullable byte[] restoredState) {
        this.context = context;
        this.connector = spec.connector();
        this.enumerator = NativeEnumerator.create(spec.toDefinition(), context.currentParallelism(), restoredState);
        this.metrics = enumerator.metrics();
        LOG.debug("Created {} enumerator (parallelism {}, restored: {})",
                connector, context.currentParallelism(), restoredState != null);
    }

    @Override
    public void start() {
        apply(enumerator.start());
    }

    @Override
    public void handleSplitRequest(int subtaskId, @Nullable String requesterHostname) {
        apply(enumerator.handleSplitRequest(subtaskId, requesterHostname));
    }

    @Override
    public void addSplitsBack(List<NativeSplit> splits, int subtaskId) {
        apply(enumerator.addSplitsBack(subtaskId, splits));
    }

    @Override
    public void addReader(int subtaskId) {
        apply(enumerator.addReader(subtaskId));
    }

    @Override
    public EnumeratorCheckpoint snapshotState(long checkpointId) {
        return new EnumeratorCheckpoint(enumerator.snapshotState(checkpointId));
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) {
        apply(enumerator.notifyCheckpointComplete(checkpointId));
    }

    @Override
    public void notifyCheckpointAborted(long checkpointId) {
        enumerator.notifyCheckpointAborted(checkpointId);
    }

    @Override
    public void handleSourceEvent(int subtaskId, SourceEvent sourceEvent) {
        if (sourceEvent instanceof NativeSourceEvent) {
            apply(enumerator.handleSourceEvent(subtaskId, ((NativeSourceEvent) sourceEvent).payload()));
        } else {
            LOG.warn("{} enumerator ignores an event of type {} from subtask {}",
                    connector, sourceEvent.getClass().getName(), subtaskId);
        }
    }

    /** Frees the native enumerator after any async task running inside it returned. */
    @Override
    public void close() {
        try {
            enumerator.close();
        } finally {
            metrics.close();
        }
    }

    private void apply(List<EnumeratorCommand> commands) {
        apply(commands, new HashSet<>());
    }

    /**
     * Flink drops the reader of a failed attempt at once, but tells the enumerator only when it
     * resets the subtask ({@code addSplitsBack}), so the native enumerator may assign to a reader
     * that is gone. Flink would throw and fail the job; such splits go back to the native
     * enumerator instead, as Flink returns a failed reader's splits, and are assigned again when a
     * reader asks. {@code handedBack} holds the subtasks handed back in this chain of callbacks:
     * the native side unregisters them, so an enumerator that assigns to one again is broken, and
     * failing beats handing back forever.
     */
    private void apply(List<EnumeratorCommand> commands, Set<Integer> handedBack) {
        // Every callback that returns commands may have registered metrics (one JNI call when not).
        metrics.registerNew(context.metricGroup());
        // Per unregistered subtask, its splits from this list, handed back once after it.
        Map<Integer, List<NativeSplit>> unassignable = new LinkedHashMap<>();
        for (EnumeratorCommand command : commands) {
            LOG.debug("{} enumerator: {}", connector, command);
            if (command instanceof EnumeratorCommand.AssignSplits) {
                EnumeratorCommand.AssignSplits assign = (EnumeratorCommand.AssignSplits) command;
                if (!context.registeredReaders().containsKey(assign.subtask())) {
                    unassignable.computeIfAbsent(assign.subtask(), s -> new ArrayList<>()).addAll(assign.splits());
                    continue;
                }
                context.assignSplits(
                        new SplitsAssignment<>(Collections.singletonMap(assign.subtask(), assign.splits())));
            } else if (command instanceof EnumeratorCommand.SignalNoMoreSplits) {
                int subtask = ((EnumeratorCommand.SignalNoMoreSplits) command).subtask();
                if (!context.registeredReaders().containsKey(subtask)) {
                    // Flink would throw; the next attempt asks for a split and gets the answer then.
                    LOG.info("{} enumerator: reader {} is not registered (its attempt failed); "
                            + "not signalling it no more splits", connector, subtask);
                    continue;
                }
                context.signalNoMoreSplits(subtask);
            } else if (command instanceof EnumeratorCommand.SendEvent) {
                EnumeratorCommand.SendEvent send = (EnumeratorCommand.SendEvent) command;
                if (!context.registeredReaders().containsKey(send.subtask())) {
                    // Flink throws (failing the whole job) for a reader whose attempt failed and
                    // has not registered again; it re-syncs when it does (addReader).
                    LOG.debug("{} enumerator: reader {} is not registered; dropping an event for it",
                            connector, send.subtask());
                    continue;
                }
                context.sendEventToSourceReader(send.subtask(), new NativeSourceEvent(send.event()));
            } else if (command instanceof EnumeratorCommand.CallAsync) {
                callAsync((EnumeratorCommand.CallAsync) command);
            } else {
                throw new IllegalStateException("unknown enumerator command " + command);
            }
        }
        for (Map.Entry<Integer, List<NativeSplit>> entry : unassignable.entrySet()) {
            handBack(entry.getKey(), entry.getValue(), handedBack);
        }
    }

    private void handBack(int subtask, List<NativeSplit> splits, Set<Integer> handedBack) {
        if (!handedBack.add(subtask)) {
            throw new IllegalStateException(String.format(
                    "%s enumerator assigned splits %s to reader %d again after they were handed back "
                            + "because the reader is not registered", connector, splits, subtask));
        }
        LOG.info("{} enumerator: reader {} is not registered (its attempt failed); handing {} back to "
                + "the enumerator", connector, subtask, splits);
        apply(enumerator.addSplitsBack(subtask, splits), handedBack);
    }

    private void callAsync(EnumeratorCommand.CallAsync call) {
        long taskId = call.taskId();
        boolean periodic = call.isPeriodic();
        if (periodic) {
            context.callAsync(
                    () -> enumerator.runAsync(taskId, true),
                    (result, error) -> handleAsyncResult(taskId, result, error),
                    call.initialDelayMillis(),
                    call.periodMillis());
        } else {
            if (call.initialDelayMillis() > 0) {
                // SplitEnumeratorContext has no delayed one-shot call; rust-core never asks for one.
                LOG.warn("{} enumerator: one-shot async task {} runs without its initial delay of {} ms",
                        connector, taskId, call.initialDelayMillis());
            }
            context.callAsync(
                    () -> enumerator.runAsync(taskId, false),
                    (result, error) -> handleAsyncResult(taskId, result, error));
        }
    }

    /** On the coordinator thread. */
    private void handleAsyncResult(long taskId, @Nullable byte[] result, @Nullable Throwable error) {
        if (enumerator.isClosed()) {
            // The task raced with close(); nobody is left to hand its result to.
            LOG.debug("{} enumerator closed; dropping the result of async task {}", connector, taskId);
            return;
        }
        String message = null;
        if (error != null) {
            message = error instanceof NativeException
                    ? error.getMessage()
                    : error.getClass().getName() + (error.getMessage() == null ? "" : ": " + error.getMessage());
            LOG.debug("{} enumerator: async task {} failed: {}", connector, taskId, message);
        }
        apply(enumerator.handleAsyncResult(taskId, message == null ? result : null, message));
    }
}
