package io.flinkrust.bridge.source;

import org.apache.flink.runtime.util.EnvironmentInformation;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SupportedFlinkVersionsTest {

    @Test
    void supportedLinesPass() {
        for (String v : new String[] {"1.20.0", "1.20.3", "1.20-SNAPSHOT", "1.20.1-custom", "2.0.0", "2.3.0", "2.4-SNAPSHOT"}) {
            assertThatCode(() -> SupportedFlinkVersions.check(v)).as(v).doesNotThrowAnyException();
        }
    }

    @Test
    void otherVersionsFailNamingTheDetectedAndTheSupportedOnes() {
        for (String v : new String[] {"1.19.1", "1.18.0", "1.2.0", "1.21.0", "3.0.0", "0.20.0", "12.0"}) {
            assertThatThrownBy(() -> SupportedFlinkVersions.check(v))
                    .as(v)
                    .isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining("this is Flink " + v + ".")
                    .hasMessageContaining("Flink 1.20.x and 2.x")
                    .hasMessageContaining("tested on 1.20.3 and 2.3.0");
        }
    }

    @Test
    void anUnknownVersionPasses() {
        for (String v : new String[] {EnvironmentInformation.UNKNOWN, "", "main", null}) {
            assertThatCode(() -> SupportedFlinkVersions.check(v)).as(String.valueOf(v)).doesNotThrowAnyException();
        }
    }

    /** The test classpath's Flink is the one the jar is compiled against, and Flink knows its version. */
    @Test
    void theFlinkOnTheClasspathIsSupported() {
        assertThat(EnvironmentInformation.getVersion()).startsWith("1.20.");
        assertThatCode(SupportedFlinkVersions::ensureSupported).doesNotThrowAnyException();
    }
}
