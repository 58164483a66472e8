package io.flinkrust.bridge.table;

/** {@code 'connector' = 'rust-testkit'}: the bridge's test connector (failures, async discovery, events). */
public final class RustTestkitTableFactory extends RustDynamicTableSourceFactory {
    public static final String IDENTIFIER = "rust-testkit";

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }
}
