package io.flinkrust.bridge.table;

import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.types.DataType;

import java.util.Collections;
import java.util.Map;

/**
 * {@code 'connector' = 'rust-testkit'}: the bridge's test connector (failures, async discovery,
 * events, changelogs and metadata columns).
 *
 * <p>With {@code 'changelog' = 'true'} it emits a changelog ({@code +I}, {@code -U}/{@code +U},
 * {@code -D}; see {@code connectors/testkit/src/lib.rs}), otherwise inserts only. It offers one
 * metadata key, {@code row_kind} (each row's kind as {@code +I}, {@code -U}, {@code +U} or
 * {@code -D}), as Flink CDC's connectors do.
 */
public final class RustTestkitTableFactory extends RustDynamicTableSourceFactory {
    public static final String IDENTIFIER = "rust-testkit";
    static final String CHANGELOG = "changelog";

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    /**
     * A changelog only with {@code 'changelog' = 'true'}. Any other value is insert-only here;
     * the connector itself rejects values other than true/false (case-insensitively, as here)
     * when the source is created, with its own message.
     */
    @Override
    protected ChangelogMode changelogMode(Map<String, String> options) {
        return "true".equalsIgnoreCase(options.get(CHANGELOG)) ? ChangelogMode.all() : ChangelogMode.insertOnly();
    }

    @Override
    protected Map<String, DataType> metadata() {
        return Collections.singletonMap("row_kind", DataTypes.STRING().notNull());
    }
}
