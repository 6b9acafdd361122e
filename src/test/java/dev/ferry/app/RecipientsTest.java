package dev.ferry.app;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.BooleanSupplier;

import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.LogCapture;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Recipients lists: a transfer with a recipients file (or a control-table query) becomes one transfer per recipient,
 * each exporting its tenant's rows to its own schema; recipients added and removed while Ferry runs take effect
 * without a restart; a recipient with a mistake is reported where it is written, and the others run.
 */
class RecipientsTest {

    static TestDb src;

    @BeforeAll
    static void source() throws Exception {
        src = TestDb.source("recipients");
        src.execute("CREATE SCHEMA app", "CREATE SCHEMA control",
                "CREATE TABLE app.orders (id int PRIMARY KEY, tenant int NOT NULL, amount numeric(10,2), note text)",
                "INSERT INTO app.orders SELECT g, 1 + g % 4, g * 1.5, 'order ' || g FROM generate_series(1, 400) g",
                "CREATE TABLE control.customers (name text PRIMARY KEY, schema text, tenant int)",
                "INSERT INTO control.customers VALUES ('acme', 'q_acme', 1), ('globex', 'q_globex', 2)");
        src.grantRead("app");
        src.grantRead("control");
    }

    static String exports(String recipients, String... extra) {
        String[] all = new String[extra.length + 4];
        all[0] = "filter";
        all[1] = "tenant = :tenant";
        all[2] = "recipients";
        all[3] = recipients;
        System.arraycopy(extra, 0, all, 4, extra.length);
        return transfer("exports", "app.orders", all);
    }

    static Path install(TestDb dst, String yaml, String recipients) throws Exception {
        Path dir = FerryHarness.write(src, dst, "unused", yaml, Map.of());
        if (recipients != null) {
            Files.createDirectories(dir.resolve("routes/recipients"));
            Files.writeString(dir.resolve("routes/recipients/customers.yaml"), recipients);
        }
        return dir;
    }

    static int ferry(Path dir, String... args) {
        return dev.ferry.testing.FerryCommand.run(dir, args);
    }

