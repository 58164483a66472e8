package io.flinkrust.bridge.source;

import java.util.Arrays;
import java.util.Objects;

/** A Rust enumerator's checkpointed state: opaque bytes carrying their own version. */
public final class EnumeratorCheckpoint {
    private final byte[] state;

    public EnumeratorCheckpoint(byte[] state) {
        this.state = Objects.requireNonNull(state, "state");
    }

    /** The native state bytes (not copied: do not modify). */
    public byte[] state() {
        return state;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EnumeratorCheckpoint && Arrays.equals(state, ((EnumeratorCheckpoint) o).state);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(state);
    }

    @Override
    public String toString() {
        return "EnumeratorCheckpoint{" + state.length + " bytes}";
    }
}
