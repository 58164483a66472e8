package io.flinkrust.bridge.jni;

import io.flinkrust.bridge.source.EnumeratorCheckpoint;
import io.flinkrust.bridge.source.EnumeratorCheckpointSerializer;
import io.flinkrust.bridge.source.NativeSplit;
import io.flinkrust.bridge.source.NativeSplitSerializer;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Hostile input through the JNI path in this JVM (docs/troubleshooting.md): checkpoints damaged on
 * their way through Flink's serializers, splits cut short, source events that are not events,
 * split lists with absurd counts, and panics. Each must arrive as a Java exception carrying the
 * native message (cause and fix), and the JVM must go on: after every case a fresh source reads
 * all its rows in this same JVM.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HostileInputTest {

    private static SourceDefinition source(String connector, String... options) {
        Map<String, String> map = new LinkedHashMap<>();
        for (int i = 0; i < options.length; i += 2) {
            map.put(options[i], options[i + 1]);
        }
        return new SourceDefinition(
                connector, map, Collections.singletonList("id"), Collections.singletonList("BIGINT NOT NULL"));
    }

    private static SourceDefinition testkit() {
        return source("rust-testkit", "rows", "100", "splits", "2");
    }

    /** Created offline: the enumerator does not connect until it starts. */
    private static SourceDefinition mysqlCdc() {
        return source("rust-mysql-cdc", "hostname", "127.0.0.1", "username", "u", "password", "hostile-S3cret!",
                "database-name", "d", "table-name", "t", "server-id", "7300-7301");
    }

    /** The JVM is alive and the bridge works: a fresh testkit source reads all of its 100 rows. */
    @AfterEach
    void theBridgeStillReadsEveryRow() {
        NativeEnumerator enumerator = NativeEnumerator.create(testkit(), 1, null);
        NativeReader reader = NativeReader.create(testkit(), 0, 1);
        try {
            enumerator.start();
            reader.start();
            int rows = 0;
            for (int round = 0; round < 100; round++) {
                List<EnumeratorCommand> commands = enumerator.handleSplitRequest(0, null);
                for (EnumeratorCommand command : commands) {
                    if (command instanceof EnumeratorCommand.AssignSplits) {
                        reader.addSplits(((EnumeratorCommand.AssignSplits) command).splits());
                    } else if (command instanceof EnumeratorCommand.SignalNoMoreSplits) {
                        reader.notifyNoMoreSplits();
                    }
                }
                ReaderResponse response = reader.pollNext();
                while (response.status() == ReaderResponse.STATUS_BATCH) {
                    rows += response.rowCount();
                    response = reader.pollNext();
                }
                if (response.status() == ReaderResponse.STATUS_END_OF_INPUT) {
                    break;
                }
            }
            assertThat(rows).isEqualTo(100);
        } finally {
            reader.close();
            enumerator.close();
        }
        assertThat(NativeLogDrain.references()).isZero();
    }

    /** A checkpoint of a real testkit enumerator, as Flink stores it (through the serializer). */
    private static byte[] storedEnumeratorCheckpoint() throws IOException {
        NativeEnumerator enumerator = NativeEnumerator.create(testkit(), 1, null);
        try {
            enumerator.start();
            byte[] state = enumerator.snapshotState(1);
            return EnumeratorCheckpointSerializer.INSTANCE.serialize(new EnumeratorCheckpoint(state));
        } finally {
            enumerator.close();
        }
    }

    @Test
    void aDamagedEnumeratorCheckpointFailsTheRestoreWithTheCauseAndTheFix() throws IOException {
        byte[] stored = storedEnumeratorCheckpoint();
        // Damage after the version header: the bytes of the state itself.
        byte[] damaged = stored.clone();
        for (int i = 4; i < damaged.length; i++) {
            damaged[i] = (byte) 0xFF;
        }
        EnumeratorCheckpoint restored =
                EnumeratorCheckpointSerializer.INSTANCE.deserialize(EnumeratorCheckpointSerializer.VERSION, damaged);
        assertThatThrownBy(() -> NativeEnumerator.create(testkit(), 1, restored.state()))
                .isInstanceOf(NativeException.class)
                .isNotInstanceOf(NativeValidationException.class)
                .hasMessageStartingWith("enumeratorCreate: cannot restore enumerator state: corrupt or incompatible bytes")
                .hasMessageContaining("restore from another checkpoint or savepoint of this job, or start without state");
        // The same bytes under another state version: both versions named.
        byte[] otherVersion = stored.clone();
        ByteBuffer.wrap(otherVersion).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 9);
        assertThatThrownBy(() -> NativeEnumerator.create(testkit(), 1, otherVersion))
                .isInstanceOf(NativeException.class)
                .hasMessageContaining("written with state version 9 but this connector reads version 1");
        // Another connector's checkpoint restored into rust-mysql-cdc.
        assertThatThrownBy(() -> NativeEnumerator.create(mysqlCdc(), 1, stored))
                .isInstanceOf(NativeException.class)
                .hasMessageContaining("the checkpoint is damaged or was written by another connector");
        // A serializer version this bridge never wrote is refused in Java, before native code.
        assertThatThrownBy(() -> EnumeratorCheckpointSerializer.INSTANCE.deserialize(2, stored))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("serializer version 2");
    }

    @Test
    void aSplitCutShortFailsTheReaderWithTheCause() throws IOException {
        NativeEnumerator enumerator = NativeEnumerator.create(testkit(), 1, null);
        NativeSplit split;
        try {
            enumerator.start();
            split = ((EnumeratorCommand.AssignSplits) enumerator.handleSplitRequest(0, null).get(0)).splits().get(0);
        } finally {
            enumerator.close();
        }
        byte[] stored = NativeSplitSerializer.INSTANCE.serialize(split);
        // Cut inside the envelope: Flink's side says so.
        assertThatThrownBy(() -> NativeSplitSerializer.INSTANCE.deserialize(1, Arrays.copyOf(stored, stored.length - 1)))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("Corrupt Rust connector split");
        // Cut inside the native state, envelope intact: the reader says so.
        NativeSplit cut = new NativeSplit(split.splitId(), Arrays.copyOf(split.state(), 5));
        NativeSplit restored = NativeSplitSerializer.INSTANCE.deserialize(1, NativeSplitSerializer.INSTANCE.serialize(cut));
        NativeReader reader = NativeReader.create(testkit(), 0, 1);
        try {
            assertThatThrownBy(() -> reader.addSplits(List.of(restored)))
                    .isInstanceOf(NativeException.class)
                    .hasMessageContaining("cannot restore split: corrupt or incompatible bytes")
                    .hasMessageContaining("start without state");
        } finally {
            reader.close();
        }
    }

    @Test
    void sourceEventsThatAreNotEventsFailTheCallNotTheJvm() {
        NativeEnumerator cdc = NativeEnumerator.create(mysqlCdc(), 2, null);
        try {
            assertThatThrownBy(() -> cdc.handleSourceEvent(0, new byte[] {1, 0, 0, 0, 9, 9, 9}))
                    .isInstanceOf(NativeException.class)
                    .hasMessageStartingWith("enumerator.handleSourceEvent")
                    .hasMessageContaining("cannot restore source event")
                    .hasMessageContaining("the enumerator and the readers run different versions of the connector")
                    .hasMessageNotContaining("hostile-S3cret!");
            // A reader event whose table name claims 2^40 bytes: bincode used to allocate a
            // terabyte before reading it, and the failed allocation aborted this JVM.
            ByteBuffer huge = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
            huge.putInt(1).put((byte) 0).put((byte) 1).put((byte) 0).put((byte) 0xFD).putLong(1L << 40);
            assertThatThrownBy(() -> cdc.handleSourceEvent(0, huge.array()))
                    .isInstanceOf(NativeException.class)
                    .hasMessageContaining("cannot restore source event: corrupt or incompatible bytes");
            // Still usable afterwards.
            assertThat(cdc.snapshotState(1)).isNotEmpty();
        } finally {
            cdc.close();
        }
    }

    @Test
    void splitListsWithImpossibleCountsAreErrorsNotAllocations() {
        NativeLibrary.ensureLoaded();
        long handle = NativeBridge.readerCreate("rust-testkit", new String[] {"rows"}, new String[] {"10"},
                new String[] {"id"}, new String[] {"BIGINT NOT NULL"}, 0, 1, new String[0]);
        try {
            // i32::MAX splits announced, none present: used to reserve ~100 GB and abort the JVM.
            byte[] list = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(Integer.MAX_VALUE).array();
            assertThatThrownBy(() -> NativeBridge.readerAddSplits(handle, list))
                    .isInstanceOf(NativeException.class)
                    .hasMessageStartingWith("reader.addSplits: ")
                    .hasMessageEndingWith("truncated message: need 4 bytes at offset 4");
        } finally {
            NativeBridge.readerClose(handle);
        }
    }

    @Test
    void aPanicInTheReaderIsAJavaExceptionAndTheReaderClosesCleanly() {
        SourceDefinition panicking = source("rust-testkit", "rows", "10", "fail.on", "poll-panic");
        NativeEnumerator enumerator = NativeEnumerator.create(panicking, 1, null);
        NativeReader reader = NativeReader.create(panicking, 0, 1);
        try {
            enumerator.start();
            reader.start();
            reader.addSplits(((EnumeratorCommand.AssignSplits) enumerator.handleSplitRequest(0, null).get(0)).splits());
            assertThatThrownBy(reader::pollNext)
                    .isInstanceOf(NativeException.class)
                    .hasMessageContaining("Rust panic")
                    .hasMessageContaining("testkit: poll panic as configured");
            // The reader survived its panic well enough to be checkpointed and closed.
            assertThat(reader.snapshotState(1)).isNotNull();
        } finally {
            reader.close();
            enumerator.close();
        }
    }
}
