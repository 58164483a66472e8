package io.flinkrust.bridge.source;

import io.flinkrust.bridge.jni.SourceDefinition;

import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;

import javax.annotation.Nullable;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Everything needed to create a Rust source anywhere in the cluster: connector identifier,
 * options (in insertion order), the source's row type and, optionally, a projection and a limit
 * (SQL push-downs). Serialized with the job graph; it holds nothing native. {@link #toString()}
 * masks credentials: never print {@link #options()} yourself.
 *
 * <p><b>Projection.</b> The connector is always created with the full {@link #rowType()}: its
 * options are validated against every declared column, and boundedness and row count do not
 * depend on which columns a query reads (a {@code rust-datagen} sequence column bounds the table
 * even when the query does not select it). The projection travels to the native side in the
 * reserved option {@value #PROJECTION_OPTION}, which {@code rust-core} removes before the connector
 * sees the options; native readers then drop the unread columns from each Arrow batch before
 * encoding, so only the {@link #producedType()} columns are encoded and cross the bridge.
 *
 * <p><b>Limit.</b> Each reader emits at most {@link #limit()} rows (see {@link RustSourceReader}).
 * It is applied in Java only and never sent to the native side.
 */
public final class RustSourceSpec implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Option keys containing one of these (case-insensitively) have their values masked. */
    private static final String[] SENSITIVE_KEY_PARTS = {"password", "secret", "token", "credential"};

    static final String MASK = "******";

    /**
     * The reserved option that carries the projection to the native side (must match
     * {@code PROJECTION_OPTION} in {@code rust-core/src/runtime.rs}): produced column indexes into
     * the row type, comma-separated. Users cannot set it.
     */
    public static final String PROJECTION_OPTION = "__bridge.projection";

    /** {@link #limit()} when there is none. */
    public static final long NO_LIMIT = -1;

    private final String connector;
    private final LinkedHashMap<String, String> options;
    private final ArrayList<String> fieldNames;
    private final ArrayList<String> fieldTypes;
    private final RowType rowType;
    /** Indexes into {@link #rowType} of the produced columns, in produced order; null: all. */
    @Nullable private final int[] projection;
    private final RowType producedType;
    private final long limit;

    private RustSourceSpec(
            String connector, Map<String, String> options, RowType rowType, @Nullable int[] projection, long limit) {
        this.connector = Objects.requireNonNull(connector, "connector");
        this.options = new LinkedHashMap<>(options);
        this.rowType = Objects.requireNonNull(rowType, "rowType");
        if (this.options.containsKey(PROJECTION_OPTION)) {
            throw new IllegalArgumentException("Option '" + PROJECTION_OPTION
                    + "' is reserved for the bridge (projection push-down); remove it.");
        }
        if (limit < 0 && limit != NO_LIMIT) {
            throw new IllegalArgumentException("limit must not be negative: " + limit);
        }
        this.limit = limit;
        this.projection = projection == null ? null : projection.clone();
        this.producedType = projection == null ? rowType : project(rowType, this.projection);
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
        return new RustSourceSpec(connector, options, rowType, null, NO_LIMIT);
    }

    /**
     * This spec, producing only the given columns of the currently produced type, in that order
     * (projections compose: indexes refer to {@link #producedType()}).
     */
    public RustSourceSpec withProjection(int[] fields) {
        int[] absolute = new int[fields.length];
        for (int i = 0; i < fields.length; i++) {
            int f = fields[i];
            if (f < 0 || f >= producedType.getFieldCount()) {
                throw new IllegalArgumentException("projected field " + f + " is out of range for "
                        + producedType.getFieldCount() + " fields");
            }
            absolute[i] = projection == null ? f : projection[f];
        }
        return new RustSourceSpec(connector, options, rowType, absolute, limit);
    }

    /** This spec, with each reader emitting at most {@code limit} rows ({@link #NO_LIMIT}: no limit). */
    public RustSourceSpec withLimit(long limit) {
        return new RustSourceSpec(connector, options, rowType, projection, limit);
    }

    private static RowType project(RowType rowType, int[] projection) {
        List<RowType.RowField> all = rowType.getFields();
        List<RowType.RowField> fields = new ArrayList<>(projection.length);
        for (int i : projection) {
            if (i < 0 || i >= all.size()) {
                throw new IllegalArgumentException(
                        "projected field " + i + " is out of range for " + all.size() + " fields");
            }
            fields.add(all.get(i));
        }
        return new RowType(rowType.isNullable(), fields);
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

    /** The row type the connector is created with: the table's physical row type, never projected. */
    public RowType rowType() {
        return rowType;
    }

    /** The rows the source emits: {@link #rowType()} projected, or the row type itself. */
    public RowType producedType() {
        return producedType;
    }

    /** The produced columns as indexes into {@link #rowType()}, or empty when not projected. */
    public Optional<int[]> projection() {
        return Optional.ofNullable(projection).map(int[]::clone);
    }

    /** The most rows each reader emits, or {@link #NO_LIMIT}. */
    public long limit() {
        return limit;
    }

    /** The number of fields of each emitted row ({@link #producedType()}). */
    public int arity() {
        return producedType.getFieldCount();
    }

    /** The arguments of the native calls that create this source (the projection included). */
    public SourceDefinition toDefinition() {
        if (projection == null) {
            return new SourceDefinition(connector, options, fieldNames, fieldTypes);
        }
        Map<String, String> withProjection = new LinkedHashMap<>(options);
        withProjection.put(
                PROJECTION_OPTION,
                Arrays.stream(projection).mapToObj(Integer::toString).collect(Collectors.joining(",")));
        return new SourceDefinition(connector, withProjection, fieldNames, fieldTypes);
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
                && rowType.equals(that.rowType)
                && Arrays.equals(projection, that.projection)
                && limit == that.limit;
    }

    @Override
    public int hashCode() {
        return Objects.hash(connector, options, rowType, Arrays.hashCode(projection), limit);
    }

    @Override
    public String toString() {
        return "RustSourceSpec{connector=" + connector + ", options=" + maskedOptions() + ", rowType=" + rowType
                + (projection == null ? "" : ", projection=" + Arrays.toString(projection))
                + (limit == NO_LIMIT ? "" : ", limit=" + limit)
                + "}";
    }
}
