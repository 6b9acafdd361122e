package dev.ferry.pipeline;

import java.sql.Connection;
import java.util.List;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/** Incremental and append modes: only changed rows, exactly once, in batches. */
@Tag("versions")
class IncrementalTest {

    static final String ORDERS = """
            CREATE TABLE app.orders (
              id bigint PRIMARY KEY, customer_id int NOT NULL, note text, amount numeric(10,2),
              updated_at timestamptz, deleted_at timestamptz)""";

    static TestDb[] databases(String prefix, String... setup) throws Exception {
        TestDb src = TestDb.source(prefix);
        TestDb dst = TestDb.destination(prefix);
        src.execute("CREATE SCHEMA app");
        src.execute(setup);
        src.grantRead("app");
        return new TestDb[] {src, dst};
    }

    static void assertSame(TestDb src, TestDb dst, String table, String orderBy) throws Exception {
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", table, d, "export", table, orderBy);
        }
    }

    @Test
    void rowsSharingACursorValueAreNeitherSkippedNorRepeatedAcrossBatches() throws Exception {
        TestDb[] db = databases("ties", ORDERS,
                "INSERT INTO app.orders SELECT g, g, 'same instant', g, '2025-01-01 10:00:00+00', NULL FROM generate_series(1, 10) g");
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export",
                transfer("orders", "app.orders", "mode", "incremental", "cursor", "updated_at", "batchSize", "2", "lookback", "0"))) {
            TransferRun first = ferry.sync("orders");
            assertThat(first.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(first.rows()).isEqualTo(10);
            assertSame(db[0], db[1], "orders", "id");

            // more rows at that very instant, plus one later: only those are read
            db[0].execute("INSERT INTO app.orders SELECT g, g, 'same instant, later commit', g, '2025-01-01 10:00:00+00', NULL"
                            + " FROM generate_series(11, 15) g",
                    "INSERT INTO app.orders VALUES (16, 16, 'later', 16, '2025-01-01 10:00:01+00', NULL)");
            TransferRun second = ferry.sync("orders");
            assertThat(second.rows()).isEqualTo(6);
            assertSame(db[0], db[1], "orders", "id");

            assertThat(ferry.sync("orders").rows()).as("nothing changed, nothing read").isZero();
        }
    }

    @Test
    void changesArriveAndTheWatermarkIsCommittedWithEachBatch() throws Exception {
        TestDb[] db = databases("changes", ORDERS,
                "INSERT INTO app.orders SELECT g, g % 7, 'n' || g, g, timestamptz '2025-01-01' + g * interval '1 second', NULL"
                        + " FROM generate_series(1, 1000) g");
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export",
                transfer("orders", "app.orders", "mode", "incremental", "cursor", "updated_at", "batchSize", "128", "lookback", "0"))) {
            TransferRun backfill = ferry.sync("orders");
            assertThat(backfill.rows()).isEqualTo(1000);
            assertSame(db[0], db[1], "orders", "id");

            db[0].execute("UPDATE app.orders SET note = 'changed', updated_at = now() WHERE id % 10 = 0",
                    "INSERT INTO app.orders VALUES (1001, 1, 'new', 1, now(), NULL)");
            TransferRun run = ferry.sync("orders");

            assertThat(run.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(run.rows()).as("the 101 changed rows").isEqualTo(101);
            assertSame(db[0], db[1], "orders", "id");
            try (Connection d = db[1].admin(); Connection s = db[0].admin()) {
                assertThat(Dumps.scalar(d, "SELECT cursor_value::timestamptz = ?::timestamptz FROM export._ferry_state"
                        + " WHERE transfer = 'orders'", Dumps.scalar(s, "SELECT max(updated_at)::text FROM app.orders"))).isEqualTo("t");
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM export.orders WHERE _ferry_run_id = ?", run.id())).isEqualTo("101");
            }
        }
    }

    @Test
    void aLateCommitBehindTheWatermarkIsReadByTheLookback() throws Exception {
        lateCommit("5m", true);
    }

    @Test
    void withoutLookbackALateCommitIsLost() throws Exception {
        // the control for the test above: the interleaving really does put a row behind the watermark
        lateCommit("0", false);
    }

    private void lateCommit(String lookback, boolean expectArrived) throws Exception {
        TestDb[] db = databases("late" + lookback.replace("m", ""), ORDERS,
                "ALTER TABLE app.orders ALTER COLUMN updated_at SET DEFAULT now()",
                "INSERT INTO app.orders (id, customer_id, note) SELECT g, 1, 'early' FROM generate_series(1, 5) g");
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export",
                transfer("orders", "app.orders", "mode", "incremental", "cursor", "updated_at", "lookback", lookback));
             Connection slow = db[0].admin(); Connection fast = db[0].admin()) {
            slow.setAutoCommit(false);
            fast.setAutoCommit(false);
            // a long transaction starts first: its rows get its start time as updated_at (now() is the transaction's start)
            slow.createStatement().execute("INSERT INTO app.orders (id, customer_id, note) VALUES (100, 1, 'slow transaction')");
            Thread.sleep(20);
            fast.createStatement().execute("INSERT INTO app.orders (id, customer_id, note) VALUES (200, 1, 'fast transaction')");
            fast.commit();

            ferry.sync("orders"); // reads the fast row; the watermark passes the slow row's updated_at
            slow.commit();        // the slow row commits behind the watermark
            ferry.sync("orders");

            try (Connection d = db[1].admin()) {
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM export.orders WHERE id = 200")).isEqualTo("1");
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM export.orders WHERE id = 100")).isEqualTo(expectArrived ? "1" : "0");
            }
            if (expectArrived) {
                assertSame(db[0], db[1], "orders", "id");
            }
        }
    }

    @Test
    void rowsWithANullCursorAreReadEveryRun() throws Exception {
        TestDb[] db = databases("nulls", ORDERS,
                "INSERT INTO app.orders SELECT g, g, 'stamped', g, timestamptz '2025-01-01' + g * interval '1 minute', NULL"
                        + " FROM generate_series(1, 20) g",
                "INSERT INTO app.orders SELECT g, g, 'never stamped', g, NULL, NULL FROM generate_series(21, 25) g");
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export",
                transfer("orders", "app.orders", "mode", "incremental", "cursor", "updated_at", "batchSize", "3", "lookback", "0"))) {
            assertThat(ferry.sync("orders").rows()).isEqualTo(25);
            assertSame(db[0], db[1], "orders", "id");

            db[0].execute("UPDATE app.orders SET note = 'changed without a cursor' WHERE id = 22");
            TransferRun run = ferry.sync("orders");

            assertThat(run.rows()).as("only the five NULL-cursor rows").isEqualTo(5);
            assertSame(db[0], db[1], "orders", "id");
        }
    }

    @Test
    void appendModeInsertsNewRowsOnly() throws Exception {
        TestDb[] db = databases("append",
                "CREATE TABLE app.events (id bigint PRIMARY KEY, kind text, at timestamptz NOT NULL)",
                "INSERT INTO app.events SELECT g, 'click', timestamptz '2025-01-01' + g * interval '1 second' FROM generate_series(1, 50) g");
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export",
                transfer("events", "app.events", "mode", "append", "cursor", "at", "batchSize", "16"))) {
            ferry.sync("events");
            db[0].execute("INSERT INTO app.events SELECT g, 'view', now() FROM generate_series(51, 80) g");
            TransferRun run = ferry.sync("events");
            assertThat(run.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertSame(db[0], db[1], "events", "id");

            // an event rewritten at the source is not rewritten at the destination: append only adds
            db[0].execute("UPDATE app.events SET kind = 'rewritten', at = now() WHERE id = 3");
            ferry.sync("events");
            try (Connection d = db[1].admin()) {
                assertThat(Dumps.scalar(d, "SELECT kind FROM export.events WHERE id = 3")).isEqualTo("click");
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM export.events")).isEqualTo("80");
            }
        }
    }

    @Test
    void xminModeTracksInsertsAndUpdatesWithoutACursorColumn() throws Exception {
        TestDb[] db = databases("xmin",
                "CREATE TABLE app.accounts (id int PRIMARY KEY, owner text, balance numeric(12,2))",
                "INSERT INTO app.accounts SELECT g, 'owner ' || g, g * 10 FROM generate_series(1, 500) g");
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export",
                transfer("accounts", "app.accounts", "mode", "xmin", "batchSize", "64"))) {
            assertThat(ferry.sync("accounts").rows()).isEqualTo(500);
            assertSame(db[0], db[1], "accounts", "id");

            db[0].execute("UPDATE app.accounts SET balance = balance + 1 WHERE id <= 30",
                    "INSERT INTO app.accounts SELECT g, 'new ' || g, 0 FROM generate_series(501, 520) g");
            TransferRun run = ferry.sync("accounts");

            assertThat(run.rows()).as("only rows written since the last run's snapshot").isEqualTo(50);
            assertSame(db[0], db[1], "accounts", "id");
            assertThat(ferry.sync("accounts").rows()).isZero();
        }
    }

    @Test
    void softDeletesArriveAsChangesAndHardDeletesRemoveRows() throws Exception {
        TestDb[] db = databases("deletes", ORDERS,
                "INSERT INTO app.orders SELECT g, g % 3, 'n', g, timestamptz '2025-01-01' + g * interval '1 second', NULL"
                        + " FROM generate_series(1, 300) g");
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export",
                transfer("orders", "app.orders", "mode", "incremental", "cursor", "updated_at", "deletedColumn", "deleted_at",
                        "hardDeletes", "true", "batchSize", "50"))) {
            ferry.sync("orders");
            db[0].execute("UPDATE app.orders SET deleted_at = now(), updated_at = now() WHERE id IN (5, 6)",
                    "DELETE FROM app.orders WHERE id BETWEEN 100 AND 149 OR id = 300");
            TransferRun run = ferry.sync("orders");

            assertThat(run.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertSame(db[0], db[1], "orders", "id");
            try (Connection d = db[1].admin()) {
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM export.orders WHERE deleted_at IS NOT NULL")).isEqualTo("2");
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM export.orders")).isEqualTo("249");
            }
        }
    }

    @Test
    void filterValuesAreBoundNotSpliced() throws Exception {
        String nasty = "O'Brien'; DROP TABLE app.orders; --";
        TestDb[] db = databases("filter", ORDERS,
                "INSERT INTO app.orders SELECT g, g % 3, CASE WHEN g % 2 = 0 THEN 'O''Brien''; DROP TABLE app.orders; --' ELSE 'x' END,"
                        + " g, timestamptz '2025-01-01' + g * interval '1 second', NULL FROM generate_series(1, 90) g");
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export",
                transfer("orders", "app.orders", "mode", "incremental", "cursor", "updated_at", "batchSize", "7",
                        "filter", "customer_id = :customer AND note = :note", "filter.customer", "1", "filter.note", nasty,
                        "hardDeletes", "true"))) {
            TransferRun run = ferry.sync("orders");

            assertThat(run.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = db[0].admin(); Connection d = db[1].admin()) {
                String expectedIds = "SELECT id FROM app.orders WHERE customer_id = 1 AND note = ? ORDER BY id";
                assertThat(Dumps.rows(d, "SELECT id FROM export.orders ORDER BY id")).isNotEmpty()
                        .isEqualTo(Dumps.rows(s, expectedIds, nasty));
                assertThat(Dumps.scalar(s, "SELECT count(*) FROM app.orders")).as("the source table is intact").isEqualTo("90");
                assertThat(Dumps.dump(d, "export.orders", "id, customer_id, note, amount, updated_at, deleted_at", "id"))
                        .isEqualTo(Dumps.dump(s, "app.orders WHERE customer_id = 1 AND note LIKE 'O''Brien%'",
                                "id, customer_id, note, amount, updated_at, deleted_at", "id"));
            }
            // a row that leaves the filter is removed by hard deletes
            db[0].execute("UPDATE app.orders SET customer_id = 2, updated_at = now() WHERE id = 4");
            ferry.sync("orders");
            try (Connection d = db[1].admin()) {
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM export.orders WHERE id = 4")).isEqualTo("0");
            }
        }
    }

    @Test
    void columnListsChooseWhatIsCopied() throws Exception {
        TestDb[] db = databases("columns", ORDERS,
                "CREATE TABLE app.people (id int PRIMARY KEY, name text, email text, ssn text, updated_at timestamptz NOT NULL)",
                "INSERT INTO app.people SELECT g, 'p' || g, g || '@example.com', '000-00-' || g, now() FROM generate_series(1, 40) g",
                "INSERT INTO app.orders SELECT g, g, 'n', g, now(), NULL FROM generate_series(1, 40) g");
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export",
                transfer("people", "app.people", "mode", "incremental", "cursor", "updated_at", "excludeColumns", "ssn")
                        + transfer("orders", "app.orders", "columns", "id, amount"))) {
            assertThat(ferry.sync("people").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            String cols = "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = ?::regclass AND attnum > 0";
            try (Connection s = db[0].admin(); Connection d = db[1].admin()) {
                assertThat(Dumps.scalar(d, cols, "export.people")).isEqualTo("id,name,email,updated_at,_ferry_synced_at,_ferry_run_id");
                assertThat(Dumps.scalar(d, cols, "export.orders")).isEqualTo("id,amount,_ferry_synced_at,_ferry_run_id");
                assertThat(Dumps.dump(d, "export.people", "id, name, email, updated_at", "id"))
                        .isEqualTo(Dumps.dump(s, "app.people", "id, name, email, updated_at", "id"));
                assertThat(Dumps.dump(d, "export.orders", "id, amount", "id")).isEqualTo(Dumps.dump(s, "app.orders", "id, amount", "id"));
            }
        }
    }

    @Test
    void aTransferThatIsStillRunningIsSkippedByAnotherProcess() throws Exception {
        TestDb[] db = databases("skip", ORDERS,
                "INSERT INTO app.orders SELECT g, 1, 'n', g, now(), NULL FROM generate_series(1, 100) g");
        String yaml = transfer("orders", "app.orders", "mode", "incremental", "cursor", "updated_at");
        try (FerryHarness one = FerryHarness.start(db[0], db[1], "export", yaml);
             FerryHarness two = FerryHarness.start(db[0], db[1], "export", yaml);
             Connection blocker = db[0].admin()) {
            // hold the first run inside its read: a lock on the source table it waits for
            blocker.setAutoCommit(false);
            blocker.createStatement().execute("LOCK TABLE app.orders IN ACCESS EXCLUSIVE MODE");
            java.util.concurrent.CompletableFuture<TransferRun> first = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return one.sync("orders");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            awaitWaitingOnLock(db[0]);

            TransferRun second = two.sync("orders");
            blocker.rollback();
            TransferRun firstRun = first.get(60, java.util.concurrent.TimeUnit.SECONDS);

            assertThat(second.status()).isEqualTo(TransferRun.Status.SKIPPED);
            assertThat(firstRun.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertSame(db[0], db[1], "orders", "id");
            try (Connection d = db[1].admin()) {
                assertThat(Dumps.rows(d, "SELECT status FROM export._ferry_runs WHERE run_id = ?", second.id())).containsExactly("skipped");
            }
        }
    }

    static void awaitWaitingOnLock(TestDb src) throws Exception {
        try (Connection c = src.admin()) {
            for (int i = 0; i < 600; i++) {
                List<String> waiting = Dumps.rows(c, "SELECT pid FROM pg_stat_activity WHERE usename = ? AND wait_event_type = 'Lock'",
                        src.user());
                if (!waiting.isEmpty()) {
                    return;
                }
                Thread.sleep(50);
            }
        }
        throw new AssertionError("the first run never reached the locked table");
    }
}
