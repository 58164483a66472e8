package io.flinkrust.bridge.jni;

import io.flinkrust.bridge.source.NativeSplit;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The split list of {@code rust-core/src/protocol.rs}: i32 count, then per split a string id and
 * the state bytes (each i32 length + bytes), little-endian.
 */
public final class SplitListCodec {
    private SplitListCodec() {}

    public static byte[] encode(List<NativeSplit> splits) {
        int size = 4;
        List<byte[]> ids = new ArrayList<>(splits.size());
        for (NativeSplit split : splits) {
            byte[] id = split.splitId().getBytes(StandardCharsets.UTF_8);
            ids.add(id);
            size += 8 + id.length + split.stateLength();
        }
        ByteBuffer out = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(splits.size());
        for (int i = 0; i < splits.size(); i++) {
            byte[] id = ids.get(i);
            out.putInt(id.length).put(id);
            byte[] state = splits.get(i).state();
            out.putInt(state.length).put(state);
        }
        return out.array();
    }

    public static List<NativeSplit> decode(byte[] bytes) {
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        try {
            List<NativeSplit> splits = decodeFrom(in);
            if (in.hasRemaining()) {
                throw new IllegalStateException("malformed split list from native code: trailing bytes");
            }
            return splits;
        } catch (BufferUnderflowException | IllegalArgumentException e) {
            throw new IllegalStateException("malformed split list from native code: truncated", e);
        }
    }

    /** Reads a split list at the buffer's position (also used inside enumerator commands). */
    static List<NativeSplit> decodeFrom(ByteBuffer in) {
        int count = in.getInt();
        if (count < 0) {
            throw new IllegalStateException("malformed split list from native code: negative count");
        }
        List<NativeSplit> splits = new ArrayList<>(Math.min(count, 1024));
        for (int i = 0; i < count; i++) {
            String id = new String(readBytes(in), StandardCharsets.UTF_8);
            splits.add(new NativeSplit(id, readBytes(in)));
        }
        return splits;
    }

    static byte[] readBytes(ByteBuffer in) {
        int length = in.getInt();
        if (length < 0 || length > in.remaining()) {
            throw new IllegalStateException(
                    "malformed message from native code: length " + length + " at offset " + (in.position() - 4)
                            + " exceeds the " + in.remaining() + " bytes left");
        }
        byte[] out = new byte[length];
        in.get(out);
        return out;
    }
}
