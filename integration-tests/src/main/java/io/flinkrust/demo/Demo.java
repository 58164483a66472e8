package io.flinkrust.demo;

import io.flinkrust.mariadb.LocalMariaDb;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.types.Row;
import org.apache.flink.util.CloseableIterator;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code make demo}: change data capture from MariaDB with {@code rust-mysql-cdc}, on an embedded
 * Flink MiniCluster.
 *
 * <p>It starts the local MariaDB ({@code scripts/mariadb.sh start}), creates a database
 * {@code flinkrust_demo} with a table {@code orders} of five rows, and runs a Flink SQL job over it
 * at parallelism 2 that prints every change it receives. First the snapshot (five {@code +I}
 * rows), then, as another thread applies a scripted series of changes to the table, the changelog
 * ({@code +I}, {@code -U}/{@code +U}, {@code -D}). Each change is applied once the previous one has
 * been printed, and the job is cancelled when the last one has: the demo waits for output, never for
 * time, and gives up after {@link #TIMEOUT_SECONDS}.
 */
public final class Demo {
    private static final String DATABASE = "flinkrust_demo";
    /** Outside the test suites' ranges (the Rust tests: 5400-15399 and 100000+; Java: 20000+). */
    private static final String SERVER_IDS = "19000-19001";
    private static final int TIMEOUT_SECONDS = 120;

    /** A scripted change and the number of changelog rows it produces. */
    private static final class Change {
        final String description;
        final String[] statements;
        final int rows;

        Change(String description, int rows, String... statements) {
            this.description = description;
            this.statements = statements;
            this.rows = rows;
        }
    }

    private static final List<Change> CHANGES = List.of(
            new Change("a new order", 1,
                    "INSERT INTO orders VALUES (6, 'frank', 12.50, 'new')"),
            new Change("order 2 is paid", 2,
                    "UPDATE orders SET status = 'paid' WHERE order_id = 2"),
            new Change("order 3 gets a discount", 2,
                    "UPDATE orders SET amount = amount * 0.9 WHERE order_id = 3"),
            new Change("order 1 is cancelled", 1,
                    "DELETE FROM orders WHERE order_id = 1"),
            new Change("order 6 is renumbered 60 (a primary-key change)", 2,
                    "UPDATE orders SET order_id = 60 WHERE order_id = 6"),
            new Change("one transaction: every new order ships", 4,
                    "BEGIN",
                    "UPDATE orders SET status = 'shipped' WHERE status = 'new'",
                    "COMMIT"));

    private static final String[][] ORDERS = {
        {"1", "alice", "19.99", "new"},
        {"2", "bob", "5.00", "new"},
        {"3", "carol", "120.00", "paid"},
        {"4", "dave", "42.00", "shipped"},
        {"5", "erin", "7.25", "new"},
    };

    public static void main(String[] args) throws Exception {
        System.out.println("== Starting the local MariaDB (scripts/mariadb.sh start)");
        LocalMariaDb db = LocalMariaDb.start();
        db.execute(null, "DROP DATABASE IF EXISTS " + DATABASE, "CREATE DATABASE " + DATABASE);
        db.execute(DATABASE, "CREATE TABLE orders (order_id INT PRIMARY KEY, customer VARCHAR(32), "
                + "amount DECIMAL(10, 2), status VARCHAR(16))");
        for (String[] o : ORDERS) {
            db.execute(DATABASE, "INSERT INTO orders VALUES (" + o[0] + ", '" + o[1] + "', " + o[2] + ", '" + o[3] + "')");
        }
        System.out.printf("   %s.orders on %s:%d has %d rows%n%n", DATABASE, db.host(), db.port(), ORDERS.length);

        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(2, new Configuration());
        StreamTableEnvironment tEnv = StreamTableEnvironment.create(env);
        String ddl = "CREATE TABLE orders (\n"
                + "  order_id INT,\n"
                + "  customer STRING,\n"
                + "  amount DECIMAL(10, 2),\n"
                + "  status STRING,\n"
                + "  op_ts TIMESTAMP_LTZ(3) METADATA FROM 'op_ts' VIRTUAL,\n"
                + "  PRIMARY KEY (order_id) NOT ENFORCED\n"
                + ") WITH (\n"
                + "  'connector' = 'rust-mysql-cdc',\n"
                + "  'hostname' = '" + db.host() + "', 'port' = '" + db.port() + "',\n"
                + "  'username' = '" + db.cdcUser() + "', 'password' = '" + db.cdcPassword() + "',\n"
                + "  'database-name' = '" + DATABASE + "', 'table-name' = 'orders',\n"
                + "  'server-id' = '" + SERVER_IDS + "'\n"
                + ")";
        System.out.println("== Flink SQL, parallelism 2:");
        System.out.println(ddl.replace(db.cdcPassword(), "***") + ";");
        System.out.println("SELECT * FROM orders;  -- as a changelog stream");
        System.out.println();
        tEnv.executeSql(ddl);

        int snapshotRows = ORDERS.length;
        int expectedRows = snapshotRows + CHANGES.stream().mapToInt(c -> c.rows).sum();
        AtomicInteger printed = new AtomicInteger();
        CompletableFuture<Void> changes = null;
        long deadline = System.nanoTime() + TIMEOUT_SECONDS * 1_000_000_000L;
        System.out.printf("%-4s %-8s %-9s %-8s %-8s %s%n", "kind", "order_id", "customer", "amount", "status", "op_ts");
        try (CloseableIterator<Row> rows = tEnv.toChangelogStream(tEnv.sqlQuery("SELECT * FROM orders"))
                .executeAndCollect("rust-mysql-cdc demo")) {
            System.out.println("-- snapshot (op_ts 0: read from the table, not the binlog)");
            // A watchdog: hasNext() blocks, so the deadline is enforced by closing the iterator.
            Thread watchdog = new Thread(() -> {
                while (System.nanoTime() < deadline && printed.get() < expectedRows) {
                    java.util.concurrent.locks.LockSupport.parkNanos(200_000_000L);
                }
                if (printed.get() < expectedRows) {
                    System.err.printf("demo: only %d of %d changes arrived within %d s; stopping%n",
                            printed.get(), expectedRows, TIMEOUT_SECONDS);
                    System.exit(1);
                }
            }, "demo-watchdog");
            watchdog.setDaemon(true);
            watchdog.start();
            while (printed.get() < expectedRows && rows.hasNext()) {
                Row r = rows.next();
                System.out.printf("%-4s %-8s %-9s %-8s %-8s %s%n", r.getKind().shortString(), r.getField(0),
                        r.getField(1), r.getField(2), r.getField(3), r.getField(4));
                int n = printed.incrementAndGet();
                if (n == snapshotRows) {
                    System.out.println("-- snapshot done; now changing the table from another thread");
                    changes = CompletableFuture.runAsync(() -> applyChanges(db, printed, snapshotRows));
                }
            }
        }
        // Closing the iterator cancelled the job.
        if (changes != null) {
            changes.join();
        }
        System.out.println();
        System.out.printf("-> %d snapshot rows and %d change rows, then the job was cancelled.%n",
                snapshotRows, expectedRows - snapshotRows);
        db.execute(null, "DROP DATABASE IF EXISTS " + DATABASE);
        System.out.println("For the datagen demo (rows flowing, then a 10 M-row run): make demo-datagen");
    }

    /** Applies each change once the rows of the previous one have been printed. */
    private static void applyChanges(LocalMariaDb db, AtomicInteger printed, int snapshotRows) {
        int expected = snapshotRows;
        try {
            for (Change change : CHANGES) {
                final int waitFor = expected;
                while (printed.get() < waitFor) {
                    // Polls the printer's progress: waiting for output, not for time.
                    java.util.concurrent.locks.LockSupport.parkNanos(20_000_000L);
                }
                System.out.println("-- " + change.description + ": " + String.join("; ", change.statements));
                db.execute(DATABASE, change.statements);
                expected += change.rows;
            }
        } catch (Exception e) {
            throw new RuntimeException("applying the demo's changes failed", e);
        }
    }

    private Demo() {}
}
