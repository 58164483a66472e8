package io.flinkrust.bridge.table;

import io.flinkrust.bridge.jni.NativeValidationException;
import io.flinkrust.bridge.source.RustSource;
import io.flinkrust.bridge.source.RustSourceSpec;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.catalog.Column;
import org.apache.flink.table.catalog.ResolvedCatalogTable;
import org.apache.flink.table.catalog.ResolvedSchema;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.factories.DynamicTableSourceFactory;
import org.apache.flink.table.types.DataType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The SQL factory of a Rust connector; a subclass per connector supplies the identifier and, if
 * the connector is not a plain insert-only source, its {@link #changelogMode()} and the
 * {@link #metadata()} columns it offers.
 *
 * <p>Options are validated by the connector itself, natively, when the planner creates the source
 * (at planning time, before any job starts); a bad option becomes Flink's
 * {@link ValidationException} with the connector's message, which names the option and lists the
 * supported ones. Flink's own option validation is not used: the native side is the single source
 * of truth, so {@link #requiredOptions()} and {@link #optionalOptions()} are empty.
 *
 * <p>{@code scan.parallelism} sets the source parallelism, as for Flink's own connectors.
 *
 * <p><b>Metadata columns</b> are checked here, when the planner creates the source: a
 * {@code METADATA} column on a connector without metadata, or with a key the connector does not
 * offer, fails with a {@link ValidationException} that names the column and the supported keys.
 */
public abstract class RustDynamicTableSourceFactory implements DynamicTableSourceFactory {
    static final String SCAN_PARALLELISM = "scan.parallelism";

    /**
     * The connector options a table's {@code WITH} clause gave, completed from the job's
     * configuration where a connector's default depends on it. The default returns them as they are.
     */
    protected Map<String, String> completeOptions(Map<String, String> options, ReadableConfig jobConfig) {
        return options;
    }

    /** The connector identifier ({@code 'connector' = '...'}), as registered in the native library. */
    @Override
    public abstract String factoryIdentifier();

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        return Collections.emptySet();
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        return Collections.emptySet();
    }

    /** The kinds of rows the connector emits; insert-only unless overridden. */
    protected ChangelogMode changelogMode() {
        return ChangelogMode.insertOnly();
    }

    /**
     * The kinds of rows a table with these options emits, for connectors whose changelog depends
     * on an option; {@link #changelogMode()} unless overridden.
     */
    protected ChangelogMode changelogMode(Map<String, String> options) {
        return changelogMode();
    }

    /**
     * Whether a {@code LIMIT} over a bounded insert-only table may end each reader early (the
     * default). A connector whose readers ask for splits ahead must say no: a reader that ended at
     * its limit can still be handed a split it asked for, and Flink fails the job for an event
     * sent to a finished task.
     */
    protected boolean pushesDownLimits() {
        return true;
    }

    /**
     * The metadata columns the connector offers: key to type, in documentation order (Flink's
     * {@code SupportsReadingMetadata#listReadableMetadata}). The native connector receives each
     * column a query reads as a field {@code __metadata.<key>} of exactly this type. Empty (the
     * default): the connector offers none, and {@code METADATA} columns are rejected.
     */
    protected Map<String, DataType> metadata() {
        return Collections.emptyMap();
    }

    @Override
    public DynamicTableSource createDynamicTableSource(Context context) {
        ResolvedCatalogTable table = context.getCatalogTable();
        LogicalType physical = table.getResolvedSchema().toPhysicalRowDataType().getLogicalType();
        Map<String, DataType> metadata = new LinkedHashMap<>(metadata());
        checkMetadataColumns(context.getObjectIdentifier().asSummaryString(), table.getResolvedSchema(), metadata);
        Map<String, String> options = completeOptions(new LinkedHashMap<>(table.getOptions()), context.getConfiguration());
        Integer parallelism = parallelism(options.get(SCAN_PARALLELISM));
        ChangelogMode changelogMode = changelogMode(options);
        RustSource source;
        try {
            source = new RustSource(RustSourceSpec.of(factoryIdentifier(), options, (RowType) physical));
        } catch (NativeValidationException | IllegalArgumentException e) {
            throw new ValidationException(e.getMessage(), e);
        }
        // Only a connector with metadata gets a source implementing SupportsReadingMetadata.
        return metadata.isEmpty()
                ? new RustDynamicTableSource(source, parallelism, changelogMode, pushesDownLimits())
                : new RustMetadataTableSource(source, parallelism, changelogMode, metadata, pushesDownLimits());
    }

    /**
     * Fails for {@code METADATA} columns the connector cannot fill. The planner would reject them
     * too, later and in its own words; checking here names the connector, the column and the fix.
     * Type compatibility is left to the planner (it casts from the offered type when it can).
     */
    private void checkMetadataColumns(String table, ResolvedSchema schema, Map<String, DataType> metadata) {
        for (Column column : schema.getColumns()) {
            if (!(column instanceof Column.MetadataColumn)) {
                continue;
            }
            Column.MetadataColumn m = (Column.MetadataColumn) column;
            String key = m.getMetadataKey().orElse(m.getName());
            if (metadata.isEmpty()) {
                throw new ValidationException("Table '" + table + "' declares the metadata column '" + m.getName()
                        + "' (key '" + key + "'), but connector '" + factoryIdentifier()
                        + "' offers no metadata columns. Remove the METADATA column, or declare it as a physical"
                        + " or computed column.");
            }
            if (!metadata.containsKey(key)) {
                throw new ValidationException("Table '" + table + "', column '" + m.getName() + "': "
                        + unknownMetadataKey(factoryIdentifier(), key, metadata));
            }
        }
    }

    /** The message for a metadata key the connector does not offer, listing those it does. */
    static String unknownMetadataKey(String connector, String key, Map<String, DataType> metadata) {
        StringBuilder supported = new StringBuilder();
        metadata.forEach((k, type) -> supported.append("\n'").append(k).append("' ").append(type));
        return "Invalid metadata key '" + key + "'. Connector '" + connector
                + "' supports the following metadata keys (METADATA FROM '<key>'):" + supported;
    }

    private static Integer parallelism(String value) {
        if (value == null) {
            return null;
        }
        try {
            int p = Integer.parseInt(value.trim());
            if (p > 0) {
                return p;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new ValidationException(
                "Invalid value for option '" + SCAN_PARALLELISM + "': '" + value + "' is not a positive integer.");
    }
}
