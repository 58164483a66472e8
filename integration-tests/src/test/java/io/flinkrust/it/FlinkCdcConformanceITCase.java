// Owns the differential conformance suite: the same Flink SQL tables and DML read by Flink CDC's mysql-cdc and by rust-mysql-cdc, rows compared.
package io.flinkrust.it;

import io.flinkrust.mariadb.LocalMariaDb;

import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.Table;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.types.Row;
import org.apache.flink.util.CloseableIterator;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * "Compatible with Flink CDC" checked side by side: every case is one MySQL table, one Flink table
 * definition and one scripted DML sequence. The definition runs twice at once on one MiniCluster,
 * with {@code 'connector' = 'mysql-cdc'} (Flink CDC 3.5.0, the reference) and with
 * {@code 'connector' = 'rust-mysql-cdc'}, all other options equal, against the same table of the
 * local MariaDB. Both changelogs ({@code toChangelogStream}, which keeps {@code -U}) are compared
 * row by row as {@code Row.toString()}: the snapshot sorted (its order depends on chunking), then
 * the binlog changes in order.
 *
 * <p>Needs Flink CDC on the class path: {@code make test-conformance} runs it with the
 * {@code flink-cdc} Maven profile; the default surefire run excludes it (integration-tests/pom.xml).
 *
 * <p>{@link #EXPECTED_IDENTICAL} lists the cases identical today: one of them differing fails the
 * test (a regression), and a case not in it that became identical fails too (so the list, and
 * docs/flink-cdc-conformance.md, are updated when a deviation is fixed).
 */
@Timeout(value = 600, unit = TimeUnit.SECONDS)
class FlinkCdcConformanceITCase {
    /** Flink CDC's SQL table factory, present only with the flink-cdc profile. */
    private static final String FLINK_CDC_FACTORY = "org.apache.flink.cdc.connectors.mysql.table.MySqlTableSourceFactory";
    private static final String REFERENCE = "mysql-cdc";
    private static final String RUST = "rust-mysql-cdc";
    /** Inserted last by every case: once a connector emits it, it has emitted everything before it (binlog order). */
    private static final long SENTINEL = 999_999;
    /** latest-offset cases insert rows from here on until both connectors show one: both then read the binlog. */
    private static final long PING_BASE = 1_000_000;
    private static final Duration PHASE_TIMEOUT = Duration.ofSeconds(60);

    /**
     * The cases whose rows are identical today. Kept by hand from the suite's own output, never
     * from expectations about either connector: see the class comment.
     */
    private static final Set<String> EXPECTED_IDENTICAL = Set.of(
            "signed_integers", "unsigned_integers", "decimal", "float_double", "bit_boolean", "tinyint1_as_tinyint",
            "year_date", "datetime", "timestamp_ltz", "timestamp_as_timestamp", "strings_utf8mb4", "strings_latin1",
            "binary", "enum_set_as_string", "json", "integer_decimal_as_string", "widened_numbers", "metadata_columns",
            "latest_offset", "snapshot_mode", "primary_key_change", "debezium_option",
            "append_only", "bit_n", "time", "zero_dates", "zero_timestamp_as_timestamp", "float_double_as_string",
            "narrowed_numbers", "narrowed_overflow", "spatial", "spatial_types", "set_as_array",
            "numbers_as_float_double", "narrowed_decimal", "time_zone_unset", "no_primary_key", "specific_offset",
            "two_tables_missing_column");

    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder()
                    .setNumberTaskManagers(1)
                    // Two jobs of parallelism 1 per case, plus room for a cancelled pair still releasing slots.
                    .setNumberSlotsPerTaskManager(4)
                    .build());

    private static LocalMariaDb db;
    private static String database;
    private static int serverIdTurn;

    @BeforeAll
    static void setUp() throws Exception {
        assertThat(onClassPath(FLINK_CDC_FACTORY))
                .as("Flink CDC's mysql-cdc is on the class path (run with -Pflink-cdc: make test-conformance)")
                .isTrue();
        db = LocalMariaDb.start();
        database = CdcSupport.databaseName("conformance");
        db.recreateDatabase(database);
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (db != null && database != null) {
            db.dropDatabase(database);
        }
    }

    // ---- the cases --------------------------------------------------------------------------------

    /** A column: its name, its MySQL type and its declared Flink type. */
    static final class Col {
        final String name;
        final String mysql;
        final String flink;

        Col(String name, String mysql, String flink) {
            this.name = name;
            this.mysql = mysql;
            this.flink = flink;
        }
    }

    /**
     * One case. The table is {@code id INT PRIMARY KEY} plus {@code columns}; {@code values} holds
     * five tuples of SQL literals (one per column), v0..v4, used by {@link #dml}: fixture rows 1..3
     * are v0..v2, then v3 and v4 are written by inserts and updates (v4 must differ from v0 and v3
     * from v2, or MySQL logs no change).
     */
    static final class Case {
        final String name;
        /** The MySQL table: the name prefixed, so that no case name needs quoting (DECIMAL, JSON, ...). */
        final String table;
        final List<Col> columns;
        final List<String[]> values;
        String tableOptions = "";
        /** Extra Flink columns (metadata), appended after the physical ones. */
        String extraFlinkColumns = "";
        /** Extra WITH options, for both connectors alike. */
        String extraOptions = "";
        boolean latestOffset;
        /** Whether the DML ends with a primary-key change (UPDATE ... SET id = ...). */
        boolean keyChange;
        /** Put before each INSERT and UPDATE, e.g. MariaDB's SET STATEMENT sql_mode = '' FOR, to write zero dates. */
        String statementPrefix = "";
        /** 'scan.startup.mode' = 'snapshot': the job ends after the snapshot, no change and no sentinel is read. */
        boolean bounded;
        /** 'server-time-zone' of both tables; null: unset (both then take the session time zone). */
        String serverTimeZone = "UTC";
        /** The session time zone ('table.local-time-zone') of both jobs; null: Flink's default. */
        String sessionTimeZone;
        /** A table without a primary key (MySQL and Flink alike): the chunk key comes from the options. */
        boolean noKey;
        /**
         * 'scan.startup.mode' = 'specific-offset' at the end of the binlog once the table exists: the
         * fixture rows are read from the binlog as inserts, no snapshot is taken.
         */
        boolean specificOffset;
        /**
         * A second table {@code <table>_b} matched by the same pattern, with these MySQL columns
         * besides {@code id} (a subset: the others read NULL in its rows) and one row, id 100.
         */
        String secondTableColumns;
        String secondTableValues;

        Case(String name, List<Col> columns, String[]... values) {
            this.name = name;
            this.table = "t_" + name;
            this.columns = columns;
            this.values = Arrays.asList(values);
            if (values.length != 5) {
                throw new IllegalArgumentException(name + ": five value tuples");
            }
            for (String[] v : values) {
                if (v.length != columns.size()) {
                    throw new IllegalArgumentException(name + ": a value per column in " + Arrays.toString(v));
                }
            }
        }

        Case tableOptions(String o) {
            tableOptions = o;
            return this;
        }

        Case extraFlinkColumns(String c) {
            extraFlinkColumns = c;
            return this;
        }

        Case extraOptions(String o) {
            extraOptions = o;
            return this;
        }

        Case latestOffset() {
            latestOffset = true;
            return this;
        }

        Case statementPrefix(String p) {
            statementPrefix = p;
            return this;
        }

        Case bounded() {
            bounded = true;
            return this;
        }

        Case keyChange() {
            keyChange = true;
            return this;
        }

        Case serverTimeZone(String zone) {
            serverTimeZone = zone;
            return this;
        }

        Case sessionTimeZone(String zone) {
            sessionTimeZone = zone;
            return this;
        }

        Case noKey() {
            noKey = true;
            return this;
        }

        Case specificOffset() {
            specificOffset = true;
            return this;
        }

        Case secondTable(String columns, String values) {
            secondTableColumns = columns;
            secondTableValues = values;
            return this;
        }

        /** The 'table-name' pattern: the table, and the second one if any. */
        String tablePattern() {
            return secondTableColumns == null ? table : table + "(_b)?";
        }
    }

    private static Col c(String name, String mysql, String flink) {
        return new Col(name, mysql, flink);
    }

    private static String[] v(String... literals) {
        return literals;
    }

    /** Each case is small and covers one family of types, so that one refusal or deviation does not hide the others. */
    static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        cases.add(new Case("signed_integers",
                List.of(c("t", "TINYINT", "TINYINT"), c("s", "SMALLINT", "SMALLINT"), c("m", "MEDIUMINT", "INT"),
                        c("i", "INT", "INT"), c("b", "BIGINT", "BIGINT")),
                v("-128", "-32768", "-8388608", "-2147483648", "-9223372036854775808"),
                v("127", "32767", "8388607", "2147483647", "9223372036854775807"),
                v("0", "0", "0", "0", "0"),
                v("-1", "-1", "-1", "-1", "-1"),
                v("NULL", "NULL", "NULL", "NULL", "NULL")));
        cases.add(new Case("unsigned_integers",
                List.of(c("t", "TINYINT UNSIGNED", "SMALLINT"), c("s", "SMALLINT UNSIGNED", "INT"),
                        c("m", "MEDIUMINT UNSIGNED", "INT"), c("i", "INT UNSIGNED", "BIGINT"),
                        c("b", "BIGINT UNSIGNED", "DECIMAL(20, 0)")),
                v("0", "0", "0", "0", "0"),
                v("255", "65535", "16777215", "4294967295", "18446744073709551615"),
                v("1", "1", "1", "1", "1"),
                v("128", "32768", "8388608", "2147483648", "9223372036854775808"),
                v("NULL", "NULL", "NULL", "NULL", "NULL")));
        cases.add(new Case("decimal",
                List.of(c("d", "DECIMAL(10, 2)", "DECIMAL(10, 2)"), c("d0", "DECIMAL(6, 0)", "DECIMAL(6, 0)"),
                        c("dw", "DECIMAL(38, 10)", "DECIMAL(38, 10)"), c("dx", "DECIMAL(65, 4)", "STRING")),
                v("12345678.90", "-999999", "1234567890123456789012345678.0123456789", "12345678901234567890123456789012345678901234567890.1234"),
                v("-0.01", "0", "-0.0000000001", "-0.0001"),
                v("0", "1", "0", "0"),
                v("1.5", "42", "3.25", "7"),
                v("NULL", "NULL", "NULL", "NULL")));
        cases.add(new Case("float_double",
                List.of(c("f", "FLOAT", "FLOAT"), c("d", "DOUBLE", "DOUBLE"), c("r", "REAL", "DOUBLE")),
                v("123.102", "404.4443", "-1.5e300"),
                v("-0.5", "1e-300", "0"),
                v("0", "0", "1"),
                v("3.4e38", "1.7976931348623157e308", "2.5"),
                v("NULL", "NULL", "NULL")));
        cases.add(new Case("bit_boolean",
                List.of(c("b1", "BIT(1)", "BOOLEAN"), c("t1", "TINYINT(1)", "BOOLEAN"), c("bo", "BOOLEAN", "BOOLEAN")),
                v("b'0'", "0", "FALSE"),
                v("b'1'", "1", "TRUE"),
                v("b'1'", "0", "TRUE"),
                v("b'0'", "1", "FALSE"),
                v("NULL", "NULL", "NULL")));
        cases.add(new Case("bit_n",
                List.of(c("b12", "BIT(12)", "BINARY(2)"), c("b64", "BIT(64)", "BINARY(8)")),
                v("b'000000000001'", "b'0000010000000100000001000000010000000100000001000000010000000100'"),
                v("b'111111111111'", "b'1111111111111111111111111111111111111111111111111111111111111111'"),
                v("b'100000000000'", "b'0'"),
                v("b'000000000010'", "b'1000000000000000000000000000000000000000000000000000000000000000'"),
                v("NULL", "NULL")));
        cases.add(new Case("tinyint1_as_tinyint",
                List.of(c("t1", "TINYINT(1)", "TINYINT")),
                v("0"), v("1"), v("-5"), v("127"), v("NULL")));
        cases.add(new Case("year_date",
                List.of(c("y", "YEAR", "INT"), c("d", "DATE", "DATE")),
                v("2021", "'2020-07-17'"),
                v("1901", "'1000-01-01'"),
                v("2155", "'9999-12-31'"),
                v("1970", "'1970-01-01'"),
                v("NULL", "NULL")));
        cases.add(new Case("time",
                List.of(c("t0", "TIME(0)", "TIME(0)"), c("t3", "TIME(3)", "TIME(3)"), c("t6", "TIME(6)", "TIME(6)")),
                v("'18:00:22'", "'18:00:22.123'", "'18:00:22.123456'"),
                v("'00:00:00'", "'00:00:00.000'", "'00:00:00.000001'"),
                v("'23:59:59'", "'23:59:59.999'", "'23:59:59.999999'"),
                v("'12:34:56'", "'12:34:56.5'", "'12:34:56.5'"),
                v("NULL", "NULL", "NULL")));
        // Outside Flink TIME's range (00:00:00..23:59:59.999), written only by the DML so the snapshot still compares.
        cases.add(new Case("time_out_of_range",
                List.of(c("t", "TIME", "TIME(0)")),
                v("'10:00:00'"), v("'00:00:00'"), v("'23:59:59'"), v("'25:00:00'"), v("'-01:00:00'")));
        // Zero dates, which a non-strict sql_mode lets through; Debezium reads them as NULL.
        cases.add(new Case("zero_dates",
                List.of(c("d", "DATE", "DATE"), c("dt", "DATETIME", "TIMESTAMP(0)"), c("ts", "TIMESTAMP NULL", "TIMESTAMP_LTZ(0)")),
                v("'0000-00-00'", "'0000-00-00 00:00:00'", "'0000-00-00 00:00:00'"),
                v("'2020-01-01'", "'2020-01-01 00:00:00'", "'2020-01-01 00:00:00'"),
                v("'2020-00-00'", "'2020-01-00 10:00:00'", "'0000-00-00 00:00:00'"),
                v("'0000-00-00'", "'0000-00-00 00:00:00'", "'0000-00-00 00:00:00'"),
                v("'2021-02-03'", "'2021-02-03 04:05:06'", "'2021-02-03 04:05:06'"))
                .statementPrefix("SET STATEMENT sql_mode = '' FOR "));
        // A zero TIMESTAMP declared TIMESTAMP, and with a fraction.
        cases.add(new Case("zero_timestamp_as_timestamp",
                List.of(c("ts", "TIMESTAMP NULL", "TIMESTAMP(0)"), c("ts3", "TIMESTAMP(3) NULL", "TIMESTAMP_LTZ(3)")),
                v("'0000-00-00 00:00:00'", "'0000-00-00 00:00:00.000'"),
                v("'2020-01-01 00:00:00'", "'2020-01-01 00:00:00.5'"),
                v("'0000-00-00 00:00:00'", "'0000-00-00 00:00:00'"),
                v("'0000-00-00 00:00:00'", "'0000-00-00 00:00:00.000'"),
                v("'2021-02-03 04:05:06'", "'0000-00-00 00:00:00'"))
                .statementPrefix("SET STATEMENT sql_mode = '' FOR "));
        cases.add(new Case("datetime",
                List.of(c("d0", "DATETIME", "TIMESTAMP(0)"), c("d3", "DATETIME(3)", "TIMESTAMP(3)"),
                        c("d6", "DATETIME(6)", "TIMESTAMP(6)")),
                v("'2020-07-17 18:00:22'", "'2020-07-17 18:00:22.123'", "'2020-07-17 18:00:22.123456'"),
                v("'1000-01-01 00:00:00'", "'1000-01-01 00:00:00.001'", "'1000-01-01 00:00:00.000001'"),
                v("'9999-12-31 23:59:59'", "'9999-12-31 23:59:59.999'", "'9999-12-31 23:59:59.999999'"),
                v("'1970-01-01 00:00:00'", "'1970-01-01 00:00:00.5'", "'1970-01-01 00:00:00.5'"),
                v("NULL", "NULL", "NULL")));
        cases.add(new Case("timestamp_ltz",
                List.of(c("t0", "TIMESTAMP NULL", "TIMESTAMP_LTZ(0)"), c("t3", "TIMESTAMP(3) NULL", "TIMESTAMP_LTZ(3)"),
                        c("t6", "TIMESTAMP(6) NULL", "TIMESTAMP_LTZ(6)")),
                v("'2020-07-17 18:00:22'", "'2020-07-17 18:00:22.123'", "'2020-07-17 18:00:22.123456'"),
                v("'1970-01-01 00:00:01'", "'1970-01-01 00:00:01.001'", "'1970-01-01 00:00:01.000001'"),
                v("'2038-01-19 03:14:07'", "'2038-01-19 03:14:07.999'", "'2038-01-19 03:14:07.999999'"),
                v("'2000-02-29 12:00:00'", "'2000-02-29 12:00:00.5'", "'2000-02-29 12:00:00.5'"),
                v("NULL", "NULL", "NULL")));
        // Declared-type conversions Flink CDC accepts: its own ITCase declares TIMESTAMP columns as
        // TIMESTAMP, and DATETIME as TIMESTAMP_LTZ is common in pipelines.
        cases.add(new Case("timestamp_as_timestamp",
                List.of(c("t0", "TIMESTAMP NULL", "TIMESTAMP(0)"), c("t6", "TIMESTAMP(6) NULL", "TIMESTAMP(6)")),
                v("'2020-07-17 18:00:22'", "'2020-07-17 18:00:22.123456'"),
                v("'1970-01-01 00:00:01'", "'1970-01-01 00:00:01.000001'"),
                v("'2038-01-19 03:14:07'", "'2038-01-19 03:14:07.999999'"),
                v("'2000-02-29 12:00:00'", "'2000-02-29 12:00:00.5'"),
                v("NULL", "NULL")));
        cases.add(new Case("datetime_as_ltz",
                List.of(c("d0", "DATETIME", "TIMESTAMP_LTZ(0)"), c("d6", "DATETIME(6)", "TIMESTAMP_LTZ(6)")),
                v("'2020-07-17 18:00:22'", "'2020-07-17 18:00:22.123456'"),
                v("'1970-01-01 00:00:00'", "'1970-01-01 00:00:00.000001'"),
                v("'9999-12-31 23:59:59'", "'9999-12-31 23:59:59.999999'"),
                v("'2000-02-29 12:00:00'", "'2000-02-29 12:00:00.5'"),
                v("NULL", "NULL")));
        cases.add(new Case("strings_utf8mb4",
                List.of(c("ch", "CHAR(5)", "CHAR(5)"), c("vc", "VARCHAR(20)", "VARCHAR(20)"), c("tx", "TEXT", "STRING")),
                v("'abc'", "'Hello World'", "'text'"),
                v("''", "''", "''"),
                v("'é😀'", "'naïve café 😀'", "'多字节 ✓'"),
                v("'ab  '", "'  padded  '", "'line\\nbreak\\ttab'"),
                v("NULL", "NULL", "NULL")).tableOptions("DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"));
        cases.add(new Case("strings_latin1",
                List.of(c("ch", "CHAR(5)", "CHAR(5)"), c("vc", "VARCHAR(20)", "VARCHAR(20)"), c("tx", "TEXT", "STRING")),
                v("'abc'", "'Hello World'", "'text'"),
                v("''", "''", "''"),
                v("'été'", "'naïve café ÿ'", "'Straße ©'"),
                v("'ab  '", "'€ and ‰'", "'ñ'"),
                v("NULL", "NULL", "NULL")).tableOptions("DEFAULT CHARSET=latin1"));
        cases.add(new Case("binary",
                List.of(c("bn", "BINARY(4)", "BINARY(4)"), c("vb", "VARBINARY(10)", "VARBINARY(10)"),
                        c("bl", "BLOB", "BYTES"), c("tb", "TINYBLOB", "BYTES")),
                v("x'01020304'", "x'00ff'", "x'deadbeef'", "x'10'"),
                v("x'01'", "x''", "x''", "x''"),
                v("x'ffffffff'", "x'00000000000000000000'", "x'00'", "x'7f80'"),
                v("x'0000'", "x'61626364'", "x'010203'", "x'ff'"),
                v("NULL", "NULL", "NULL", "NULL")));
        cases.add(new Case("enum_set_as_string",
                List.of(c("e", "ENUM('red', 'white', 'blue')", "STRING"), c("s", "SET('a', 'b', 'c')", "STRING")),
                v("'red'", "'a,b'"),
                v("'white'", "''"),
                v("'blue'", "'a,b,c'"),
                v("'red'", "'c'"),
                v("NULL", "NULL")));
        // Flink CDC's documented mapping of SET.
        cases.add(new Case("set_as_array",
                List.of(c("s", "SET('a', 'b', 'c')", "ARRAY<STRING>")),
                v("'a,b'"), v("''"), v("'a,b,c'"), v("'c'"), v("NULL")));
        cases.add(new Case("json",
                List.of(c("j", "JSON", "STRING")),
                v("'{\"key1\": \"value1\"}'"),
                v("'[1, 2.5, \"x\", null, true]'"),
                v("'{\"a\":{\"b\":[1,2]},  \"c\" : \"é\"}'"),
                v("'\"just a string\"'"),
                v("NULL")));
        // Flink CDC maps spatial types to a GeoJSON-like STRING ({"coordinates":...,"type":...,"srid":0}).
        cases.add(new Case("spatial",
                List.of(c("p", "POINT", "STRING"), c("g", "GEOMETRY", "STRING")),
                v("ST_GeomFromText('POINT(1 1)')", "ST_GeomFromText('POLYGON((1 1, 2 1, 2 2, 1 2, 1 1))')"),
                v("ST_GeomFromText('POINT(-1.5 2.25)')", "ST_GeomFromText('LINESTRING(3 0, 3 3, 3 5)')"),
                v("ST_GeomFromText('POINT(0 0)')", "ST_GeomFromText('MULTIPOINT((1 1),(2 2))')"),
                v("ST_GeomFromText('POINT(3 4)')", "ST_GeomFromText('POINT(5 6)')"),
                v("NULL", "NULL")));
        // Every spatial type, non-integer and negative coordinates, an SRID.
        cases.add(new Case("spatial_types",
                List.of(c("ls", "LINESTRING", "STRING"), c("pg", "POLYGON", "STRING"), c("mp", "MULTIPOINT", "STRING"),
                        c("ml", "MULTILINESTRING", "STRING"), c("mg", "MULTIPOLYGON", "STRING"),
                        c("gc", "GEOMETRYCOLLECTION", "STRING"), c("pt", "POINT", "STRING")),
                v("ST_GeomFromText('LINESTRING(0.1 0.2, -1.5 2.25, 1e20 1e-7)')",
                        "ST_GeomFromText('POLYGON((0 0, 10 0, 10 10, 0 10, 0 0), (1 1, 2 1, 2 2, 1 1))')",
                        "ST_GeomFromText('MULTIPOINT(1 1, -2.5 3.125)')",
                        "ST_GeomFromText('MULTILINESTRING((1 1, 2 2), (3 3, 4.5 -4.5))')",
                        "ST_GeomFromText('MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5)))')",
                        "ST_GeomFromText('GEOMETRYCOLLECTION(POINT(1 2), LINESTRING(0 0, 1.5 1.5))')",
                        "ST_GeomFromText('POINT(123456.789 -0.3333333333333333)', 4326)"),
                v("ST_GeomFromText('LINESTRING(0 0, 1 1)')", "ST_GeomFromText('POLYGON((0 0, 1 0, 1 1, 0 0))')",
                        "ST_GeomFromText('MULTIPOINT(0 0)')", "ST_GeomFromText('MULTILINESTRING((0 0, 1 1))')",
                        "ST_GeomFromText('MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)))')",
                        "ST_GeomFromText('GEOMETRYCOLLECTION(POINT(0 0))')", "ST_GeomFromText('POINT(1e-5 1e7)')"),
                // Rings of either orientation: the reference writes outer rings counter-clockwise, holes clockwise.
                v("ST_GeomFromText('LINESTRING(-100 -200, 300.25 400.5)')",
                        "ST_GeomFromText('POLYGON((0 0, 0 10, 10 10, 10 0, 0 0), (1 1, 1 2, 2 2, 1 1))')",
                        "ST_GeomFromText('MULTIPOINT(123456789012 1e17, 12345678901234567 0.0001)')", "NULL",
                        "ST_GeomFromText('MULTIPOLYGON(((0 0, 0 1, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5), (5.2 5.1, 5.8 5.7, 5.8 5.1, 5.2 5.1)))')",
                        "ST_GeomFromText('GEOMETRYCOLLECTION(MULTIPOINT(1 1, 2 2), POLYGON((0 0, 0 1, 1 1, 0 0)))')",
                        "ST_GeomFromText('POINT(0.001 1234567.5)')"),
                v("ST_GeomFromText('LINESTRING(1 2, 3 4)', 3857)", "ST_GeomFromText('POLYGON((0 0, 2 0, 2 2, 0 0))')",
                        "ST_GeomFromText('MULTIPOINT(7 8, 9 10)')", "ST_GeomFromText('MULTILINESTRING((5 5, 6 6))')",
                        "ST_GeomFromText('MULTIPOLYGON(((1 1, 2 1, 2 2, 1 1)))')",
                        "ST_GeomFromText('GEOMETRYCOLLECTION(POINT(3 4), POLYGON((0 0, 1 0, 1 1, 0 0)))')",
                        "ST_GeomFromText('POINT(-0.5 1e-300)')"),
                v("NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL")));
        cases.add(new Case("integer_decimal_as_string",
                List.of(c("i", "INT", "STRING"), c("bu", "BIGINT UNSIGNED", "STRING"), c("d", "DECIMAL(10, 3)", "STRING")),
                v("-42", "18446744073709551615", "-1234.500"),
                v("0", "0", "0"),
                v("2147483647", "1", "0.001"),
                v("7", "9223372036854775808", "99.999"),
                v("NULL", "NULL", "NULL")));
        // Java's Float.toString / Double.toString layouts: plain from 1e-3 up to 1e7, scientific outside.
        cases.add(new Case("float_double_as_string",
                List.of(c("f", "FLOAT", "STRING"), c("db", "DOUBLE", "STRING"), c("f2", "FLOAT", "STRING"),
                        c("d2", "DOUBLE", "STRING"), c("f3", "FLOAT", "STRING"), c("d3", "DOUBLE", "STRING")),
                v("123.102", "3.25", "0.1", "0.1", "0.001", "0.001"),
                v("0", "0", "1e-5", "1e-5", "123456", "1e-300"),
                v("-1.5", "-1e-5", "3.4e38", "1.7976931348623157e308", "1.5e-30", "12345678.9"),
                // Written by the DML only (so read from the binlog): FLOATs of more than 6 digits.
                v("1e10", "1e20", "1e7", "1e7", "16777216", "9999999"),
                v("NULL", "NULL", "9999999", "0.0009999", "-100.25", "-2.5e-7")));
        // FLOATs of more than 6 significant digits in the snapshot: Flink CDC reads the server's
        // text of a FLOAT there, which MySQL and MariaDB round to 6 digits (1234567 reads 1234570.0).
        cases.add(new Case("float_seven_digits",
                List.of(c("f", "FLOAT", "FLOAT"), c("fs", "FLOAT", "STRING")),
                v("1234567", "1234567"), v("0.1234567", "0.1234567"), v("7654321", "7654321"), v("1", "1"), v("2", "2")));
        // Narrowing declared types Flink CDC's converter accepts, with values that fit.
        cases.add(new Case("narrowed_numbers",
                List.of(c("fd", "FLOAT", "DECIMAL(10, 3)"), c("dd", "DOUBLE", "DECIMAL(10, 3)"),
                        c("ub", "BIGINT UNSIGNED", "BIGINT"), c("ui", "BIGINT UNSIGNED", "INT"), c("df", "DOUBLE", "FLOAT")),
                v("123.102", "123.102", "9223372036854775807", "2147483647", "3.25"),
                v("-0.5", "-0.0005", "0", "0", "0.1"),
                v("0", "1.0006", "1", "1", "-1.5e30"),
                v("1.25", "9999999.999", "5", "5", "123.102"),
                v("1e-4", "0.12345", "7", "7", "1e-40")));
        // Values that do not fit the narrowed type (written by the DML only): Flink CDC's DECIMAL
        // reads NULL, a DOUBLE above FLOAT's range infinity.
        cases.add(new Case("narrowed_overflow",
                List.of(c("fd", "FLOAT", "DECIMAL(4, 1)"), c("dd", "DOUBLE", "DECIMAL(4, 1)"), c("df", "DOUBLE", "FLOAT")),
                v("1.5", "1.5", "1.5"), v("2", "2", "2"), v("3", "3", "3"),
                v("12345", "-12345.5", "1e300"), v("999.96", "999.95", "-1e300")));
        // Integers and DECIMAL as FLOAT or DOUBLE (Flink CDC parses their text).
        cases.add(new Case("numbers_as_float_double",
                List.of(c("i", "INT", "FLOAT"), c("b", "BIGINT", "DOUBLE"), c("df", "DECIMAL(12, 4)", "FLOAT"),
                        c("dd", "DECIMAL(20, 6)", "DOUBLE"), c("u", "BIGINT UNSIGNED", "DOUBLE")),
                v("123", "9007199254740993", "1234.5678", "12345678901234.123456", "18446744073709551615"),
                v("-2147483648", "-9223372036854775808", "-0.0001", "-0.000001", "0"),
                v("16777217", "1", "99999999.9999", "0.1", "9007199254740993"),
                v("0", "0", "0", "0", "1"),
                v("NULL", "NULL", "NULL", "NULL", "NULL")));
        // A DECIMAL or an integer declared as a narrower DECIMAL: rounded HALF_UP, NULL when it does not fit.
        cases.add(new Case("narrowed_decimal",
                List.of(c("d", "DECIMAL(10, 4)", "DECIMAL(6, 2)"), c("b", "BIGINT", "DECIMAL(5, 0)"),
                        c("n", "DECIMAL(8, 3)", "DECIMAL(4, 1)")),
                v("12.3450", "12345", "123.449"),
                v("-12.3450", "-99999", "-123.450"),
                v("9999.9949", "100000", "999.950"),
                v("0.0049", "0", "0.050"),
                v("NULL", "NULL", "NULL")));
        // BIGINT UNSIGNED above BIGINT's range (written by the DML only).
        cases.add(new Case("narrowed_unsigned_overflow",
                List.of(c("ub", "BIGINT UNSIGNED", "BIGINT")),
                v("1"), v("2"), v("3"), v("9223372036854775808"), v("18446744073709551615")));
        cases.add(new Case("widened_numbers",
                List.of(c("t", "TINYINT", "BIGINT"), c("i", "INT", "DECIMAL(20, 0)"), c("f", "FLOAT", "DOUBLE"),
                        c("y", "YEAR", "BIGINT")),
                v("-128", "-2147483648", "123.102", "2021"),
                v("127", "2147483647", "-0.5", "1901"),
                v("0", "0", "0", "2155"),
                v("5", "6", "1.25", "2000"),
                v("NULL", "NULL", "NULL", "NULL")));
        cases.add(new Case("metadata_columns",
                List.of(c("name", "VARCHAR(20)", "STRING")),
                v("'a'"), v("'b'"), v("'c'"), v("'d'"), v("'e'"))
                .extraFlinkColumns(", db STRING METADATA FROM 'database_name' VIRTUAL,"
                        + " tbl STRING METADATA FROM 'table_name' VIRTUAL,"
                        + " op_ts TIMESTAMP_LTZ(3) METADATA FROM 'op_ts' VIRTUAL,"
                        + " kind STRING METADATA FROM 'row_kind' VIRTUAL"));
        cases.add(new Case("primary_key_change",
                List.of(c("name", "VARCHAR(20)", "STRING")),
                v("'a'"), v("'b'"), v("'c'"), v("'d'"), v("'e'"))
                .extraFlinkColumns(", kind STRING METADATA FROM 'row_kind' VIRTUAL")
                .keyChange());
        // Time zones: a named zone across both daylight-saving changes of 2020 in New York (TIMESTAMP
        // values in UTC around 2020-03-08 07:00 and 2020-11-01 06:00), and an unset zone: Flink CDC
        // then takes the JVM's default zone, not the session's ('table.local-time-zone', set here).
        cases.add(new Case("time_zone_named_dst",
                List.of(c("ts", "TIMESTAMP NULL", "TIMESTAMP(0)"), c("tl", "TIMESTAMP(3) NULL", "TIMESTAMP_LTZ(3)"),
                        c("dt", "DATETIME", "TIMESTAMP(0)")),
                v("'2020-03-08 06:30:00'", "'2020-03-08 06:30:00.250'", "'2020-03-08 01:30:00'"),
                v("'2020-03-08 07:30:00'", "'2020-03-08 07:30:00.500'", "'2020-03-08 03:30:00'"),
                v("'2020-11-01 05:30:00'", "'2020-11-01 05:30:00.750'", "'2020-11-01 01:30:00'"),
                v("'2020-11-01 06:30:00'", "'2020-11-01 06:30:00.999'", "'2020-11-01 01:30:00'"),
                v("NULL", "NULL", "NULL"))
                .serverTimeZone("America/New_York"));
        cases.add(new Case("time_zone_unset",
                List.of(c("ts", "TIMESTAMP NULL", "TIMESTAMP(0)"), c("tl", "TIMESTAMP(3) NULL", "TIMESTAMP_LTZ(3)")),
                v("'2020-07-17 18:00:22'", "'2020-07-17 18:00:22.123'"),
                v("'1999-12-31 23:59:59'", "'1999-12-31 23:59:59.999'"),
                v("'2021-01-01 00:00:00'", "'2021-01-01 00:00:00.001'"),
                v("'2010-06-15 12:00:00'", "'2010-06-15 12:00:00.5'"),
                v("NULL", "NULL"))
                .serverTimeZone(null)
                .sessionTimeZone("Asia/Shanghai"));
        // A table without a primary key, snapshotted by a chunk key column of the options.
        cases.add(new Case("no_primary_key",
                List.of(c("name", "VARCHAR(20)", "STRING"), c("n", "BIGINT", "BIGINT")),
                v("'a'", "1"), v("'b'", "2"), v("'c'", "3"), v("'d'", "4"), v("'e'", "5"))
                .noKey()
                .extraOptions(", 'scan.incremental.snapshot.chunk.key-column' = 'id'"));
        // A binlog position given by file and offset: the fixture rows arrive as binlog inserts.
        cases.add(new Case("specific_offset",
                List.of(c("name", "VARCHAR(20)", "STRING"), c("n", "BIGINT", "BIGINT")),
                v("'a'", "1"), v("'b'", "2"), v("'c'", "3"), v("'d'", "4"), v("'e'", "5"))
                .extraFlinkColumns(", kind STRING METADATA FROM 'row_kind' VIRTUAL")
                .specificOffset());
        // Two tables matched by one pattern, the second without the column n: it reads NULL there.
        cases.add(new Case("two_tables_missing_column",
                List.of(c("name", "VARCHAR(20)", "STRING"), c("n", "BIGINT", "BIGINT")),
                v("'a'", "1"), v("'b'", "2"), v("'c'", "3"), v("'d'", "4"), v("'e'", "5"))
                .extraFlinkColumns(", tbl STRING METADATA FROM 'table_name' VIRTUAL")
                .secondTable("name VARCHAR(20)", "'z'"));
        cases.add(new Case("latest_offset",
                List.of(c("name", "VARCHAR(20)", "STRING"), c("n", "BIGINT", "BIGINT")),
                v("'a'", "1"), v("'b'", "2"), v("'c'", "3"), v("'d'", "4"), v("'e'", "5"))
                .extraOptions(", 'scan.startup.mode' = 'latest-offset'")
                .latestOffset());
        cases.add(new Case("snapshot_mode",
                List.of(c("name", "VARCHAR(20)", "STRING"), c("n", "BIGINT", "BIGINT")),
                v("'a'", "1"), v("'b'", "2"), v("'c'", "3"), v("'d'", "4"), v("'e'", "5"))
                .extraFlinkColumns(", kind STRING METADATA FROM 'row_kind' VIRTUAL")
                .extraOptions(", 'scan.startup.mode' = 'snapshot'")
                .bounded());
        // Flink CDC's append-only changelog: every change an insert, row_kind telling what it was.
        cases.add(new Case("append_only",
                List.of(c("name", "VARCHAR(20)", "STRING")),
                v("'a'"), v("'b'"), v("'c'"), v("'d'"), v("'e'"))
                .extraFlinkColumns(", kind STRING METADATA FROM 'row_kind' VIRTUAL")
                .extraOptions(", 'scan.read-changelog-as-append-only.enabled' = 'true'")
                .keyChange());
        // A Debezium pass-through option, as Flink CDC users set them (make bench-cdc sets this one for Flink CDC).
        cases.add(new Case("debezium_option",
                List.of(c("name", "VARCHAR(20)", "STRING")),
                v("'a'"), v("'b'"), v("'c'"), v("'d'"), v("'e'"))
                .extraOptions(", 'debezium.poll.interval.ms' = '100'"));
        return cases;
    }

    // ---- the run ----------------------------------------------------------------------------------

    @Test
    void rustMySqlCdcEmitsTheRowsFlinkCdcEmits() throws Exception {
        long started = System.nanoTime();
        Map<String, Outcome> outcomes = new LinkedHashMap<>();
        // -Dconformance.only=a,b: run these cases only (while working on them); the list is then checked for them only.
        String only = System.getProperty("conformance.only", "");
        Set<String> selected = only.isBlank() ? null : Set.of(only.split(","));
        for (Case k : cases()) {
            if (selected != null && !selected.contains(k.name)) {
                continue;
            }
            long t0 = System.nanoTime();
            Outcome o = run(k);
            outcomes.put(k.name, o);
            if (Boolean.getBoolean("conformance.verbose")) {
                // -Dconformance.verbose=true: every compared row of both sides, to look at what agrees too.
                for (int i = 0; i < Math.max(o.reference.size(), o.rust.size()); i++) {
                    System.out.printf("  %s #%d%n    mysql-cdc:      %s%n    rust-mysql-cdc: %s%n", k.name, i,
                            i < o.reference.size() ? o.reference.get(i) : "(none)", i < o.rust.size() ? o.rust.get(i) : "(none)");
                }
            }
            System.out.printf("conformance %-24s %s (%.1f s)%n", k.name, o.describe(), (System.nanoTime() - t0) / 1e9);
        }
        Set<String> identical = new TreeSet<>();
        outcomes.forEach((name, o) -> {
            if (o.identical()) {
                identical.add(name);
            }
        });
        System.out.printf("conformance: %d of %d cases identical (%.0f s)%n", identical.size(), outcomes.size(),
                (System.nanoTime() - started) / 1e9);

        Set<String> regressed = new TreeSet<>(EXPECTED_IDENTICAL);
        regressed.retainAll(outcomes.keySet());
        regressed.removeAll(identical);
        Set<String> newlyIdentical = new TreeSet<>(identical);
        newlyIdentical.removeAll(EXPECTED_IDENTICAL);
        assertThat(regressed).as("cases expected identical that differ now (see the lines above)").isEmpty();
        assertThat(newlyIdentical)
                .as("cases identical now but not in EXPECTED_IDENTICAL: add them there and update "
                        + "docs/flink-cdc-conformance.md")
                .isEmpty();
    }

    /** What one case gave. */
    static final class Outcome {
        String refused;
        String referenceProblem;
        String rustProblem;
        List<String> reference = List.of();
        List<String> rust = List.of();
        int snapshotRows;

        boolean identical() {
            return refused == null && referenceProblem == null && rustProblem == null && reference.equals(rust);
        }

        String describe() {
            if (refused != null) {
                // Option errors list every supported option after the offending one: the start says it.
                return "REFUSED: " + (refused.length() > 300 ? refused.substring(0, 300) + " ..." : refused);
            }
            if (identical()) {
                return "IDENTICAL (" + reference.size() + " rows)";
            }
            StringBuilder sb = new StringBuilder("DIFFERENT");
            if (referenceProblem != null && rustProblem != null && reference.equals(rust)) {
                // Same rows, then both jobs failed: the behaviour agrees, the messages do not.
                sb.append(" (both jobs failed after the same ").append(reference.size()).append(" rows)");
            }
            if (referenceProblem != null) {
                sb.append(" (mysql-cdc: ").append(referenceProblem).append(')');
            }
            if (rustProblem != null) {
                sb.append(" (rust-mysql-cdc: ").append(rustProblem).append(')');
            }
            sb.append(String.format(" (%d rows vs %d)", reference.size(), rust.size()));
            int shown = 0;
            for (int i = 0; i < Math.max(reference.size(), rust.size()) && shown < 4; i++) {
                String a = i < reference.size() ? reference.get(i) : "(none)";
                String b = i < rust.size() ? rust.get(i) : "(none)";
                if (!a.equals(b)) {
                    sb.append(String.format("%n    %s row #%d%n      mysql-cdc:      %s%n      rust-mysql-cdc: %s",
                            i < snapshotRows ? "snapshot" : "changelog", i, a, b));
                    shown++;
                }
            }
            return sb.toString();
        }
    }

    private Outcome run(Case k) throws Exception {
        Outcome outcome = new Outcome();
        String table = k.table;
        List<String> columnDefs = new ArrayList<>();
        for (Col col : k.columns) {
            columnDefs.add(col.name + " " + col.mysql);
        }
        db.execute(database, "CREATE TABLE " + table + " (id INT NOT NULL" + (k.noKey ? "" : " PRIMARY KEY") + ", "
                + String.join(", ", columnDefs) + ") "
                + k.tableOptions);
        if (k.specificOffset) {
            // Both start where the binlog ends now, after the CREATE TABLE: the fixture inserts come next.
            try (java.sql.Connection c = db.admin(database); java.sql.Statement s = c.createStatement();
                    java.sql.ResultSet status = s.executeQuery("SHOW MASTER STATUS")) {
                status.next();
                k.extraOptions = ", 'scan.startup.mode' = 'specific-offset', 'scan.startup.specific-offset.file' = '"
                        + status.getString(1) + "', 'scan.startup.specific-offset.pos' = '" + status.getLong(2) + "'";
            }
        }
        // With latest-offset the fixture rows are not emitted, but the DML changes them: their before images show.
        for (int i = 0; i < 3; i++) {
            db.execute(database, insert(k, i + 1, k.values.get(i)));
        }
        outcome.snapshotRows = k.latestOffset ? 0 : 3;
        if (k.secondTableColumns != null) {
            db.execute(database, "CREATE TABLE " + table + "_b (id INT NOT NULL PRIMARY KEY, " + k.secondTableColumns + ")");
            db.execute(database, "INSERT INTO " + table + "_b VALUES (100, " + k.secondTableValues + ")");
            outcome.snapshotRows++;
        }
        int snapshotRows = outcome.snapshotRows;

        Side reference = new Side(REFERENCE);
        Side rust = new Side(RUST);
        try {
            reference.start(k);
            rust.start(k);
            if (reference.refused != null || rust.refused != null) {
                // A refusal at planning: nothing to compare (the other side's job, if any, is cancelled below).
                outcome.refused = rust.refused;
                outcome.referenceProblem = reference.refused == null ? null : "refused: " + reference.refused;
                if (reference.refused != null || !Boolean.getBoolean("conformance.verbose")) {
                    return outcome;
                }
                // Verbose: the reference's rows are still worth seeing (what rust-mysql-cdc should emit).
            }
            if (k.latestOffset) {
                // Neither connector emits a row until it reads the binlog: ping until both show one,
                // so that the scripted DML is after both start positions.
                long ping = PING_BASE;
                long deadline = System.nanoTime() + PHASE_TIMEOUT.toNanos();
                while (!(reference.sawPing() && rust.sawPing()) && !reference.ended() && !rust.ended()
                        && System.nanoTime() < deadline) {
                    db.execute(database, insert(k, ping++, k.values.get(0)));
                    ItSupport.waitUntil(() -> (reference.sawPing() && rust.sawPing()) || reference.ended() || rust.ended(),
                            Duration.ofSeconds(1));
                }
            } else {
                // The snapshot ends before any DML, so each change is after every chunk's high
                // watermark: both connectors must emit it as a binlog change.
                ItSupport.waitUntil(() -> (reference.count() >= snapshotRows || reference.ended())
                                && (rust.count() >= snapshotRows || rust.ended()),
                        PHASE_TIMEOUT);
            }
            if (k.bounded) {
                // Nothing after the snapshot is read: compare what each emitted until it finished.
                ItSupport.waitUntil(() -> reference.ended() && rust.ended(), PHASE_TIMEOUT);
                outcome.referenceProblem = reference.boundedProblem();
                outcome.rustProblem = rust.boundedProblem();
                outcome.reference = reference.compared(outcome.snapshotRows);
                outcome.rust = rust.compared(outcome.snapshotRows);
                return outcome;
            }
            dml(k);
            ItSupport.waitUntil(() -> (reference.sawSentinel() || reference.ended()) && (rust.sawSentinel() || rust.ended()),
                    PHASE_TIMEOUT);
            outcome.referenceProblem = reference.problem();
            outcome.rustProblem = rust.refused != null ? null : rust.problem();
            outcome.reference = reference.compared(outcome.snapshotRows);
            outcome.rust = rust.compared(outcome.snapshotRows);
            return outcome;
        } finally {
            reference.stop();
            rust.stop();
        }
    }

    private static String insert(Case k, long id, String[] values) {
        List<String> names = new ArrayList<>();
        for (Col col : k.columns) {
            names.add(col.name);
        }
        return k.statementPrefix + "INSERT INTO " + k.table + " (id, " + String.join(", ", names) + ") VALUES (" + id + ", "
                + String.join(", ", values) + ")";
    }

    private static String update(Case k, long id, String[] values) {
        List<String> sets = new ArrayList<>();
        for (int i = 0; i < k.columns.size(); i++) {
            sets.add(k.columns.get(i).name + " = " + values[i]);
        }
        return k.statementPrefix + "UPDATE " + k.table + " SET " + String.join(", ", sets) + " WHERE id = " + id;
    }

    /**
     * The scripted changes, the same for every case: an insert, an update, a delete, a
     * multi-statement transaction, a primary-key change in the cases that ask for it, then the
     * sentinel (NULLs in every column). The key change is a case of its own (primary_key_change):
     * a deviation there (it differed until rust-mysql-cdc emitted -D/+I for it, as Flink CDC does)
     * would otherwise hide what every type case compares.
     */
    private static void dml(Case k) throws Exception {
        String[] v0 = k.values.get(0);
        db.execute(database,
                insert(k, 4, k.values.get(3)),
                update(k, 1, k.values.get(4)),
                "DELETE FROM " + k.table + " WHERE id = 2");
        try (java.sql.Connection c = db.admin(database); java.sql.Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            s.execute(insert(k, 5, v0));
            s.execute(update(k, 3, k.values.get(3)));
            s.execute("DELETE FROM " + k.table + " WHERE id = 4");
            c.commit();
        }
        if (k.keyChange) {
            db.execute(database, "UPDATE " + k.table + " SET id = 10 WHERE id = 1");
        }
        db.execute(database, "INSERT INTO " + k.table + " (id) VALUES (" + SENTINEL + ")");
    }

    /** One connector's job for a case and the rows it emitted, collected on a thread of its own. */
    private static final class Side {
        final String connector;
        String refused;
        JobClient client;
        private final List<String> rows = Collections.synchronizedList(new ArrayList<>());
        private volatile boolean sentinel;
        private volatile boolean ping;
        private CompletableFuture<Void> done;

        Side(String connector) {
            this.connector = connector;
        }

        void start(Case k) throws Exception {
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
            env.setParallelism(1);
            // Both connectors enter the binlog phase after a completed checkpoint; the collect sink
            // hands out what checkpoints cover.
            env.enableCheckpointing(300);
            // A job that fails ends at once with its cause (the default restarts would hide it until a deadline).
            env.setRestartStrategy(org.apache.flink.api.common.restartstrategy.RestartStrategies.noRestart());
            StreamTableEnvironment tEnv = StreamTableEnvironment.create(env, EnvironmentSettings.inStreamingMode());
            List<String> columns = new ArrayList<>();
            columns.add("id INT NOT NULL");
            for (Col col : k.columns) {
                columns.add(col.name + " " + col.flink);
            }
            // Distinct server ids per side and case (slots 6..9: 20 ids), reused only 10 cases later.
            int turn = serverIdTurn++ % 20;
            String serverId = CdcSupport.serverIds(6 + turn / 5, 5).split("-")[0];
            long id = Long.parseLong(serverId) + turn % 5;
            String ddl = "CREATE TABLE src (" + String.join(", ", columns) + k.extraFlinkColumns
                    + (k.noKey ? "" : ", PRIMARY KEY (id) NOT ENFORCED") + ") WITH ('connector' = '" + connector + "', "
                    + db.connectionOptions() + ", 'database-name' = '" + database + "', 'table-name' = '" + k.tablePattern()
                    + "', 'server-id' = '" + id + "'"
                    + (k.serverTimeZone == null ? "" : ", 'server-time-zone' = '" + k.serverTimeZone + "'")
                    + k.extraOptions + ")";
            if (k.sessionTimeZone != null) {
                tEnv.getConfig().setLocalTimeZone(java.time.ZoneId.of(k.sessionTimeZone));
            }
            try {
                tEnv.executeSql(ddl);
                Table query = tEnv.sqlQuery("SELECT * FROM src");
                List<String> names = query.getResolvedSchema().getColumnNames();
                if (Boolean.getBoolean("conformance.verbose") && connector.equals(RUST)) {
                    // The types as Flink resolved the definition (Flink may change a declared type, as it does TIME(p)).
                    System.out.println("  " + k.name + " resolved: " + query.getResolvedSchema().toString().replaceAll("\\s+", " "));
                }
                int opTs = names.indexOf("op_ts");
                CloseableIterator<Row> it = tEnv.toChangelogStream(query).collectAsync();
                client = env.executeAsync("conformance-" + k.name + "-" + connector);
                done = CompletableFuture.runAsync(() -> {
                    try (CloseableIterator<Row> r = it) {
                        while (r.hasNext()) {
                            add(r.next(), opTs);
                        }
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                }, runnable -> {
                    Thread t = new Thread(runnable, "collect-" + connector + "-" + k.name);
                    t.setDaemon(true);
                    t.start();
                });
            } catch (Exception e) {
                ValidationException v = validation(e);
                if (v == null) {
                    throw e;
                }
                refused = rootMessage(v);
            }
        }

        private void add(Row row, int opTs) {
            Object key = row.getField(0);
            long id = key instanceof Number ? ((Number) key).longValue() : -1;
            if (id >= PING_BASE) {
                ping = true;
                return; // pings only show the job reads the binlog; they are not compared
            }
            if (opTs >= 0) {
                // Times differ between runs: compared as zero (snapshot) or not.
                Row copy = Row.copy(row);
                Object ts = row.getField(opTs);
                copy.setField(opTs, ts == null ? "null" : ((Instant) ts).toEpochMilli() == 0 ? "0" : "non-zero");
                row = copy;
            }
            rows.add(row.toString());
            if (id == SENTINEL) {
                sentinel = true;
            }
        }

        int count() {
            return rows.size();
        }

        boolean sawSentinel() {
            return sentinel;
        }

        boolean sawPing() {
            return ping;
        }

        boolean ended() {
            return refused != null || (done != null && done.isDone());
        }

        /** Why this side did not give its whole changelog, or null. */
        String problem() {
            if (done != null && done.isCompletedExceptionally()) {
                try {
                    done.join();
                } catch (Exception e) {
                    return "job failed: " + rootMessage(e);
                }
            }
            if (!sentinel) {
                return "no sentinel row within " + PHASE_TIMEOUT.toSeconds() + " s (" + rows.size() + " rows)";
            }
            return null;
        }

        /** Why this side of a bounded case did not end normally, or null. */
        String boundedProblem() {
            if (!ended()) {
                return "did not end within " + PHASE_TIMEOUT.toSeconds() + " s (" + rows.size() + " rows)";
            }
            if (done.isCompletedExceptionally()) {
                try {
                    done.join();
                } catch (Exception e) {
                    return "job failed: " + rootMessage(e);
                }
            }
            return null;
        }

        /** The snapshot rows sorted (their order depends on chunking), then the changelog in order. */
        List<String> compared(int snapshotRows) {
            List<String> all;
            synchronized (rows) {
                all = new ArrayList<>(rows);
            }
            int n = Math.min(snapshotRows, all.size());
            List<String> snapshot = new ArrayList<>(all.subList(0, n));
            Collections.sort(snapshot);
            List<String> out = new ArrayList<>(snapshot);
            out.addAll(all.subList(n, all.size()));
            return out;
        }

        void stop() {
            if (client != null) {
                CdcSupport.cancelQuietly(client);
                try {
                    // The slot and the binlog connection (and its server id) are released once the job is terminal.
                    ItSupport.waitForTerminal(client);
                } catch (Exception e) {
                    System.out.println("waiting for " + client.getJobID() + " to end: " + e);
                }
            }
        }
    }

    private static ValidationException validation(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof ValidationException) {
                return (ValidationException) c;
            }
        }
        return null;
    }

    /** The innermost message (Flink wraps a factory's error in several layers), on one line. */
    private static String rootMessage(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        String m = c.getMessage() == null ? c.getClass().getName() : c.getMessage();
        return m.replaceAll("\\s+", " ").trim();
    }

    private static boolean onClassPath(String className) {
        try {
            Class.forName(className, false, FlinkCdcConformanceITCase.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }
}
