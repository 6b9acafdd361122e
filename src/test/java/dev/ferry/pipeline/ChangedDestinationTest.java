package dev.ferry.pipeline;

import java.sql.Connection;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Someone changes the destination behind Ferry's back: an incremental transfer's table is dropped, truncated or
 * replaced between runs (it must start over from a backfill, not resume into a table that lost rows), or the schema
 * or a bookkeeping table is dropped while the same process keeps running (the next run must recreate it).
 */
@Tag("versions")
class ChangedDestinationTest {

    static final String ORDERS = IncrementalTest.ORDERS;
    static final String FIRST_ROWS = "INSERT INTO app.orders SELECT g, g % 7, 'n' || g, g,"
            + " timestamptz '2025-01-01' + g * interval '1 second', NULL FROM generate_series(1, 40) g";
    static final String MORE_ROWS = "INSERT INTO app.orders SELECT g, g % 7, 'later ' || g, g, now(), NULL"
            + " FROM generate_series(41, 45) g";
    static final String STARTED_OVER = "read again from the start";

    static String incremental() {
        return transfer("orders", "app.orders", "mode", "incremental", "cursor", "updated_at", "batchSize", "16", "lookback", "0");
    }

    /** Runs once, lets {@code change} alter the destination, adds source rows, runs again; returns the second run. */
    private static TransferRun changeBetweenRuns(String prefix, String transfer, String... change) throws Exception {
        return changeBetweenRuns(prefix, transfer, new String[0], change);
    }

    /** As above, with {@code destinationSetup} run on the destination first. */
    private static TransferRun changeBetweenRuns(String prefix, String transfer, String[] destinationSetup, String... change)
            throws Exception {
        TestDb[] db = IncrementalTest.databases(prefix, ORDERS, FIRST_ROWS);
        if (destinationSetup.length > 0) {
            db[1].execute(withWriter(destinationSetup, db[1]));
        }
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", transfer)) {
            TransferRun first = ferry.sync("orders");
            assertThat(first.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            IncrementalTest.assertSame(db[0], db[1], "orders", "id");

            db[1].execute(withWriter(change, db[1]));
            db[0].execute(MORE_ROWS);
            TransferRun second = ferry.sync("orders");

            assertThat(second.status()).as("%s", second.firstError()).isEqualTo(TransferRun.Status.SUCCEEDED);
            IncrementalTest.assertSame(db[0], db[1], "orders", "id");
            try (Connection d = db[1].admin()) {
                assertThat(Dumps.scalar(d, "SELECT notes FROM export._ferry_runs WHERE run_id = ?", second.id()))
                        .as("the run record says the table started over").contains(STARTED_OVER);
            }
            assertThat(second.rows()).as("a backfill: every source row").isEqualTo(45);
            // and from then on, incremental again
            assertThat(ferry.sync("orders").rows()).isZero();
            return second;
        }
    }

    @Test
    void aDroppedDestinationTableIsBackfilledNotResumed() throws Exception {
        changeBetweenRuns("chg_drop", incremental(), "DROP TABLE export.orders");
    }

    @Test
    void aTruncatedDestinationTableIsBackfilled() throws Exception {
        changeBetweenRuns("chg_trunc", incremental(), "TRUNCATE export.orders");
    }

    @Test
    void aDestinationTableReplacedByAnOlderCopyIsBackfilled() throws Exception {
        // a restore from an older copy: a different table under the same name, holding only some of the rows
        changeBetweenRuns("chg_copy", incremental(),
                "CREATE TABLE export.orders_restored AS SELECT * FROM export.orders WHERE id <= 20",
                "DROP TABLE export.orders",
                "ALTER TABLE export.orders_restored RENAME TO orders",
                "ALTER TABLE export.orders ADD PRIMARY KEY (id)",
                "ALTER TABLE export.orders OWNER TO {writer}");
    }

    /** {@code {writer}} in statements stands for Ferry's login role, which must own a table it writes. */
    private static String[] withWriter(String[] statements, TestDb db) {
        return java.util.Arrays.stream(statements).map(c -> c.replace("{writer}", '"' + db.user() + '"')).toArray(String[]::new);
    }

