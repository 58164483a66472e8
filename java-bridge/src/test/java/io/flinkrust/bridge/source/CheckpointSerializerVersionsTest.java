package io.flinkrust.bridge.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import org.junit.jupiter.api.Test;

/**
 * The Java envelopes of checkpointed native state: version 1's bytes (the layout every release so
 * far wrote) still read, and a version of a later release is refused with the way out. The native
 * bytes inside carry their own version (golden files in {@code testdata/state/}).
 */
class CheckpointSerializerVersionsTest {

    /** Split id "binlog", state bytes 2, 0, 0, 0, 7: as version 1 writes it. */
    private static final byte[] SPLIT_V1 = {
        0, 0, 0, 6, 'b', 'i', 'n', 'l', 'o', 'g', 0, 0, 0, 5, 2, 0, 0, 0, 7
    };

    @Test
    void splitEnvelopeVersion1ReadsAndWritesItsLayout() throws IOException {
        NativeSplit split = NativeSplitSerializer.INSTANCE.deserialize(1, SPLIT_V1);
        assertThat(split.splitId()).isEqualTo("binlog");
        assertThat(split.state()).containsExactly(2, 0, 0, 0, 7);
        assertThat(NativeSplitSerializer.INSTANCE.getVersion()).isEqualTo(1);
        assertThat(NativeSplitSerializer.INSTANCE.serialize(split)).containsExactly(SPLIT_V1);
    }

    @Test
    void envelopesOfALaterReleaseAreRefusedWithTheWayOut() {
        assertThatThrownBy(() -> NativeSplitSerializer.INSTANCE.deserialize(2, SPLIT_V1))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("serializer version 2; this version reads versions 1 to 1")
                .hasMessageContaining("restore with the bridge release that wrote it or a later one");
        assertThatThrownBy(() -> EnumeratorCheckpointSerializer.INSTANCE.deserialize(2, new byte[] {2, 0, 0, 0}))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("serializer version 2; this version reads versions 1 to 1");
        assertThatThrownBy(() -> NativeSplitSerializer.INSTANCE.deserialize(0, SPLIT_V1))
                .isInstanceOf(IOException.class);
    }

    @Test
    void enumeratorEnvelopeVersion1IsTheNativeBytes() throws IOException {
        byte[] state = {2, 0, 0, 0, 1, 2, 3};
        assertThat(EnumeratorCheckpointSerializer.INSTANCE.deserialize(1, state).state()).containsExactly(state);
        assertThat(EnumeratorCheckpointSerializer.INSTANCE.serialize(new EnumeratorCheckpoint(state)))
                .containsExactly(state);
    }
}
