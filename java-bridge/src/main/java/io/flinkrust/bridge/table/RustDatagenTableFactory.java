package io.flinkrust.bridge.table;

/** {@code 'connector' = 'rust-datagen'}: Flink's datagen, in Rust. */
public final class RustDatagenTableFactory extends RustDynamicTableSourceFactory {
    public static final String IDENTIFIER = "rust-datagen";

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }
}
