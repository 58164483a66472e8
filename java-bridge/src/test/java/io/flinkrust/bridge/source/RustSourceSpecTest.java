package io.flinkrust.bridge.source;

import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.util.InstantiationUtil;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RustSourceSpecTest {

    static RustSourceSpec spec() {
        Map<String, String> options = new LinkedHashMap<>();
        options.put("url", "db://host");
        options.put("password", "hunter2");
        options.put("auth.Token", "abc123");
        options.put("client-secret", "s3cr3t");
        RowType rowType = (RowType) DataTypes.ROW(
                        DataTypes.FIELD("id", DataTypes.BIGINT().notNull()),
                        DataTypes.FIELD("name", DataTypes.VARCHAR(20)),
                        DataTypes.FIELD("price", DataTypes.DECIMAL(10, 2)),
                        DataTypes.FIELD("ts", DataTypes.TIMESTAMP_LTZ(3)))
                .getLogicalType();
        return RustSourceSpec.of("rust-x", options, rowType);
    }

    @Test
    void credentialsNeverAppearInToString() {
        String text = spec().toString();
        assertThat(text).contains("url=db://host", "password=******", "auth.Token=******", "client-secret=******");
        assertThat(text).doesNotContain("hunter2", "abc123", "s3cr3t");
        assertThat(spec().toDefinition().toString()).doesNotContain("hunter2", "abc123", "s3cr3t", "db://host");
    }

    @Test
    void fieldTypesAreSerializableStringsAndOptionsKeepTheirOrder() throws Exception {
        RustSourceSpec spec = spec();
        assertThat(spec.fieldNames()).containsExactly("id", "name", "price", "ts");
        assertThat(spec.fieldTypes())
                .containsExactly("BIGINT NOT NULL", "VARCHAR(20)", "DECIMAL(10, 2)", "TIMESTAMP(3) WITH LOCAL TIME ZONE");
        assertThat(spec.options().keySet()).containsExactly("url", "password", "auth.Token", "client-secret");

        RustSourceSpec copy = InstantiationUtil.clone(spec);
        assertThat(copy).isEqualTo(spec);
        assertThat(copy.options().keySet()).containsExactly("url", "password", "auth.Token", "client-secret");
        assertThat(copy.rowType()).isEqualTo(spec.rowType());
    }

    @Test
    void serializersRoundTripAndRejectOtherVersions() throws Exception {
        NativeSplit split = new NativeSplit("range-3", new byte[] {1, 0, 0, 0, 42});
        byte[] bytes = NativeSplitSerializer.INSTANCE.serialize(split);
        assertThat(NativeSplitSerializer.INSTANCE.deserialize(1, bytes)).isEqualTo(split);
        assertThatThrownBy(() -> NativeSplitSerializer.INSTANCE.deserialize(2, bytes))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("version 2");
        assertThatThrownBy(() -> NativeSplitSerializer.INSTANCE.deserialize(1, new byte[] {0, 0, 0, 9}))
                .isInstanceOf(IOException.class);

        EnumeratorCheckpoint checkpoint = new EnumeratorCheckpoint(new byte[] {1, 2, 3});
        assertThat(EnumeratorCheckpointSerializer.INSTANCE.deserialize(
                        1, EnumeratorCheckpointSerializer.INSTANCE.serialize(checkpoint)))
                .isEqualTo(checkpoint);
        assertThatThrownBy(() -> EnumeratorCheckpointSerializer.INSTANCE.deserialize(3, new byte[0]))
                .isInstanceOf(IOException.class);
    }

    /**
     * Metadata columns follow the physical ones in the connector's row type as
     * {@code __metadata.<key>}; the planner's order (projection, then metadata) and the reverse
     * give the same produced row, and the native projection addresses the metadata fields.
     */
    @Test
    void metadataColumnsFollowThePhysicalOnesAndComposeWithProjection() throws Exception {
        List<String> keys = Arrays.asList("op_ts", "row_kind");
        List<LogicalType> types = Arrays.asList(
                DataTypes.TIMESTAMP_LTZ(3).notNull().getLogicalType(), DataTypes.STRING().notNull().getLogicalType());
        RustSourceSpec base = spec();
        RustSourceSpec spec = base.withProjection(new int[] {3, 0}).withMetadata(keys, types);

        assertThat(spec.fieldNames()).containsExactly("id", "name", "price", "ts", "__metadata.op_ts", "__metadata.row_kind");
        assertThat(spec.fieldTypes()).endsWith("TIMESTAMP(3) WITH LOCAL TIME ZONE NOT NULL", "VARCHAR(2147483647) NOT NULL");
        assertThat(spec.physicalType()).isEqualTo(base.rowType());
        assertThat(spec.producedType().getFieldNames()).containsExactly("ts", "id", "__metadata.op_ts", "__metadata.row_kind");
        assertThat(spec.arity()).isEqualTo(4);
        assertThat(spec.projection()).hasValueSatisfying(p -> assertThat(p).containsExactly(3, 0));
        assertThat(spec.nativeProjection()).hasValueSatisfying(p -> assertThat(p).containsExactly(3, 0, 4, 5));

        // Metadata first, then projection: the same source.
        assertThat(base.withMetadata(keys, types).withProjection(new int[] {3, 0})).isEqualTo(spec);
        // A later projection indexes the produced physical columns; metadata stays at the end.
        RustSourceSpec narrower = spec.withProjection(new int[] {1});
        assertThat(narrower.producedType().getFieldNames()).containsExactly("id", "__metadata.op_ts", "__metadata.row_kind");
        assertThat(narrower.nativeProjection()).hasValueSatisfying(p -> assertThat(p).containsExactly(0, 4, 5));
        assertThatThrownBy(() -> spec.withProjection(new int[] {2})).isInstanceOf(IllegalArgumentException.class);
        // withMetadata replaces the keys read (the planner re-applies the ones still needed).
        RustSourceSpec fewer = spec.withMetadata(keys.subList(1, 2), types.subList(1, 2));
        assertThat(fewer.fieldNames()).containsExactly("id", "name", "price", "ts", "__metadata.row_kind");
        assertThat(fewer.nativeProjection()).hasValueSatisfying(p -> assertThat(p).containsExactly(3, 0, 4));
        // Without a projection the row type is produced as it is: nothing to project natively.
        assertThat(base.withMetadata(keys, types).nativeProjection()).isEmpty();
        assertThat(base.withMetadata(keys, types).producedType()).isEqualTo(base.withMetadata(keys, types).rowType());

        RustSourceSpec copy = InstantiationUtil.clone(spec);
        assertThat(copy).isEqualTo(spec).hasSameHashCodeAs(spec).isNotEqualTo(fewer).isNotEqualTo(base);
        assertThat(copy.producedType()).isEqualTo(spec.producedType());
        assertThat(copy.toString()).contains("metadata=[op_ts, row_kind]", "projection=[3, 0]").doesNotContain("hunter2");
        assertThat(spec.toDefinition().toString()).contains("__metadata.row_kind").doesNotContain("hunter2");
    }

    @Test
    void metadataMistakesAndReservedColumnNamesAreRejected() {
        List<LogicalType> one = Collections.singletonList(DataTypes.STRING().getLogicalType());
        assertThatThrownBy(() -> spec().withMetadata(Arrays.asList("a", "b"), one))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2 metadata keys but 1");
        assertThatThrownBy(() -> spec().withMetadata(Arrays.asList("a", "a"), Arrays.asList(one.get(0), one.get(0))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("duplicate");
        RowType reserved = (RowType) DataTypes.ROW(DataTypes.FIELD("__metadata.x", DataTypes.INT())).getLogicalType();
        assertThatThrownBy(() -> RustSourceSpec.of("rust-x", Collections.emptyMap(), reserved))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'__metadata.x'", "rename");
    }
}
