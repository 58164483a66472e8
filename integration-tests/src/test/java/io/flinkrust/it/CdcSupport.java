package io.flinkrust.it;

import io.flinkrust.mariadb.LocalMariaDb;

import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.executiongraph.AccessExecutionJobVertex;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.types.Row;
import org.apache.flink.util.CloseableIterator;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Helpers for the rust-mysql-cdc integration tests: the changelog a job emits, materialized by
 * primary key with every anomaly recorded, a random DML workload, and the table as MariaDB has it.
 */
final class CdcSupport {
    private CdcSupport() {}

    /**
     * Replication client ids for one test: {@code count} ids, distinct per test slot and JVM. Two
     * binlog connections with one server id disconnect each other, so tests running at the same
     * time (other JVMs, the Rust tests, which use 5400-15399 and 100000+) must not share ids.
     */
    static String serverIds(int slot, int count) {
        long base = 20_000 + (ProcessHandle.current().pid() % 3_000) * 25 + slot * 5L;
        if (count > 5) {
            throw new IllegalArgumentException("at most 5 ids per slot");
        }
        return base + "-" + (base + count - 1);
    }

    /** A database name unique to this JVM: {@code cdcit_<tag>_<pid>} (see LocalMariaDb#recreateDatabase). */
    static String databaseName(String tag) {
        return "cdcit_" + tag + "_" + ProcessHandle.current().pid();
    }

