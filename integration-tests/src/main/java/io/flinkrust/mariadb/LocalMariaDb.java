package io.flinkrust.mariadb;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The local MariaDB of {@code scripts/mariadb.sh} (loopback, ROW binlog), for the CDC demo and the
 * CDC integration tests. {@link #start()} runs {@code scripts/mariadb.sh start} (idempotent: it
 * installs mariadb-server with apt if needed and starts the server unless it runs) and reads the
 * connection settings the script prints.
 *
 * <p>Two users: the script's CDC user ({@link #cdcUser()}, the privileges {@code rust-mysql-cdc}
 * needs and no more; what Flink connects as), and an admin user created here over the script's
 * root socket, which creates databases and writes data over JDBC (JDBC cannot use the socket).
 */
public final class LocalMariaDb {
    /** Loopback only; the script's server is not reachable from elsewhere. Not a secret. */
    private static final String ADMIN_USER = "flinkrust_admin";
    private static final String ADMIN_PASSWORD = "flinkrust-admin-pw";

    private static LocalMariaDb instance;

    private final Path script;
    private final String host;
    private final int port;
    private final String cdcUser;
    private final String cdcPassword;

    private LocalMariaDb(Path script, Map<String, String> env) {
        this.script = script;
        this.host = require(env, "MYSQL_HOST");
        this.port = Integer.parseInt(require(env, "MYSQL_PORT"));
        this.cdcUser = require(env, "MYSQL_USER");
        this.cdcPassword = require(env, "MYSQL_PASSWORD");
    }

    /** Starts the server if needed (once per JVM) and returns it. */
    public static synchronized LocalMariaDb start() {
        if (instance == null) {
            Path script = repositoryRoot().resolve("scripts/mariadb.sh");
            String out = run(script, 300, "start");
            Map<String, String> env = new HashMap<>();
            for (String line : out.split("\n")) {
                if (line.startsWith("export ") && line.contains("=")) {
                    String kv = line.substring("export ".length());
                    env.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1).trim());
                }
            }
            LocalMariaDb db = new LocalMariaDb(script, env);
            db.rootSql("CREATE USER IF NOT EXISTS '" + ADMIN_USER + "'@'127.0.0.1' IDENTIFIED BY '" + ADMIN_PASSWORD + "';"
                    + " GRANT ALL PRIVILEGES ON *.* TO '" + ADMIN_USER + "'@'127.0.0.1' WITH GRANT OPTION;");
            instance = db;
        }
        return instance;
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    /** The CDC user (SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT). */
    public String cdcUser() {
        return cdcUser;
    }

    public String cdcPassword() {
        return cdcPassword;
    }

    /**
     * The {@code WITH} options connecting a {@code rust-mysql-cdc} table to this server as the CDC
     * user, without the leading or trailing comma: {@code 'hostname' = ..., 'password' = ...}.
     */
    public String connectionOptions() {
        return "'hostname' = '" + host + "', 'port' = '" + port + "', 'username' = '" + cdcUser
                + "', 'password' = '" + cdcPassword + "'";
    }

    /**
     * The admin user (every privilege, loopback only), for jobs that write to this server, e.g.
     * through Flink's JDBC sink. Not a secret: see {@code ADMIN_USER}.
     */
    public String adminUser() {
        return ADMIN_USER;
    }

    public String adminPassword() {
        return ADMIN_PASSWORD;
    }

    /** An admin JDBC connection (autocommit) with {@code database} as default, or none if null. */
    public Connection admin(String database) throws SQLException {
        String url = "jdbc:mariadb://" + host + ":" + port + "/" + (database == null ? "" : database)
                + "?connectTimeout=10000";
        return DriverManager.getConnection(url, ADMIN_USER, ADMIN_PASSWORD);
    }

    /** Runs statements in {@code database} as admin, each on its own (autocommit). */
    public void execute(String database, String... statements) throws SQLException {
        try (Connection c = admin(database); Statement s = c.createStatement()) {
            for (String sql : statements) {
                try {
                    s.execute(sql);
                } catch (SQLException e) {
                    throw new SQLException(sql + ": " + e.getMessage(), e.getSQLState(), e.getErrorCode(), e);
                }
            }
        }
    }

    /**
     * Drops and creates {@code database}. Also drops databases named {@code <prefix>_..._<pid>} of
     * JVMs that no longer run, which failed runs leave behind for inspection: {@code name} must end
     * with {@code _<this JVM's pid>} for this to work.
     */
    public void recreateDatabase(String database) throws SQLException {
        dropDatabasesOfDeadProcesses(database.substring(0, database.indexOf('_') + 1));
        execute(null, "DROP DATABASE IF EXISTS `" + database + "`", "CREATE DATABASE `" + database + "`");
    }

    public void dropDatabase(String database) throws SQLException {
        execute(null, "DROP DATABASE IF EXISTS `" + database + "`");
    }

    private void dropDatabasesOfDeadProcesses(String prefix) throws SQLException {
        List<String> stale = new ArrayList<>();
        try (Connection c = admin(null); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SHOW DATABASES LIKE '" + prefix.replace("_", "\\_") + "%'")) {
            while (rs.next()) {
                String name = rs.getString(1);
                String pid = name.substring(name.lastIndexOf('_') + 1);
                if (pid.matches("[0-9]+") && ProcessHandle.of(Long.parseLong(pid)).isEmpty()) {
                    stale.add(name);
                }
            }
        }
        for (String name : stale) {
            dropDatabase(name);
        }
    }

    /** Runs SQL as root over the server's Unix socket ({@code scripts/mariadb.sh sql -e ...}). */
    public String rootSql(String sql) {
        return run(script, 60, "sql", "-N", "-e", sql);
    }

    /** The checkout's root: the nearest directory up from the working directory with scripts/mariadb.sh. */
    public static Path repositoryRoot() {
        Path dir = Paths.get("").toAbsolutePath();
        for (Path d = dir; d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve("scripts/mariadb.sh"))) {
                return d;
            }
        }
        throw new IllegalStateException("scripts/mariadb.sh not found in " + dir + " or any parent directory: "
                + "run from the flink-rust-bridge checkout");
    }

    private static String run(Path script, int timeoutSeconds, String... args) {
        List<String> command = new ArrayList<>();
        command.add("bash");
        command.add(script.toString());
        command.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(command).start();
            CompletableFuture<String> stderr = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
            String stdout = readAll(p.getInputStream());
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + " did not finish in " + timeoutSeconds + " s");
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed (exit " + p.exitValue() + "): "
                        + stderr.join());
            }
            return stdout;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static String readAll(InputStream in) {
        try (InputStream is = in) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            is.transferTo(out);
            return out.toString(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String require(Map<String, String> env, String key) {
        String v = env.get(key);
        if (v == null) {
            throw new IllegalStateException("scripts/mariadb.sh start did not print " + key + " (got " + env.keySet() + ")");
        }
        return v;
    }
}
