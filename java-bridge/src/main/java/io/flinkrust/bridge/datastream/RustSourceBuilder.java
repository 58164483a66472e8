package io.flinkrust.bridge.datastream;

import io.flinkrust.bridge.jni.NativeValidationException;
import io.flinkrust.bridge.source.RustSource;
import io.flinkrust.bridge.source.RustSourceSpec;

import org.apache.flink.table.types.DataType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.ZoneId;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Builds a {@link RustSource} for DataStream programs:
 *
 * <pre>{@code
 * RustSource source = RustSource.builder("rust-datagen")
 *         .option("number-of-rows", "1000")
 *         .column("id", DataTypes.BIGINT().notNull())
 *         .build();
 * DataStream<RowData> rows = env.fromSource(source, WatermarkStrategy.noWatermarks(), "datagen");
 * }</pre>
 *
 * <p>Metadata a connector offers (for {@code rust-mysql-cdc}: {@code database_name},
 * {@code table_name}, {@code op_ts}, {@code row_kind}, {@code schema_change}, which makes each
 * schema change a record of its own, see the connector's "Schema changes", and the binlog
 * coordinates {@code binlog_file} and {@code gtid} (STRING), {@code binlog_position} and
 * {@code binlog_row_index} (BIGINT), NULL for snapshot rows, and {@code change_seq} (BIGINT, 0 for
 * snapshot rows), see the connector's "Metadata") is appended after the columns with
 * {@link #metadata}; a multi-table CDC source then emits rows tagged with their table:
 *
 * <pre>{@code
 * RustSource cdc = RustSource.builder("rust-mysql-cdc")
 *         .option("hostname", "127.0.0.1").option("port", "3306")
 *         .option("username", "flinkcdc").option("password", password)
 *         .option("database-name", "shop").option("table-name", "orders_.*")
 *         .column("id", DataTypes.BIGINT().notNull())
 *         .column("amount", DataTypes.DECIMAL(10, 2))
 *         .metadata("table_name", DataTypes.STRING().notNull())
 *         .build();
 * }</pre>
 *
 * <p>Every connector takes the common options of {@code docs/common-options.md}, such as the
 * rate limits ({@link #rateLimitRowsPerSecond}, {@link #rateLimitBytesPerSecond}): limits for the
 * whole source, shared by its parallel readers.
 *
 * <p>{@link #build()} validates natively, so bad options fail in the client, before submission.
 *
 * <p>A {@code rust-mysql-cdc} source without {@code server-time-zone} takes the JVM's default zone
 * (where the job is built), with a WARN, as Flink CDC's {@code MySqlSource} does.
 */
public final class RustSourceBuilder {
    /** The most rows per second the whole source emits (every connector; unset: unlimited). */
    public static final String RATE_LIMIT_ROWS_PER_SECOND = "scan.rate-limit.rows-per-second";
    /** The most bytes (as Flink {@code BinaryRowData}) per second the whole source emits. */
    public static final String RATE_LIMIT_BYTES_PER_SECOND = "scan.rate-limit.bytes-per-second";

    private static final Logger LOG = LoggerFactory.getLogger(RustSourceBuilder.class);

    /** The zone option of {@code rust-mysql-cdc}, defaulted here as Flink CDC's DataStream source does. */
    static final String SERVER_TIME_ZONE = "server-time-zone";

    private final String connector;
    private final Map<String, String> options = new LinkedHashMap<>();
    private final List<RowType.RowField> fields = new ArrayList<>();
    private final List<String> metadataKeys = new ArrayList<>();
    private final List<LogicalType> metadataTypes = new ArrayList<>();

    public RustSourceBuilder(String connector) {
        this.connector = Objects.requireNonNull(connector, "connector");
    }

    /** Sets a connector option, as in SQL's {@code WITH (...)}. */
    public RustSourceBuilder option(String key, String value) {
        options.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, () -> "value of " + key));
        return this;
    }

    public RustSourceBuilder options(Map<String, String> options) {
        options.forEach(this::option);
        return this;
    }

    /**
     * Limits the whole source to {@code rowsPerSecond} rows per second, shared by its readers
     * (option {@value #RATE_LIMIT_ROWS_PER_SECOND}).
     *
     * @throws IllegalArgumentException if not positive
     */
    public RustSourceBuilder rateLimitRowsPerSecond(long rowsPerSecond) {
        return option(RATE_LIMIT_ROWS_PER_SECOND, positive(RATE_LIMIT_ROWS_PER_SECOND, rowsPerSecond, "rows"));
    }

    /**
     * Limits the whole source to {@code bytesPerSecond} bytes (as Flink {@code BinaryRowData})
     * per second, shared by its readers (option {@value #RATE_LIMIT_BYTES_PER_SECOND}).
     *
     * @throws IllegalArgumentException if not positive
     */
    public RustSourceBuilder rateLimitBytesPerSecond(long bytesPerSecond) {
        return option(RATE_LIMIT_BYTES_PER_SECOND, positive(RATE_LIMIT_BYTES_PER_SECOND, bytesPerSecond, "bytes"));
    }

    private static String positive(String option, long value, String unit) {
        if (value <= 0) {
            throw new IllegalArgumentException("Invalid value for option '" + option + "': " + value
                    + " is not a positive integer. Pass the most " + unit
                    + " per second the whole source may emit, or do not set a limit.");
        }
        return Long.toString(value);
    }

    /** Appends a column of the produced rows. */
    public RustSourceBuilder column(String name, DataType type) {
        return column(name, type.getLogicalType());
    }

    /** Appends a column of the produced rows. */
    public RustSourceBuilder column(String name, LogicalType type) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        for (RowType.RowField f : fields) {
            if (f.getName().equals(name)) {
                throw new IllegalArgumentException("Column '" + name + "' is defined twice.");
            }
        }
        fields.add(new RowType.RowField(name, type));
        return this;
    }

    /**
     * Appends the connector's metadata {@code key} as a column after all physical columns (in the
     * order added), like SQL's {@code METADATA FROM 'key'}.
     */
    public RustSourceBuilder metadata(String key, DataType type) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(type, "type");
        if (metadataKeys.contains(key)) {
            throw new IllegalArgumentException("Metadata key '" + key + "' is added twice.");
        }
        metadataKeys.add(key);
        metadataTypes.add(type.getLogicalType());
        return this;
    }

    /** All columns of a row type, in order. */
    public RustSourceBuilder columns(RowType rowType) {
        rowType.getFields().forEach(f -> column(f.getName(), f.getType()));
        return this;
    }

    /**
     * Validates natively and builds the source.
     *
     * @throws IllegalArgumentException with the connector's message if options or columns are
     *     invalid (the cause is the {@link NativeValidationException})
     */
    public RustSource build() {
        if (fields.isEmpty()) {
            throw new IllegalArgumentException("A " + connector + " source needs at least one column.");
        }
        RustSourceSpec spec = RustSourceSpec.of(connector, completedOptions(connector, options), new RowType(false, fields));
        try {
            RustSource source = new RustSource(spec);
            return metadataKeys.isEmpty() ? source : source.withMetadata(metadataKeys, metadataTypes);
        } catch (NativeValidationException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /**
     * The options with what Flink CDC's DataStream {@code MySqlSource} fills in: an unset
     * {@code server-time-zone} of {@code rust-mysql-cdc} becomes the JVM's default zone (Flink CDC's
     * {@code MySqlSourceConfigFactory} default), with a WARN, since the server's own zone is what its
     * values are in. SQL tables default to the session zone instead ({@code RustMySqlCdcTableFactory}).
     */
    static Map<String, String> completedOptions(String connector, Map<String, String> options) {
        if (!"rust-mysql-cdc".equals(connector) || options.containsKey(SERVER_TIME_ZONE)) {
            return options;
        }
        String zone = ZoneId.systemDefault().getId();
        LOG.warn("'{}' is not set: DATETIME values read as TIMESTAMP_LTZ and TIMESTAMP values read as TIMESTAMP are"
                + " taken to be in '{}' (the JVM's default time zone, as Flink CDC does). Set it to the server's time zone.",
                SERVER_TIME_ZONE, zone);
        Map<String, String> completed = new LinkedHashMap<>(options);
        completed.put(SERVER_TIME_ZONE, zone);
        return completed;
    }
}
