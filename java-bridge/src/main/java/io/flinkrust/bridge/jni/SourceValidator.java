package io.flinkrust.bridge.jni;

/** Validates a source natively at job submission, exactly as enumerator and readers will. */
public final class SourceValidator {
    private SourceValidator() {}

    /**
     * @return true if the source is bounded
     * @throws NativeValidationException naming the bad option (and the supported ones) or column
     */
    public static boolean validate(SourceDefinition definition) {
        NativeLibrary.ensureLoaded();
        try {
            return NativeBridge.validateSource(
                    definition.connector(),
                    definition.optionKeys(),
                    definition.optionValues(),
                    definition.fieldNames(),
                    definition.fieldTypes());
        } finally {
            NativeLogDrain.flushIfIdle();
        }
    }
}
