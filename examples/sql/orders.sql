-- A bounded rust-datagen table, aggregated into a print sink.
-- Run: flink run java-bridge/target/flink-rust-bridge-0.1.0-SNAPSHOT.jar --sql-file examples/sql/orders.sql
-- Batch: the source is bounded, and each sink gets final rows only (no +U/-U changelog).
SET 'execution.runtime-mode' = 'batch';
SET 'pipeline.name' = 'rust-datagen orders';
SET 'parallelism.default' = '2';

CREATE TABLE orders (
  order_id BIGINT,
  customer STRING,
  price    DECIMAL(10, 2)
) WITH (
  'connector' = 'rust-datagen',
  'rows-per-second' = '1000000',
  'fields.order_id.kind' = 'sequence',
  'fields.order_id.start' = '1',
  'fields.order_id.end' = '100000',
  'fields.customer.length' = '1',   -- 16 distinct one-character customers: 0-9, a-f
  'fields.price.min' = '1',
  'fields.price.max' = '500'
);

CREATE TABLE per_customer (
  customer STRING,
  orders   BIGINT,
  revenue  DECIMAL(38, 2)
) WITH ('connector' = 'print', 'print-identifier' = 'per_customer');

CREATE TABLE totals (
  orders  BIGINT,
  max_id  BIGINT
) WITH ('connector' = 'print', 'print-identifier' = 'totals');

-- One job, two sinks.
EXECUTE STATEMENT SET BEGIN
  INSERT INTO per_customer SELECT customer, COUNT(*), SUM(price) FROM orders GROUP BY customer;
  INSERT INTO totals SELECT COUNT(*), MAX(order_id) FROM orders;
END;
