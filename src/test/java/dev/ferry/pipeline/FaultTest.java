package dev.ferry.pipeline;

import java.sql.Connection;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import dev.ferry.app.FerryRuntime;
import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TcpProxy;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Failures Ferry meets in the field, injected against real PostgreSQL: connections cut by a TCP proxy between Ferry
 * and each database, a destination restart, a terminated backend, a revoked grant, rows the destination rejects. In
 * each case the destination ends equal to the source with no duplicate, the watermark matches what was committed,
 * and the run history says what happened.
 */
class FaultTest {

    static final String ORDERS = "CREATE TABLE app.orders (id bigint PRIMARY KEY, customer int NOT NULL, amount numeric(10,2),"
            + " note text, updated_at timestamptz NOT NULL)";

    /** Source and destination, each behind its own proxy. */
    record Setup(TestDb src, TestDb dst, TcpProxy srcProxy, TcpProxy dstProxy, Map<String, String> props) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            srcProxy.close();
            dstProxy.close();
        }
    }

    static Setup setup(String prefix, int rows) throws Exception {
        TestDb src = TestDb.source(prefix);
        TestDb dst = TestDb.destination(prefix);
        src.execute("CREATE SCHEMA app", ORDERS,
                "INSERT INTO app.orders SELECT g, g % 100, g * 0.5, repeat('n', 100), timestamptz '2025-01-01' + g * interval '1 ms'"
                        + " FROM generate_series(1, " + rows + ") g");
        src.grantRead("app");
        TcpProxy sp = new TcpProxy(src.server().host(), src.server().port());
        TcpProxy dp = new TcpProxy(dst.server().host(), dst.server().port());
        Map<String, String> props = new HashMap<>();
        props.put("ferry.source.src.hostname", "127.0.0.1");
        props.put("ferry.source.src.port", String.valueOf(sp.port()));
        props.put("ferry.destination.dst.hostname", "127.0.0.1");
        props.put("ferry.destination.dst.port", String.valueOf(dp.port()));
        props.put("ferry.source.src.connectTimeout", "3s");
        props.put("ferry.destination.dst.connectTimeout", "3s");
        return new Setup(src, dst, sp, dp, props);
    }

    static String incremental(String... extra) {
        String[] base = {"mode", "incremental", "cursor", "updated_at", "batchSize", "2000", "retryDelay", "300ms", "retryAttempts", "6"};
        String[] all = new String[base.length + extra.length];
        System.arraycopy(base, 0, all, 0, base.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return transfer("orders", "app.orders", all);
    }

    /** Waits until Ferry's session on a database runs a statement like {@code pattern}, and some batches are committed. */
    static void awaitActive(TestDb db, String pattern, BooleanSupplier andAlso) throws Exception {
        try (Connection c = db.admin()) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline) {
                String pid = Dumps.scalar(c, "SELECT pid FROM pg_stat_activity WHERE usename = ? AND query LIKE ? LIMIT 1", db.user(), pattern);
                if (pid != null && andAlso.getAsBoolean()) {
                    return;
                }
                Thread.sleep(2);
            }
        }
        throw new AssertionError("Ferry never ran " + pattern + " on " + db);
    }

    static boolean runningOn(TestDb db, String pattern) {
        try (Connection c = db.admin()) {
            return Dumps.scalar(c, "SELECT pid FROM pg_stat_activity WHERE usename = ? AND state = 'active' AND query LIKE ? LIMIT 1",
                    db.user(), pattern) != null;
        } catch (Exception e) {
            return false;
        }
    }

    static boolean retried(TestDb dst) {
        try (Connection c = dst.admin()) {
            return !"0".equals(Dumps.scalar(c, "SELECT count(*) FROM export._ferry_runs WHERE attempts > 1"));
        } catch (Exception e) {
            return false;
        }
    }

    static BooleanSupplier committedRows(TestDb dst, long atLeast) {
        return () -> {
            try (Connection c = dst.admin()) {
                String n = Dumps.scalar(c, "SELECT coalesce(max(rows), 0) FROM export._ferry_runs WHERE status = 'running'");
                return n != null && Long.parseLong(n) >= atLeast;
            } catch (Exception e) {
                return false; // the history table may not exist yet
            }
        };
    }

    static void assertRecovered(Setup s, TransferRun run) throws Exception {
        assertThat(run.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
        try (Connection src = s.src().admin(); Connection d = s.dst().admin()) {
            Dumps.assertSameRows(src, "app", "orders", d, "export", "orders", "id");
            assertThat(Dumps.scalar(d, "SELECT cursor_value::timestamptz = (SELECT max(updated_at) FROM export.orders)"
                    + " FROM export._ferry_state WHERE transfer = 'orders'")).as("the watermark is the last row written").isEqualTo("t");
            assertThat(Dumps.rows(d, "SELECT status, attempts > 1, error LIKE 'retried after: %' FROM export._ferry_runs WHERE run_id = ?",
                    run.id())).as("the run history records the retry and its cause").containsExactly("succeeded|t|t");
        }
    }

    @Test
    void theDestinationConnectionCutMidCopyIsRetried() throws Exception {
        try (Setup s = setup("fault_dcut", 60_000); FerryHarness ferry = FerryHarness.start(s.src(), s.dst(), "export", incremental(), s.props())) {
            CompletableFuture<TransferRun> run = CompletableFuture.supplyAsync(() -> sync(ferry, "orders"));
            awaitActive(s.dst(), "COPY %", committedRows(s.dst(), 4000));
            s.dstProxy().cutAll();
            assertRecovered(s, run.get(120, TimeUnit.SECONDS));
        }
    }

    @Test
    void theSourceConnectionCutMidReadIsRetried() throws Exception {
        try (Setup s = setup("fault_scut", 60_000); FerryHarness ferry = FerryHarness.start(s.src(), s.dst(), "export", incremental(), s.props())) {
            CompletableFuture<TransferRun> run = CompletableFuture.supplyAsync(() -> sync(ferry, "orders"));
            // pg_stat_activity keeps an idle pooled session's last query: cut only while a read is running, and again
            // if the cut fell between two batches (the pool then just replaces the idle connection, and nothing retries)
            for (int cuts = 0; cuts < 5 && !run.isDone() && !retried(s.dst()); cuts++) {
                awaitActive(s.src(), "COPY (SELECT \"id\"%", () -> runningOn(s.src(), "COPY (SELECT \"id\"%")
                        && committedRows(s.dst(), 4000).getAsBoolean());
                s.srcProxy().cutAll();
                Thread.sleep(500);
            }
            assertRecovered(s, run.get(120, TimeUnit.SECONDS));
        }
    }

    @Test
    void aDestinationRestartBetweenBatchesIsRetried() throws Exception {
        try (Setup s = setup("fault_restart", 60_000)) {
            Assumptions.assumeTrue(s.dst().server().canRestart(), "needs a destination the test can restart");
            try (FerryHarness ferry = FerryHarness.start(s.src(), s.dst(), "export", incremental(), s.props())) {
                CompletableFuture<TransferRun> run = CompletableFuture.supplyAsync(() -> sync(ferry, "orders"));
                awaitActive(s.dst(), "%", committedRows(s.dst(), 4000));
                s.dst().server().restart();
                assertRecovered(s, run.get(120, TimeUnit.SECONDS));
            }
        }
    }

    @Test
    void aTerminatedBackendIsRetried() throws Exception {
        try (Setup s = setup("fault_kill", 60_000); FerryHarness ferry = FerryHarness.start(s.src(), s.dst(), "export", incremental(), s.props())) {
            CompletableFuture<TransferRun> run = CompletableFuture.supplyAsync(() -> sync(ferry, "orders"));
            awaitActive(s.dst(), "COPY %", committedRows(s.dst(), 4000));
            try (Connection d = s.dst().admin()) {
                boolean killed = false;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (!killed && System.nanoTime() < deadline) {
                    killed = "t".equals(Dumps.scalar(d, "SELECT bool_or(pg_terminate_backend(pid)) FROM pg_stat_activity"
                            + " WHERE usename = ? AND query LIKE 'COPY %' AND state = 'active'", s.dst().user()));
                }
                assertThat(killed).as("terminated Ferry's backend during a COPY").isTrue();
            }
            assertRecovered(s, run.get(120, TimeUnit.SECONDS));
        }
    }

    @Test
    void aRevokedGrantFailsWithoutARetryStormAndTheNextRunRecovers() throws Exception {
        try (Setup s = setup("fault_grant", 2_000)) {
            java.nio.file.Path dir = FerryHarness.write(s.src(), s.dst(), "export",
                    incremental("every", "200ms", "retryDelay", "400ms", "retryMultiplier", "2", "retryMaxDelay", "3s"), s.props());
            try (FerryRuntime ferry = new FerryRuntime(dir.resolve("application.properties"), dir.resolve("routes"),
                    FerryRuntime.Trigger.SCHEDULED, new java.util.Properties(), null)) {
                ferry.start();
                awaitRuns(s.dst(), "succeeded", 3, Duration.ofSeconds(30));
                s.src().execute("REVOKE SELECT ON app.orders FROM \"" + s.src().user() + "\"",
                        "INSERT INTO app.orders VALUES (1000000, 1, 1, 'while revoked', now())");
                long revokedAt = System.nanoTime();
                Thread.sleep(5_000);
                try (Connection d = s.dst().admin()) {
                    List<String> failed = Dumps.rows(d, "SELECT attempts, error FROM export._ferry_runs WHERE status = 'failed'");
                    // every 200ms for 5s would be 25 runs; the backoff (0.4s, 0.8s, 1.6s, 3s, 3s) allows about 6
                    assertThat(failed).hasSizeBetween(2, 8);
                    assertThat(failed).allSatisfy(r -> assertThat(r).startsWith("1|")
                            .contains("GRANT SELECT ON \"app\".\"orders\" TO \"" + s.src().user() + "\";"));
                }
                // a run under way when the grant was revoked may have succeeded since, without the new row: count from here
                int succeeded;
                try (Connection d = s.dst().admin()) {
                    succeeded = Integer.parseInt(Dumps.scalar(d, "SELECT count(*) FROM export._ferry_runs WHERE status = 'succeeded'"));
                }
                s.src().execute("GRANT SELECT ON app.orders TO \"" + s.src().user() + "\"");
                awaitRuns(s.dst(), "succeeded", succeeded + 1, Duration.ofSeconds(30));
                assertThat(System.nanoTime() - revokedAt).isLessThan(TimeUnit.SECONDS.toNanos(20));
            }
            try (Connection src = s.src().admin(); Connection d = s.dst().admin()) {
                Dumps.assertSameRows(src, "app", "orders", d, "export", "orders", "id");
            }
        }
    }

    @Test
    void aRowTheDestinationRejectsInFullRefreshLeavesTheOldTableIntact() throws Exception {
        try (Setup s = setup("fault_reject_full", 500);
             FerryHarness ferry = FerryHarness.start(s.src(), s.dst(), "export", transfer("orders", "app.orders"), s.props())) {
            s.src().execute("UPDATE app.orders SET note = 'n' || id");
            ferry.sync("orders");
            s.dst().execute("CREATE UNIQUE INDEX orders_note_key ON export.orders (note, customer)");
            List<String> before;
            try (Connection d = s.dst().admin()) {
                before = Dumps.dump(d, "export.orders", "*", "id");
            }
            s.src().execute("UPDATE app.orders SET note = 'dup', customer = 7 WHERE id IN (10, 20)");
            TransferRun run = ferry.sync("orders");

            assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(run.firstError()).contains("break index orders_note_key").contains("Key (note, customer)=(dup, 7) is duplicated");
            try (Connection d = s.dst().admin()) {
                assertThat(Dumps.dump(d, "export.orders", "*", "id")).isEqualTo(before);
                assertThat(Dumps.scalar(d, "SELECT attempts FROM export._ferry_runs WHERE run_id = ?", run.id())).as("not retried").isEqualTo("1");
            }
        }
    }

    @Test
    void aRowTheDestinationRejectsInIncrementalModeRollsBackTheBatchAndNamesTheKey() throws Exception {
        try (Setup s = setup("fault_reject_inc", 500);
             FerryHarness ferry = FerryHarness.start(s.src(), s.dst(), "export", incremental("batchSize", "100", "lookback", "0"), s.props())) {
            ferry.sync("orders");
            s.dst().execute("ALTER TABLE export.orders ADD CONSTRAINT amount_not_negative CHECK (amount >= 0)");
            String state;
            try (Connection d = s.dst().admin()) {
                state = Dumps.scalar(d, "SELECT cursor_value || key_value::text FROM export._ferry_state");
            }
            s.src().execute("UPDATE app.orders SET amount = -1, updated_at = now() WHERE id IN (42, 43)",
                    "UPDATE app.orders SET note = 'fine', updated_at = now() - interval '1 minute' WHERE id = 7");
            TransferRun run = ferry.sync("orders");

            assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(run.firstError()).contains("the destination rejected the row(s) with key (id)=(42), (id)=(43)")
                    .contains("violates check constraint \"amount_not_negative\"").contains("The batch was rolled back");
            try (Connection d = s.dst().admin()) {
                assertThat(Dumps.scalar(d, "SELECT cursor_value || key_value::text FROM export._ferry_state")).isEqualTo(state);
                assertThat(Dumps.scalar(d, "SELECT note FROM export.orders WHERE id = 7")).as("its batch was rolled back").isNotEqualTo("fine");
            }
            // the fix at the source lets the next run through
            s.src().execute("UPDATE app.orders SET amount = 0, updated_at = now() WHERE id IN (42, 43)");
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection src = s.src().admin(); Connection d = s.dst().admin()) {
                Dumps.assertSameRows(src, "app", "orders", d, "export", "orders", "id");
            }
        }
    }

    /**
     * Batches are pipelined: the next one is staged in a second destination session while the current one merges. A
     * failed merge must leave the batch staged behind it uncommitted, and neither session holding a transaction.
     */
    @Test
    void aBatchStagedAheadIsNotCommittedWhenTheMergeBeforeItFails() throws Exception {
        try (Setup s = setup("fault_staged", 500);
             FerryHarness ferry = FerryHarness.start(s.src(), s.dst(), "export", incremental("batchSize", "100", "lookback", "0"), s.props())) {
            ferry.sync("orders");
            s.dst().execute("ALTER TABLE export.orders ADD CONSTRAINT amount_not_negative CHECK (amount >= 0)");
            // three batches in cursor order: ids 1-100, 101-200 (with a rejected row), 201-250
            s.src().execute("UPDATE app.orders SET note = 'changed', updated_at = now() + id * interval '1 ms' WHERE id <= 250",
                    "UPDATE app.orders SET amount = -1 WHERE id = 150");
            TransferRun run = ferry.sync("orders");

            assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(run.firstError()).contains("(id)=(150)");
            try (Connection d = s.dst().admin()) {
                assertThat(Dumps.rows(d, "SELECT min(id) || '-' || max(id) FROM export.orders WHERE note = 'changed'"))
                        .as("only the first batch is committed").containsExactly("1-100");
                assertThat(Dumps.scalar(d, "SELECT key_value::text FROM export._ferry_state")).isEqualTo("{100}");
                assertThat(Dumps.rows(d, "SELECT state FROM pg_stat_activity WHERE usename = ? AND state LIKE 'idle in transaction%'",
                        s.dst().user())).as("no session of Ferry's is left holding a transaction").isEmpty();
            }
            s.src().execute("UPDATE app.orders SET amount = 0, updated_at = now() + interval '1 s' WHERE id = 150");
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection src = s.src().admin(); Connection d = s.dst().admin()) {
                Dumps.assertSameRows(src, "app", "orders", d, "export", "orders", "id");
            }
        }
    }

    static void awaitRuns(TestDb dst, String status, int atLeast, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            try (Connection d = dst.admin()) {
                String n = Dumps.scalar(d, "SELECT count(*) FROM export._ferry_runs WHERE status = ?", status);
                if (Integer.parseInt(n) >= atLeast) {
                    return;
                }
            } catch (Exception e) {
                // not created yet
            }
            Thread.sleep(100);
        }
        throw new AssertionError("fewer than " + atLeast + " '" + status + "' runs within " + timeout);
    }

    static TransferRun sync(FerryHarness ferry, String name) {
        try {
            return ferry.sync(name);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
