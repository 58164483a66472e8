package io.flinkrust.bridge.source;

import org.apache.flink.api.connector.source.SourceSplit;

import java.util.Arrays;
import java.util.Objects;

/**
 * A split of a Rust connector: its id and its serialized, versioned state, opaque to Java. The
 * state is the split's progress as of the reader's last emitted batch.
 */
public final class NativeSplit implements SourceSplit {
    private final String id;
    private final byte[] state;

    public NativeSplit(String id, byte[] state) {
        this.id = Objects.requireNonNull(id, "id");
        this.state = Objects.requireNonNull(state, "state");
    }

    @Override
    public String splitId() {
        return id;
    }

    /** The native state bytes (not copied: do not modify). */
    public byte[] state() {
        return state;
    }

    public int stateLength() {
        return state.length;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof NativeSplit)) {
            return false;
        }
        NativeSplit that = (NativeSplit) o;
        return id.equals(that.id) && Arrays.equals(state, that.state);
    }

    @Override
    public int hashCode() {
        return 31 * id.hashCode() + Arrays.hashCode(state);
    }

    @Override
    public String toString() {
        return "NativeSplit{" + id + ", " + state.length + " state bytes}";
    }
}
