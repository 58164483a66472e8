package io.flinkrust.bridge.source;

import org.apache.flink.api.connector.source.SourceEvent;

import java.util.Objects;

/** An event between a Rust enumerator and its readers; the payload is the connector's business. */
public final class NativeSourceEvent implements SourceEvent {
    private static final long serialVersionUID = 1L;

    private final byte[] payload;

    public NativeSourceEvent(byte[] payload) {
        this.payload = Objects.requireNonNull(payload, "payload");
    }

    public byte[] payload() {
        return payload;
    }

    @Override
    public String toString() {
        return "NativeSourceEvent{" + payload.length + " bytes}";
    }
}
