package dev.ferry.pipeline;

import java.sql.Connection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a full refresh's swap must not lose or break besides the attachments themselves: columns only the destination
 * has keep their defaults, tables that rules, publications or a partition tree tie to the old table are refilled or
 * refused rather than replaced, nothing added during the swap is lost, tables linked by a foreign key swap in parallel
 * without a deadlock, and the new table's privileges equal the old one's.
 */
@Tag("versions")
class SwapSafetyTest {

    static TestDb src;
    static TestDb dst;
    static FerryHarness ferry;
    static String suffix;

    @BeforeAll
    static void setUp() throws Exception {
        src = TestDb.source("swapsafe");
        dst = TestDb.destination("swapsafe");
        suffix = dst.database().replaceAll("[^a-z0-9]", "_");
        src.execute("CREATE SCHEMA app");
        for (String t : List.of("defaults", "ident", "ruled", "published", "pubviews", "fkrefill", "slow", "granted", "child")) {
            src.execute("CREATE TABLE app." + t + " (id int PRIMARY KEY, amount int, v text)",
                    "INSERT INTO app." + t + " SELECT g, g, 'v' || g FROM generate_series(1, 20) g");
        }
        src.execute("CREATE TABLE app.customers (id int PRIMARY KEY, name text)",
                "INSERT INTO app.customers SELECT g, 'c' || g FROM generate_series(1, 200) g",
                "CREATE TABLE app.orders (id int PRIMARY KEY, customer_id int, total int)",
                "INSERT INTO app.orders SELECT g, 1 + g % 200, g FROM generate_series(1, 2000) g");
        src.grantRead("app");
        StringBuilder yaml = new StringBuilder();
        for (String t : List.of("defaults", "ident", "ruled", "published", "pubviews", "fkrefill", "slow", "granted", "child")) {
            yaml.append(transfer(t, "app." + t));
        }
        yaml.append(transfer("linked", "app.customers, app.orders", "parallelTables", "2"));
        ferry = FerryHarness.start(src, dst, "export", yaml.toString());
    }

    @AfterAll
    static void tearDown() {
        if (ferry != null) {
            ferry.close();
        }
    }

