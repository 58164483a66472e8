package io.flinkrust.bridge.datastream;

import org.junit.jupiter.api.Test;

import java.time.ZoneId;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The options a DataStream source is validated with, before anything native runs. */
class RustSourceBuilderTest {

    @Test
    void anUnsetMysqlCdcServerTimeZoneIsTheJvmDefaultZoneAsInFlinkCdc() {
        Map<String, String> completed =
                RustSourceBuilder.completedOptions("rust-mysql-cdc", Map.of("hostname", "db"));
        assertThat(completed)
                .containsEntry("hostname", "db")
                .containsEntry("server-time-zone", ZoneId.systemDefault().getId());
    }

    @Test
    void aSetZoneAndOtherConnectorsAreLeftAsGiven() {
        Map<String, String> set = Map.of("server-time-zone", "Asia/Shanghai");
        assertThat(RustSourceBuilder.completedOptions("rust-mysql-cdc", set)).isEqualTo(set);
        assertThat(RustSourceBuilder.completedOptions("rust-datagen", Map.of())).isEmpty();
    }
}
