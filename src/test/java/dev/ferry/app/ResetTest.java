package dev.ferry.app;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.concurrent.TimeUnit;

import dev.ferry.state.RunHistory;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code ferry reset}: the next run of the transfer's table starts over (a backfill), under the transfer's lock. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ResetTest {

    static TestDb src;
    static TestDb dst;
    static Path dir;

    @BeforeAll
    static void setUp() throws Exception {
        src = TestDb.source("reset");
        dst = TestDb.destination("reset");
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.orders (id int PRIMARY KEY, amount numeric(10,2), updated_at timestamptz NOT NULL)",
                "INSERT INTO app.orders SELECT g, g * 1.5, now() - (301 - g) * interval '1 hour' FROM generate_series(1, 300) g",
                "CREATE TABLE app.lines (id int PRIMARY KEY, sku text, updated_at timestamptz NOT NULL)",
                "INSERT INTO app.lines SELECT g, 'sku ' || g, now() - (201 - g) * interval '1 hour' FROM generate_series(1, 200) g");
        src.execute("CREATE TABLE app.tenanted (id int PRIMARY KEY, tenant int NOT NULL, updated_at timestamptz NOT NULL)",
                "INSERT INTO app.tenanted SELECT g, 1 + g % 2, now() - g * interval '1 minute' FROM generate_series(1, 100) g");
        src.grantRead("app");
        dir = FerryHarness.write(src, dst, "export", FerryHarness.transfer("orders", "app.orders, app.lines", "mode", "incremental",
                "cursor", "updated_at") + FerryHarness.transfer("blocked", "app.lines", "mode", "append", "cursor", "updated_at",
                "destination", "dst2") + FerryHarness.transfer("whole", "app.lines", "destination", "dst3")
                // a bare name that is one table's source name and the other's destination name
                + FerryHarness.transfer("swapped", "app.lines, app.orders", "mode", "incremental", "cursor", "updated_at",
                "destination", "dst2", "rename.app.lines", "orders", "rename.app.orders", "main_orders"),
                merge(FerryHarness.destination("dst2", dst, "export2"), FerryHarness.destination("dst3", dst, "export3")));
    }

    private static java.util.Map<String, String> merge(java.util.Map<String, String> a, java.util.Map<String, String> b) {
        java.util.Map<String, String> m = new java.util.LinkedHashMap<>(a);
        m.putAll(b);
        return m;
    }

    @Test
    void resetOfOneTableDeletesItsWatermarkRecordsItAndTheNextSyncBackfillsIt() throws Exception {
        assertThat(ferry("sync", "orders").status).isZero();
        try (Connection d = dst.admin()) {
            assertThat(watermarks(d, "export", "orders")).containsExactly("app.lines", "app.orders");
            // drift an incremental run cannot see: only a backfill brings these rows back
            d.createStatement().execute("DELETE FROM export.orders WHERE id <= 10");
            d.createStatement().execute("DELETE FROM export.lines WHERE id <= 10");
        }

        Out out = ferry("reset", "orders", "app.orders", "--yes");
        assertThat(out.status).as(out.err).isZero();
        assertThat(out.out).contains("reset transfer orders (table app.orders): watermark deleted for app.orders");
        try (Connection d = dst.admin()) {
            assertThat(watermarks(d, "export", "orders")).containsExactly("app.lines"); // the other table's stays
            assertThat(Dumps.rows(d, "SELECT source_table || ' ' || status || ' ' || notes FROM export._ferry_runs"
                    + " WHERE transfer = 'orders' AND status = 'reset'"))
                    .containsExactly("app.orders reset reset by ferry reset: watermark deleted; the next run reads the table from the start");
            // neither a success nor a failure: no backoff follows a reset
            assertThat(RunHistory.failedRuns(d, "export", "orders", 10, 2)).isNull();
        }

        assertThat(ferry("sync", "orders").status).isZero();
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "orders", d, "export", "orders", "id"); // backfilled: the deleted rows are back
            assertThat(Dumps.count(d, "export.lines")).isEqualTo(190); // not reset: resumed, the drift stays
            assertThat(watermarks(d, "export", "orders")).containsExactly("app.lines", "app.orders");
            assertThat(RunHistory.failedRuns(d, "export", "orders", 10, 2)).isNull();
        }
    }

    @Test
    void withoutYesAndNoTerminalItRefusesAndResetsNothing() throws Exception {
        assertThat(ferry("sync", "blocked").status).isZero();
        Out out = ferry("reset", "blocked");
        assertThat(out.status).isEqualTo(Ferry.BAD_CONFIG);
        assertThat(out.err).contains("not resetting transfer blocked (all its tables: app.lines): there is no terminal to"
                + " confirm on; pass --yes");
        try (Connection d = dst.admin()) {
            assertThat(watermarks(d, "export2", "blocked")).containsExactly("app.lines");
        }
    }

    @Test
    void aRunHoldingTheLockRefusesTheResetAndSaysWhichRun() throws Exception {
        assertThat(ferry("sync", "blocked").status).isZero();
        org.postgresql.ds.PGSimpleDataSource writer = new org.postgresql.ds.PGSimpleDataSource();
        writer.setServerNames(new String[] {dst.server().host()});
        writer.setPortNumbers(new int[] {dst.server().port()});
        writer.setDatabaseName(dst.database());
        writer.setUser(dst.user());
        writer.setPassword(dst.password());
        try (Connection d = dst.admin();
             // what a run holds for as long as it runs
             dev.ferry.state.TransferLock held = dev.ferry.state.TransferLock.tryAcquire(writer, "export2", "blocked")) {
            assertThat(held).as("the transfer's lock, free before").isNotNull();
            d.createStatement().execute("INSERT INTO export2._ferry_runs (run_id, transfer, mode, status, started_at, node)"
                    + " VALUES (gen_random_uuid(), 'blocked', 'append', 'running', '2026-11-30 10:00:00+00', 'node-a:42')");
            try {
                Out out = ferry("reset", "blocked", "--yes", "--wait", "200ms");
                assertThat(out.status).isEqualTo(Ferry.FAILED);
                assertThat(out.err).contains("a run of blocked is going (since 2026-11-30T10:00Z, node node-a:42): try again when it ends");
                assertThat(watermarks(d, "export2", "blocked")).containsExactly("app.lines");
            } finally {
                d.createStatement().execute("DELETE FROM export2._ferry_runs WHERE status = 'running'");
            }
        }
        // the lock released: the whole transfer resets
        Out out = ferry("reset", "blocked", "--yes");
        assertThat(out.status).as(out.err).isZero();
        try (Connection d = dst.admin()) {
            assertThat(watermarks(d, "export2", "blocked")).isEmpty();
        }
    }

    @Test
    void unknownNamesAreUsageErrorsAndAFullRefreshHasNothingToReset() {
        Out out = ferry("reset", "nosuch", "--yes");
        assertThat(out.status).isEqualTo(Ferry.BAD_CONFIG);
        assertThat(out.err).contains("no transfer named nosuch; declared transfers: orders, blocked, whole, swapped");
        out = ferry("reset", "orders", "app.nosuch", "--yes");
        assertThat(out.status).isEqualTo(Ferry.BAD_CONFIG);
        assertThat(out.err).contains("transfer orders copies no table named app.nosuch; its tables: app.orders, app.lines");
        // the source's name wins over another table's destination name
        out = ferry("reset", "swapped", "orders", "--yes");
        assertThat(out.status).as(out.err).isZero();
        assertThat(out.out).contains("reset transfer swapped (table app.orders)");
        out = ferry("reset", "swapped", "main_orders", "--yes");
        assertThat(out.out).as(out.err).contains("reset transfer swapped (table app.orders)");
        out = ferry("reset", "whole", "--yes");
        assertThat(out.status).isZero();
        assertThat(out.out).contains("transfer whole is a full_refresh transfer: every run reads its tables whole, so there is"
                + " nothing to reset");
    }

    @Test
    void aRecipientsTransferResetsInTheRecipientsDestination() throws Exception {
        Path recipients = FerryHarness.write(src, dst, "unused", FerryHarness.transfer("exports", "app.tenanted", "mode", "incremental",
                "cursor", "updated_at", "filter", "tenant = :tenant", "recipients", "customers.yaml"), java.util.Map.of());
        java.nio.file.Files.createDirectories(recipients.resolve("routes/recipients"));
        java.nio.file.Files.writeString(recipients.resolve("routes/recipients/customers.yaml"), """
                - { name: acme, schema: r_acme, filter: { tenant: "1" } }
                - { name: globex, schema: r_globex, filter: { tenant: "2" } }
                """);
        Path saved = dir;
        dir = recipients;
        try {
            assertThat(ferry("sync", "--all").status).isZero();
            Out out = ferry("reset", "exports.acme", "--yes");
            assertThat(out.status).as(out.err).isZero();
            try (Connection d = dst.admin()) {
                assertThat(watermarks(d, "r_acme", "exports.acme")).isEmpty();
                assertThat(watermarks(d, "r_globex", "exports.globex")).containsExactly("app.tenanted");
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM r_acme._ferry_runs WHERE status = 'reset'")).isEqualTo("1");
            }
        } finally {
            dir = saved;
        }
    }

    private static java.util.List<String> watermarks(Connection d, String schema, String transfer) throws Exception {
        return Dumps.rows(d, "SELECT source_table FROM " + schema + "._ferry_state WHERE transfer = ? ORDER BY 1", transfer);
    }

    record Out(int status, String out, String err) {
    }

    static synchronized Out ferry(String... args) {
        dev.ferry.testing.FerryCommand.Out o = dev.ferry.testing.FerryCommand.capture(dir, args);
        return new Out(o.status(), o.out(), o.err());
    }
}
