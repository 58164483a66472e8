package io.flinkrust.bridge.jni;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Where the native library is copied before loading: -Dflinkrust.native.extract-dir, else java.io.tmpdir. */
class NativeLibraryExtractDirTest {

    private static ByteArrayInputStream library() {
        return new ByteArrayInputStream("not really a library".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void theCopyGoesToTheConfiguredDirectoryWhichIsCreatedIfMissing(@TempDir Path tmp) throws IOException {
        Path dir = tmp.resolve("exec/native");
        Path copy = NativeLibrary.copyToTempFile(library(), "/native/linux-x86_64/libflink_rust_bridge.so", dir.toString());
        assertThat(copy.getParent()).isEqualTo(dir);
        assertThat(copy.getFileName().toString()).startsWith("flink-rust-bridge-").endsWith(".so");
        assertThat(new String(Files.readAllBytes(copy), StandardCharsets.UTF_8)).isEqualTo("not really a library");
    }

    @Test
    void unsetItIsTheJvmTemporaryDirectory() throws IOException {
        Path copy = NativeLibrary.copyToTempFile(library(), "libflink_rust_bridge.so", null);
        try {
            assertThat(copy.getParent()).isEqualTo(Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath());
        } finally {
            Files.deleteIfExists(copy);
        }
    }

    @Test
    void aDirectoryThatCannotBeCreatedIsNamedWithTheProperty(@TempDir Path tmp) throws IOException {
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        assertThatThrownBy(() -> NativeLibrary.copyToTempFile(library(), "libflink_rust_bridge.so", file.resolve("sub").toString()))
                .isInstanceOf(IOException.class)
                .hasMessageContaining(file.resolve("sub").toString())
                .hasMessageContaining("-Dflinkrust.native.extract-dir")
                .hasMessageContaining("writable directory that allows executables");
    }
}
