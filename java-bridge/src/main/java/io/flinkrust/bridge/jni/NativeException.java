package io.flinkrust.bridge.jni;

/** A failure in native code (a Rust error or panic), with the operation and its context. */
public class NativeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public NativeException(String message) {
        super(message);
    }
}
