package io.flinkrust.bridge.source;

import org.apache.flink.core.io.SimpleVersionedSerializer;

import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Serializes {@link NativeSplit}s for checkpoints and split assignment: i32 id length, UTF-8 id,
 * i32 state length, state. The native state bytes carry their own version, which the native side
 * reads from 1 up to the connector's current one (older ones are upgraded, see
 * {@code rust-core/src/state.rs}), so this envelope stays at version 1 while connectors evolve.
 *
 * <p>Rule for this envelope, as for the native state: a savepoint outlives the jar that wrote it.
 * If the envelope ever changes, bump {@link #VERSION} and keep reading every earlier version in
 * {@link #deserialize}; only a version above {@link #VERSION} (a savepoint of a later release) is
 * refused.
 */
public final class NativeSplitSerializer implements SimpleVersionedSerializer<NativeSplit> {
    public static final int VERSION = 1;
    public static final NativeSplitSerializer INSTANCE = new NativeSplitSerializer();

    @Override
    public int getVersion() {
        return VERSION;
    }

    @Override
    public byte[] serialize(NativeSplit split) {
        byte[] id = split.splitId().getBytes(StandardCharsets.UTF_8);
        byte[] state = split.state();
        return ByteBuffer.allocate(8 + id.length + state.length)
                .putInt(id.length)
                .put(id)
                .putInt(state.length)
                .put(state)
                .array();
    }

    @Override
    public NativeSplit deserialize(int version, byte[] serialized) throws IOException {
        if (version < 1 || version > VERSION) {
            throw new IOException("Cannot restore a Rust connector split of serializer version " + version
                    + "; this version reads versions 1 to " + VERSION
                    + ": restore with the bridge release that wrote it or a later one, or start without state.");
        }
        ByteBuffer in = ByteBuffer.wrap(serialized);
        try {
            String id = new String(bytes(in), StandardCharsets.UTF_8);
            byte[] state = bytes(in);
            if (in.hasRemaining()) {
                throw new IOException("Corrupt Rust connector split: " + in.remaining() + " trailing bytes.");
            }
            return new NativeSplit(id, state);
        } catch (BufferUnderflowException e) {
            throw new IOException("Corrupt Rust connector split: truncated.", e);
        }
    }

    private static byte[] bytes(ByteBuffer in) throws IOException {
        int length = in.getInt();
        if (length < 0 || length > in.remaining()) {
            throw new IOException("Corrupt Rust connector split: length " + length + " exceeds the data.");
        }
        byte[] out = new byte[length];
        in.get(out);
        return out;
    }
}
