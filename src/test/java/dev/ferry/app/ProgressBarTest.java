package dev.ferry.app;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TcpProxy;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code ferry sync} in a child JVM: under a pseudo-terminal ({@code script}, util-linux) it draws a progress bar, with
 * the log's lines whole above it; with its output going to a file, plain log lines only, no bar and no escape codes.
 * The source is reached through a throttled proxy so that the copy lasts a few redraws on any machine.
 */
class ProgressBarTest {

    /** Characters only the bar draws (its unicode blocks and frame). */
    private static final List<String> BAR = List.of("█", "│", "▏", "▎", "▍", "▌", "▋", "▊", "▉");

    static TestDb src;
    static TestDb dst;
    static TcpProxy proxy;
    static Path dir;

    @BeforeAll
    static void setUp() throws Exception {
        src = TestDb.source("bar");
        dst = TestDb.destination("bar");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.big (id bigint PRIMARY KEY, v int NOT NULL, s text)",
                "INSERT INTO app.big SELECT g, g % 1000, 'r' || g FROM generate_series(1, 150000) g", "ANALYZE app.big");
        src.grantRead("app");
        proxy = new TcpProxy(src.server().host(), src.server().port());
        proxy.throttle(2_000_000);
        Map<String, String> props = new HashMap<>();
        props.put("ferry.source.src.port", String.valueOf(proxy.port()));
        props.put("ferry.progressInterval", "250ms");
        dir = FerryHarness.write(src, dst, "export", FerryHarness.transfer("big", "app.big"), props);
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
    }

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void aTerminalShowsTheBarWithTheLogAboveIt() throws Exception {
        String script = onPath("script");
        Assumptions.assumeTrue(script != null,
                "skipped: 'script' (util-linux) is not installed, so no pseudo-terminal can be made for the child process");
        Path out = dir.resolve("terminal.out");
        StringBuilder cmd = new StringBuilder();
        for (String a : command()) {
            cmd.append(quote(a)).append(' ');
        }
        Process p = new ProcessBuilder(List.of(script, "-qec", cmd.toString().strip(), "/dev/null"))
                .redirectErrorStream(true).redirectOutput(out.toFile()).redirectInput(ProcessBuilder.Redirect.PIPE).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("sync ended").isTrue();
        String text = Files.readString(out, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as("output:\n%s", text).isZero();
        assertThat(BAR.stream().anyMatch(text::contains)).as("bar characters in:\n%s", text).isTrue();
        assertThat(text).as("the bar names its table and counts rows").contains("app.big").contains("rows/s");
        // the log's lines arrive whole, each on a line of its own above the bar (the bar is erased before each one)
        assertThat(text).containsPattern("\n[^\n]*transfer big: app\\.big -> export\\.big: 150000 rows in [0-9.]+s");
        assertThat(text).containsPattern("\\[J[^\n\033]*transfer big: app\\.big -> export\\.big: [0-9,]+ rows, ");
        assertSynced();
    }

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void withoutATerminalTheOutputStaysPlainLines() throws Exception {
        Path out = dir.resolve("plain.out");
        Process p = new ProcessBuilder(command()).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("sync ended").isTrue();
        String text = Files.readString(out, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as("output:\n%s", text).isZero();
        assertThat(text).as("progress lines").containsPattern("transfer big: app\\.big -> export\\.big: [0-9,]+ rows, .* rows/s\\)");
        assertThat(BAR).allSatisfy(c -> assertThat(text).doesNotContain(c));
        assertThat(text).doesNotContain("\033").doesNotContain("\r");
        assertSynced();
    }

    private static void assertSynced() throws Exception {
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "big", d, "export", "big", "id");
        }
    }

    private static List<String> command() {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"), "dev.ferry.app.Ferry",
                "--config", dir.resolve("application.properties").toString(), "--routes", dir.resolve("routes").toString(),
                "sync", "big"));
    }

    private static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    /** The program's path on PATH, or null. */
    private static String onPath(String name) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, name))) {
                return Path.of(d, name).toString();
            }
        }
        return null;
    }
}
