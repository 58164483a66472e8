package io.flinkrust.bridge.source;

import io.flinkrust.bridge.jni.SourceDefinition;

import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;

import javax.annotation.Nullable;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Everything needed to create a Rust source anywhere in the cluster: connector identifier,
 * options (in insertion order), the table's physical row type and, optionally, metadata columns,
 * a projection and a limit (SQL push-downs). Serialized with the job graph; it holds nothing
 * native. {@link #toString()} masks credentials: never print {@link #options()} yourself.
 *
 * <p><b>Metadata columns</b> (SQL {@code METADATA FROM 'key'}, see {@link #withMetadata}): each
 * metadata column a query reads is appended to the row type the connector is created with, after
 * the physical columns, as a field named {@value #METADATA_PREFIX}{@code <key>} (the contract with
 * {@code rust-core/src/types.rs}, {@code METADATA_PREFIX}); the connector fills it. The produced
 * row is the (projected) physical columns, then the metadata columns in key order, which is what
 * Flink's {@code SupportsReadingMetadata} expects.
 *
 * <p><b>Projection.</b> The connector is always created with every physical column (plus the
 * metadata columns read): its options are validated against every declared column, and
 * boundedness and row count do not depend on which columns a query reads (a {@code rust-datagen}
 * sequence column bounds the table even when the query does not select it). The projection
 * travels to the native side in the reserved option {@value #PROJECTION_OPTION} as indexes into
 * {@link #rowType()} (metadata fields included), which {@code rust-core} removes before the
 * connector sees the options; native readers then drop the unread columns from each Arrow batch
 * before encoding, so only the {@link #producedType()} columns are encoded and cross the bridge.
 *
 * <p><b>Limit.</b> Each reader emits at most {@link #limit()} rows (see {@link RustSourceReader}).
 * It is applied in Java only and never sent to the native side.
 */
public final class RustSourceSpec implements Serializable {
    /** 2: metadata columns; the row type is the physical one plus the metadata fields. */
    private static final long serialVersionUID = 2L;

    /** Option keys containing one of these (case-insensitively) have their values masked. */
    private static final String[] SENSITIVE_KEY_PARTS = {"password", "secret", "token", "credential"};

    static final String MASK = "******";

    /**
     * The reserved option that carries the projection to the native side (must match
     * {@code PROJECTION_OPTION} in {@code rust-core/src/runtime.rs}): produced column indexes into
     * the row type, comma-separated. Users cannot set it.
     */
    public static final String PROJECTION_OPTION = "__bridge.projection";

    /**
     * The field-name prefix of metadata columns in the row type sent to the native side (must
     * match {@code METADATA_PREFIX} in {@code rust-core/src/types.rs}).
     */
    public static final String METADATA_PREFIX = "__metadata.";

    /** {@link #limit()} when there is none. */
    public static final long NO_LIMIT = -1;

    private final String connector;
    private final LinkedHashMap<String, String> options;
    /** The table's physical columns; the connector always gets all of them. */
    private final RowType physicalType;
    /** Keys of the metadata columns read, in produced order; their types alongside. */
    private final ArrayList<String> metadataKeys;
    private final ArrayList<LogicalType> metadataTypes;
    /** The connector's row type: {@link #physicalType}, then one field per metadata key. */
    private final RowType rowType;
    private final ArrayList<String> fieldNames;
    private final ArrayList<String> fieldTypes;
    /** Indexes into {@link #physicalType} of the produced physical columns, in order; null: all. */
    @Nullable private final int[] projection;
    private final RowType producedType;
    private final long limit;

    private RustSourceSpec(
            String connector,
            Map<String, String> options,
            RowType physicalType,
            List<String> metadataKeys,
            List<LogicalType> metadataTypes,
            @Nullable int[] projection,
            long limit) {
        this.connector = Objects.requireNonNull(connector, "connector");
        this.options = new LinkedHashMap<>(options);
        this.physicalType = Objects.requireNonNull(physicalType, "rowType");
        if (this.options.containsKey(PROJECTION_OPTION)) {
            throw new IllegalArgumentException("Option '" + PROJECTION_OPTION
                    + "' is reserved for the bridge (projection push-down); remove it.");
        }
        for (String name : physicalType.getFieldNames()) {
            if (name.startsWith(METADATA_PREFIX)) {
                // The native side would take it for a metadata column.
                throw new IllegalArgumentException("Column name '" + name + "' is reserved: names starting with '"
                        + METADATA_PREFIX + "' denote metadata columns; rename the column.");
            }
        }
        if (limit < 0 && limit != NO_LIMIT) {
            throw new IllegalArgumentException("limit must not be negative: " + limit);
        }
        this.limit = limit;
        this.metadataKeys = new ArrayList<>(metadataKeys);
        this.metadataTypes = new ArrayList<>(metadataTypes);
        if (this.metadataKeys.size() != this.metadataTypes.size()) {
            throw new IllegalArgumentException(this.metadataKeys.size() + " metadata keys but "
                    + this.metadataTypes.size() + " metadata types");
        }
        if (new HashSet<>(this.metadataKeys).size() != this.metadataKeys.size()) {
            throw new IllegalArgumentException("duplicate metadata keys: " + this.metadataKeys);
        }
        List<RowType.RowField> all = new ArrayList<>(physicalType.getFields());
        for (int i = 0; i < this.metadataKeys.size(); i++) {
            all.add(new RowType.RowField(
                    METADATA_PREFIX + Objects.requireNonNull(this.metadataKeys.get(i), "metadata key"),
                    Objects.requireNonNull(this.metadataTypes.get(i), "metadata type")));
        }
        this.rowType = this.metadataKeys.isEmpty() ? physicalType : new RowType(physicalType.isNullable(), all);
        this.projection = projection == null ? null : projection.clone();
        this.producedType = this.projection == null ? rowType : project(rowType, producedIndexes());
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
     * The produced columns as indexes into {@link #rowType}: the projected physical columns,
     * then every metadata field. Only meaningful with a projection.
     */
    private int[] producedIndexes() {
        int physical = physicalType.getFieldCount();
        int[] indexes = new int[projection.length + metadataKeys.size()];
        for (int i = 0; i < projection.length; i++) {
            if (projection[i] < 0 || projection[i] >= physical) {
                throw new IllegalArgumentException(
                        "projected field " + projection[i] + " is out of range for " + physical + " fields");
            }
            indexes[i] = projection[i];
        }
        for (int j = 0; j < metadataKeys.size(); j++) {
            indexes[projection.length + j] = physical + j;
        }
        return indexes;
    }

    /**
     * @param connector the connector identifier, e.g. {@code rust-datagen}
     * @param options the connector options, passed to the connector as they are
     * @param rowType the produced rows (the table's physical row type)
     */
    public static RustSourceSpec of(String connector, Map<String, String> options, RowType rowType) {
        return new RustSourceSpec(
                connector, options, rowType, Collections.emptyList(), Collections.emptyList(), null, NO_LIMIT);
    }

    /**
     * This spec, producing only the given physical columns of the currently produced ones, in
     * that order (projections compose: indexes refer to the physical part of
     * {@link #producedType()}). Metadata columns are not affected: they always follow the physical
     * ones (Flink's {@code SupportsReadingMetadata} contract: the planner projects the physical
     * columns, then applies the metadata keys it still needs).
     */
    public RustSourceSpec withProjection(int[] fields) {
        int produced = producedPhysicalCount();
        int[] absolute = new int[fields.length];
        for (int i = 0; i < fields.length; i++) {
            int f = fields[i];
            if (f < 0 || f >= produced) {
                throw new IllegalArgumentException("projected field " + f + " is out of range for "
                        + produced + " physical fields");
            }
            absolute[i] = projection == null ? f : projection[f];
        }
        return new RustSourceSpec(connector, options, physicalType, metadataKeys, metadataTypes, absolute, limit);
    }

    /**
     * This spec, reading exactly these metadata columns (replacing any read before), appended in
     * this order after the produced physical columns. The types are the connector's declared
     * metadata types (Flink casts to the column's type after the source).
     */
    public RustSourceSpec withMetadata(List<String> keys, List<LogicalType> types) {
        return new RustSourceSpec(connector, options, physicalType, keys, types, projection, limit);
    }

    /** This spec, with each reader emitting at most {@code limit} rows ({@link #NO_LIMIT}: no limit). */
    public RustSourceSpec withLimit(long limit) {
        return new RustSourceSpec(connector, options, physicalType, metadataKeys, metadataTypes, projection, limit);
    }

    private int producedPhysicalCount() {
        return projection == null ? physicalType.getFieldCount() : projection.length;
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

    /**
     * The row type the connector is created with: every physical column, then a field
     * {@value #METADATA_PREFIX}{@code <key>} per metadata column read; never projected.
     */
    public RowType rowType() {
        return rowType;
    }

    /** The table's physical row type. */
    public RowType physicalType() {
        return physicalType;
    }

    /** The metadata keys read, in the order their columns follow the physical ones. */
    public List<String> metadataKeys() {
        return Collections.unmodifiableList(metadataKeys);
    }

    /** The rows the source emits: the projected physical columns, then the metadata columns. */
    public RowType producedType() {
        return producedType;
    }

    /** The produced physical columns as indexes into {@link #physicalType()}, or empty when not projected. */
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

    /**
     * The projection as sent natively: the produced columns as indexes into {@link #rowType()}
     * (projected physical columns, then every metadata field), or empty when the source produces
     * its whole row type.
     */
    public Optional<int[]> nativeProjection() {
        return projection == null ? Optional.empty() : Optional.of(producedIndexes());
    }

    /** The arguments of the native calls that create this source (the projection included). */
    public SourceDefinition toDefinition() {
        if (projection == null) {
            return new SourceDefinition(connector, options, fieldNames, fieldTypes);
        }
        // Indexes into the connector's row type, metadata fields included.
        Map<String, String> withProjection = new LinkedHashMap<>(options);
        withProjection.put(
                PROJECTION_OPTION,
                Arrays.stream(producedIndexes()).mapToObj(Integer::toString).collect(Collectors.joining(",")));
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
                && physicalType.equals(that.physicalType)
                && metadataKeys.equals(that.metadataKeys)
                && metadataTypes.equals(that.metadataTypes)
                && Arrays.equals(projection, that.projection)
                && limit == that.limit;
    }

    @Override
    public int hashCode() {
        return Objects.hash(connector, options, physicalType, metadataKeys, metadataTypes,
                Arrays.hashCode(projection), limit);
    }

    @Override
    public String toString() {
        return "RustSourceSpec{connector=" + connector + ", options=" + maskedOptions() + ", rowType=" + physicalType
                + (metadataKeys.isEmpty() ? "" : ", metadata=" + metadataKeys)
                + (projection == null ? "" : ", projection=" + Arrays.toString(projection))
                + (limit == NO_LIMIT ? "" : ", limit=" + limit)
                + "}";
    }
}
