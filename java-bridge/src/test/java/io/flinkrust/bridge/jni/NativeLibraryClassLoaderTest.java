package io.flinkrust.bridge.jni;

import org.junit.jupiter.api.Test;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Like jobs in a session cluster, each with its own user-code class loader: every class loader
 * loads and uses its own copy of the native library.
 */
class NativeLibraryClassLoaderTest {

    /** Loads the bridge's classes itself (child-first), everything else from the parent. */
    static final class ChildFirstLoader extends URLClassLoader {
        ChildFirstLoader(URL classes) {
            super(new URL[] {classes}, NativeLibraryClassLoaderTest.class.getClassLoader());
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            if (!name.startsWith("io.flinkrust.bridge.")) {
                return super.loadClass(name, resolve);
            }
            synchronized (getClassLoadingLock(name)) {
                Class<?> c = findLoadedClass(name);
                if (c == null) {
                    c = findClass(name);
                }
                if (resolve) {
                    resolveClass(c);
                }
                return c;
            }
        }
    }

    @Test
    void everyClassLoaderLoadsItsOwnCopy() throws Exception {
        URL classes = NativeLibrary.class.getProtectionDomain().getCodeSource().getLocation();
        assertThat(NativeLibrary.connectors()).contains("rust-testkit");
        try (ChildFirstLoader first = new ChildFirstLoader(classes);
                ChildFirstLoader second = new ChildFirstLoader(classes)) {
            for (ChildFirstLoader loader : List.of(first, second)) {
                Class<?> library = loader.loadClass(NativeLibrary.class.getName());
                assertThat(library).isNotSameAs(NativeLibrary.class);
                @SuppressWarnings("unchecked")
                List<String> connectors = (List<String>) library.getMethod("connectors").invoke(null);
                assertThat(connectors).contains("rust-datagen", "rust-testkit");

                // Native code throws this loader's exception classes.
                Class<?> definition = loader.loadClass(SourceDefinition.class.getName());
                Object bad = definition.getConstructor(String.class, Map.class, List.class, List.class)
                        .newInstance("rust-testkit", Map.of("rowz", "1"), List.of("id"), List.of("BIGINT"));
                Method validate = loader.loadClass(SourceValidator.class.getName()).getMethod("validate", definition);
                InvocationTargetException e = org.junit.jupiter.api.Assertions.assertThrows(
                        InvocationTargetException.class, () -> validate.invoke(null, bad));
                assertThat(e.getCause().getClass().getName()).isEqualTo(NativeValidationException.class.getName());
                assertThat(e.getCause().getClass().getClassLoader()).isSameAs(loader);
                assertThat(e.getCause()).hasMessageContaining("rowz");
            }
        }
        // The parent's copy is unaffected.
        assertThat(SourceValidator.validate(new SourceDefinition(
                        "rust-testkit", Collections.emptyMap(), List.of("id"), List.of("BIGINT"))))
                .isTrue();
    }

    /** Runs {@code NativeLibrary.ensureLoaded()} in a fresh class loader with system properties set. */
    static Throwable loadWith(Map<String, String> properties) throws Exception {
        URL classes = NativeLibrary.class.getProtectionDomain().getCodeSource().getLocation();
        Map<String, String> saved = new java.util.HashMap<>();
        properties.keySet().forEach(k -> saved.put(k, System.getProperty(k)));
        try (ChildFirstLoader loader = new ChildFirstLoader(classes)) {
            properties.forEach(System::setProperty);
            Method ensureLoaded = loader.loadClass(NativeLibrary.class.getName()).getMethod("ensureLoaded");
            try {
                ensureLoaded.invoke(null);
                return null;
            } catch (InvocationTargetException e) {
                return e.getCause();
            }
        } finally {
            saved.forEach((k, v) -> {
                if (v == null) {
                    System.clearProperty(k);
                } else {
                    System.setProperty(k, v);
                }
            });
        }
    }

    @Test
    void aMissingPlatformIsNamedWithThePlatformsTheJarHas() throws Exception {
        // A platform the loader knows but the jar has no build for (it carries both Linux CPUs).
        Throwable failure = loadWith(Map.of("os.name", "Mac OS X"));
        assertThat(failure)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("no build for platform")
                .hasMessageContaining("/native/")
                .hasMessageContaining("The jar contains: " + String.join(", ", NativeLibrary.availablePlatforms()))
                .hasMessageContaining(NativeLibrary.LIBRARY_PATH_PROPERTY);
    }

    @Test
    void theOverridePropertyLoadsAGivenFile() throws Exception {
        String platform = NativeLibrary.platform(System.getProperty("os.name"), System.getProperty("os.arch"));
        URL built = NativeLibrary.class.getResource(NativeLibrary.resourcePath(platform));
        String path = java.nio.file.Paths.get(built.toURI()).toString();
        assertThat(loadWith(Map.of(NativeLibrary.LIBRARY_PATH_PROPERTY, path))).isNull();
        assertThat(loadWith(Map.of(NativeLibrary.LIBRARY_PATH_PROPERTY, "/nonexistent/libx.so")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("/nonexistent/libx.so")
                .hasMessageContaining("not a file");
    }
}
