package io.flinkrust.bridge.table;

import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.types.DataType;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code 'connector' = 'rust-mysql-cdc'}: change capture from MySQL/MariaDB, compatible with Flink
 * CDC's {@code mysql-cdc} connector. Like it, the table is a full changelog ({@code +I},
 * {@code -U}, {@code +U}, {@code -D}) and offers the metadata columns {@code database_name},
 * {@code table_name}, {@code op_ts} and {@code row_kind}, with the same keys and types, so tables
 * declared for {@code mysql-cdc} keep their metadata columns when they switch connectors.
 */
public final class RustMySqlCdcTableFactory extends RustDynamicTableSourceFactory {
    public static final String IDENTIFIER = "rust-mysql-cdc";

    private static final Map<String, DataType> METADATA;

    static {
        Map<String, DataType> m = new LinkedHashMap<>();
        // The database and table of the captured row.
        m.put("database_name", DataTypes.STRING().notNull());
        m.put("table_name", DataTypes.STRING().notNull());
        // When the change was made in the database; 0 (epoch) for rows read in the snapshot phase.
        m.put("op_ts", DataTypes.TIMESTAMP_LTZ(3).notNull());
        // The row's kind: +I, -U, +U or -D.
        m.put("row_kind", DataTypes.STRING().notNull());
        METADATA = Collections.unmodifiableMap(m);
    }

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    protected ChangelogMode changelogMode() {
        return ChangelogMode.all();
    }

    @Override
    protected Map<String, DataType> metadata() {
        return METADATA;
    }
}
