package io.flinkrust.bridge.jni;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What every source-creating native call receives: connector identifier, options and row type
 * (field names and {@code LogicalType#asSerializableString()} types). Immutable; built per call
 * from the serializable source spec. {@link #toString()} names option keys only, never values.
 */
public final class SourceDefinition {
    private final String connector;
    private final String[] optionKeys;
    private final String[] optionValues;
    private final String[] fieldNames;
    private final String[] fieldTypes;

    public SourceDefinition(
            String connector, Map<String, String> options, List<String> fieldNames, List<String> fieldTypes) {
        this.connector = Objects.requireNonNull(connector, "connector");
        List<String> keys = new ArrayList<>(options.size());
        List<String> values = new ArrayList<>(options.size());
        for (Map.Entry<String, String> e : options.entrySet()) {
            keys.add(Objects.requireNonNull(e.getKey(), "option key"));
            values.add(Objects.requireNonNull(e.getValue(), () -> "value of option '" + e.getKey() + "'"));
        }
        if (fieldNames.size() != fieldTypes.size()) {
            throw new IllegalArgumentException("field names and types differ in length");
        }
        this.optionKeys = keys.toArray(new String[0]);
        this.optionValues = values.toArray(new String[0]);
        this.fieldNames = fieldNames.toArray(new String[0]);
        this.fieldTypes = fieldTypes.toArray(new String[0]);
    }

    public String connector() {
        return connector;
    }

    String[] optionKeys() {
        return optionKeys;
    }

    String[] optionValues() {
        return optionValues;
    }

    String[] fieldNames() {
        return fieldNames;
    }

    String[] fieldTypes() {
        return fieldTypes;
    }

    public int arity() {
        return fieldNames.length;
    }

    @Override
    public String toString() {
        return "SourceDefinition{connector=" + connector + ", optionKeys=" + String.join(",", optionKeys)
                + ", fields=" + String.join(",", fieldNames) + "}";
    }
}