    @Test
    void destinationOnlyColumnsKeepTheirDefaultAndGenerationSoANotNullOneHolds() throws Exception {
        refreshed("defaults");
        dst.execute("ALTER TABLE export.defaults ADD COLUMN loaded_by text NOT NULL DEFAULT 'x'",
                "ALTER TABLE export.defaults ADD COLUMN doubled int GENERATED ALWAYS AS (amount * 2) STORED");
        src.execute("UPDATE app.defaults SET amount = amount + 100", "INSERT INTO app.defaults VALUES (21, 21, 'new')");

        refreshed("defaults");

        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "defaults", d, "export", "defaults", "id");
            assertThat(Dumps.dump(d, "export.defaults", "id, loaded_by, doubled", "id"))
                    .isEqualTo(Dumps.dump(s, "app.defaults", "id, 'x', amount * 2", "id"));
            assertThat(Dumps.rows(d, "SELECT attname, attnotnull, attgenerated::text, pg_get_expr(adbin, adrelid) FROM pg_attribute"
                    + " LEFT JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum WHERE attrelid = 'export.defaults'::regclass"
                    + " AND attname IN ('loaded_by', 'doubled') ORDER BY attname"))
                    .containsExactly("doubled|f|s|(amount * 2)", "loaded_by|t||'x'::text");
        }
    }

    @Test
    void aDestinationOnlyIdentityColumnFailsClearlyBeforeWriting() throws Exception {
        refreshed("ident");
        dst.execute("ALTER TABLE export.ident ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY");
        src.execute("UPDATE app.ident SET v = 'changed'");
        List<String> before;
        try (Connection d = dst.admin()) {
            before = Dumps.dump(d, "export.ident", "*", "id");
        }

        TransferRun run = ferry.sync("ident");

        assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
        assertThat(run.firstError()).contains("identity column seq").contains("Nothing was written").contains("DROP IDENTITY");
        try (Connection d = dst.admin()) {
            assertThat(Dumps.dump(d, "export.ident", "*", "id")).isEqualTo(before);
            assertThat(Dumps.scalar(d, "SELECT rows = 0 AND attempts = 1 FROM export._ferry_runs WHERE run_id = ?", run.id()))
                    .as("failed before loading, not retried").isEqualTo("t");
            FailedLoadTest.assertNoLoadTablesLeft(d);
        }
    }

    @Test
    void aRuleOfAnotherTableReadingTheTableMakesItRefilledInPlace() throws Exception {
        refreshed("ruled");
        dst.execute("SET ROLE " + q(dst.user()) + "; CREATE TABLE export.touches (id int);"
                + " CREATE RULE touch AS ON INSERT TO export.touches DO ALSO UPDATE export.ruled SET v = v || '!' WHERE id = NEW.id");
        String oid = oid("export.ruled");
        src.execute("UPDATE app.ruled SET v = 'changed ' || id", "DELETE FROM app.ruled WHERE id = 3");

        refreshed("ruled");

        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "ruled", d, "export", "ruled", "id");
            assertThat(oid("export.ruled")).as("refilled, not replaced").isEqualTo(oid);
            assertThat(Dumps.scalar(d, "SELECT relkind::text FROM pg_class WHERE oid = 'export.touches'::regclass")).isEqualTo("r");
        }
        dst.execute("INSERT INTO export.touches VALUES (5)");
        try (Connection d = dst.admin()) {
            assertThat(Dumps.scalar(d, "SELECT v FROM export.ruled WHERE id = 5")).as("the rule still works").isEqualTo("changed 5!");
        }
    }

    @Test
    void aPublishedTableIsRefilledInPlaceSoItStaysPublished() throws Exception {
        refreshed("published");
        String pub = "pub_" + suffix;
        dst.execute("SET ROLE " + q(dst.user()) + "; CREATE PUBLICATION " + q(pub) + " FOR TABLE export.published");
        String oid = oid("export.published");
        src.execute("UPDATE app.published SET v = 'changed ' || id", "INSERT INTO app.published VALUES (30, 30, 'new')");

        refreshed("published");

        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "published", d, "export", "published", "id");
            assertThat(oid("export.published")).as("refilled (TRUNCATE and INSERT replicate), not replaced").isEqualTo(oid);
            assertThat(Dumps.rows(d, "SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = ?", pub))
                    .containsExactly("export.published");
        }
    }

    @Test
    void aTableRefilledInPlaceNeedsNoRightOnItsPublication() throws Exception {
        refreshed("pubviews");
        String pub = "pub_views_" + suffix;
        // a view and a publication Ferry's role does not own: the table is refilled, which needs neither changed
        dst.execute("CREATE VIEW export.pubviews_view AS SELECT id, v FROM export.pubviews",
                "CREATE PUBLICATION " + q(pub) + " FOR TABLE export.pubviews");
        src.execute("UPDATE app.pubviews SET v = 'changed ' || id");

        refreshed("pubviews");

        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "pubviews", d, "export", "pubviews", "id");
            assertThat(Dumps.dump(d, "export.pubviews_view", "*", "id")).isEqualTo(Dumps.dump(s, "app.pubviews", "id, v", "id"));
            assertThat(Dumps.rows(d, "SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = ?", pub))
                    .containsExactly("export.pubviews");
        }
    }

    @Test
    void aTableRefilledInPlaceKeepsForeignKeysFromTablesFerryDoesNotOwnAndRefusesOnDeleteActions() throws Exception {
        refreshed("fkrefill");
        // a view Ferry's role may not re-create: the table is refilled, which needs no right on the referencing table
        dst.execute("CREATE VIEW export.fkrefill_view AS SELECT id, v FROM export.fkrefill",
                "CREATE TABLE export.fkrefill_refs (ref int REFERENCES export.fkrefill (id))",
                "INSERT INTO export.fkrefill_refs SELECT generate_series(1, 10)");
        src.execute("UPDATE app.fkrefill SET v = 'changed ' || id", "DELETE FROM app.fkrefill WHERE id = 20");

        refreshed("fkrefill");

        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "fkrefill", d, "export", "fkrefill", "id");
            assertThat(Dumps.count(d, "export.fkrefill_refs")).isEqualTo(10);
            assertThat(Dumps.scalar(d, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'export.fkrefill_refs'::regclass"
                    + " AND confrelid = 'export.fkrefill'::regclass")).isEqualTo("1");
        }

        // emptying the table would cascade to the referencing rows: refused before anything is written
        dst.execute("CREATE TABLE export.fkrefill_cascade (ref int REFERENCES export.fkrefill (id) ON DELETE CASCADE)",
                "INSERT INTO export.fkrefill_cascade SELECT generate_series(1, 5)");
        src.execute("UPDATE app.fkrefill SET v = 'again ' || id");
        List<String> before;
        try (Connection d = dst.admin()) {
            before = Dumps.dump(d, "export.fkrefill", "*", "id");
        }

        TransferRun run = ferry.sync("fkrefill");

        assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
        assertThat(run.firstError()).contains("fkrefill_cascade_ref_fkey of table export.fkrefill_cascade")
                .contains("ON DELETE action").contains("Nothing was written");
        try (Connection d = dst.admin()) {
            assertThat(Dumps.dump(d, "export.fkrefill", "*", "id")).isEqualTo(before);
            assertThat(Dumps.count(d, "export.fkrefill_cascade")).isEqualTo(5);
            assertThat(Dumps.scalar(d, "SELECT rows = 0 AND attempts = 1 FROM export._ferry_runs WHERE run_id = ?", run.id()))
                    .as("failed before loading, not retried").isEqualTo("t");
        }
    }

    @Test
    void aCommentAddedToTheOldTableDuringTheSwapIsNotLost() throws Exception {
        refreshed("slow");
        // a check that takes a while to validate keeps the swap busy between reading the old table and dropping it
        dst.execute("CREATE FUNCTION export.slow_positive(v int) RETURNS boolean LANGUAGE sql AS 'SELECT v > 0 FROM pg_sleep(0.1)'",
                "ALTER TABLE export.slow ADD CONSTRAINT slow_ok CHECK (export.slow_positive(amount))");
        src.execute("UPDATE app.slow SET v = 'changed ' || id");

        CompletableFuture<TransferRun> run = CompletableFuture.supplyAsync(() -> {
            try {
                return ferry.sync("slow");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        try (Connection d = dst.admin()) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!run.isDone() && !"t".equals(Dumps.scalar(d, "SELECT count(*) > 0 FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
                    + " AND query LIKE '%ADD CONSTRAINT \"slow_ok\"%'"))) {
                assertThat(System.nanoTime()).as("the swap validating the check").isLessThan(deadline);
                Thread.sleep(20);
            }
        }
        dst.execute("SET lock_timeout = '60s'; COMMENT ON TABLE export.slow IS 'added during the swap'");
        TransferRun done = run.get(60, TimeUnit.SECONDS);

        assertThat(done.status()).as(done.firstError()).isEqualTo(TransferRun.Status.SUCCEEDED);
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "slow", d, "export", "slow", "id");
            assertThat(Dumps.scalar(d, "SELECT obj_description('export.slow'::regclass, 'pg_class')")).isEqualTo("added during the swap");
        }
    }

    @Test
    void tablesLinkedByAForeignKeySwapInParallelWithoutADeadlock() throws Exception {
        refreshed("linked");
        dst.execute("ALTER TABLE export.orders ADD CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES export.customers (id)");
        for (int round = 0; round < 6; round++) {
            src.execute("UPDATE app.orders SET total = total + 1 WHERE id % 5 = " + round % 5,
                    "UPDATE app.customers SET name = name || '.' WHERE id % 7 = " + round % 7);
            TransferRun run = ferry.sync("linked");
            assertThat(run.status()).as("round %s: %s", round, run.firstError()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection d = dst.admin()) {
                assertThat(Dumps.rows(d, "SELECT destination_table || ' ' || status || ' ' || attempts FROM export._ferry_runs"
                        + " WHERE run_id = ? ORDER BY 1", run.id()))
                        .as("round %s: each table swapped at its first attempt (no deadlock retried)", round)
                        .containsExactly("export.customers succeeded 1", "export.orders succeeded 1");
            }
        }
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "customers", d, "export", "customers", "id");
            Dumps.assertSameRows(s, "app", "orders", d, "export", "orders", "id");
            assertThat(Dumps.scalar(d, "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'orders_customer'"))
                    .isEqualTo("FOREIGN KEY (customer_id) REFERENCES export.customers(id)");
        }
    }

    @Test
    void aGrantRevokedOnTheOldTableStaysRevokedDespiteDefaultPrivileges() throws Exception {
        String reader = "reader_" + suffix;
        String kept = "kept_" + suffix;
        dst.execute("CREATE ROLE " + q(reader) + " NOLOGIN", "CREATE ROLE " + q(kept) + " NOLOGIN");
        refreshed("granted");
        // Ferry's role's default privileges give every new table to the reader; the user took it away on this one
        dst.execute("ALTER DEFAULT PRIVILEGES FOR ROLE " + q(dst.user()) + " IN SCHEMA export GRANT SELECT, UPDATE ON TABLES TO " + q(reader),
                "GRANT SELECT ON export.granted TO " + q(kept));
        String acl;
        try (Connection d = dst.admin()) {
            acl = Dumps.scalar(d, "SELECT relacl::text FROM pg_class WHERE oid = 'export.granted'::regclass");
        }
        src.execute("UPDATE app.granted SET v = 'changed ' || id");

        refreshed("granted");

        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "granted", d, "export", "granted", "id");
            assertThat(Dumps.scalar(d, "SELECT has_table_privilege(?, 'export.granted', 'SELECT')", reader)).isEqualTo("f");
            assertThat(Dumps.scalar(d, "SELECT has_table_privilege(?, 'export.granted', 'SELECT')", kept)).isEqualTo("t");
            assertThat(Dumps.scalar(d, "SELECT relacl::text FROM pg_class WHERE oid = 'export.granted'::regclass")).isEqualTo(acl);
        }
    }

    @Test
    void anInheritanceChildFailsClearlyBeforeWritingAndStaysInItsTree() throws Exception {
        refreshed("child");
        dst.execute("CREATE TABLE export.all_rows (id int)", "ALTER TABLE export.child INHERIT export.all_rows");
        src.execute("UPDATE app.child SET v = 'changed'");
        List<String> before;
        try (Connection d = dst.admin()) {
            before = Dumps.dump(d, "export.child", "*", "id");
        }

        TransferRun run = ferry.sync("child");

        assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
        assertThat(run.firstError()).contains("export.child inherits from another table").contains("Nothing was written")
                .contains("incremental mode");
        try (Connection d = dst.admin()) {
            assertThat(Dumps.dump(d, "export.child", "*", "id")).isEqualTo(before);
            assertThat(Dumps.scalar(d, "SELECT inhparent::regclass::text FROM pg_inherits WHERE inhrelid = 'export.child'::regclass"))
                    .isEqualTo("export.all_rows");
            assertThat(Dumps.scalar(d, "SELECT rows = 0 AND attempts = 1 FROM export._ferry_runs WHERE run_id = ?", run.id()))
                    .as("failed before loading, not retried").isEqualTo("t");
            FailedLoadTest.assertNoLoadTablesLeft(d);
        }
    }

    private static void refreshed(String transfer) throws Exception {
        TransferRun run = ferry.sync(transfer);
        assertThat(run.status()).as("%s: %s", transfer, run.firstError()).isEqualTo(TransferRun.Status.SUCCEEDED);
    }

    private static String oid(String table) throws Exception {
        try (Connection d = dst.admin()) {
            return Dumps.scalar(d, "SELECT ?::regclass::oid::text", table);
        }
    }

    private static String q(String ident) {
        return '"' + ident.replace("\"", "\"\"") + '"';
    }
}
