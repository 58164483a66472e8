package io.flinkrust.bridge.jni;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A native reader's answer ({@code rust-core/src/protocol.rs}), little-endian:
 *
 * <pre>
 *    0 i32 status: 0 batch, 1 nothing available, 2 end of input, 3 none (not a poll)
 *    4 i32 flags: bit 0 = request a split from the enumerator, bit 1 = new native metrics
 *    8 i64 availability epoch observed before polling
 *   16 i64 retry after, nanoseconds (0 = wait for the signal only)
 *   24 i32 row count
 *   28 i32 event count
 *   32 i64 event time of the batch, epoch ms ({@link Long#MIN_VALUE}: none)
 *   40 events (each i32 length + bytes), then (row count + 1) i32 absolute row offsets, then rows
 * </pre>
 *
 * <p>The rows stay in {@link #bytes()}; row {@code i} spans {@code [rowOffset(i), rowOffset(i+1))}.
 */
public final class ReaderResponse {
    public static final int STATUS_BATCH = 0;
    public static final int STATUS_NOTHING_AVAILABLE = 1;
    public static final int STATUS_END_OF_INPUT = 2;
    public static final int STATUS_NONE = 3;
    public static final int FLAG_REQUEST_SPLIT = 1;
    public static final int FLAG_METRICS_CHANGED = 2;
    /** {@link #eventTime()} of a batch without one. */
    public static final long NO_EVENT_TIME = Long.MIN_VALUE;
    static final int HEADER_BYTES = 40;

    private final byte[] bytes;
    private final ByteBuffer buffer;
    private final int status;
    private final int flags;
    private final long epoch;
    private final long retryAfterNanos;
    private final int rowCount;
    private final long eventTime;
    private final List<byte[]> events;
    /** Where the row offset table starts. */
    private final int offsetsAt;

    private ReaderResponse(byte[] bytes) {
        this.bytes = bytes;
        this.buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < HEADER_BYTES) {
            throw malformed("response of " + bytes.length + " bytes is shorter than its header");
        }
        status = buffer.getInt(0);
        flags = buffer.getInt(4);
        epoch = buffer.getLong(8);
        retryAfterNanos = buffer.getLong(16);
        rowCount = buffer.getInt(24);
        int eventCount = buffer.getInt(28);
        eventTime = buffer.getLong(32);
        if (status < STATUS_BATCH || status > STATUS_NONE) {
            throw malformed("unknown status " + status);
        }
        if (rowCount < 0 || eventCount < 0 || (status != STATUS_BATCH && rowCount != 0)) {
            throw malformed("status " + status + " with " + rowCount + " rows and " + eventCount + " events");
        }
        buffer.position(HEADER_BYTES);
        try {
            if (eventCount == 0) {
                events = Collections.emptyList();
            } else {
                List<byte[]> list = new ArrayList<>(Math.min(eventCount, 1024));
                for (int i = 0; i < eventCount; i++) {
                    list.add(SplitListCodec.readBytes(buffer));
                }
                events = Collections.unmodifiableList(list);
            }
        } catch (BufferUnderflowException e) {
            throw malformed("truncated events");
        }
        offsetsAt = buffer.position();
        if (status == STATUS_BATCH) {
            long tableEnd = offsetsAt + 4L * (rowCount + 1L);
            if (tableEnd > bytes.length) {
                throw malformed("row offset table for " + rowCount + " rows exceeds the response");
            }
            if (rowOffset(0) < tableEnd || rowOffset(rowCount) != bytes.length) {
                throw malformed("rows span [" + rowOffset(0) + ", " + rowOffset(rowCount) + ") in a response of "
                        + bytes.length + " bytes whose row offset table ends at " + tableEnd);
            }
        } else if (offsetsAt != bytes.length) {
            throw malformed("trailing bytes after a response without rows");
        }
    }

    public static ReaderResponse parse(byte[] bytes) {
        return new ReaderResponse(bytes);
    }

    private static IllegalStateException malformed(String detail) {
        return new IllegalStateException("malformed reader response from native code: " + detail);
    }

    public int status() {
        return status;
    }

    public boolean requestsSplit() {
        return (flags & FLAG_REQUEST_SPLIT) != 0;
    }

    /** The availability epoch observed before polling: wait for it to change. */
    public long epoch() {
        return epoch;
    }

    /** For "nothing available": poll again at the latest after this; 0 = only when signalled. */
    public long retryAfterNanos() {
        return retryAfterNanos;
    }

    /** Whether the reader registered native metrics since its previous response. */
    public boolean metricsChanged() {
        return (flags & FLAG_METRICS_CHANGED) != 0;
    }

    /**
     * The batch's event time (for CDC: when the server wrote its newest change), epoch
     * milliseconds, or {@link #NO_EVENT_TIME}.
     */
    public long eventTime() {
        return eventTime;
    }

    public int rowCount() {
        return rowCount;
    }

    /** Events for the enumerator. */
    public List<byte[]> events() {
        return events;
    }

    /** Absolute offset of row {@code i} in {@link #bytes()}; {@code rowOffset(rowCount())} is the end. */
    public int rowOffset(int i) {
        return buffer.getInt(offsetsAt + 4 * i);
    }

    /** The whole response; the rows are slices of it. */
    public byte[] bytes() {
        return bytes;
    }

    @Override
    public String toString() {
        return "ReaderResponse{status=" + status + ", flags=" + flags + ", epoch=" + epoch + ", retryAfterNanos="
                + retryAfterNanos + ", rows=" + rowCount + ", events=" + events.size() + "}";
    }
}
