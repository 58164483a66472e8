package io.flinkrust.bridge.table;

import io.flinkrust.bridge.jni.NativeValidationException;
import io.flinkrust.bridge.source.RustSource;

import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.connector.source.abilities.SupportsReadingMetadata;
import org.apache.flink.table.types.DataType;
import org.apache.flink.table.types.logical.LogicalType;

import javax.annotation.Nullable;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A scan over a Rust connector that offers metadata columns (SQL {@code METADATA FROM 'key'}).
 *
 * <p>The planner first pushes the projection of the physical columns ({@link #applyProjection}),
 * then {@link #applyReadableMetadata} with the keys the query still reads. The source then
 * produces the projected physical columns followed by those metadata columns in key order; the
 * connector receives them as fields {@code __metadata.<key>} after every physical column (see
 * {@code RustSourceSpec}), typed as {@link #listReadableMetadata()} declares (the planner casts to
 * each column's declared type after the source).
 */
public final class RustMetadataTableSource extends RustDynamicTableSource implements SupportsReadingMetadata {
    /** Key to type, in the order the connector documents them. */
    private final LinkedHashMap<String, DataType> metadata;

    RustMetadataTableSource(
            RustSource source,
            @Nullable Integer parallelism,
            ChangelogMode changelogMode,
            Map<String, DataType> metadata,
            boolean limitPushDown) {
        super(source, parallelism, changelogMode, limitPushDown);
        if (metadata.isEmpty()) {
            throw new IllegalArgumentException("a source without metadata is a RustDynamicTableSource");
        }
        this.metadata = new LinkedHashMap<>(metadata);
    }

    @Override
    public Map<String, DataType> listReadableMetadata() {
        return Collections.unmodifiableMap(metadata);
    }

    /**
     * Validated natively again: the connector sees the metadata fields in its row type. The
     * planner has already checked the keys against {@link #listReadableMetadata()}; a key it did
     * not offer is still reported with the supported ones rather than trusted.
     */
    @Override
    public void applyReadableMetadata(List<String> metadataKeys, DataType producedDataType) {
        List<LogicalType> types = new ArrayList<>(metadataKeys.size());
        for (String key : metadataKeys) {
            DataType type = metadata.get(key);
            if (type == null) {
                throw new ValidationException(RustDynamicTableSourceFactory.unknownMetadataKey(
                        source().spec().connector(), key, metadata));
            }
            types.add(type.getLogicalType());
        }
        try {
            setSource(source().withMetadata(metadataKeys, types));
        } catch (NativeValidationException | IllegalArgumentException e) {
            throw new ValidationException(e.getMessage(), e);
        }
    }

    @Override
    public DynamicTableSource copy() {
        return new RustMetadataTableSource(source(), parallelism(), getChangelogMode(), metadata, limitPushDown());
    }
}
