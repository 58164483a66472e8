package io.flinkrust.bridge.source;

import org.apache.flink.core.io.SimpleVersionedSerializer;

import java.io.IOException;

/**
 * Serializes {@link EnumeratorCheckpoint}s: the native bytes as they are. They carry their own
 * version (checked natively on restore), so this envelope stays at version 1.
 */
public final class EnumeratorCheckpointSerializer implements SimpleVersionedSerializer<EnumeratorCheckpoint> {
    public static final int VERSION = 1;
    public static final EnumeratorCheckpointSerializer INSTANCE = new EnumeratorCheckpointSerializer();

    @Override
    public int getVersion() {
        return VERSION;
    }

    @Override
    public byte[] serialize(EnumeratorCheckpoint checkpoint) {
        return checkpoint.state().clone();
    }

    @Override
    public EnumeratorCheckpoint deserialize(int version, byte[] serialized) throws IOException {
        if (version != VERSION) {
            throw new IOException("Cannot restore a Rust connector enumerator checkpoint of serializer version "
                    + version + "; this version reads version " + VERSION + ".");
        }
        return new EnumeratorCheckpoint(serialized);
    }
}
