package dev.ferry.app;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The packaged jar, run as the README says ({@code java -jar target/ferry.jar demo --once}): catches anything the
 * tests' classpath has but the shaded jar lacks.
 */
class JarSmokeIT {

    /** With a routes folder of transfers only: the template and pipeline come from inside the jar. */
    @Test
    void theDemoRunsFromThePackagedJar() throws Exception {
        Path jar = Path.of("target", "ferry.jar");
        assertThat(jar).exists();
        Path routes = Files.createTempDirectory("ferry-routes");
        Files.copy(Path.of("routes", "shop.yaml"), routes.resolve("shop.yaml"));
        Path log = Files.createTempFile("ferry-demo", ".log");
        Process p = new ProcessBuilder(List.of(javaBin(), "-Xmx256m", "-jar", jar.toString(), "--routes", routes.toString(),
                "demo", "--once"))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        boolean done = p.waitFor(180, TimeUnit.SECONDS);
        if (!done) {
            p.destroyForcibly();
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(done).as("demo finished within 3 minutes; output:\n%s", output).isTrue();
        assertThat(p.exitValue()).as("exit status; output:\n%s", output).isZero();
        assertThat(output).contains("demo: 3 transfer(s), 0 failed; 477000 rows");
    }

    @Test
    void helpListsTheCommands() throws Exception {
        Process p = new ProcessBuilder(List.of(javaBin(), "-jar", "target/ferry.jar", "--help")).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();
        assertThat(out).contains("run", "sync", "demo", "--config", "--routes");
    }

    static String javaBin() {
        return System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
    }
}
