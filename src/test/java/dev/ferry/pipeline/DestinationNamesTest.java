package dev.ferry.pipeline;

import java.sql.Connection;
import java.util.List;

import dev.ferry.operate.NextFires;
import dev.ferry.operate.StatusReader;
import dev.ferry.operate.TransferStatus;
import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Where tables land: destinationSchema (tables and bookkeeping there, the connection's schema untouched), the
 * destinationTable template, rename.&lt;table&gt;, names at PostgreSQL's 63-byte limit, and a changed name that must not lose
 * rows (an incremental transfer backfills its new table).
 */
class DestinationNamesTest {

    /** 63 bytes: "ü" is two. */
    static final String NAME_63 = "ü".repeat(10) + "x".repeat(43);

    @Test
    @Timeout(120)
    void destinationSchemaHoldsTheTablesAndTheBookkeeping() throws Exception {
        TestDb src = TestDb.source("dschema");
        TestDb dst = TestDb.destination("dschema");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.orders (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL DEFAULT now())",
                "INSERT INTO app.orders SELECT g, 'n' || g, now() - g * interval '1 minute' FROM generate_series(1, 500) g");
        src.grantRead("app");
        String routes = transfer("full", "app.orders", "destinationSchema", "Raw Ü")
                + transfer("inc", "app.orders", "destinationSchema", "inc_schema", "mode", "incremental", "cursor", "updated_at",
                        "lookback", "0s");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", routes)) {
            assertThat(ferry.sync("full").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(ferry.sync("inc").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            src.execute("UPDATE app.orders SET note = 'changed', updated_at = now() WHERE id % 7 = 0");
            assertThat(ferry.sync("inc").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                Dumps.assertSameRows(s, "app", "orders", d, "inc_schema", "orders", "id");
                src.execute("UPDATE app.orders SET note = 'refreshed' WHERE id < 10");
                assertThat(ferry.sync("full").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
                Dumps.assertSameRows(s, "app", "orders", d, "Raw Ü", "orders", "id");
                // the run history and the watermarks are in each transfer's schema, and the connection's schema is never made
                assertThat(Dumps.rows(d, "SELECT transfer, status FROM \"Raw Ü\"._ferry_runs WHERE source_table IS NOT NULL ORDER BY started_at"))
                        .containsExactly("full|succeeded", "full|succeeded");
                assertThat(Dumps.rows(d, "SELECT transfer, status FROM inc_schema._ferry_runs WHERE source_table IS NOT NULL ORDER BY started_at"))
                        .containsExactly("inc|succeeded", "inc|succeeded");
                assertThat(Dumps.rows(d, "SELECT transfer, source_table FROM inc_schema._ferry_state")).containsExactly("inc|app.orders");
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM pg_namespace WHERE nspname = 'export'")).isEqualTo("0");
            }
            // status reads each transfer's history where it is
            List<TransferStatus> status = new StatusReader(ferry.runtime().connections(), ferry.runtime().catalog(),
                    NextFires.estimated(), null).status();
            assertThat(status).extracting(t -> t.name() + " " + t.destination() + " " + t.lastRun().status() + " " + t.lastRun().rows())
                    .containsExactlyInAnyOrder("full dst/Raw Ü succeeded 500", "inc dst/inc_schema succeeded 71");
        }
    }

    @Test
    @Timeout(120)
    void templatesPrefixesAndRenamesNameTheTables() throws Exception {
        TestDb src = TestDb.source("dtable");
        TestDb dst = TestDb.destination("dtable");
        src.execute("CREATE SCHEMA a", "CREATE SCHEMA b", "CREATE SCHEMA \"Sales Data\"",
                "CREATE TABLE a.items (id int PRIMARY KEY, v text)", "INSERT INTO a.items SELECT g, 'a' || g FROM generate_series(1, 40) g",
                "CREATE TABLE b.items (id int PRIMARY KEY, v text)", "INSERT INTO b.items SELECT g, 'b' || g FROM generate_series(1, 30) g",
                "CREATE TABLE \"Sales Data\".\"Order Lines\" (\"ID\" int PRIMARY KEY, \"Qty\" int)",
                "INSERT INTO \"Sales Data\".\"Order Lines\" SELECT g, g * 2 FROM generate_series(1, 25) g",
                "CREATE TABLE a.long (id int PRIMARY KEY, v text)", "INSERT INTO a.long SELECT g, 'l' || g FROM generate_series(1, 20) g");
        for (String schema : List.of("a", "b", "Sales Data")) {
            src.grantRead(schema);
        }
        String routes = transfer("both", "a.items, b.items", "destinationTable", "{schema}_{table}")
                + transfer("prefixed", "\"Sales Data\".\"Order Lines\", a.items", "destinationTable", "raw_{table}",
                        "rename.\"Sales Data\".\"Order Lines\"", "Lines Ü")
                + transfer("long", "a.long", "destinationTable", NAME_63);
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", routes)) {
            for (String t : List.of("both", "prefixed", "long")) {
                assertThat(ferry.sync(t).status()).as(t).isEqualTo(TransferRun.Status.SUCCEEDED);
            }
            src.execute("INSERT INTO \"Sales Data\".\"Order Lines\" SELECT g, g FROM generate_series(26, 30) g",
                    "INSERT INTO a.long SELECT g, 'm' || g FROM generate_series(21, 25) g");
            assertThat(ferry.sync("prefixed").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(ferry.sync("long").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                Dumps.assertSameRows(s, "a", "items", d, "export", "a_items", "id");
                Dumps.assertSameRows(s, "b", "items", d, "export", "b_items", "id");
                Dumps.assertSameRows(s, "Sales Data", "Order Lines", d, "export", "Lines Ü", "\"ID\"");
                Dumps.assertSameRows(s, "a", "items", d, "export", "raw_items", "id");
                Dumps.assertSameRows(s, "a", "long", d, "export", NAME_63, "id");
                // no table under a source name, and the run history names where each table went
                assertThat(Dumps.rows(d, "SELECT relname FROM pg_class WHERE relnamespace = 'export'::regnamespace AND relkind = 'r'"
                        + " AND relname NOT LIKE '\\_ferry\\_%' ORDER BY relname COLLATE \"C\""))
                        .containsExactly("Lines Ü", "a_items", "b_items", "raw_items", NAME_63);
                assertThat(Dumps.rows(d, "SELECT DISTINCT source_table, destination_table FROM export._ferry_runs WHERE transfer = 'prefixed'"
                        + " ORDER BY 1")).containsExactly("\"Sales Data\".\"Order Lines\"|export.Lines Ü", "a.items|export.raw_items");
            }
        }
    }

    /**
     * A transfer whose destination name changes writes its new table from the start: an incremental one does not resume
     * from the old table's watermark into an empty table; the old table is left as it was.
     */
    @Test
    @Timeout(120)
    void aChangedNameIsFilledFromTheStart() throws Exception {
        TestDb src = TestDb.source("drename");
        TestDb dst = TestDb.destination("drename");
        src.execute("CREATE SCHEMA shop",
                "CREATE TABLE shop.\"Orders\" (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL)",
                "INSERT INTO shop.\"Orders\" SELECT g, 'n' || g, now() - g * interval '1 minute' FROM generate_series(1, 300) g");
        src.grantRead("shop");
        String incremental = "mode,incremental,cursor,updated_at,lookback,0s";
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", transfer("inc", "shop.\"Orders\"", incremental.split(","))
                + transfer("full", "shop.\"Orders\"", "destinationTable", "full_{table}"))) {
            assertThat(ferry.sync("inc").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(ferry.sync("full").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
        }
        // rows after the watermark, and one before it: only a backfill brings the whole table into the new one
        src.execute("INSERT INTO shop.\"Orders\" SELECT g, 'new' || g, now() FROM generate_series(301, 320) g");
        String[] renamed = (incremental + ",rename.shop.\"Orders\",Orders V2").split(",");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", transfer("inc", "shop.\"Orders\"", renamed)
                + transfer("full", "shop.\"Orders\"", "destinationTable", "copy_{table}"))) {
            assertThat(ferry.sync("inc").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(ferry.sync("full").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                Dumps.assertSameRows(s, "shop", "Orders", d, "export", "Orders V2", "id");
                Dumps.assertSameRows(s, "shop", "Orders", d, "export", "copy_Orders", "id");
                assertThat(Dumps.count(d, "export.\"Orders\"")).as("the old table is left as it was").isEqualTo(300);
                assertThat(Dumps.count(d, "export.\"full_Orders\"")).as("the old table is left as it was").isEqualTo(300);
                assertThat(Dumps.scalar(d, "SELECT notes FROM export._ferry_runs WHERE transfer = 'inc' AND source_table IS NOT NULL"
                        + " ORDER BY started_at DESC LIMIT 1")).contains("the destination table is now export.\"Orders V2\", and this"
                        + " transfer's watermark was recorded for \"Orders\"");
                // and it resumes from there on
                src.execute("UPDATE shop.\"Orders\" SET note = 'later', updated_at = now() WHERE id <= 5");
                assertThat(ferry.sync("inc").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
                Dumps.assertSameRows(s, "shop", "Orders", d, "export", "Orders V2", "id");
                assertThat(Dumps.scalar(d, "SELECT rows FROM export._ferry_runs WHERE transfer = 'inc' AND source_table IS NOT NULL"
                        + " ORDER BY started_at DESC LIMIT 1")).isEqualTo("5");
            }
        }
    }
}