    /** {@code SELECT <key>, <columns> FROM table}: key -> the other columns joined by '|'. */
    static Map<Long, String> tableState(LocalMariaDb db, String database, String table, String columns)
            throws SQLException {
        Map<Long, String> rows = new TreeMap<>();
        try (Connection c = db.admin(database); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT " + columns + " FROM " + table)) {
            int n = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                List<String> values = new ArrayList<>();
                for (int i = 2; i <= n; i++) {
                    Object v = rs.getObject(i);
                    values.add(v == null ? "NULL" : v.toString());
                }
                rows.put(rs.getLong(1), String.join("|", values));
            }
        }
        return rows;
    }

    // ---- jobs -----------------------------------------------------------------------------------

    /** The Flink table of {@code database.scores} (id, name, score, op_ts metadata) with the given options. */
    static String scoresTable(LocalMariaDb db, String database, String serverIds, String extraOptions) {
        return "CREATE TABLE scores (\n"
                + "  id BIGINT NOT NULL,\n"
                + "  name STRING,\n"
                + "  score BIGINT,\n"
                + "  op_ts TIMESTAMP_LTZ(3) METADATA FROM 'op_ts' VIRTUAL,\n"
                + "  PRIMARY KEY (id) NOT ENFORCED\n"
                + ") WITH (\n"
                + "  'connector' = 'rust-mysql-cdc', " + db.connectionOptions() + ",\n"
                + "  'database-name' = '" + database + "', 'table-name' = 'scores',\n"
                + "  'server-id' = '" + serverIds + "'" + extraOptions + ")";
    }

    /**
     * Runs {@code query} as a changelog ({@code toChangelogStream}: unlike TableResult.collect it keeps
     * {@code -U}), each row tagged with the source subtask that emitted it, collected on a thread.
     */
    static JobClient runChangelog(StreamExecutionEnvironment env, StreamTableEnvironment tEnv, String query,
            double pacePerSubtask, Changelog changelog, String name) throws Exception {
        DataStream<Row> changes = tEnv.toChangelogStream(tEnv.sqlQuery(query));
        DataStream<String> tagged = changes.map(new TagWithSubtask(pacePerSubtask)).name("tag-with-subtask");
        CloseableIterator<String> it = tagged.collectAsync();
        JobClient client = env.executeAsync(name);
        changelog.start(it, name);
        return client;
    }

    /**
     * The tagging map must run in the source's own subtasks (chained to it), or the subtask
     * indexes it records would not be the readers'.
     */
    static void assertTaggingIsChainedToTheSource(MiniCluster miniCluster, JobClient client) throws Exception {
        AccessExecutionJobVertex source = ItSupport.sourceVertex(miniCluster.getExecutionGraph(client.getJobID()).get());
        assertThat(source.getName()).as("the source vertex chains the tagging map").contains("tag-with-subtask");
    }

    /**
     * Cancels a job in a finally block: a job that already failed or finished makes cancel() fail,
     * which must not hide the test's own failure.
     */
    static void cancelQuietly(JobClient client) {
        try {
            client.cancel().get(30, java.util.concurrent.TimeUnit.SECONDS);
        } catch (Exception e) {
            System.out.println("cancel " + client.getJobID() + ": " + e);
        }
    }

    // ---- the changelog --------------------------------------------------------------------------

    /**
     * Turns each changelog row into text tagged with the subtask that emitted it:
     * {@code subtask \t kind \t field0 \t field1 ...}; NULL as "NULL", an {@link Instant} as epoch
     * millis. With the same parallelism as the source and a forward connection (asserted by the
     * tests through the chained vertex), the subtask is that of the source reader that read the row.
     *
     * <p>{@code rowsPerSecondPerSubtask} > 0 paces each subtask: the failover test slows the snapshot
     * down so that a TaskManager can be killed while chunks are still unread. Pacing, not waiting
     * for anything: it sleeps only when the subtask is ahead of its schedule.
     */
    static final class TagWithSubtask extends RichMapFunction<Row, String> {
        private static final long serialVersionUID = 1L;
        private final double rowsPerSecondPerSubtask;
        private transient int subtask;
        private transient long startNanos;
        private transient long rows;

        TagWithSubtask(double rowsPerSecondPerSubtask) {
            this.rowsPerSecondPerSubtask = rowsPerSecondPerSubtask;
        }

        @Override
        public void open(Configuration parameters) {
            // getIndexOfThisSubtask moved to getTaskInfo() in 2.x; tests compile against 1.20 only.
            subtask = getRuntimeContext().getIndexOfThisSubtask();
            startNanos = System.nanoTime();
        }

        @Override
        public String map(Row row) {
            if (rowsPerSecondPerSubtask > 0) {
                long due = startNanos + (long) (rows++ * 1e9 / rowsPerSecondPerSubtask);
                long ahead = due - System.nanoTime();
                if (ahead > 0) {
                    LockSupport.parkNanos(ahead);
                }
            }
            StringBuilder sb = new StringBuilder().append(subtask).append('\t').append(row.getKind().shortString());
            for (int i = 0; i < row.getArity(); i++) {
                Object v = row.getField(i);
                sb.append('\t').append(v == null ? "NULL" : v instanceof Instant ? String.valueOf(((Instant) v).toEpochMilli()) : v.toString());
            }
            return sb.toString();
        }
    }

    /**
     * A changelog {@code (id, value columns..., op_ts)} as {@link TagWithSubtask} renders it,
     * materialized by id (value: the value columns joined by '|'), consumed on a background thread.
     * Anomalies are changes a correct changelog never has: {@code +I} or {@code +U} of a key that is
     * present, {@code -U} or {@code -D} of a key that is absent or with another value, and a
     * {@code +U} that does not come right after a {@code -U} of its key from the same subtask (a
     * {@code -U}/{@code +U} pair carries one key: upsert sinks drop the {@code -U}, so a primary-key
     * change must be {@code -D}/{@code +I}).
     */
    static final class Changelog {
        private final Map<Long, String> rows = new TreeMap<>();
        private final List<String> anomalies = new ArrayList<>();
        private final Set<Integer> snapshotSubtasks = new TreeSet<>();
        private final Set<Integer> binlogSubtasks = new TreeSet<>();
        /** Per subtask, the key of a {@code -U} whose {@code +U} must come next (order holds per subtask). */
        private final Map<Integer, Long> pendingUpdate = new TreeMap<>();
        private final AtomicLong changes = new AtomicLong();
        private final AtomicLong snapshotRows = new AtomicLong();
        private final AtomicLong binlogRows = new AtomicLong();
        private final List<String> first = new ArrayList<>();
        private CompletableFuture<Void> done;

        Changelog start(CloseableIterator<String> it, String name) {
            done = CompletableFuture.runAsync(() -> {
                try (CloseableIterator<String> rows = it) {
                    while (rows.hasNext()) {
                        apply(rows.next());
                    }
                } catch (Exception e) {
                    throw new RuntimeException("collecting " + name + " failed", e);
                }
            }, r -> {
                Thread t = new Thread(r, "collect-" + name);
                t.setDaemon(true);
                t.start();
            });
            return this;
        }

        synchronized void apply(String line) {
            String[] f = line.split("\t", -1);
            int subtask = Integer.parseInt(f[0]);
            String kind = f[1];
            long id = Long.parseLong(f[2]);
            long opTs = Long.parseLong(f[f.length - 1]);
            String value = String.join("|", java.util.Arrays.asList(f).subList(3, f.length - 1));
            changes.incrementAndGet();
            if (first.size() < 50) {
                first.add(line);
            }
            // Snapshot rows carry op_ts 0, as in Flink CDC; binlog rows the time of their change.
            if (opTs == 0) {
                snapshotRows.incrementAndGet();
                snapshotSubtasks.add(subtask);
            } else {
                binlogRows.incrementAndGet();
                binlogSubtasks.add(subtask);
            }
            Long before = pendingUpdate.remove(subtask);
            if (before != null && !(kind.equals("+U") && before == id)) {
                anomaly("-U of key " + before + " followed by " + kind + " of key " + id + " (subtask " + subtask + ")");
            } else if (before == null && kind.equals("+U")) {
                anomaly("+U of key " + id + " without a -U of it right before (subtask " + subtask + ")");
            }
            if (kind.equals("-U")) {
                pendingUpdate.put(subtask, id);
            }
            switch (kind) {
                case "+I":
                case "+U": {
                    String old = rows.put(id, value);
                    if (old != null) {
                        anomaly(kind + " of present key " + id + " (was " + old + ", now " + value + ")");
                    }
                    break;
                }
                case "-U":
                case "-D": {
                    String old = rows.remove(id);
                    if (old == null) {
                        anomaly(kind + " of absent key " + id + " (" + value + ")");
                    } else if (!old.equals(value)) {
                        anomaly(kind + " of key " + id + " with " + value + ", but it was " + old);
                    }
                    break;
                }
                default:
                    anomaly("unknown row kind in " + line);
            }
        }

        private void anomaly(String what) {
            if (anomalies.size() < 1000) {
                anomalies.add(what);
            }
        }

        synchronized Map<Long, String> rows() {
            return new TreeMap<>(rows);
        }

        synchronized boolean equalsTable(Map<Long, String> table) {
            return rows.equals(table);
        }

        synchronized List<String> anomalies() {
            return new ArrayList<>(anomalies);
        }

        synchronized Set<Integer> snapshotSubtasks() {
            return new TreeSet<>(snapshotSubtasks);
        }

        synchronized Set<Integer> binlogSubtasks() {
            return new TreeSet<>(binlogSubtasks);
        }

        synchronized List<String> firstLines() {
            return Collections.unmodifiableList(new ArrayList<>(first));
        }

        long changes() {
            return changes.get();
        }

        long snapshotRows() {
            return snapshotRows.get();
        }

        long binlogRows() {
            return binlogRows.get();
        }

        CompletableFuture<Void> done() {
            return done;
        }

        /** Rethrows why collecting failed, if it did. */
        void checkFailure() {
            if (done.isCompletedExceptionally()) {
                done.join();
            }
        }

        /** What differs between the materialized changelog and the table (for failure messages). */
        synchronized String diff(Map<Long, String> table) {
            List<String> out = new ArrayList<>();
            for (Map.Entry<Long, String> e : table.entrySet()) {
                String got = rows.get(e.getKey());
                if (!e.getValue().equals(got)) {
                    out.add(e.getKey() + ": table " + e.getValue() + ", changelog " + got);
                }
            }
            for (Map.Entry<Long, String> e : rows.entrySet()) {
                if (!table.containsKey(e.getKey())) {
                    out.add(e.getKey() + ": not in the table, changelog " + e.getValue());
                }
            }
            return out.size() + " keys differ (table " + table.size() + " rows, changelog " + rows.size() + "): "
                    + out.subList(0, Math.min(out.size(), 20));
        }
    }

    // ---- the workload ---------------------------------------------------------------------------

    /**
     * Random single-row DML on {@code scores (id BIGINT PRIMARY KEY, name VARCHAR, score BIGINT)} on a
     * thread and connection of its own, until {@link #stop()}: inserts, updates, primary-key changes,
     * deletes, upserts, and every tenth round a multi-statement transaction. Keys stay in
     * 1..keySpace. {@code statementsPerSecond} > 0 paces it (the failover test needs it to keep
     * running across two restarts); 0 runs it flat out.
     */
    static final class RandomDml {
        private final AtomicBoolean stop = new AtomicBoolean();
        private final AtomicLong statements = new AtomicLong();
        private final CompletableFuture<Long> done;

        RandomDml(LocalMariaDb db, String database, long seed, long keySpace, double statementsPerSecond) {
            done = CompletableFuture.supplyAsync(() -> {
                Random rnd = new Random(seed);
                long start = System.nanoTime();
                try (Connection c = db.admin(database); Statement s = c.createStatement()) {
                    long n = 0;
                    while (!stop.get()) {
                        boolean transaction = rnd.nextInt(10) == 0;
                        if (transaction) {
                            c.setAutoCommit(false);
                        }
                        for (int i = 0; i < (transaction ? 2 + rnd.nextInt(4) : 1); i++) {
                            s.execute(randomStatement(rnd, keySpace, n++));
                        }
                        if (transaction) {
                            c.commit();
                            c.setAutoCommit(true);
                        }
                        statements.set(n);
                        if (statementsPerSecond > 0) {
                            long ahead = start + (long) (n * 1e9 / statementsPerSecond) - System.nanoTime();
                            if (ahead > 0) {
                                LockSupport.parkNanos(ahead); // pacing, see the class comment
                            }
                        }
                    }
                    return n;
                } catch (SQLException e) {
                    throw new RuntimeException("DML workload failed after " + statements.get() + " statements", e);
                }
            }, r -> {
                Thread t = new Thread(r, "dml-" + database);
                t.setDaemon(true);
                t.start();
            });
        }

        private static String randomStatement(Random rnd, long keySpace, long n) {
            long id = 1 + (long) (rnd.nextDouble() * keySpace);
            switch (rnd.nextInt(10)) {
                case 0:
                case 1:
                case 2:
                    return "INSERT IGNORE INTO scores VALUES (" + id + ", 'i" + n + "', " + rnd.nextInt(1000) + ")";
                case 3:
                case 4:
                case 5:
                    return "UPDATE scores SET score = score + 1, name = 'u" + n + "' WHERE id = " + id;
                case 6:
                    return "UPDATE scores SET name = NULL WHERE id = " + id;
                case 7:
                    // A primary-key change: -D of the old key, +I of the new one.
                    return "UPDATE IGNORE scores SET id = " + (1 + (long) (rnd.nextDouble() * keySpace)) + " WHERE id = " + id;
                case 8:
                    return "DELETE FROM scores WHERE id = " + id;
                default:
                    return "INSERT INTO scores VALUES (" + id + ", 'x" + n + "', 1) ON DUPLICATE KEY UPDATE score = score * 2";
            }
        }

        long statements() {
            return statements.get();
        }

        /** Stops the workload and returns how many statements ran (rethrows its failure). */
        long stop() {
            stop.set(true);
            return done.join();
        }

        CompletableFuture<Long> done() {
            return done;
        }
    }
}
