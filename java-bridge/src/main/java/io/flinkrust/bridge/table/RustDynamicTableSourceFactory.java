package io.flinkrust.bridge.table;

import io.flinkrust.bridge.jni.NativeValidationException;
import io.flinkrust.bridge.source.RustSource;
import io.flinkrust.bridge.source.RustSourceSpec;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.catalog.ResolvedCatalogTable;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.factories.DynamicTableSourceFactory;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The SQL factory of a Rust connector; a subclass per connector supplies only the identifier.
 *
 * <p>Options are validated by the connector itself, natively, when the planner creates the source
 * (at planning time, before any job starts); a bad option becomes Flink's
 * {@link ValidationException} with the connector's message, which names the option and lists the
 * supported ones. Flink's own option validation is not used: the native side is the single source
 * of truth, so {@link #requiredOptions()} and {@link #optionalOptions()} are empty.
 *
 * <p>{@code scan.parallelism} sets the source parallelism, as for Flink's own connectors.
 */
public abstract class RustDynamicTableSourceFactory implements DynamicTableSourceFactory {
    static final String SCAN_PARALLELISM = "scan.parallelism";

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

    @Override
    public DynamicTableSource createDynamicTableSource(Context context) {
        ResolvedCatalogTable table = context.getCatalogTable();
        LogicalType physical = table.getResolvedSchema().toPhysicalRowDataType().getLogicalType();
        Map<String, String> options = new LinkedHashMap<>(table.getOptions());
        Integer parallelism = parallelism(options.get(SCAN_PARALLELISM));
        RustSource source;
        try {
            source = new RustSource(RustSourceSpec.of(factoryIdentifier(), options, (RowType) physical));
        } catch (NativeValidationException | IllegalArgumentException e) {
            throw new ValidationException(e.getMessage(), e);
        }
        return new RustDynamicTableSource(source, parallelism);
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
