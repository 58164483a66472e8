package io.flinkrust.bridge.jni;

import io.flinkrust.bridge.source.NativeSplit;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The byte formats of rust-core/src/protocol.rs, built by hand (no native code involved). */
class ProtocolTest {

    /** Little-endian writer for hand-built messages. */
    static final class Bytes {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Bytes i8(int v) {
            out.write(v);
            return this;
        }

        Bytes i32(int v) {
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
            return this;
        }

        Bytes i64(long v) {
            out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
            return this;
        }

        Bytes bytes(byte[] b) {
            i32(b.length);
            out.writeBytes(b);
            return this;
        }

        Bytes zeros(int n) {
            out.writeBytes(new byte[n]);
            return this;
        }

        Bytes string(String s) {
            return bytes(s.getBytes(StandardCharsets.UTF_8));
        }

        int size() {
            return out.size();
        }

        byte[] build() {
            return out.toByteArray();
        }
    }

    @Test
    void splitListsRoundTrip() {
        List<NativeSplit> splits = Arrays.asList(
                new NativeSplit("a", new byte[] {1, 2, 3}), new NativeSplit("é-2", new byte[0]));
        byte[] encoded = SplitListCodec.encode(splits);
        assertThat(encoded).isEqualTo(new Bytes()
                .i32(2)
                .string("a")
                .bytes(new byte[] {1, 2, 3})
                .string("é-2")
                .bytes(new byte[0])
                .build());
        assertThat(SplitListCodec.decode(encoded)).isEqualTo(splits);
        assertThatThrownBy(() -> SplitListCodec.decode(Arrays.copyOf(encoded, encoded.length - 1)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("malformed");
        assertThatThrownBy(() -> SplitListCodec.decode(Arrays.copyOf(encoded, encoded.length + 1)))
                .hasMessageContaining("trailing");
    }

    @Test
    void enumeratorCommandsParse() {
        byte[] bytes = new Bytes()
                .i32(4)
                .i8(1).i32(2).i32(1).string("s-1").bytes(new byte[] {9})
                .i8(2).i32(3)
                .i8(3).i32(0).bytes(new byte[] {7, 7})
                .i8(4).i64(11).i64(5).i64(100)
                .build();
        List<EnumeratorCommand> commands = EnumeratorCommand.parse(bytes);
        assertThat(commands).hasSize(4);
        EnumeratorCommand.AssignSplits assign = (EnumeratorCommand.AssignSplits) commands.get(0);
        assertThat(assign.subtask()).isEqualTo(2);
        assertThat(assign.splits()).containsExactly(new NativeSplit("s-1", new byte[] {9}));
        assertThat(((EnumeratorCommand.SignalNoMoreSplits) commands.get(1)).subtask()).isEqualTo(3);
        EnumeratorCommand.SendEvent send = (EnumeratorCommand.SendEvent) commands.get(2);
        assertThat(send.subtask()).isZero();
        assertThat(send.event()).containsExactly(7, 7);
        EnumeratorCommand.CallAsync call = (EnumeratorCommand.CallAsync) commands.get(3);
        assertThat(call.taskId()).isEqualTo(11);
        assertThat(call.initialDelayMillis()).isEqualTo(5);
        assertThat(call.periodMillis()).isEqualTo(100);
        assertThat(call.isPeriodic()).isTrue();

        assertThat(EnumeratorCommand.parse(new Bytes().i32(0).build())).isEmpty();
        assertThatThrownBy(() -> EnumeratorCommand.parse(new Bytes().i32(1).i8(9).build()))
                .hasMessageContaining("unknown tag 9");
        assertThatThrownBy(() -> EnumeratorCommand.parse(new Bytes().i32(1).i8(2).build()))
                .hasMessageContaining("truncated");
    }

    @Test
    void readerResponsesParse() {
        // A batch of two rows (8 and 16 bytes) with one event.
        Bytes header = new Bytes().i32(0).i32(3).i64(42).i64(0).i32(2).i32(1).i64(1234).bytes(new byte[] {5});
        int offsetsAt = header.size();
        int firstRow = offsetsAt + 3 * 4;
        byte[] bytes = header.i32(firstRow).i32(firstRow + 8).i32(firstRow + 24).zeros(24).build();
        ReaderResponse response = ReaderResponse.parse(bytes);
        assertThat(response.status()).isEqualTo(ReaderResponse.STATUS_BATCH);
        assertThat(response.requestsSplit()).isTrue();
        assertThat(response.epoch()).isEqualTo(42);
        assertThat(response.metricsChanged()).isTrue();
        assertThat(response.eventTime()).isEqualTo(1234);
        assertThat(response.rowCount()).isEqualTo(2);
        assertThat(response.events()).hasSize(1);
        assertThat(response.events().get(0)).containsExactly(5);
        assertThat(response.rowOffset(0)).isEqualTo(firstRow);
        assertThat(response.rowOffset(2)).isEqualTo(bytes.length);

        ReaderResponse nothing = ReaderResponse.parse(
                new Bytes().i32(1).i32(0).i64(7).i64(1_000_000).i32(0).i32(0).i64(Long.MIN_VALUE).build());
        assertThat(nothing.status()).isEqualTo(ReaderResponse.STATUS_NOTHING_AVAILABLE);
        assertThat(nothing.requestsSplit()).isFalse();
        assertThat(nothing.retryAfterNanos()).isEqualTo(1_000_000);
        assertThat(nothing.metricsChanged()).isFalse();
        assertThat(nothing.eventTime()).isEqualTo(ReaderResponse.NO_EVENT_TIME);

        byte[] truncated = Arrays.copyOf(bytes, bytes.length - 1);
        assertThatThrownBy(() -> ReaderResponse.parse(truncated)).hasMessageContaining("malformed reader response");
        assertThatThrownBy(() -> ReaderResponse.parse(new byte[10])).hasMessageContaining("shorter than its header");
        assertThatThrownBy(() -> ReaderResponse.parse(new Bytes().i32(7).i32(0).i64(0).i64(0).i32(0).i32(0).i64(0).build()))
                .hasMessageContaining("unknown status 7");
    }

    @Test
    void platformsAreNamedLikeTheJarFolders() {
        assertThat(NativeLibrary.platform("Linux", "amd64")).isEqualTo("linux-x86_64");
        assertThat(NativeLibrary.platform("Linux", "aarch64")).isEqualTo("linux-aarch64");
        assertThat(NativeLibrary.platform("Mac OS X", "aarch64")).isEqualTo("osx-aarch64");
        assertThat(NativeLibrary.platform("Mac OS X", "x86_64")).isEqualTo("osx-x86_64");
        assertThat(NativeLibrary.resourcePath("linux-x86_64")).isEqualTo("/native/linux-x86_64/libflink_rust_bridge.so");
        assertThat(NativeLibrary.resourcePath("osx-aarch64")).isEqualTo("/native/osx-aarch64/libflink_rust_bridge.dylib");
        assertThatThrownBy(() -> NativeLibrary.platform("Windows 11", "amd64"))
                .hasMessageContaining("os.name=Windows 11, os.arch=amd64");
        assertThatThrownBy(() -> NativeLibrary.platform("Linux", "s390x"))
                .hasMessageContaining("os.name=Linux, os.arch=s390x");
    }

    @Test
    void anUnsupportedPlatformIsNamedWithTheSupportedOnes() {
        assertThat(NativeLibrary.unsupportedPlatform("Linux", "riscv64", List.of("linux-aarch64", "linux-x86_64")))
                .isEqualTo("The Flink Rust native library has no build for this platform: os.name=Linux,"
                        + " os.arch=riscv64. Supported platforms (the builds in this jar): linux-aarch64,"
                        + " linux-x86_64. On another platform, build the library there (scripts/build-native.sh)"
                        + " and set -Dflinkrust.native.library=<path to the library>.");
        assertThat(NativeLibrary.unsupportedPlatform("FreeBSD", "amd64", List.of()))
                .contains("os.name=FreeBSD, os.arch=amd64")
                .contains("none (the jar holds no native library)");
    }

    @Test
    void theClassesCarryTheLinuxBuildsForBothCpus() {
        // scripts/build-native.sh cross-builds linux-aarch64 next to linux-x86_64; the jar is
        // packed from these classes. SKIP_AARCH64=1 (a developer's quick loop) leaves it out.
        // Built on linux-x86_64 only (another host builds its own platform alone).
        assumeTrue(NativeLibrary.platform(System.getProperty("os.name"), System.getProperty("os.arch"))
                .equals("linux-x86_64"), "built on linux-x86_64");
        assumeFalse("1".equals(System.getenv("SKIP_AARCH64")), "SKIP_AARCH64=1");
        assertThat(NativeLibrary.availablePlatforms()).contains("linux-x86_64", "linux-aarch64");
        assertThatThrownBy(() -> NativeLibrary.checkByteOrder(ByteOrder.BIG_ENDIAN))
                .hasMessageContaining("little-endian");
    }

    @Test
    void nativeLogTargetsBecomeLoggerNames() {
        assertThat(NativeLogDrain.loggerName("connector_datagen::source")).isEqualTo("rust.connector_datagen.source");
        assertThat(NativeLogDrain.loggerName("")).isEqualTo("rust");
    }
}
