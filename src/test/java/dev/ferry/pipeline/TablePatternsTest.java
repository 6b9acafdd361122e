package dev.ferry.pipeline;

import java.sql.Connection;
import java.util.List;

import dev.ferry.config.ConfigException;
import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryCommand;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.LogCapture;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code tables} patterns against a real source: what a pattern matches (tables and partitioned tables, never a
 * partition, a view or Ferry's own names), {@code excludeTables}, mixed-case and 63-byte names, and tables that appear
 * or disappear at the source between runs.
 */
class TablePatternsTest {

    static final String LONG = "Q_a_mixed_Case_table_name_that_is_exactly_sixty_three_bytes_lon";

    @Test
    @Timeout(60)
    void patternsCopyEveryMatchingTableOnceAndNothingElse() throws Exception {
        assertThat(LONG.length()).isEqualTo(63);
        TestDb src = TestDb.source("pat");
        TestDb dst = TestDb.destination("pat");
        src.execute("CREATE SCHEMA shop", "CREATE SCHEMA \"Sales Data\"", "CREATE SCHEMA other",
                "CREATE TABLE shop.orders (id int PRIMARY KEY, note text)",
                "INSERT INTO shop.orders SELECT g, 'o' || g FROM generate_series(1, 300) g",
                "CREATE TABLE shop.order_items (id int PRIMARY KEY, order_id int, qty int)",
                "INSERT INTO shop.order_items SELECT g, g % 300, g % 7 FROM generate_series(1, 900) g",
                "CREATE TABLE shop.order_archive (id int PRIMARY KEY)",
                "INSERT INTO shop.order_archive SELECT generate_series(1, 10)",
                // "*_archive" must not take it: LIKE's _ is escaped in the catalog query
                "CREATE TABLE shop.orderxarchive (id int PRIMARY KEY)", "INSERT INTO shop.orderxarchive VALUES (1), (2)",
                "CREATE TABLE shop.customers (id int PRIMARY KEY, name text)",
                "INSERT INTO shop.customers SELECT g, 'c' || g FROM generate_series(1, 50) g",
                // a partitioned table: copied once, through its parent; its partitions are never matched
                "CREATE TABLE shop.events (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)",
                "CREATE TABLE shop.events_2024 PARTITION OF shop.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
                "CREATE TABLE shop.events_2025 PARTITION OF shop.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
                "INSERT INTO shop.events SELECT g, date '2024-06-01' + g FROM generate_series(1, 400) g",
                // never matched by a pattern: a view, and a name Ferry keeps for itself
                "CREATE VIEW shop.order_view AS SELECT * FROM shop.orders",
                "CREATE TABLE shop._ferry_shadow (id int)",
                "CREATE TABLE \"Sales Data\".\"Order Lines\" (\"ID\" int PRIMARY KEY, \"Qty\" int)",
                "INSERT INTO \"Sales Data\".\"Order Lines\" SELECT g, g * 2 FROM generate_series(1, 120) g",
                "CREATE TABLE \"Sales Data\".\"" + LONG + "\" (id int PRIMARY KEY, v text)",
                "INSERT INTO \"Sales Data\".\"" + LONG + "\" SELECT g, 'v' || g FROM generate_series(1, 30) g",
                // "sales data" (folded) is another schema: the quoted pattern must not reach it
                "CREATE SCHEMA \"sales data\"", "CREATE TABLE \"sales data\".lower_only (id int PRIMARY KEY)",
                "INSERT INTO \"sales data\".lower_only VALUES (1)",
                "CREATE TABLE other.ignored (id int PRIMARY KEY)", "INSERT INTO other.ignored VALUES (1)");
        for (String schema : List.of("shop", "Sales Data", "sales data", "other")) {
            src.grantRead(schema);
        }
        // shop.* reaches the partitions, the view and _ferry_shadow too: each must be left out by the catalog query
        String yaml = FerryHarness.transfer("pat", "shop.*, \"Sales Data\".*", "excludeTables", "shop.*_archive");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml)) {
            TransferRun run = ferry.sync("pat");
            assertThat(run.status()).as("%s", run.error()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(run.getTables()).extracting(Object::toString).containsExactly(
                    "shop.customers", "shop.events", "shop.order_items", "shop.orders", "shop.orderxarchive",
                    "\"Sales Data\".\"Order Lines\"", "\"Sales Data\".\"" + LONG + "\"");
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                Dumps.assertSameRows(s, "shop", "orders", d, "export", "orders", "id");
                Dumps.assertSameRows(s, "shop", "order_items", d, "export", "order_items", "id");
                Dumps.assertSameRows(s, "shop", "customers", d, "export", "customers", "id");
                Dumps.assertSameRows(s, "shop", "events", d, "export", "events", "id, at");
                Dumps.assertSameRows(s, "Sales Data", "Order Lines", d, "export", "Order Lines", "\"ID\"");
                Dumps.assertSameRows(s, "Sales Data", LONG, d, "export", LONG, "id");
                assertThat(Dumps.rows(d, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'export'"
                        + " AND table_name NOT LIKE '\\_ferry\\_%' ORDER BY table_name COLLATE \"C\"")).containsExactly(
                        "Order Lines", LONG, "customers", "events", "order_items", "orders", "orderxarchive");
                Dumps.assertSameRows(s, "shop", "orderxarchive", d, "export", "orderxarchive", "id");
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM export._ferry_runs WHERE status = 'succeeded'")).isEqualTo("7");
            }
        }
    }

    /**
     * Tables a pattern matches are known only at a run's start: two that would land on one destination name then fail
     * the run before any table is written, naming both; a rename of a table no pattern matches now is warned of.
     */
    @Test
    @Timeout(60)
    void aNameCollisionAmongMatchedTablesFailsTheRunBeforeAnyWrite() throws Exception {
        TestDb src = TestDb.source("patclash");
        TestDb dst = TestDb.destination("patclash");
        src.execute("CREATE SCHEMA shop", "CREATE SCHEMA sales",
                "CREATE TABLE shop.orders (id int PRIMARY KEY)", "INSERT INTO shop.orders VALUES (1), (2)");
        src.grantRead("shop");
        src.grantRead("sales");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", FerryHarness.transfer("clash", "shop.*, sales.*",
                "rename.shop.ordrs", "typo"));
             LogCapture log = LogCapture.of("dev.ferry.transfer")) {
            assertThat(ferry.sync("clash").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(log.lines()).contains("WARN transfer clash: parameter 'rename.shop.ordrs' names no table the patterns"
                    + " match now; check it against ferry discover src");

            src.execute("CREATE TABLE sales.orders (id int PRIMARY KEY)", "INSERT INTO sales.orders VALUES (7)",
                    "INSERT INTO shop.orders VALUES (3)");
            TransferRun clash = ferry.sync("clash");
            assertThat(clash.status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(clash.error()).contains("shop.orders and sales.orders would both be written to the destination table orders")
                    .contains("no table was copied");
            try (Connection d = dst.admin()) {
                assertThat(Dumps.rows(d, "SELECT id FROM export.orders ORDER BY id")).as("untouched").containsExactly("1", "2");
            }
        }
    }

    /**
     * An inheritance parent and its child, both matched by a pattern: each is read alone (ONLY, as COPY table TO and
     * pg_dump read it), on every path: COPY, the query path of a filter, and a read with a column rule. Read through
     * the parent, the child's rows would be copied twice.
     */
    @Test
    @Timeout(60)
    void anInheritanceParentIsReadWithoutItsChildrenOnEveryPath() throws Exception {
        TestDb src = TestDb.source("inh");
        TestDb dst = TestDb.destination("inh");
        src.execute("CREATE SCHEMA inh", "CREATE TABLE inh.parent (id int PRIMARY KEY, v text)",
                "CREATE TABLE inh.child (extra int) INHERITS (inh.parent)",
                "INSERT INTO inh.parent SELECT g, 'p' || g FROM generate_series(1, 10) g",
                "INSERT INTO inh.child SELECT g, 'c' || g, g FROM generate_series(101, 105) g");
        src.grantRead("inh");
        String yaml = FerryHarness.transfer("bulk", "inh.*")
                + FerryHarness.transfer("filtered", "inh.*", "destination", "d2", "filter", "id > :min", "filter.min", "0")
                + FerryHarness.transfer("ruled", "inh.*", "destination", "d3", "mask.v", "***");
        java.util.Map<String, String> props = new java.util.LinkedHashMap<>(FerryHarness.destination("d2", dst, "export2"));
        props.putAll(FerryHarness.destination("d3", dst, "export3"));
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml, props)) {
            for (String t : List.of("bulk", "filtered", "ruled")) {
                TransferRun run = ferry.sync(t);
                assertThat(run.status()).as("%s: %s", t, run.error()).isEqualTo(TransferRun.Status.SUCCEEDED);
            }
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                for (String schema : List.of("export", "export2", "export3")) {
                    assertThat(Dumps.rows(d, "SELECT id FROM " + schema + ".parent ORDER BY id")).as(schema)
                            .containsExactlyElementsOf(Dumps.rows(s, "SELECT id FROM ONLY inh.parent ORDER BY id"));
                    assertThat(Dumps.rows(d, "SELECT id, extra FROM " + schema + ".child ORDER BY id")).as(schema)
                            .containsExactlyElementsOf(Dumps.rows(s, "SELECT id, extra FROM inh.child ORDER BY id"));
                }
            }
        }
    }

    @Test
    @Timeout(60)
    void aTableNewAtTheSourceIsCopiedByTheNextRunAndOneGoneIsLeftAsItWas() throws Exception {
        TestDb src = TestDb.source("patnew");
        TestDb dst = TestDb.destination("patnew");
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.a (id int PRIMARY KEY, v text)", "INSERT INTO app.a SELECT g, 'a' || g FROM generate_series(1, 100) g",
                "CREATE TABLE app.b (id int PRIMARY KEY, v text)", "INSERT INTO app.b SELECT g, 'b' || g FROM generate_series(1, 80) g");
        src.grantRead("app");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", FerryHarness.transfer("grow", "app.*"));
             LogCapture log = LogCapture.of("dev.ferry.transfer")) {
            assertThat(ferry.sync("grow").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(log.lines()).noneMatch(l -> l.contains("new at the source") || l.contains("no longer at the source"));

            src.execute("CREATE TABLE app.c (id int PRIMARY KEY, v text)",
                    "INSERT INTO app.c SELECT g, 'c' || g FROM generate_series(1, 60) g");
            TransferRun second = ferry.sync("grow");
            assertThat(second.status()).as("%s", second.error()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(log.lines()).contains("INFO transfer grow: app.c is new at the source since the previous run (it matches"
                    + " 'tables'); copying it from this run on");
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                Dumps.assertSameRows(s, "app", "c", d, "export", "c", "id");
                assertThat(Dumps.rows(d, "SELECT source_table || ': ' || coalesce(notes, '') FROM export._ferry_runs WHERE run_id = ?"
                        + " ORDER BY source_table", second.id())).containsExactly("app.a: ", "app.b: ",
                        "app.c: new at the source since the previous run: copied from this run on");
            }

            src.execute("DROP TABLE app.b");
            TransferRun third = ferry.sync("grow");
            assertThat(third.status()).as("%s", third.error()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(third.getTables()).extracting(Object::toString).containsExactly("app.a", "app.c");
            assertThat(log.lines()).contains("WARN transfer grow: app.b, copied by the previous run, is no longer at the source or"
                    + " no longer matches 'tables' / 'excludeTables' (dropped or renamed?); it is not copied any more, and its"
                    + " destination table in export stays as it is");
            try (Connection d = dst.admin()) {
                // the destination table stays, with the rows it had
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM export.b")).isEqualTo("80");
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM export.b WHERE v IS DISTINCT FROM 'b' || id")).isEqualTo("0");
                assertThat(Dumps.scalar(d, "SELECT string_agg(notes, '') FROM export._ferry_runs WHERE run_id = ?", third.id()))
                        .isEqualTo("gone from the source since the previous run (or no longer matching): app.b is not copied any"
                                + " more; its destination table stays");
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM export._ferry_runs WHERE run_id = ? AND status <> 'succeeded'",
                        third.id())).isEqualTo("0");
            }
            // the next run has nothing new to say: the previous run is the one without app.b
            int before = log.lines().size();
            assertThat(ferry.sync("grow").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(log.lines().subList(before, log.lines().size()))
                    .noneMatch(l -> l.contains("new at the source") || l.contains("no longer at the source"));
        }
    }

    @Test
    @Timeout(60)
    void aRunCutShortByAStopDoesNotMakeTheTablesItDidNotReachNew() throws Exception {
        TestDb src = TestDb.source("patcut");
        TestDb dst = TestDb.destination("patcut");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.a (id int PRIMARY KEY)", "CREATE TABLE app.b (id int PRIMARY KEY)",
                "CREATE TABLE app.c (id int PRIMARY KEY)", "INSERT INTO app.a VALUES (1)", "INSERT INTO app.b VALUES (2)",
                "INSERT INTO app.c VALUES (3)");
        src.grantRead("app");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", FerryHarness.transfer("cut", "app.*"));
             LogCapture log = LogCapture.of("dev.ferry.transfer")) {
            assertThat(ferry.sync("cut").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            TransferRun second = ferry.sync("cut");
            try (Connection d = dst.admin()) {
                // what a run stopped for shutdown after its first table leaves: that table interrupted, no record of the others
                d.createStatement().execute("UPDATE export._ferry_runs SET status = 'interrupted' WHERE run_id = '" + second.id()
                        + "' AND source_table = 'app.a'");
                d.createStatement().execute("DELETE FROM export._ferry_runs WHERE run_id = '" + second.id()
                        + "' AND source_table <> 'app.a'");
            }
            src.execute("DROP TABLE app.c");
            int before = log.lines().size();
            assertThat(ferry.sync("cut").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            List<String> lines = log.lines().subList(before, log.lines().size());
            // app.b was copied by the last run that went through all its tables: not new; app.c is gone since then
            assertThat(lines).noneMatch(l -> l.contains("new at the source"));
            assertThat(lines).filteredOn(l -> l.contains("no longer at the source")).hasSize(1).allMatch(l -> l.contains("app.c,"));
        }
    }

    @Test
    @Timeout(60)
    void patternsThatMatchNothingFailTheRunNamingThemAndTheSource() throws Exception {
        TestDb src = TestDb.source("patnone");
        TestDb dst = TestDb.destination("patnone");
        src.execute("CREATE SCHEMA \"Shop\"", "CREATE TABLE \"Shop\".orders (id int PRIMARY KEY)");
        src.grantRead("Shop");
        // Shop.* folds to shop.*: a typo that would otherwise copy nothing, every run, and pass. At startup (the preflight
        // check) it is a configuration error with file and line
        String yaml = FerryHarness.transfer("typo", "Shop.*");
        assertThatThrownBy(() -> FerryHarness.start(src, dst, "export", yaml).close()).isInstanceOf(ConfigException.class)
                .hasMessageContaining("routes/transfers.yaml:10: transfer 'typo': parameter 'tables' (Shop.*) matches no table at source src");
        // and when the tables go after the start, the run fails naming the patterns and the source
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml, java.util.Map.of("ferry.preflight", "false"))) {
            TransferRun run = ferry.sync("typo");
            assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(run.error()).startsWith("parameter 'tables' (Shop.*) matches no table at source src (")
                    .contains("quote mixed-case ones: \"Sales Data\".*").contains("ferry discover src");
            try (Connection d = dst.admin()) {
                assertThat(Dumps.scalar(d, "SELECT error FROM export._ferry_runs WHERE run_id = ? AND status = 'failed'", run.id()))
                        .startsWith("parameter 'tables' (Shop.*) matches no table at source src");
            }
        }
    }

    @Test
    @Timeout(90)
    void checkListsWhatThePatternsMatchAndResetCoversTheTablesTheySelect() throws Exception {
        TestDb src = TestDb.source("patreset");
        TestDb dst = TestDb.destination("patreset");
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.a (id int PRIMARY KEY, updated_at timestamptz NOT NULL)",
                "INSERT INTO app.a SELECT g, now() - g * interval '1 hour' FROM generate_series(1, 50) g",
                "CREATE TABLE app.b (id int PRIMARY KEY, updated_at timestamptz NOT NULL)",
                "INSERT INTO app.b SELECT g, now() - g * interval '1 hour' FROM generate_series(1, 40) g",
                "CREATE TABLE app.b_old (id int PRIMARY KEY, updated_at timestamptz NOT NULL)");
        src.grantRead("app");
        java.nio.file.Path dir = FerryHarness.write(src, dst, "export", FerryHarness.transfer("inc", "app.*", "excludeTables",
                "app.*_old", "mode", "incremental", "cursor", "updated_at"), java.util.Map.of());

        FerryCommand.Out check = FerryCommand.capture(dir, "check", "inc");
        assertThat(check.status()).as(check.out() + check.err()).isZero();
        assertThat(check.out()).contains("'tables' (app.*) matches 2 table(s) now").contains("can read app.a").contains("can read app.b")
                .doesNotContain("app.b_old");

        assertThat(FerryCommand.capture(dir, "sync", "inc").status()).isZero();
        try (Connection d = dst.admin()) {
            assertThat(Dumps.rows(d, "SELECT source_table FROM export._ferry_state ORDER BY 1")).containsExactly("app.a", "app.b");
        }
        FerryCommand.Out other = FerryCommand.capture(dir, "reset", "inc", "app.b_old", "--yes");
        assertThat(other.status()).isEqualTo(2);
        assertThat(other.err()).contains("transfer inc copies no table named app.b_old");
        FerryCommand.Out one = FerryCommand.capture(dir, "reset", "inc", "app.b", "--yes");
        assertThat(one.status()).as(one.err()).isZero();
        try (Connection d = dst.admin()) {
            assertThat(Dumps.rows(d, "SELECT source_table FROM export._ferry_state ORDER BY 1")).containsExactly("app.a");
        }
        FerryCommand.Out all = FerryCommand.capture(dir, "reset", "inc", "--yes");
        assertThat(all.status()).as(all.err()).isZero();
        assertThat(all.out()).contains("reset transfer inc (all its tables: app.*): watermark deleted for app.a");
        try (Connection d = dst.admin()) {
            assertThat(Dumps.scalar(d, "SELECT count(*) FROM export._ferry_state")).isEqualTo("0");
            assertThat(Dumps.rows(d, "SELECT source_table FROM export._ferry_runs WHERE status = 'reset' ORDER BY id"))
                    .containsExactly("app.b", "app.a");
        }
    }
}
