package dev.ferry.app;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.LogCapture;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The route template and the pipeline ship in the jar and load from the classpath: a user's routes folder holds only
 * their transfers. A file there declaring a template's or route's id replaces the shipped file, for those who
 * customise it. (A missing template or direct: consumer is refused at startup: ConfigErrorsTest.)
 */
class ShippedRoutesTest {

    static TestDb src;
    static TestDb dst;

    @BeforeAll
    static void setUp() throws Exception {
        src = TestDb.source("shipped");
        dst = TestDb.destination("shipped");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.items (id int PRIMARY KEY, name text, at timestamptz)",
                "INSERT INTO app.items SELECT g, 'item ' || g, timestamptz '2025-01-01' + g * interval '1 hour'"
                        + " FROM generate_series(1, 700) g");
        src.grantRead("app");
    }

    static int sync(Path dir, String transfer, String[] err) {
        return CommandLineTest.captureErr(() -> Ferry.execute("--config", dir.resolve("application.properties").toString(),
                "--routes", dir.resolve("routes").toString(), "sync", transfer), err);
    }

    /** Before, without ferry-transfer.yaml and ferry-pipeline.yaml in the folder, there was no template to run. */
    @Test
    @Timeout(120)
    void aFolderOfTransfersOnlyRunsOnTheShippedRoutes() throws Exception {
        Path dir = FerryHarness.write(src, dst, "plain", FerryHarness.transfer("items", "app.items", "batchSize", "300"), Map.of());
        try (Stream<Path> files = Files.list(dir.resolve("routes"))) {
            assertThat(files.map(p -> p.getFileName().toString()).toList()).containsExactly("transfers.yaml");
        }
        String[] err = new String[1];
        assertThat(sync(dir, "items", err)).as(err[0]).isZero();
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "items", d, "plain", "items", "id");
        }
    }

    /**
     * A customised copy of ferry-transfer.yaml in the folder is the template used: here it gives 'tables' a default,
     * so a transfer without 'tables' runs, where the shipped template refuses it.
     */
    @Test
    @Timeout(120)
    void aCustomisedTemplateInTheFolderReplacesTheShippedOne() throws Exception {
        String transfer = "- templatedRoute:\n    routeTemplateRef: ferry-transfer\n    parameters:\n"
                + "      - { name: name, value: defaulted }\n      - { name: source, value: src }\n"
                + "      - { name: destination, value: dst }\n      - { name: every, value: 1h }\n";
        Path dir = FerryHarness.write(src, dst, "custom", transfer, Map.of());
        String[] err = new String[1];
        assertThat(sync(dir, "defaulted", err)).as("the shipped template requires 'tables'").isEqualTo(Ferry.BAD_CONFIG);
        assertThat(err[0]).contains("routes/transfers.yaml:1: transfer 'defaulted': parameter 'tables' is missing");

        String shipped = Files.readString(Path.of("routes/ferry-transfer.yaml"));
        String tables = "      - name: tables\n        description: >-\n          Schema-qualified source tables or patterns, comma-separated,"
                + " e.g. \"shop.orders, shop.order_items\" or \"shop.*\"\n          (patterns are matched against the source at each run's start).\n";
        assertThat(shipped).contains(tables);
        Files.writeString(dir.resolve("routes/ferry-transfer.yaml"), "# our copy: every transfer copies app.items unless told\n"
                + shipped.replace(tables, tables + "        defaultValue: app.items\n"));
        try (LogCapture log = LogCapture.of("dev.ferry")) {
            assertThat(sync(dir, "defaulted", err)).as(err[0]).isZero();
            // an old copy left in the folder would win silently: the start says which copy runs
            assertThat(log.lines()).anyMatch(l -> l.contains("the shipped classpath:ferry/routes/ferry-transfer.yaml is not loaded"
                    + " because routes/ferry-transfer.yaml:") && l.contains("declares its id 'ferry-transfer': that copy runs instead"));
        }
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "items", d, "custom", "items", "id");
            assertThat(Dumps.rows(d, "SELECT transfer || ' ' || status FROM custom._ferry_runs")).isEqualTo(List.of("defaulted succeeded"));
        }
    }

    /**
     * Unchanged copies of the shipped files in the folder (the repository's routes/, where the demo runs) say nothing:
     * which copy runs makes no difference. Every start of the demo warned about them before.
     */
    @Test
    @Timeout(120)
    void unchangedCopiesOfTheShippedFilesAreNotWarnedAbout() throws Exception {
        Path dir = FerryHarness.write(src, dst, "copies", FerryHarness.transfer("items", "app.items"), Map.of());
        try (Stream<Path> shipped = Files.list(Path.of("routes"))) {
            for (Path f : shipped.filter(f -> f.getFileName().toString().startsWith("ferry-")).toList()) {
                Files.copy(f, dir.resolve("routes").resolve(f.getFileName()));
            }
        }
        String[] err = new String[1];
        try (LogCapture log = LogCapture.of("dev.ferry")) {
            assertThat(sync(dir, "items", err)).as(err[0]).isZero();
            assertThat(log.lines()).noneMatch(l -> l.contains("is not loaded because"));
        }
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "items", d, "copies", "items", "id");
        }
    }
}
