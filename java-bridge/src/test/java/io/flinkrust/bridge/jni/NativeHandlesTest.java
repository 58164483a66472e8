package io.flinkrust.bridge.jni;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The typed wrappers over native handles: loading, validation, lifecycle, log drain. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class NativeHandlesTest {

    static SourceDefinition testkit(String... options) {
        Map<String, String> map = new LinkedHashMap<>();
        for (int i = 0; i < options.length; i += 2) {
            map.put(options[i], options[i + 1]);
        }
        return new SourceDefinition(
                "rust-testkit", map, Collections.singletonList("id"), Collections.singletonList("BIGINT NOT NULL"));
    }

    static boolean drainThreadAlive() {
        return Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.getName().equals(NativeLogDrain.THREAD_NAME) && t.isAlive());
    }

    @Test
    void theLibraryLoadsAndNamesItsConnectors() {
        NativeLibrary.ensureLoaded();
        NativeLibrary.ensureLoaded();
        assertThat(NativeLibrary.version()).isNotBlank();
        assertThat(NativeLibrary.connectors()).contains("rust-datagen", "rust-testkit");
        assertThat(NativeLibrary.availablePlatforms()).contains(
                NativeLibrary.platform(System.getProperty("os.name"), System.getProperty("os.arch")));
    }

    @Test
    void validationNamesTheOptionAndTheSupportedOnes() {
        assertThat(SourceValidator.validate(testkit("rows", "10"))).isTrue();
        assertThatThrownBy(() -> SourceValidator.validate(testkit("rowz", "10")))
                .isInstanceOf(NativeValidationException.class)
                .hasMessageContaining("rowz")
                .hasMessageContaining("rows")
                .hasMessageContaining("fail.on");
        assertThatThrownBy(() -> SourceValidator.validate(testkit("rows", "ten")))
                .isInstanceOf(NativeValidationException.class)
                .hasMessageContaining("'rows'");
        assertThatThrownBy(() -> SourceValidator.validate(new SourceDefinition(
                        "rust-nope", Collections.emptyMap(), List.of("id"), List.of("BIGINT"))))
                .isInstanceOf(NativeValidationException.class)
                .hasMessageContaining("rust-nope")
                .hasMessageContaining("rust-testkit");
    }

    @Test
    void handlesCloseOnceAndRefuseCallsAfterwards() {
        NativeEnumerator enumerator = NativeEnumerator.create(testkit(), 1, null);
        enumerator.start();
        assertThat(enumerator.handleSplitRequest(0, null)).hasSize(1);
        enumerator.close();
        enumerator.close();
        assertThat(enumerator.isClosed()).isTrue();
        assertThatThrownBy(() -> enumerator.handleSplitRequest(0, null))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
        assertThatThrownBy(() -> enumerator.runAsync(1, false)).isInstanceOf(IllegalStateException.class);

        NativeReader reader = NativeReader.create(testkit(), 0, 1);
        NativeAvailability availability = reader.availability();
        ReaderResponse started = reader.start();
        assertThat(started.status()).isEqualTo(ReaderResponse.STATUS_NONE);
        assertThat(started.requestsSplit()).isTrue();
        reader.close();
        reader.close();
        assertThatThrownBy(reader::pollNext).isInstanceOf(IllegalStateException.class);
        // The signal outlives the reader: closed, so a wait returns at once.
        assertThat(availability.await(0, 0)).isEqualTo(NativeAvailability.CLOSED);
        availability.release();
        availability.release();
        assertThat(availability.await(0, 0)).isEqualTo(NativeAvailability.CLOSED);
    }

    @Test
    void nativeErrorsArriveAsNativeExceptions() {
        assertThatThrownBy(() -> NativeReader.create(testkit("fail.on", "reader-create-error"), 0, 1))
                .isInstanceOf(NativeException.class)
                .isNotInstanceOf(NativeValidationException.class)
                .hasMessageContaining("reader creation failed as configured");
        NativeEnumerator enumerator = NativeEnumerator.create(testkit("fail.on", "enumerator-start-panic"), 1, null);
        try {
            assertThatThrownBy(enumerator::start)
                    .isInstanceOf(NativeException.class)
                    .hasMessageContaining("Rust panic")
                    .hasMessageContaining("enumerator start panic as configured");
        } finally {
            enumerator.close();
        }
        assertThat(NativeLogDrain.references()).isZero();
    }

    @Test
    void theLogDrainLivesExactlyAsLongAsHandles() {
        assertThat(NativeLogDrain.references()).isZero();
        assertThat(drainThreadAlive()).isFalse();
        NativeReader first = NativeReader.create(testkit(), 0, 2);
        NativeReader second = NativeReader.create(testkit(), 1, 2);
        assertThat(NativeLogDrain.references()).isEqualTo(2);
        assertThat(drainThreadAlive()).isTrue();
        first.start(); // logs natively
        first.close();
        assertThat(drainThreadAlive()).isTrue();
        second.close();
        assertThat(NativeLogDrain.references()).isZero();
        assertThat(drainThreadAlive()).isFalse();

        // And starts again.
        NativeEnumerator again = NativeEnumerator.create(testkit(), 1, null);
        assertThat(drainThreadAlive()).isTrue();
        again.close();
        assertThat(drainThreadAlive()).isFalse();
    }

    @Test
    void levelsFollowTheRustLogger() {
        org.slf4j.Logger rust = org.slf4j.LoggerFactory.getLogger(NativeLogDrain.ROOT_LOGGER);
        assertThat(NativeLogDrain.levelOf(rust)).isEqualTo(3); // INFO in log4j2-test.properties
        NativeLogDrain.log(new String[] {"3", "connector_testkit", "hello", "9", "x::y", "trace"});
    }
}
