package io.flinkrust.bridge.jni;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * Loads the native library ({@code libflink_rust_bridge}) once per class loader.
 *
 * <p>The library ships inside the jar under {@code /native/<os>-<arch>/}. Each load copies it to
 * a fresh temporary file, loads that, and deletes the file (the mapping stays valid). A unique
 * file per load matters: the JVM refuses to load one path into two class loaders, and every Flink
 * job runs in its own user-code class loader, so several jobs in one session cluster each load
 * (and later unload) their own copy with its own native state.
 *
 * <p>Setting the system property {@value #LIBRARY_PATH_PROPERTY} to the path of an already-built
 * library loads that instead (also through a temporary copy). The copies go to the directory the
 * system property {@value #EXTRACT_DIR_PROPERTY} names (created if missing), else to
 * {@code java.io.tmpdir}: a directory mounted {@code noexec} cannot load libraries.
 */
public final class NativeLibrary {
    /** System property naming a library file to load instead of the one in the jar. */
    public static final String LIBRARY_PATH_PROPERTY = "flinkrust.native.library";
    /** System property naming the directory the library is copied to before loading (default: java.io.tmpdir). */
    public static final String EXTRACT_DIR_PROPERTY = "flinkrust.native.extract-dir";

    static final String LIBRARY_NAME = "flink_rust_bridge";
    private static final String[] KNOWN_OS = {"linux", "osx"};
    private static final String[] KNOWN_ARCH = {"x86_64", "aarch64"};

    private static final Logger LOG = LoggerFactory.getLogger(NativeLibrary.class);

    /** Guarded by the class lock. */
    private static boolean loaded;

    private NativeLibrary() {}

    /**
     * Loads the library into this class loader unless already done. Thread-safe and cheap after
     * the first call.
     *
     * @throws IllegalStateException naming what was looked for when the library cannot be loaded
     */
    public static synchronized void ensureLoaded() {
        if (loaded) {
            return;
        }
        checkByteOrder(ByteOrder.nativeOrder());
        String override = System.getProperty(LIBRARY_PATH_PROPERTY);
        String origin;
        Path copy;
        if (override != null && !override.trim().isEmpty()) {
            Path source = Paths.get(override.trim());
            origin = source.toAbsolutePath() + " (from -D" + LIBRARY_PATH_PROPERTY + ")";
            if (!Files.isRegularFile(source)) {
                throw new IllegalStateException(
                        "Cannot load the Flink Rust native library: system property " + LIBRARY_PATH_PROPERTY
                                + " names " + source.toAbsolutePath() + ", which is not a file.");
            }
            try (InputStream in = Files.newInputStream(source)) {
                copy = copyToTempFile(in, source.toString());
            } catch (IOException e) {
                throw new IllegalStateException("Cannot read the Flink Rust native library " + origin, e);
            }
        } else {
            String platform = platform(System.getProperty("os.name"), System.getProperty("os.arch"));
            String resource = resourcePath(platform);
            origin = "resource " + resource;
            try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
                if (in == null) {
                    List<String> available = availablePlatforms();
                    throw new IllegalStateException(
                            "Cannot load the Flink Rust native library: this jar has no build for platform "
                                    + platform + " (looked for resource " + resource + "). The jar contains: "
                                    + (available.isEmpty() ? "no native library at all" : String.join(", ", available))
                                    + ". Build the jar on the target platform (scripts/build-native.sh) or set -D"
                                    + LIBRARY_PATH_PROPERTY + "=<path to " + System.mapLibraryName(LIBRARY_NAME) + ">.");
                }
                copy = copyToTempFile(in, resource);
            } catch (IOException e) {
                throw new IllegalStateException("Cannot extract the Flink Rust native library " + origin, e);
            }
        }
        try {
            System.load(copy.toAbsolutePath().toString());
        } catch (UnsatisfiedLinkError e) {
            IllegalStateException failure = new IllegalStateException(
                    "Cannot load the Flink Rust native library " + origin + " (copied to " + copy
                            + "): " + e.getMessage() + ". If " + copy.getParent() + " is on a file system"
                            + " mounted noexec, set -D" + EXTRACT_DIR_PROPERTY + "=<a directory that allows"
                            + " executables> in the JVM options of the Flink client, the JobManager and the"
                            + " TaskManagers (env.java.opts.all).");
            failure.initCause(e);
            throw failure;
        } finally {
            deleteQuietly(copy);
        }
        loaded = true;
        String version = NativeBridge.nativeVersion();
        NativeLogDrain.applyMaxLevel();
        LOG.info(
                "Loaded Flink Rust native library {} from {}; connectors: {}",
                version,
                origin,
                String.join(", ", NativeBridge.connectors()));
    }

    /** The version of the loaded native library. */
    public static String version() {
        ensureLoaded();
        return NativeBridge.nativeVersion();
    }

    /** The connector identifiers the native library serves, sorted. */
    public static List<String> connectors() {
        ensureLoaded();
        String[] ids = NativeBridge.connectors();
        Arrays.sort(ids);
        return Collections.unmodifiableList(Arrays.asList(ids));
    }

    /**
     * {@code <os>-<arch>} as the jar's resource folders name it.
     *
     * @throws IllegalStateException naming the platform found and the ones this jar has builds for,
     *     when the operating system or CPU is one the library is not built for
     */
    static String platform(String osName, String osArch) {
        String os = osName == null ? "" : osName.toLowerCase(Locale.ROOT);
        String arch = osArch == null ? "" : osArch.toLowerCase(Locale.ROOT);
        String osPart;
        if (os.startsWith("linux")) {
            osPart = "linux";
        } else if (os.startsWith("mac") || os.startsWith("darwin")) {
            osPart = "osx";
        } else {
            throw new IllegalStateException(unsupportedPlatform(osName, osArch, availablePlatforms()));
        }
        String archPart;
        switch (arch) {
            case "amd64":
            case "x86_64":
            case "x86-64":
                archPart = "x86_64";
                break;
            case "aarch64":
            case "arm64":
                archPart = "aarch64";
                break;
            default:
                throw new IllegalStateException(unsupportedPlatform(osName, osArch, availablePlatforms()));
        }
        return osPart + "-" + archPart;
    }

    /**
     * The error for a JVM on an operating system or CPU without a build: names what the JVM reports
     * and the platforms the jar carries (a release jar: linux-x86_64 and linux-aarch64).
     */
    static String unsupportedPlatform(String osName, String osArch, List<String> available) {
        return "The Flink Rust native library has no build for this platform: os.name=" + osName + ", os.arch="
                + osArch + ". Supported platforms (the builds in this jar): "
                + (available.isEmpty() ? "none (the jar holds no native library)" : String.join(", ", available))
                + ". On another platform, build the library there (scripts/build-native.sh) and set -D"
                + LIBRARY_PATH_PROPERTY + "=<path to the library>.";
    }

    static String resourcePath(String platform) {
        return "/native/" + platform + "/" + libraryFileName(platform);
    }

    /** The library file name for a platform (the jar may hold other platforms' builds). */
    private static String libraryFileName(String platform) {
        return platform.startsWith("osx") ? "lib" + LIBRARY_NAME + ".dylib" : "lib" + LIBRARY_NAME + ".so";
    }

    /** Platforms this jar (or class path) has a native library for. */
    static List<String> availablePlatforms() {
        List<String> found = new ArrayList<>();
        for (String os : KNOWN_OS) {
            for (String arch : KNOWN_ARCH) {
                String platform = os + "-" + arch;
                if (NativeLibrary.class.getResource(resourcePath(platform)) != null) {
                    found.add(platform);
                }
            }
        }
        return found;
    }

    /** The byte formats are little-endian and rows are read with native-order memory access. */
    static void checkByteOrder(ByteOrder order) {
        if (order != ByteOrder.LITTLE_ENDIAN) {
            throw new IllegalStateException(
                    "The Flink Rust native library needs a little-endian platform; this one is " + order + ".");
        }
    }

    private static Path copyToTempFile(InputStream in, String sourceName) throws IOException {
        return copyToTempFile(in, sourceName, System.getProperty(EXTRACT_DIR_PROPERTY));
    }

    /** Copies the library into {@code extractDir} (created if missing), or java.io.tmpdir when unset. */
    static Path copyToTempFile(InputStream in, String sourceName, String extractDir) throws IOException {
        String suffix = sourceName.endsWith(".dylib") ? ".dylib" : ".so";
        Path copy;
        if (extractDir == null || extractDir.trim().isEmpty()) {
            copy = Files.createTempFile("flink-rust-bridge-", suffix);
        } else {
            Path dir = Paths.get(extractDir.trim());
            try {
                Files.createDirectories(dir);
                copy = Files.createTempFile(dir, "flink-rust-bridge-", suffix);
            } catch (IOException e) {
                throw new IOException("cannot create a file in " + dir + " (set by -D" + EXTRACT_DIR_PROPERTY
                        + "): " + e + ". Point it at a writable directory that allows executables.", e);
            }
        }
        try {
            Files.copy(in, copy, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            deleteQuietly(copy);
            throw e;
        }
        return copy;
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            file.toFile().deleteOnExit();
        }
    }
}
