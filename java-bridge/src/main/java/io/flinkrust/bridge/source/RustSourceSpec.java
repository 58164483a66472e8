package io.flinkrust.bridge.source;

import io.flinkrust.bridge.jni.SourceDefinition;

import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * Everything needed to create a Rust source anywhere in the cluster: connector identifier,
 * options (in insertion order) and the produced row type. Serialized with the job graph; it holds
 * nothing native. {@link #toString()} masks credentials: never print {@link #options()} yourself.
 */
public final class RustSourceSpec implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Option keys containing one of these (case-insensitively) have their values masked. */
    private static final String[] SENSITIVE_KEY_PARTS = {"password", "secret", "token", "credential"};

    static final String MASK = "******";

    private final String connector;
    private final LinkedHashMap<String, String> options;
    private final ArrayList<String> fieldNames;
    private final ArrayList<String> fieldTypes;
    private final RowType rowType;

    private RustSourceSpec(String connector, Map<String, String> options, RowType rowType) {
        this.connector = Objects.requireNonNull(connector, "connector");
        this.options = new LinkedHashMap<>(options);
        this.rowType = Objects.requireNonNull(rowType, "rowType");
        this.fieldNames = new ArrayList<>(rowType.getFieldNames());
        this.fieldTypes = rowType.getChildren().stream()
                .map(RustSourceSpec::serializableType)
                .collect(Collectors.toCollection(ArrayList::new));
        this.options.forEach((k, v) -> {
            Objects.requireNonNull(k, "option key");
            Objects.requireNonNull(v, () -> "value of option '" + k + "'");
        });
    }

    /**
     * @param connector the connector identifier, e.g. {@code rust-datagen}
     * @param options the connector options, passed to the connector as they are
     * @param rowType the produced rows (the table's physical row type)
     */
    public static RustSourceSpec of(String connector, Map<String, String> options, RowType rowType) {
        return new RustSourceSpec(connector, options, rowType);
    }

    /**
     * The type as the native side parses it. Types without a serializable form (never supported
     * natively) fall back to their summary, which native validation then rejects by name.
     */
    static String serializableType(LogicalType type) {
        try {
            return type.asSerializableString();
        } catch (RuntimeException e) {
            return type.asSummaryString();
        }
    }

    public String connector() {
        return connector;
    }

    /** The raw options, credentials included: never log or print them. */
    public Map<String, String> options() {
        return Collections.unmodifiableMap(options);
    }

    public List<String> fieldNames() {
        return Collections.unmodifiableList(fieldNames);
    }

    /** {@code LogicalType#asSerializableString()} of each field. */
    public List<String> fieldTypes() {
        return Collections.unmodifiableList(fieldTypes);
    }

    public RowType rowType() {
        return rowType;
    }

    public int arity() {
        return fieldNames.size();
    }

    /** The arguments of the native calls that create this source. */
    public SourceDefinition toDefinition() {
        return new SourceDefinition(connector, options, fieldNames, fieldTypes);
    }

    /** True for keys whose values are credentials. */
    public static boolean isSensitiveKey(String key) {
        String lower = key.toLowerCase(Locale.ROOT);
        for (String part : SENSITIVE_KEY_PARTS) {
            if (lower.contains(part)) {
                return true;
            }
        }
        return false;
    }

    /** The options with credential values replaced by {@value #MASK}. */
    public Map<String, String> maskedOptions() {
        Map<String, String> masked = new LinkedHashMap<>();
        options.forEach((k, v) -> masked.put(k, isSensitiveKey(k) ? MASK : v));
        return masked;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof RustSourceSpec)) {
            return false;
        }
        RustSourceSpec that = (RustSourceSpec) o;
        return connector.equals(that.connector)
                && options.equals(that.options)
                && new ArrayList<>(options.keySet()).equals(new ArrayList<>(that.options.keySet()))
                && rowType.equals(that.rowType);
    }

    @Override
    public int hashCode() {
        return Objects.hash(connector, options, rowType);
    }

    @Override
    public String toString() {
        return "RustSourceSpec{connector=" + connector + ", options=" + maskedOptions() + ", rowType=" + rowType
                + "}";
    }
}
