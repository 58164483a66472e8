package io.flinkrust.bridge.table;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.types.DataType;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.ZoneId;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code 'connector' = 'rust-mysql-cdc'}: change capture from MySQL/MariaDB, compatible with Flink
 * CDC's {@code mysql-cdc} connector. Like it, the table is a full changelog ({@code +I},
 * {@code -U}, {@code +U}, {@code -D}) and offers the metadata columns {@code database_name},
 * {@code table_name}, {@code op_ts} and {@code row_kind}, with the same keys and types, so tables
 * declared for {@code mysql-cdc} keep their metadata columns when they switch connectors. Beyond
 * Flink CDC it offers each binlog row's coordinates, {@code binlog_file}, {@code binlog_position},
 * {@code binlog_row_index}, {@code gtid} and {@code change_seq}, to deduplicate and order
 * downstream (see the connector's documentation).
 */
public final class RustMySqlCdcTableFactory extends RustDynamicTableSourceFactory {
    public static final String IDENTIFIER = "rust-mysql-cdc";

    private static final Logger LOG = LoggerFactory.getLogger(RustMySqlCdcTableFactory.class);

    /** The zone the server's wall-clock values (DATETIME, and TIMESTAMP as text) are in. */
    static final String SERVER_TIME_ZONE = "server-time-zone";

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
        // Beyond Flink CDC: where a binlog row is in the binlog (NULL for snapshot rows). The file,
        // the position of its transaction's start and the row changes of the transaction before it
        // (every table counted) are the reader's resume offset; the transaction's GTID (NULL
        // without GTIDs).
        m.put("binlog_file", DataTypes.STRING());
        m.put("binlog_position", DataTypes.BIGINT());
        m.put("binlog_row_index", DataTypes.BIGINT());
        m.put("gtid", DataTypes.STRING());
        // Strictly increasing along one server's binlog, the same after any restore; 0 for
        // snapshot rows.
        m.put("change_seq", DataTypes.BIGINT().notNull());
        METADATA = Collections.unmodifiableMap(m);
    }

    /** The connector option that says when the binlog phase takes over from the snapshot. */
    static final String HANDOVER = "scan.incremental.snapshot.handover";

    /** Flink's checkpoint interval key, the same in 1.20 and 2.x (its ConfigOption class moved). */
    private static final ConfigOption<Duration> CHECKPOINTING_INTERVAL =
            ConfigOptions.key("execution.checkpointing.interval").durationType().noDefaultValue();

    /**
     * Without checkpointing the binlog phase cannot wait for a checkpoint after the snapshot (Flink
     * CDC's binlog phase then never starts): unless the table says otherwise, it starts as soon as
     * the snapshot is done ({@code 'immediate'}).
     */
    @Override
    protected Map<String, String> completeOptions(Map<String, String> options, ReadableConfig jobConfig) {
        if (!options.containsKey(HANDOVER) && !jobConfig.getOptional(CHECKPOINTING_INTERVAL).isPresent()) {
            options.put(HANDOVER, "immediate");
        }
        if (!options.containsKey(SERVER_TIME_ZONE)) {
            options.put(SERVER_TIME_ZONE, defaultServerTimeZone());
        }
        return options;
    }

    /**
     * Flink CDC's default for an unset {@code server-time-zone}: the planning JVM's default zone,
     * whatever the session time zone ({@code table.local-time-zone}) is; the conformance suite's
     * {@code time_zone_unset} case shows Flink CDC 3.5.0 ignoring the session zone. Like Flink CDC,
     * it warns: the server's own zone is what the values are in.
     */
    static String defaultServerTimeZone() {
        String zone = ZoneId.systemDefault().getId();
        LOG.warn("'{}' is not set: DATETIME values read as TIMESTAMP_LTZ and TIMESTAMP values read as TIMESTAMP are"
                + " taken to be in '{}' (this JVM's default zone, as Flink CDC does). Set it to the server's time zone.",
                SERVER_TIME_ZONE, zone);
        return zone;
    }

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    /** Every change as {@code +I} (Flink CDC's option of the same name). */
    static final String APPEND_ONLY = "scan.read-changelog-as-append-only.enabled";

    /** The connector option that chooses the startup mode; {@code 'snapshot'} reads the tables once. */
    static final String STARTUP_MODE = "scan.startup.mode";

    @Override
    protected ChangelogMode changelogMode() {
        return ChangelogMode.all();
    }

    /**
     * A bounded snapshot ({@code 'scan.startup.mode' = 'snapshot'}) emits only {@code +I}: each
     * chunk's binlog replay is folded into its rows before they are emitted, and no binlog phase
     * follows. Saying so lets the planner run the table in batch mode (which accepts insert-only
     * sources only) and use it where streaming needs an append-only input (window aggregations,
     * interval joins). Every other mode is a full changelog.
     */
    @Override
    protected ChangelogMode changelogMode(Map<String, String> options) {
        boolean snapshot = "snapshot".equalsIgnoreCase(options.getOrDefault(STARTUP_MODE, "").trim());
        // Flink CDC's option: every change emitted as +I (the row_kind metadata column keeps its kind).
        boolean appendOnly = "true".equalsIgnoreCase(options.getOrDefault(APPEND_ONLY, "false").trim());
        return snapshot || appendOnly ? ChangelogMode.insertOnly() : ChangelogMode.all();
    }

    /**
     * No: snapshot readers ask for the next chunk while they read one, so a reader that ended at a
     * pushed-down limit could be handed a chunk after it finished (the job would fail). The
     * planner's own LIMIT ends the query instead.
     */
    @Override
    protected boolean pushesDownLimits() {
        return false;
    }

    @Override
    protected Map<String, DataType> metadata() {
        return METADATA;
    }
}
