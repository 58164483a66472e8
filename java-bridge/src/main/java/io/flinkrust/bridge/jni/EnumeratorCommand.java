package io.flinkrust.bridge.jni;

import io.flinkrust.bridge.source.NativeSplit;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A decision of a native enumerator, to be applied to Flink's {@code SplitEnumeratorContext}.
 * Parsed from the command format of {@code rust-core/src/protocol.rs}: i32 count, then per command
 * a u8 tag and its fields.
 */
public abstract class EnumeratorCommand {
    static final byte TAG_ASSIGN = 1;
    static final byte TAG_NO_MORE_SPLITS = 2;
    static final byte TAG_SEND_EVENT = 3;
    static final byte TAG_CALL_ASYNC = 4;

    private EnumeratorCommand() {}

    /** Assign splits to one reader. */
    public static final class AssignSplits extends EnumeratorCommand {
        private final int subtask;
        private final List<NativeSplit> splits;

        AssignSplits(int subtask, List<NativeSplit> splits) {
            this.subtask = subtask;
            this.splits = Collections.unmodifiableList(splits);
        }

        public int subtask() {
            return subtask;
        }

        public List<NativeSplit> splits() {
            return splits;
        }

        @Override
        public String toString() {
            return "AssignSplits{subtask=" + subtask + ", splits=" + splits + "}";
        }
    }

    /** The reader gets no further splits. */
    public static final class SignalNoMoreSplits extends EnumeratorCommand {
        private final int subtask;

        SignalNoMoreSplits(int subtask) {
            this.subtask = subtask;
        }

        public int subtask() {
            return subtask;
        }

        @Override
        public String toString() {
            return "SignalNoMoreSplits{subtask=" + subtask + "}";
        }
    }

    /** Send an event to one reader. */
    public static final class SendEvent extends EnumeratorCommand {
        private final int subtask;
        private final byte[] event;

        SendEvent(int subtask, byte[] event) {
            this.subtask = subtask;
            this.event = event;
        }

        public int subtask() {
            return subtask;
        }

        public byte[] event() {
            return event;
        }

        @Override
        public String toString() {
            return "SendEvent{subtask=" + subtask + ", bytes=" + event.length + "}";
        }
    }

    /** Run native async task {@code taskId} on a worker thread, once or periodically. */
    public static final class CallAsync extends EnumeratorCommand {
        private final long taskId;
        private final long initialDelayMillis;
        private final long periodMillis;

        CallAsync(long taskId, long initialDelayMillis, long periodMillis) {
            this.taskId = taskId;
            this.initialDelayMillis = initialDelayMillis;
            this.periodMillis = periodMillis;
        }

        public long taskId() {
            return taskId;
        }

        public long initialDelayMillis() {
            return initialDelayMillis;
        }

        /** 0 = run once. */
        public long periodMillis() {
            return periodMillis;
        }

        public boolean isPeriodic() {
            return periodMillis > 0;
        }

        @Override
        public String toString() {
            return "CallAsync{taskId=" + taskId + ", initialDelayMillis=" + initialDelayMillis + ", periodMillis="
                    + periodMillis + "}";
        }
    }

    /** Parses a command list; throws {@link IllegalStateException} on malformed input. */
    public static List<EnumeratorCommand> parse(byte[] bytes) {
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        try {
            int count = in.getInt();
            if (count < 0) {
                throw new IllegalStateException("malformed enumerator commands from native code: negative count");
            }
            if (count == 0) {
                ensureConsumed(in);
                return Collections.emptyList();
            }
            List<EnumeratorCommand> commands = new ArrayList<>(Math.min(count, 1024));
            for (int i = 0; i < count; i++) {
                byte tag = in.get();
                switch (tag) {
                    case TAG_ASSIGN:
                        int subtask = in.getInt();
                        commands.add(new AssignSplits(subtask, SplitListCodec.decodeFrom(in)));
                        break;
                    case TAG_NO_MORE_SPLITS:
                        commands.add(new SignalNoMoreSplits(in.getInt()));
                        break;
                    case TAG_SEND_EVENT:
                        int target = in.getInt();
                        commands.add(new SendEvent(target, SplitListCodec.readBytes(in)));
                        break;
                    case TAG_CALL_ASYNC:
                        long taskId = in.getLong();
                        long delay = in.getLong();
                        long period = in.getLong();
                        if (delay < 0 || period < 0) {
                            throw new IllegalStateException(
                                    "malformed enumerator commands from native code: negative async schedule");
                        }
                        commands.add(new CallAsync(taskId, delay, period));
                        break;
                    default:
                        throw new IllegalStateException(
                                "malformed enumerator commands from native code: unknown tag " + tag);
                }
            }
            ensureConsumed(in);
            return commands;
        } catch (BufferUnderflowException e) {
            throw new IllegalStateException("malformed enumerator commands from native code: truncated", e);
        }
    }

    private static void ensureConsumed(ByteBuffer in) {
        if (in.hasRemaining()) {
            throw new IllegalStateException("malformed enumerator commands from native code: trailing bytes");
        }
    }
}
