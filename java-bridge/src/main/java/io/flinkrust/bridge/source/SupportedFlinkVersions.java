package io.flinkrust.bridge.source;

import org.apache.flink.runtime.util.EnvironmentInformation;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Flink versions this jar runs on. The jar is compiled against Flink 1.20 and uses only APIs
 * that 2.x kept; on other versions it would fail later with a {@link NoSuchMethodError} or a
 * misbehaving job, so a Rust source refuses to be created there, with a message that says why.
 *
 * <p>The version is Flink's own ({@link EnvironmentInformation#getVersion()}, the same in 1.20
 * and 2.x), read where the source is created: in the client for {@code flink run} and the SQL
 * client, in the JobManager for REST submissions.
 */
public final class SupportedFlinkVersions {
    /** The supported lines, as the error names them. */
    public static final String SUPPORTED = "Flink 1.20.x and 2.x";
    /** The versions the end-to-end tests run the jar on (integration-tests/e2e). */
    public static final String TESTED = "1.20.3 and 2.3.0";

    private static final Logger LOG = LoggerFactory.getLogger(SupportedFlinkVersions.class);
    private static final Pattern MAJOR_MINOR = Pattern.compile("^(\\d+)\\.(\\d+)(?:[.-].*)?$");

    private static volatile boolean checked;

    private SupportedFlinkVersions() {}

    /**
     * Checks the running Flink once per class loader.
     *
     * @throws UnsupportedOperationException on an unsupported version, naming it and the supported ones
     */
    public static void ensureSupported() {
        if (!checked) {
            check(EnvironmentInformation.getVersion());
            checked = true;
        }
    }

    /**
     * Checks a Flink version string: 1.20.x and 2.x (including snapshots and vendor suffixes such
     * as {@code 1.20.1-custom}) pass. A version Flink cannot tell ({@code <unknown>}, when its
     * classes do not come from a Flink jar, as in some IDE setups) or cannot be parsed passes with
     * a warning: refusing to run where the version is merely unknown would do more harm than good.
     *
     * @throws UnsupportedOperationException on any other version
     */
    static void check(String version) {
        Matcher m = version == null ? null : MAJOR_MINOR.matcher(version.trim());
        if (m == null || !m.matches()) {
            LOG.warn("Cannot tell the Flink version ('{}'); this flink-rust-bridge jar supports {} "
                    + "(tested on {}).", version, SUPPORTED, TESTED);
            return;
        }
        int major = Integer.parseInt(m.group(1));
        int minor = Integer.parseInt(m.group(2));
        if ((major == 1 && minor == 20) || major == 2) {
            return;
        }
        throw new UnsupportedOperationException("This flink-rust-bridge jar runs on " + SUPPORTED
                + " (tested on " + TESTED + "), but this is Flink " + version.trim()
                + ". Use a Flink 1.20 or 2.x distribution (client and cluster).");
    }
}