    @Test
    void aTruncatedPartitionOfAPartitionedDestinationTableIsBackfilled() throws Exception {
        changeBetweenRuns("chg_part", incremental(), new String[] {
                "CREATE SCHEMA export AUTHORIZATION {writer}",
                "CREATE TABLE export.orders (id bigint, customer_id int, note text, amount numeric(10,2), updated_at timestamptz,"
                        + " deleted_at timestamptz, _ferry_synced_at timestamptz, _ferry_run_id uuid, PRIMARY KEY (id))"
                        + " PARTITION BY RANGE (id)",
                "CREATE TABLE export.orders_low PARTITION OF export.orders FOR VALUES FROM (MINVALUE) TO (21)",
                "CREATE TABLE export.orders_high PARTITION OF export.orders FOR VALUES FROM (21) TO (MAXVALUE)",
                "ALTER TABLE export.orders OWNER TO {writer}", "ALTER TABLE export.orders_low OWNER TO {writer}",
                "ALTER TABLE export.orders_high OWNER TO {writer}"},
                "TRUNCATE export.orders_low");
    }

    @Test
    void aTruncatedXminDestinationTableIsBackfilled() throws Exception {
        changeBetweenRuns("chg_xmin", transfer("orders", "app.orders", "mode", "xmin", "batchSize", "16"),
                "TRUNCATE export.orders");
    }

    @Test
    void aWatermarkFromBeforeTablesWereRecordedResumesThenRecordsItsTable() throws Exception {
        TestDb[] db = IncrementalTest.databases("chg_legacy", ORDERS, FIRST_ROWS);
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", incremental())) {
            ferry.sync("orders");
        }
        // _ferry_state as an older Ferry left it
        db[1].execute("ALTER TABLE export._ferry_state DROP COLUMN table_oid, DROP COLUMN table_storage");
        db[0].execute(MORE_ROWS);
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", incremental())) {
            TransferRun upgraded = ferry.sync("orders");
            assertThat(upgraded.rows()).as("resumed: the table cannot be told changed, and was not").isEqualTo(5);
            IncrementalTest.assertSame(db[0], db[1], "orders", "id");

