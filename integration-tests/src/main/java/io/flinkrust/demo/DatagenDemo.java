package io.flinkrust.demo;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.types.Row;
import org.apache.flink.util.CloseableIterator;

/**
 * {@code make demo-datagen}: a Rust source on an embedded Flink MiniCluster, no setup needed.
 *
 * <p>Part 1 prints orders from {@code rust-datagen} as they flow (5 per second, two parallel
 * readers, each order id exactly once). Part 2 pushes ten million rows through the bridge into
 * Flink's blackhole sink and prints the rate.
 */
public final class DatagenDemo {
    private static final int ORDERS = 20;
    private static final long BULK_ROWS = 10_000_000L;

    public static void main(String[] args) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(2, new Configuration());
        StreamTableEnvironment tEnv = StreamTableEnvironment.create(env);

        System.out.println("== Part 1: orders from rust-datagen, " + ORDERS + " rows at 5 rows/s, parallelism 2");
        tEnv.executeSql(
                "CREATE TABLE orders (\n"
                        + "  order_id BIGINT,\n"
                        + "  customer STRING,\n"
                        + "  quantity INT,\n"
                        + "  price DECIMAL(10, 2),\n"
                        + "  created TIMESTAMP(3)\n"
                        + ") WITH (\n"
                        + "  'connector' = 'rust-datagen',\n"
                        + "  'rows-per-second' = '5',\n"
                        + "  'fields.order_id.kind' = 'sequence',\n"
                        + "  'fields.order_id.start' = '1',\n"
                        + "  'fields.order_id.end' = '" + ORDERS + "',\n"
                        + "  'fields.customer.length' = '8',\n"
                        + "  'fields.quantity.min' = '1',\n"
                        + "  'fields.quantity.max' = '9',\n"
                        + "  'fields.price.min' = '1',\n"
                        + "  'fields.price.max' = '500'\n"
                        + ")");
        System.out.printf("%-9s %-10s %-8s %-10s %s%n", "order_id", "customer", "quantity", "price", "created");
        int seen = 0;
        try (CloseableIterator<Row> rows = tEnv.executeSql("SELECT * FROM orders").collect()) {
            while (rows.hasNext()) {
                Row r = rows.next();
                System.out.printf("%-9s %-10s %-8s %-10s %s%n", r.getField(0), r.getField(1), r.getField(2), r.getField(3), r.getField(4));
                seen++;
            }
        }
        System.out.println("-> " + seen + " orders, the source ended by itself (bounded by the sequence).");

        System.out.println();
        System.out.println("== Part 2: " + BULK_ROWS + " rows through the bridge into blackhole, parallelism 1");
        tEnv.executeSql(
                "CREATE TABLE bulk (id BIGINT, v INT, price DOUBLE, name STRING) WITH (\n"
                        + "  'connector' = 'rust-datagen',\n"
                        + "  'number-of-rows' = '" + BULK_ROWS + "',\n"
                        + "  'rows-per-second' = '1000000000',\n"
                        + "  'fields.name.length' = '10'\n"
                        + ")");
        tEnv.executeSql("CREATE TABLE sink (id BIGINT, v INT, price DOUBLE, name STRING) WITH ('connector' = 'blackhole')");
        tEnv.getConfig().set("parallelism.default", "1");
        TableResult insert = tEnv.executeSql("INSERT INTO sink SELECT * FROM bulk");
        long millis = insert.getJobClient().orElseThrow().getJobExecutionResult().get().getNetRuntime();
        System.out.printf("-> %,d rows in %.2f s: %,.0f rows/s (job runtime incl. scheduling)%n",
                BULK_ROWS, millis / 1000.0, BULK_ROWS * 1000.0 / millis);
        System.out.println("For the side-by-side comparison with Flink's own datagen run: make bench");
    }

    private DatagenDemo() {}
}
