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

    /**
     * {@code demo} without {@code --once} serves health and metrics (on the free port FERRY_HTTP_PORT=0 gives it, read
     * from its log line), from the jar's own dependencies, and stops when told.
     */
    @Test
    void theDemoServesHealthAndMetricsFromThePackagedJar() throws Exception {
        Path jar = Path.of("target", "ferry.jar");
        assertThat(jar).exists();
        Path routes = Files.createTempDirectory("ferry-routes");
        Files.copy(Path.of("routes", "shop.yaml"), routes.resolve("shop.yaml"));
        Path log = Files.createTempFile("ferry-demo", ".log");
        Process p = new ProcessBuilder(List.of(javaBin(), "-Xmx256m", "-jar", jar.toString(), "--routes", routes.toString(), "demo"))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            java.util.regex.Pattern line = java.util.regex.Pattern.compile("HTTP server: console http://127\\.0\\.0\\.1:(\\d+)/");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            int port = 0;
            while (port == 0) {
                java.util.regex.Matcher m = line.matcher(Files.readString(log, StandardCharsets.UTF_8));
                if (m.find()) {
                    port = Integer.parseInt(m.group(1));
                } else {
                    assertThat(p.isAlive()).as("demo running; output:\n%s", Files.readString(log, StandardCharsets.UTF_8)).isTrue();
                    assertThat(System.nanoTime()).as("the HTTP server's log line within 2 minutes").isLessThan(deadline);
                    Thread.sleep(200);
                }
            }
            java.net.http.HttpResponse<String> live = ObserveEndpointsTest.get(port, "/observe/health/live");
            assertThat(live.statusCode()).isEqualTo(200);
            assertThat(live.body()).contains("\"status\":\"UP\"");
            java.net.http.HttpResponse<String> metrics = ObserveEndpointsTest.get(port, "/observe/metrics");
            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.body()).contains("ferry_runs_in_flight", "jvm_memory_used_bytes");
        } finally {
            p.destroy();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
        assertThat(p.isAlive()).isFalse();
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
