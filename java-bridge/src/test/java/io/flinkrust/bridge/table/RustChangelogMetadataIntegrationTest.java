package io.flinkrust.bridge.table;

import io.flinkrust.bridge.TestSupport;
import io.flinkrust.bridge.source.RustSource;
import io.flinkrust.bridge.source.RustSourceSpec;

import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.factories.DynamicTableSourceFactory;
import org.apache.flink.table.factories.FactoryUtil;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.types.Row;
import org.apache.flink.types.RowKind;
import org.apache.flink.util.CloseableIterator;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * Changelog sources and metadata columns in SQL, end to end on a MiniCluster, with
 * {@code rust-testkit}'s changelog: per id {@code +I(id, id)}; for multiples of 3
 * {@code -U(id, id)}, {@code +U(id, 2 * id)}; for multiples of 5 then {@code -D} of the current
 * value. Its {@code row_kind} metadata must equal each row's actual {@link RowKind}.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RustChangelogMetadataIntegrationTest {
    private static final int PARALLELISM = 2;
    private static final long IDS = 90;

    @RegisterExtension
    static final MiniClusterExtension CLUSTER = TestSupport.miniCluster(4);

    private StreamTableEnvironment tEnv;

    @BeforeEach
    void setUp() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(PARALLELISM);
        tEnv = StreamTableEnvironment.create(env);
    }

    private void createChangelogTable() {
        tEnv.executeSql("CREATE TABLE cl ("
                + " id BIGINT, v BIGINT, kind STRING METADATA FROM 'row_kind' VIRTUAL"
                + ") WITH ('connector' = 'rust-testkit', 'changelog' = 'true', 'rows' = '" + IDS + "',"
                + " 'splits' = '3')");
    }

    /** The changes testkit emits for one id, as rows (kind, id, v), in order. */
    private static List<Row> expectedChanges(long id) {
        List<Row> changes = new ArrayList<>();
        long v = id;
        changes.add(Row.ofKind(RowKind.INSERT, id, v));
        if (id % 3 == 0) {
            changes.add(Row.ofKind(RowKind.UPDATE_BEFORE, id, v));
            v = 2 * id;
            changes.add(Row.ofKind(RowKind.UPDATE_AFTER, id, v));
        }
        if (id % 5 == 0) {
            changes.add(Row.ofKind(RowKind.DELETE, id, v));
        }
        return changes;
    }

    /** The table the changelog materializes to: id -> v. */
    private static Map<Long, Long> expectedTable() {
        Map<Long, Long> table = new TreeMap<>();
        for (long id = 0; id < IDS; id++) {
            if (id % 5 != 0) {
                table.put(id, id % 3 == 0 ? 2 * id : id);
            }
        }
        return table;
    }

    private static List<Row> collect(TableResult result) throws Exception {
        List<Row> rows = new ArrayList<>();
        try (CloseableIterator<Row> it = result.collect()) {
            it.forEachRemaining(rows::add);
        }
        result.getJobClient().orElseThrow().getJobExecutionResult().get(60, TimeUnit.SECONDS);
        return rows;
    }

    /** Applies a changelog of rows keyed by their {@code keyField} to a map, checking each retraction. */
    private static Map<Object, Row> materialize(List<Row> changelog, int keyField) {
        Map<Object, Row> table = new HashMap<>();
        for (Row row : changelog) {
            Row value = Row.copy(row);
            value.setKind(RowKind.INSERT);
            Object key = row.getField(keyField);
            switch (row.getKind()) {
                case INSERT:
                case UPDATE_AFTER:
                    assertThat(table.put(key, value)).as("%s adds a row that exists", row).isNull();
                    break;
                default:
                    assertThat(table.remove(key)).as("%s retracts another row", row).isEqualTo(value);
            }
        }
        return table;
    }

    /**
     * Collects a query as a changelog stream. {@code TableResult#collect()} would not do: the
     * planner drops {@code -U} rows before its sink ({@code DropUpdateBefore}), while
     * {@code toChangelogStream} keeps every kind.
     */
    private List<Row> changelog(String query) throws Exception {
        List<Row> rows = new ArrayList<>();
        try (CloseableIterator<Row> it = tEnv.toChangelogStream(tEnv.sqlQuery(query)).executeAndCollect()) {
            it.forEachRemaining(rows::add);
        }
        return rows;
    }

    @Test
    void theChangelogArrivesWithItsRowKindsAndTheRowKindMetadata() throws Exception {
        createChangelogTable();
        List<Row> rows = changelog("SELECT kind, v, id FROM cl");

        // Every row's metadata names its actual kind.
        assertThat(rows).allSatisfy(r -> assertThat(r.getField(0)).isEqualTo(r.getKind().shortString()));
        // Per id, exactly the expected changes in order (each id is read by one reader, in order).
        Map<Long, List<Row>> byId = new TreeMap<>();
        for (Row r : rows) {
            byId.computeIfAbsent((Long) r.getField(2), k -> new ArrayList<>())
                    .add(Row.ofKind(r.getKind(), r.getField(2), r.getField(1)));
        }
        Map<Long, List<Row>> expected = new TreeMap<>();
        for (long id = 0; id < IDS; id++) {
            expected.put(id, expectedChanges(id));
        }
        assertThat(byId).isEqualTo(expected);
        // All four kinds occur: 90 inserts, 30 updates (-U, +U), 18 deletes.
        assertThat(rows.stream().collect(Collectors.groupingBy(Row::getKind, Collectors.counting())))
                .containsOnly(
                        Map.entry(RowKind.INSERT, 90L),
                        Map.entry(RowKind.UPDATE_BEFORE, 30L),
                        Map.entry(RowKind.UPDATE_AFTER, 30L),
                        Map.entry(RowKind.DELETE, 18L));

        // Without the metadata column (a retraction's kind differs from its row's insertion).
        Map<Object, Row> table = materialize(rows.stream()
                .map(r -> Row.ofKind(r.getKind(), r.getField(1), r.getField(2)))
                .collect(Collectors.toList()), 1);
        Map<Object, Long> values = new TreeMap<>();
        table.forEach((id, row) -> values.put(id, (Long) row.getField(0)));
        assertThat(values).isEqualTo(new TreeMap<Object, Long>(expectedTable()));
    }

    /**
     * A pruned physical column with a metadata column: the native projection selects the id and
     * the metadata field (indexes 0 and 2 of the connector's row type id, v, row_kind).
     */
    @Test
    void aProjectionWithAMetadataColumnKeepsRowKindsAndMetadataAligned() throws Exception {
        createChangelogTable();
        String query = "SELECT kind, id FROM cl";
        assertThat(tEnv.explainSql(query)).contains("project=[id], metadata=[row_kind]");
        List<Row> rows = changelog(query);

        assertThat(rows).allSatisfy(r -> {
            assertThat(r.getArity()).isEqualTo(2);
            assertThat(r.getField(0)).isEqualTo(r.getKind().shortString());
        });
        Map<Long, List<RowKind>> kinds = new TreeMap<>();
        rows.forEach(r -> kinds.computeIfAbsent((Long) r.getField(1), k -> new ArrayList<>()).add(r.getKind()));
        Map<Long, List<RowKind>> expected = new TreeMap<>();
        for (long id = 0; id < IDS; id++) {
            expected.put(id, expectedChanges(id).stream().map(Row::getKind).collect(Collectors.toList()));
        }
        assertThat(kinds).isEqualTo(expected);
    }

    @Test
    void aggregatesOverTheChangelogSeeOnlyTheMaterializedTable() throws Exception {
        createChangelogTable();
        // The metadata column is pruned (unused); the filter on v sees every change, and a change
        // whose before or after image fails it arrives as a lone retraction or addition.
        String query = "SELECT COUNT(*) AS n, SUM(v) AS total, MAX(id) AS top FROM cl WHERE v > 10";
        assertThat(tEnv.explainSql(query)).contains("project=[id, v], metadata=[]");
        List<Row> rows = collect(tEnv.executeSql(query));

        // One global group: key every change alike and keep what the changelog leaves.
        Map<Object, Row> result = materialize(rows.stream()
                .map(r -> Row.ofKind(r.getKind(), 0, r.getField(0), r.getField(1), r.getField(2)))
                .collect(Collectors.toList()), 0);
        Map<Long, Long> table = new TreeMap<>(expectedTable());
        table.values().removeIf(v -> v <= 10);
        long total = table.values().stream().mapToLong(Long::longValue).sum();
        assertThat(result.values()).containsExactly(Row.of(0, (long) table.size(), total, 89L));
        // 72 ids survive; 6 of them have v <= 10: 1, 2, 4, 7, 8, and 3 (updated to 6).
        assertThat(table).hasSize(66);
    }

    @Test
    void withoutTheChangelogOptionEveryRowIsAnInsertAndLimitIsPushed() throws Exception {
        tEnv.executeSql("CREATE TABLE ins (id BIGINT, kind STRING METADATA FROM 'row_kind')"
                + " WITH ('connector' = 'rust-testkit', 'rows' = '40')");
        List<Row> rows = collect(tEnv.executeSql("SELECT id, kind FROM ins"));
        assertThat(rows).hasSize(40).allSatisfy(r -> {
            assertThat(r.getKind()).isEqualTo(RowKind.INSERT);
            assertThat(r.getField(1)).isEqualTo("+I");
        });
        assertThat(rows.stream().map(r -> (Long) r.getField(0)).sorted().collect(Collectors.toList()))
                .isEqualTo(java.util.stream.LongStream.range(0, 40).boxed().collect(Collectors.toList()));
        assertThat(tEnv.explainSql("SELECT id FROM ins LIMIT 3")).contains("limit=[3]");
    }

    /**
     * A reader limit would count change records: stopping each reader after 3 would leave rows
     * that later changes retract (id 0 is inserted, updated, then deleted). Not pushed, the
     * planner's Limit sees the whole changelog and returns 3 rows of the table. (The plan's
     * digest shows {@code limit=[3]} either way: the planner records the push-down even when
     * the source ignores it.)
     */
    @Test
    void limitIsNotPushedIntoAChangelogSource() throws Exception {
        createChangelogTable();
        List<Row> rows = changelog("SELECT id, v FROM cl LIMIT 3");
        Map<Object, Row> result = materialize(rows, 0);
        Map<Long, Long> table = expectedTable();
        assertThat(result).hasSize(3);
        assertThat(result.values()).allSatisfy(r ->
                assertThat(r.getField(1)).as("row %s is in the table", r).isEqualTo(table.get((Long) r.getField(0))));

        RustSource bounded = RustSource.builder("rust-testkit").option("rows", "10").column("id", DataTypes.BIGINT()).build();
        RustDynamicTableSource changelog = new RustDynamicTableSource(bounded, null, ChangelogMode.all());
        changelog.applyLimit(3);
        assertThat(changelog.source().spec().limit()).isEqualTo(RustSourceSpec.NO_LIMIT);
        assertThat(((RustDynamicTableSource) changelog.copy()).getChangelogMode()).isEqualTo(ChangelogMode.all());
        RustDynamicTableSource inserts = new RustDynamicTableSource(bounded, null, ChangelogMode.insertOnly());
        inserts.applyLimit(3);
        assertThat(inserts.source().spec().limit()).isEqualTo(3);
    }

    /** Plans a query and returns the planning failure, which must be a ValidationException. */
    private String planningFails(String ddl, String query) {
        tEnv.executeSql(ddl);
        Throwable thrown = catchThrowable(() -> tEnv.explainSql(query));
        assertThat(thrown).isInstanceOf(ValidationException.class);
        return TestSupport.allMessages(thrown);
    }

    @Test
    void aConnectorWithoutMetadataRejectsMetadataColumnsClearly() {
        String message = planningFails("CREATE TABLE dg (id BIGINT, part INT METADATA FROM 'partition' VIRTUAL)"
                + " WITH ('connector' = 'rust-datagen', 'number-of-rows' = '5')", "SELECT id FROM dg");
        assertThat(message).contains("'part'", "'partition'", "'rust-datagen' offers no metadata columns", "Remove");
    }

    @Test
    void unknownMetadataKeysNameTheSupportedOnes() {
        String testkit = planningFails("CREATE TABLE tk (id BIGINT, ts TIMESTAMP_LTZ(3) METADATA FROM 'op_ts')"
                + " WITH ('connector' = 'rust-testkit')", "SELECT * FROM tk");
        assertThat(testkit).contains("Invalid metadata key 'op_ts'", "column 'ts'", "'row_kind' STRING NOT NULL");

        // Checked before the native side is involved: rust-mysql-cdc is not in this native library yet.
        String cdc = planningFails("CREATE TABLE cdc (id BIGINT, part STRING METADATA FROM 'partition')"
                + " WITH ('connector' = 'rust-mysql-cdc')", "SELECT * FROM cdc");
        assertThat(cdc).contains("Invalid metadata key 'partition'",
                "'database_name' STRING NOT NULL", "'table_name' STRING NOT NULL",
                "'op_ts' TIMESTAMP_LTZ(3) NOT NULL", "'row_kind' STRING NOT NULL", "'binlog_file' STRING",
                "'change_seq' BIGINT NOT NULL");
    }

    @Test
    void mySqlCdcFactoryDeclaresFlinkCdcsChangelogAndMetadata() {
        DynamicTableSourceFactory factory = FactoryUtil.discoverFactory(
                getClass().getClassLoader(), DynamicTableSourceFactory.class, "rust-mysql-cdc");
        assertThat(factory).isInstanceOf(RustMySqlCdcTableFactory.class);
        RustMySqlCdcTableFactory cdc = (RustMySqlCdcTableFactory) factory;
        assertThat(cdc.changelogMode(Map.of())).isEqualTo(ChangelogMode.all());
        assertThat(cdc.changelogMode(Map.of()).getContainedKinds()).containsExactlyInAnyOrder(
                RowKind.INSERT, RowKind.UPDATE_BEFORE, RowKind.UPDATE_AFTER, RowKind.DELETE);
        assertThat(cdc.pushesDownLimits()).as("readers ask for chunks ahead: no limit push-down").isFalse();
        // A bounded snapshot emits only +I, spelled as the native side accepts it.
        assertThat(cdc.changelogMode(Map.of("scan.startup.mode", " Snapshot "))).isEqualTo(ChangelogMode.insertOnly());
        assertThat(cdc.changelogMode(Map.of("scan.startup.mode", "latest-offset"))).isEqualTo(ChangelogMode.all());
        assertThat(cdc.changelogMode(Map.of("scan.read-changelog-as-append-only.enabled", "true")))
                .isEqualTo(ChangelogMode.insertOnly());
        // An unset server-time-zone is the JVM's default zone, whatever the session's (Flink CDC's
        // rule, seen in the conformance suite's time_zone_unset case).
        org.apache.flink.configuration.Configuration session = new org.apache.flink.configuration.Configuration();
        session.setString("table.local-time-zone", "America/New_York");
        String jvmZone = java.time.ZoneId.systemDefault().getId();
        Map<String, String> completed = cdc.completeOptions(new java.util.HashMap<>(Map.of("server-time-zone", "+08:00")), session);
        assertThat(completed).containsEntry("server-time-zone", "+08:00");
        assertThat(cdc.completeOptions(new java.util.HashMap<>(), session)).containsEntry("server-time-zone", jvmZone);
        Map<String, String> metadata = new LinkedHashMap<>();
        cdc.metadata().forEach((k, t) -> metadata.put(k, t.toString()));
        assertThat(metadata).containsExactly(
                Map.entry("database_name", "STRING NOT NULL"),
                Map.entry("table_name", "STRING NOT NULL"),
                Map.entry("op_ts", "TIMESTAMP_LTZ(3) NOT NULL"),
                Map.entry("row_kind", "STRING NOT NULL"),
                // Beyond Flink CDC: binlog coordinates, NULL (change_seq 0) for snapshot rows.
                Map.entry("binlog_file", "STRING"),
                Map.entry("binlog_position", "BIGINT"),
                Map.entry("binlog_row_index", "BIGINT"),
                Map.entry("gtid", "STRING"),
                Map.entry("change_seq", "BIGINT NOT NULL"));

        // Other factories keep the defaults: insert-only, no metadata.
        RustDatagenTableFactory datagen = new RustDatagenTableFactory();
        assertThat(datagen.changelogMode(Map.of())).isEqualTo(ChangelogMode.insertOnly());
        assertThat(datagen.metadata()).isEmpty();
        RustTestkitTableFactory testkit = new RustTestkitTableFactory();
        assertThat(testkit.changelogMode(Map.of("changelog", "TRUE"))).isEqualTo(ChangelogMode.all());
        assertThat(testkit.changelogMode(Map.of())).isEqualTo(ChangelogMode.insertOnly());
        assertThat(Arrays.asList(testkit.metadata().keySet().toArray())).containsExactly("row_kind");
    }

    @Test
    void aNarrowerDeclaredMetadataTypeIsCastByThePlanner() {
        // The planner passes the offered type (STRING NOT NULL) to the connector and casts after.
        tEnv.executeSql("CREATE TABLE cast_ok (id BIGINT, kind VARCHAR(2) METADATA FROM 'row_kind')"
                + " WITH ('connector' = 'rust-testkit', 'rows' = '3')");
        assertThat(tEnv.explainSql("SELECT kind FROM cast_ok")).contains("metadata=[row_kind]");
    }
}
