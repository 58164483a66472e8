package io.flinkrust.bridge.source;

import org.apache.flink.core.io.SimpleVersionedSerializer;

import java.io.IOException;

/**
 * Serializes {@link EnumeratorCheckpoint}s: the native bytes as they are. They carry their own
 * version, which the native side reads from 1 up to the connector's current one (older ones are
 * upgraded, see {@code rust-core/src/state.rs}), so this envelope stays at version 1.
 *
 * <p>Rule for this envelope, as for the native state: a savepoint outlives the jar that wrote it.
 * If the envelope ever changes, bump {@link #VERSION} and keep reading every earlier version in
 * {@link #deserialize} (as Flink's Kafka source reads its enumerator state versions 0 to 3); only
 * a version above {@link #VERSION} (a savepoint of a later release) is refused.
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
        if (version < 1 || version > VERSION) {
            throw new IOException("Cannot restore a Rust connector enumerator checkpoint of serializer version "
                    + version + "; this version reads versions 1 to " + VERSION
                    + ": restore with the bridge release that wrote it or a later one, or start without state.");
        }
        return new EnumeratorCheckpoint(serialized);
    }
}
