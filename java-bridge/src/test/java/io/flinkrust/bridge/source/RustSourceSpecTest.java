package io.flinkrust.bridge.source;

import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.util.InstantiationUtil;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.LinkedHashMap;
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
}
