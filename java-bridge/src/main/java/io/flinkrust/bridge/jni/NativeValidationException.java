package io.flinkrust.bridge.jni;

/** Bad user input found by a connector (an option or the schema); names the cause and the fix. */
public class NativeValidationException extends NativeException {
    private static final long serialVersionUID = 1L;

    public NativeValidationException(String message) {
        super(message);
    }
}
