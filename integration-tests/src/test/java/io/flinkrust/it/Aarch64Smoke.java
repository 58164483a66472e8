package io.flinkrust.it;

import io.flinkrust.bridge.jni.NativeLibrary;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.types.Row;
import org.apache.flink.util.CloseableIterator;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The linux-aarch64 build in the jar, run by an arm64 JVM under qemu-user
 * ({@code scripts/aarch64.sh test-jvm}): loads the native library from the packaged bridge jar
 * and reads rust-datagen rows through a MiniCluster (two parallel readers), checking every id once.
 * A main class rather than a test: surefire's JVM is the host's; exits non-zero on any mismatch.
 */
public final class Aarch64Smoke {
    private static final int ROWS = 200;

    public static void main(String[] args) throws Exception {
        String arch = System.getProperty("os.arch");
        if (!arch.equals("aarch64")) {
            fail("expected an aarch64 JVM, this one is os.arch=" + arch);
        }
        if (System.getProperty(NativeLibrary.LIBRARY_PATH_PROPERTY) != null) {
            fail("-D" + NativeLibrary.LIBRARY_PATH_PROPERTY + " is set; the library must come from the jar");
        }
        Path jar = ItSupport.bridgeJar(); // fails unless native/linux-aarch64/... is inside a jar
        System.out.println("aarch64 smoke: bridge jar " + jar + ", native library " + NativeLibrary.version());

        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(2, new Configuration());
        StreamTableEnvironment tEnv = StreamTableEnvironment.create(env);
        tEnv.executeSql("CREATE TABLE t (id BIGINT, name STRING, price DECIMAL(10, 2)) WITH (\n"
                + "  'connector' = 'rust-datagen',\n"
                + "  'fields.id.kind' = 'sequence',\n"
                + "  'fields.id.start' = '1',\n"
                + "  'fields.id.end' = '" + ROWS + "',\n"
                + "  'fields.name.length' = '6'\n"
                + ")");
        List<Long> ids = new ArrayList<>();
        try (CloseableIterator<Row> rows = tEnv.executeSql("SELECT id, name, price FROM t").collect()) {
            while (rows.hasNext()) {
                Row row = rows.next();
                if (((String) row.getField(1)).length() != 6) {
                    fail("name of length 6 expected, got " + row);
                }
                ids.add((Long) row.getField(0));
            }
        }
        Collections.sort(ids);
        List<Long> expected = new ArrayList<>();
        for (long i = 1; i <= ROWS; i++) {
            expected.add(i);
        }
        if (!ids.equals(expected)) {
            fail("expected ids 1.." + ROWS + " once each, got " + ids.size() + " rows: " + ids);
        }
        System.out.println("aarch64 smoke: " + ROWS + " rust-datagen rows through a MiniCluster on os.arch=" + arch
                + ", ids 1.." + ROWS + " once each");
        System.exit(0); // MiniCluster threads may linger
    }

    private static void fail(String message) {
        System.err.println("aarch64 smoke FAILED: " + message);
        System.exit(1);
    }

    private Aarch64Smoke() {}
}