            db[1].execute("TRUNCATE export.orders");
            db[0].execute("UPDATE app.orders SET note = 'changed', updated_at = now() WHERE id = 3");
            TransferRun next = ferry.sync("orders");
            assertThat(next.rows()).as("recorded by the upgraded run, so the truncation is seen").isEqualTo(45);
            IncrementalTest.assertSame(db[0], db[1], "orders", "id");
        }
    }

    @Test
    void ferrysOwnRewriteOfTheTableDoesNotStartItOver() throws Exception {
        // widening int to bigint rewrites the destination table (a new relfilenode): that is Ferry's change, not a loss
        TestDb[] db = IncrementalTest.databases("chg_own", ORDERS, FIRST_ROWS);
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", incremental())) {
            ferry.sync("orders");
            String before;
            try (Connection d = db[1].admin()) {
                before = Dumps.scalar(d, "SELECT relfilenode::text FROM pg_class WHERE oid = 'export.orders'::regclass");
            }
            db[0].execute("ALTER TABLE app.orders ALTER COLUMN customer_id TYPE bigint", MORE_ROWS);
            TransferRun widened = ferry.sync("orders");
            assertThat(widened.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(widened.rows()).as("only the new rows").isEqualTo(5);
            try (Connection d = db[1].admin()) {
                assertThat(Dumps.scalar(d, "SELECT relfilenode::text FROM pg_class WHERE oid = 'export.orders'::regclass"))
                        .as("the widening rewrote the table").isNotEqualTo(before);
            }
            db[0].execute("UPDATE app.orders SET note = 'changed', updated_at = now() WHERE id = 3");
            TransferRun next = ferry.sync("orders");
            assertThat(next.rows()).as("the rewrite Ferry made is recorded: no backfill").isEqualTo(1);
            IncrementalTest.assertSame(db[0], db[1], "orders", "id");
            try (Connection d = db[1].admin()) {
                assertThat(Dumps.rows(d, "SELECT notes FROM export._ferry_runs WHERE notes LIKE '%' || ? || '%'", STARTED_OVER))
                        .isEmpty();
            }
        }
    }

    @Test
    void theDestinationSchemaDroppedWhileFerryKeepsRunningIsRecreated() throws Exception {
        bookkeepingDropped("chg_schema", "DROP SCHEMA export CASCADE");
    }

    @ParameterizedTest
    @ValueSource(strings = {"_ferry_runs", "_ferry_state", "_ferry_leases"})
    void aBookkeepingTableDroppedWhileFerryKeepsRunningIsRecreated(String table) throws Exception {
        bookkeepingDropped("chg" + table, "DROP TABLE export." + table);
    }

    @Test
    void aRunWhoseRunHistoryIsDroppedUnderItStillRecordsItsFailure() throws Exception {
        TestDb[] db = IncrementalTest.databases("chg_midrun", ORDERS, FIRST_ROWS);
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", incremental());
             Connection blocker = db[0].admin()) {
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            db[0].execute(MORE_ROWS);
            // hold the run inside its read (its table's run record already written), and drop the run history meanwhile
            blocker.setAutoCommit(false);
            blocker.createStatement().execute("LOCK TABLE app.orders IN ACCESS EXCLUSIVE MODE");
            java.util.concurrent.CompletableFuture<TransferRun> running = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return ferry.sync("orders");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            IncrementalTest.awaitWaitingOnLock(db[0]);
            db[1].execute("DROP TABLE export._ferry_runs");
            blocker.rollback();
            TransferRun failed = running.get(60, java.util.concurrent.TimeUnit.SECONDS);

            assertThat(failed.status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(failed.firstError()).contains("_ferry_runs");
            try (Connection d = db[1].admin()) {
                assertThat(Dumps.rows(d, "SELECT source_table || '|' || status || '|' || error FROM export._ferry_runs WHERE run_id = ?",
                        failed.id())).as("the failure is recorded in the run history made again")
                        .singleElement().asString().startsWith("app.orders|failed|").contains("_ferry_runs");
            }
            TransferRun next = ferry.sync("orders");
            assertThat(next.status()).as("%s", next.firstError()).isEqualTo(TransferRun.Status.SUCCEEDED);
            IncrementalTest.assertSame(db[0], db[1], "orders", "id");
        }
    }

    private static void bookkeepingDropped(String prefix, String drop) throws Exception {
        TestDb[] db = IncrementalTest.databases(prefix, ORDERS, FIRST_ROWS);
        // one process, one Camel context, for both runs
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", incremental())) {
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            db[1].execute(drop);
            db[0].execute(MORE_ROWS, "UPDATE app.orders SET note = 'changed', updated_at = now() WHERE id = 3");

            TransferRun next = ferry.sync("orders");

            assertThat(next.status()).as("%s", next.firstError()).isEqualTo(TransferRun.Status.SUCCEEDED);
            IncrementalTest.assertSame(db[0], db[1], "orders", "id");
            try (Connection d = db[1].admin()) {
                assertThat(Dumps.scalar(d, "SELECT status FROM export._ferry_runs WHERE run_id = ?", next.id()))
                        .isEqualTo("succeeded");
                assertThat(Dumps.scalar(d, "SELECT run_id::text FROM export._ferry_leases WHERE transfer = 'orders'"))
                        .isEqualTo(next.id().toString());
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM export._ferry_state WHERE transfer = 'orders'")).isEqualTo("1");
            }
            db[0].execute("UPDATE app.orders SET note = 'again', updated_at = now() WHERE id = 4");
            assertThat(ferry.sync("orders").rows()).as("incremental again after that").isEqualTo(1);
            IncrementalTest.assertSame(db[0], db[1], "orders", "id");
        }
    }
}
