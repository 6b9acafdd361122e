package dev.ferry.app;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.function.BooleanSupplier;

import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.LogCapture;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Under {@code run}, the route files are read again every {@code ferry.routesRefresh}: a transfer added to a file runs,
 * a changed one runs as changed, a removed one fires no more, a recipients list added or removed brings or takes its
 * recipients' transfers; a broken edit is reported with its file and line and the running transfers stay as they were.
 */
class ChangingTransfersTest {

    @Test
    @Timeout(120)
    void transfersAddedChangedAndRemovedInTheRouteFilesTakeEffectWithoutARestart() throws Exception {
        TestDb src = TestDb.source("reload");
        TestDb dst = TestDb.destination("reload");
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.a (id int PRIMARY KEY, note text)",
                "INSERT INTO app.a SELECT g, 'a ' || g FROM generate_series(1, 50) g",
                "CREATE TABLE app.b (id int PRIMARY KEY, tenant int, amount numeric(10,2))",
                "INSERT INTO app.b SELECT g, 1 + g % 2, g * 1.5 FROM generate_series(1, 80) g",
                "CREATE TABLE app.c (id int PRIMARY KEY, label text)",
                "INSERT INTO app.c SELECT g, 'c ' || g FROM generate_series(1, 30) g");
        src.grantRead("app");
        String keep = transfer("keep", "app.a", "every", "1s");
        Path dir = FerryHarness.write(src, dst, "export", keep, Map.of("ferry.routesRefresh", "1s"));
        Path file = dir.resolve("routes/transfers.yaml");
        try (LogCapture log = LogCapture.of("dev.ferry");
             FerryRuntime ferry = new FerryRuntime(dir.resolve("application.properties"), dir.resolve("routes"),
                     FerryRuntime.Trigger.SCHEDULED, new Properties(), null)) {
            ferry.start();
            await(() -> runs(dst, "keep") >= 1, "the declared transfer runs");

            // added: runs (its first fire is at once, then hourly)
            Files.writeString(file, keep + transfer("added", "app.b", "every", "1h"));
            await(() -> runs(dst, "added") >= 1, "the added transfer runs");
            assertSame(src, dst, "b");
            assertThat(ferry.catalog().contains("added")).isTrue();

            // changed (tables and schedule): the new one applies
            Files.writeString(file, keep + transfer("added", "app.b, app.c", "every", "1s"));
            await(() -> has(dst, "c"), "the changed transfer's new table copied");
            long afterChange = runs(dst, "added");
            await(() -> runs(dst, "added") >= afterChange + 2, "the changed transfer runs every second, not hourly");
            assertSame(src, dst, "b");
            assertSame(src, dst, "c");
            assertThat(ferry.catalog().get("added").tables()).hasSize(2);

            // broken edits: reported with file and line, nothing changes
            Files.writeString(file, keep + transfer("added", "app.b, app.c", "every", "1s", "colour", "blue"));
            await(() -> logged(log, "routes/transfers.yaml:27: transfer 'added': unknown parameter 'colour'"), "the unknown parameter reported");
            Files.writeString(file, keep + "- templatedRoute: { routeTemplateRef: ferry-transfer, parameters: [ {name: 'x }\n");
            await(() -> logged(log, "routes/transfers.yaml:15: not valid YAML"), "the bad YAML reported");
            long keepRuns = runs(dst, "keep");
            long addedRuns = runs(dst, "added");
            await(() -> runs(dst, "keep") > keepRuns + 1 && runs(dst, "added") > addedRuns + 1, "both transfers keep running");
            assertThat(ferry.catalog().get("added").tables()).hasSize(2);
            assertThat(String.join("\n", log.lines())).contains("nothing is changed: the transfers keep running as they are");

            // a recipients list added: its recipients' transfers run; removed: they go with it
            Files.createDirectories(dir.resolve("routes/recipients"));
            Files.writeString(dir.resolve("routes/recipients/customers.yaml"), """
                    - { name: one, schema: tenant_one, filter: { tenant: "1" } }
                    - { name: two, schema: tenant_two, filter: { tenant: "2" } }
                    """);
            String exports = transfer("exports", "app.b", "filter", "tenant = :tenant", "recipients", "customers.yaml", "every", "1h");
            Files.writeString(file, keep + exports);
            await(() -> has(dst, "tenant_one", "b") && has(dst, "tenant_two", "b"), "the added list's recipients exported");
            assertTenant(src, dst, "tenant_one", 1);
            assertTenant(src, dst, "tenant_two", 2);

            // removed: fire no more ('added' left with the previous write, the list's transfers now)
            await(() -> ferry.camel().getRoute("added") == null, "the removed transfer's route gone");
            Files.writeString(file, keep);
            await(() -> ferry.camel().getRoute("exports") == null && ferry.camel().getRoute("exports.one") == null
                    && ferry.camel().getRoute("exports.two") == null, "the removed list's routes gone");
            assertThat(ferry.catalog().contains("added")).isFalse();
            assertThat(ferry.catalog().contains("exports.one")).isFalse();
            long removedRuns = runs(dst, "added");
            long keptRuns = runs(dst, "keep");
            Thread.sleep(2500);
            assertThat(runs(dst, "added")).as("the removed transfer fires no more").isEqualTo(removedRuns);
            assertThat(runs(dst, "keep")).as("the kept transfer keeps running").isGreaterThan(keptRuns);
            assertSame(src, dst, "a");
            assertThat(String.join("\n", log.lines())).contains("routes: transfer added: added (routes/transfers.yaml:14)")
                    .contains("routes: transfer added: replaced (routes/transfers.yaml:14)")
                    .contains("routes: transfer added: removed (no longer in routes/)")
                    .contains("routes: transfer exports: removed (no longer in routes/)");
        }
    }

    @Test
    @Timeout(60)
    void aBadRoutesRefreshStopsTheStart() throws Exception {
        TestDb src = TestDb.source("reloadbad");
        TestDb dst = TestDb.destination("reloadbad");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.a (id int PRIMARY KEY)");
        src.grantRead("app");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> FerryHarness.start(src, dst, "export", transfer("a", "app.a"),
                        Map.of("ferry.routesRefresh", "often")))
                .isInstanceOf(dev.ferry.config.ConfigException.class)
                .hasMessageContaining("application.properties: ferry.routesRefresh: 'often' is not a duration such as 10s or 1m");
    }

    static void assertSame(TestDb src, TestDb dst, String table) throws Exception {
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", table, d, "export", table, "id");
        }
    }

    static void assertTenant(TestDb src, TestDb dst, String schema, int tenant) throws Exception {
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            String cols = Dumps.columns(s, "app", "b");
            assertThat(Dumps.dump(d, schema + ".b", cols, "id"))
                    .containsExactlyElementsOf(Dumps.dump(s, "(SELECT * FROM app.b WHERE tenant = " + tenant + ") t", cols, "id"));
        }
    }

    static long runs(TestDb dst, String transfer) {
        try (Connection d = dst.admin()) {
            if (!"t".equals(Dumps.scalar(d, "SELECT to_regclass('export._ferry_runs') IS NOT NULL"))) {
                return 0;
            }
            return Long.parseLong(Dumps.scalar(d, "SELECT count(DISTINCT run_id) FROM export._ferry_runs WHERE transfer = ?"
                    + " AND status = 'succeeded'", transfer));
        } catch (Exception e) {
            return 0;
        }
    }

    static boolean has(TestDb dst, String table) {
        return has(dst, "export", table);
    }

    static boolean has(TestDb dst, String schema, String table) {
        try (Connection d = dst.admin()) {
            return "t".equals(Dumps.scalar(d, "SELECT to_regclass(?) IS NOT NULL", schema + "." + table))
                    && Dumps.count(d, schema + "." + table) > 0;
        } catch (Exception e) {
            return false;
        }
    }

    static boolean logged(LogCapture log, String text) {
        return String.join("\n", log.lines()).contains(text);
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        Duration within = Duration.ofSeconds(30);
        long end = System.nanoTime() + within.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("not within " + within + ": " + what);
            }
            Thread.sleep(200);
        }
    }
}