    /** The destination schema holds exactly the source's rows of that tenant. */
    static void assertTenant(TestDb dst, String schema, int tenant) throws Exception {
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            String cols = Dumps.columns(s, "app", "orders");
            List<String> expected = Dumps.dump(s, "(SELECT * FROM app.orders WHERE tenant = " + tenant + ") t", cols, "id");
            assertThat(expected).hasSize(100);
            assertThat(Dumps.dump(d, "\"" + schema + "\".orders", cols, "id")).as("rows in " + schema).containsExactlyElementsOf(expected);
        }
    }

    static boolean has(TestDb dst, String schema, long rows) {
        try (Connection d = dst.admin()) {
            return "t".equals(Dumps.scalar(d, "SELECT to_regclass(?) IS NOT NULL", schema + ".orders"))
                    && Dumps.count(d, schema + ".orders") == rows;
        } catch (Exception e) {
            return false;
        }
    }

    static long runs(TestDb dst, String schema) throws Exception {
        try (Connection d = dst.admin()) {
            return Long.parseLong(Dumps.scalar(d, "SELECT count(DISTINCT run_id) FROM " + schema + "._ferry_runs"));
        }
    }

    static void await(Duration within, BooleanSupplier condition, String what) throws InterruptedException {
        long end = System.nanoTime() + within.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("not within " + within + ": " + what);
            }
            Thread.sleep(200);
        }
    }

    @Test
    @Timeout(180)
    void syncAllExportsEachRecipientsRowsToItsSchemaAndListShowsThem() throws Exception {
        TestDb dst = TestDb.destination("recipients_sync");
        Path dir = install(dst, exports("customers.yaml"), """
                # one schema per customer in the destination 'dst'
                - { name: acme, schema: acme, filter: { tenant: "1" } }
                - { name: globex, schema: globex, filter: { tenant: "2" } }
                - name: initech
                  schema: initech
                  filter: { tenant: "3" }
                """);
        assertThat(ferry(dir, "sync", "--all")).isZero();
        assertTenant(dst, "acme", 1);
        assertTenant(dst, "globex", 2);
        assertTenant(dst, "initech", 3);
        try (Connection d = dst.admin()) {
            // each recipient its own run history, under its own transfer name
            assertThat(Dumps.rows(d, "SELECT DISTINCT transfer, status FROM globex._ferry_runs")).containsExactly("exports.globex|succeeded");
        }

        PrintStream old = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            assertThat(ferry(dir, "list")).isZero();
        } finally {
            System.setOut(old);
        }
        String listed = out.toString(StandardCharsets.UTF_8);
        assertThat(listed.lines().filter(l -> l.startsWith("exports.")).toList()).hasSize(3);
        assertThat(listed).contains("exports.acme").contains("schema acme, filter {tenant=1}")
                .contains("exports.initech").contains("schema initech, filter {tenant=3}")
                .doesNotContain(dst.password());
    }

    /** The transfer's destinationSchema is where a recipient without a schema of its own writes; one with its own keeps it. */
    @Test
    @Timeout(60)
    void aRecipientsOwnSchemaWinsOverTheTransfersDestinationSchema() throws Exception {
        TestDb dst = TestDb.destination("recipients_dschema");
        Path dir = install(dst, exports("customers.yaml", "destinationSchema", "Shared Ü"), """
                - { name: acme, schema: own_acme, filter: { tenant: "1" } }
                - { name: globex, filter: { tenant: "2" } }
                """);
        assertThat(ferry(dir, "sync", "exports.acme")).isZero();
        assertTenant(dst, "own_acme", 1);
        assertThat(ferry(dir, "sync", "exports.globex")).isZero();
        assertTenant(dst, "Shared Ü", 2);
        try (Connection d = dst.admin()) {
            assertThat(Dumps.rows(d, "SELECT DISTINCT transfer FROM \"Shared Ü\"._ferry_runs")).containsExactly("exports.globex");
            assertThat(Dumps.scalar(d, "SELECT count(*) FROM pg_namespace WHERE nspname = 'unused'")).isEqualTo("0");
        }
    }

    @Test
    @Timeout(180)
    void recipientsAddedAndRemovedFromTheFileWhileRunningTakeEffectWithoutARestart() throws Exception {
        TestDb dst = TestDb.destination("recipients_file");
        Path dir = install(dst, exports("customers.yaml", "every", "1s", "recipientsRefresh", "1s"), """
                - { name: acme, schema: f_acme, filter: { tenant: "1" } }
                - { name: globex, schema: f_globex, filter: { tenant: "2" } }
                """);
        try (FerryRuntime ferry = new FerryRuntime(dir.resolve("application.properties"), dir.resolve("routes"),
                FerryRuntime.Trigger.SCHEDULED, new Properties(), null)) {
            ferry.start();
            await(Duration.ofSeconds(60), () -> has(dst, "f_acme", 100) && has(dst, "f_globex", 100), "both recipients exported");

            Files.writeString(dir.resolve("routes/recipients/customers.yaml"), """
                    - { name: acme, schema: f_acme, filter: { tenant: "1" } }
                    - { name: initech, schema: f_initech, filter: { tenant: "3" } }
                    """);
            await(Duration.ofSeconds(60), () -> has(dst, "f_initech", 100), "the added recipient exported");
            assertTenant(dst, "f_initech", 3);
            await(Duration.ofSeconds(30), () -> ferry.camel().getRoute("exports.globex") == null, "the removed recipient's route gone");
            assertThat(ferry.catalog().contains("exports.globex")).isFalse();
            long globexRuns = runs(dst, "f_globex");
            long acmeRuns = runs(dst, "f_acme");
            Thread.sleep(3000);
            assertThat(runs(dst, "f_globex")).as("the removed recipient fires no more").isEqualTo(globexRuns);
            assertThat(runs(dst, "f_acme")).as("the kept recipient keeps running").isGreaterThan(acmeRuns);
            assertTenant(dst, "f_acme", 1);
            assertTenant(dst, "f_globex", 2);
        }
    }

    @Test
    @Timeout(180)
    void recipientsInsertedAndDeletedInAControlTableTakeEffectWithoutARestart() throws Exception {
        TestDb dst = TestDb.destination("recipients_query");
        String query = "sql:SELECT name, schema, tenant::text AS \"filter.tenant\" FROM control.customers";
        Path dir = install(dst, exports(query, "recipientsSource", "src", "every", "1s", "recipientsRefresh", "1s"), null);
        try (FerryRuntime ferry = new FerryRuntime(dir.resolve("application.properties"), dir.resolve("routes"),
                FerryRuntime.Trigger.SCHEDULED, new Properties(), null)) {
            ferry.start();
            await(Duration.ofSeconds(60), () -> has(dst, "q_acme", 100) && has(dst, "q_globex", 100), "both recipients exported");

            src.execute("INSERT INTO control.customers VALUES ('umbrella', 'q_umbrella', 4)",
                    "DELETE FROM control.customers WHERE name = 'globex'");
            await(Duration.ofSeconds(60), () -> has(dst, "q_umbrella", 100), "the inserted recipient exported");
            assertTenant(dst, "q_umbrella", 4);
            await(Duration.ofSeconds(30), () -> ferry.camel().getRoute("exports.globex") == null, "the deleted recipient's route gone");
            long globexRuns = runs(dst, "q_globex");
            Thread.sleep(3000);
            assertThat(runs(dst, "q_globex")).as("the deleted recipient fires no more").isEqualTo(globexRuns);
            assertTenant(dst, "q_acme", 1);
        } finally {
            src.execute("DELETE FROM control.customers WHERE name = 'umbrella'",
                    "INSERT INTO control.customers VALUES ('globex', 'q_globex', 2) ON CONFLICT DO NOTHING");
        }
    }

    @Test
    @Timeout(180)
    void aRecipientWithAMistakeIsReportedWhereItIsWrittenAndTheOthersRun() throws Exception {
        TestDb dst = TestDb.destination("recipients_bad");
        Path dir = install(dst, exports("customers.yaml"), """
                - { name: acme, schema: b_acme, filter: { tenant: "1" } }
                - { name: lost, destination: nowhere, schema: lost, filter: { tenant: "2" } }
                - name: bare
                  hostname: localhost
                  database: somewhere
                  user: someone
                  filter: { tenant: "3" }
                - { name: typo, schema: b_typo, filter: { tenant: "4" }, colour: blue }
                - { name: twin, schema: b_acme, filter: { tenant: "5" } }
                """);
        try (LogCapture log = LogCapture.of("dev.ferry")) {
            assertThat(ferry(dir, "sync", "--all")).isZero();
            String lines = String.join("\n", log.lines());
            assertThat(lines).contains("routes/recipients/customers.yaml:2 (recipient 'lost'): no destination named 'nowhere'")
                    .contains("routes/recipients/customers.yaml:3 (recipient 'bare'): schema is missing")
                    .contains("routes/recipients/customers.yaml:8 (recipient 'typo'): unknown field 'colour'")
                    // one schema for two tenants: the second would overwrite the first's rows, so it is refused
                    .contains("transfer 'exports.twin': app.orders would be written to b_acme.orders in destination 'exports.twin',"
                            + " which transfer exports.acme (app.orders) already writes");
        }
        assertTenant(dst, "b_acme", 1);
    }
}
