package dev.ferry.pipeline;

import java.sql.Connection;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.LogCapture;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every run ends within the bounds the connections set, whatever the network or other sessions do: a network path that
 * goes dead (the proxy's black hole: it forwards nothing and closes nothing) at either end, mid-COPY, mid-merge or
 * mid-swap; a lock held by another session on the destination table during schema evolution or the swap. Small
 * bounds keep the tests fast: a COPY stalls after 2s, a statement is bounded at 3s, so a silent connection is dead
 * after 5s (and a session idle in a transaction that long is ended by its server); a lock wait gives up after 2s.
 */
// measures time bounds or runs several Ferry processes: runs alone, after the other tests (pom.xml, "serial")
@Tag("serial")
class TimeoutTest {

    static final long STALL_MS = 2_000;
    static final long ANSWER_MS = 5_000; // statementTimeout + stallTimeout
    static final long LOCK_MS = 2_000;
    static final long CONNECT_MS = 3_000;
    /**
     * Once a destination's path is dead, what follows the first failure waits for it too, each step within its own
     * bound (connectTimeout for a new connection, statementTimeout + stallTimeout for a pooled one): the retry (which
     * may wait for two connections), recording the failure, releasing the transfer's lock. Plus slack for a loaded
     * machine.
     */
    static final long AFTER_DEAD_DESTINATION_MS = 4 * Math.max(CONNECT_MS, ANSWER_MS) + 3_000;

    static FaultTest.Setup setup(String prefix, int rows) throws Exception {
        FaultTest.Setup s = FaultTest.setup(prefix, rows);
        for (String end : List.of("ferry.source.src.", "ferry.destination.dst.")) {
            s.props().put(end + "stallTimeout", STALL_MS + "ms");
            s.props().put(end + "statementTimeout", "3s");
            s.props().put(end + "lockTimeout", LOCK_MS + "ms");
        }
        return s;
    }

    static String fullRefresh(String... extra) {
        return transfer("orders", "app.orders", concat(new String[] {"retryDelay", "200ms", "retryAttempts", "1"}, extra));
    }

    static String incremental(String... extra) {
        return transfer("orders", "app.orders", concat(new String[] {"mode", "incremental", "cursor", "updated_at", "retryDelay", "200ms",
                "retryAttempts", "1"}, extra));
    }

    static String[] concat(String[] a, String[] b) {
        String[] all = new String[a.length + b.length];
        System.arraycopy(a, 0, all, 0, a.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    /** A run and how long it took. */
    record Timed(TransferRun run, long millis) {
    }

    static Timed timed(FerryHarness ferry) throws Exception {
        long start = System.nanoTime();
        TransferRun run = ferry.sync("orders");
        return new Timed(run, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
    }

    static List<String> table(TestDb db, String table) throws Exception {
        try (Connection c = db.admin()) {
            return Dumps.dump(c, table, "*", "id");
        }
    }

    /** Ferry's sessions at the destination that are inside a transaction (whatever their state). */
    static List<String> inTransaction(TestDb dst) throws Exception {
        try (Connection d = dst.admin()) {
            return Dumps.rows(d, "SELECT pid || ' ' || coalesce(state, '') || ' ' || left(query, 60) FROM pg_stat_activity"
                    + " WHERE usename = ? AND xact_start IS NOT NULL", dst.user());
        }
    }

    /** Waits up to {@code millis} for Ferry's destination sessions to have left their transactions; returns those left. */
    static List<String> awaitNoTransaction(TestDb dst, long millis) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        List<String> left = inTransaction(dst);
        while (!left.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(100);
            left = inTransaction(dst);
        }
        return left;
    }

    static void assertSame(FaultTest.Setup s) throws Exception {
        try (Connection src = s.src().admin(); Connection d = s.dst().admin()) {
            Dumps.assertSameRows(src, "app", "orders", d, "export", "orders", "id");
        }
    }

    static List<String> exportTables(TestDb dst) throws Exception {
        try (Connection d = dst.admin()) {
            return Dumps.rows(d, "SELECT tablename FROM pg_tables WHERE schemaname = 'export' ORDER BY 1");
        }
    }

    @Test
    void aSourceGoneSilentMidCopyIsCutAfterStallTimeoutAndRetried() throws Exception {
        try (FaultTest.Setup s = setup("to_src_copy", 150_000);
             FerryHarness ferry = FerryHarness.start(s.src(), s.dst(), "export", fullRefresh(), s.props());
             LogCapture log = LogCapture.of("dev.ferry.transfer")) {
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            List<String> before = table(s.dst(), "export.orders");
            List<String> tables = exportTables(s.dst());
            s.src().execute("UPDATE app.orders SET note = 'changed' WHERE id % 7 = 0");
            s.srcProxy().blackHoleAfter("COPY ", 2 << 20);

            Timed t = timed(ferry);

            assertThat(s.srcProxy().isBlackHole()).as("the source went silent mid-COPY").isTrue();
            assertThat(t.run().status()).isEqualTo(TransferRun.Status.FAILED);
            // the stall (2s), the retry's wait for a source connection (3s), and the slack of both
            assertThat(t.millis()).isLessThan(STALL_MS + CONNECT_MS + ANSWER_MS + 4_000);
            assertThat(log.lines()).as("the stall is named, with the setting that bounds it")
                    .anySatisfy(l -> assertThat(l).contains("moved no bytes from the source 'src' for 2s")
                            .contains("ferry.source.src.stallTimeout"));
            try (Connection d = s.dst().admin()) {
                assertThat(Dumps.scalar(d, "SELECT attempts FROM export._ferry_runs WHERE run_id = ?", t.run().id()))
                        .as("a stall is transient: retried").isEqualTo("2");
            }
            assertThat(table(s.dst(), "export.orders")).as("the old table stays").isEqualTo(before);
            assertThat(exportTables(s.dst())).as("no load table is left").isEqualTo(tables);
            assertThat(inTransaction(s.dst())).as("no session of Ferry's is left in a transaction").isEmpty();

            s.srcProxy().heal();
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertSame(s);
        }
    }

    /**
     * Incremental batches: the source goes silent while a batch is read (staged while the batch before it merges). The
     * stall fails the batch, the batches committed before it stay with their watermark, and the next run resumes.
     */
    @Test
    void aSourceGoneSilentMidBatchIsCutAfterStallTimeoutAndCommittedBatchesStay() throws Exception {
        try (FaultTest.Setup s = setup("to_src_batch", 60_000);
             FerryHarness ferry = FerryHarness.start(s.src(), s.dst(), "export", incremental("batchSize", "10000", "lookback", "0"),
                     s.props());
             LogCapture log = LogCapture.of("dev.ferry.transfer")) {
            s.srcProxy().blackHoleAfter("COPY (", 3 << 20);

            Timed t = timed(ferry);

            assertThat(s.srcProxy().isBlackHole()).as("the source went silent mid-batch").isTrue();
            assertThat(t.run().status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(t.millis()).isLessThan(STALL_MS + CONNECT_MS + ANSWER_MS + 4_000);
            assertThat(log.lines()).anySatisfy(l -> assertThat(l).contains("moved no bytes from the source 'src' for 2s")
                    .contains("ferry.source.src.stallTimeout"));
            try (Connection src = s.src().admin(); Connection d = s.dst().admin()) {
                long written = Long.parseLong(Dumps.scalar(d, "SELECT count(*) FROM export.orders"));
                assertThat(written).as("some batches were committed, not all").isBetween(10_000L, 50_000L);
                assertThat(Dumps.scalar(d, "SELECT cursor_value::timestamptz = (SELECT max(updated_at) FROM export.orders)"
                        + " FROM export._ferry_state WHERE transfer = 'orders'")).as("the watermark is the last row committed").isEqualTo("t");
                // what was committed is exactly the source's first rows in cursor order
                List<String> first = Dumps.rows(src, "SELECT id FROM app.orders ORDER BY updated_at, id LIMIT " + written);
                assertThat(Dumps.rows(d, "SELECT id FROM export.orders ORDER BY updated_at, id")).isEqualTo(first);
            }
            assertThat(inTransaction(s.dst())).as("no session of Ferry's is left in a transaction").isEmpty();

            s.srcProxy().heal();
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertSame(s);
        }
    }

    @Test
    void aDestinationGoneSilentMidCopyIsCutAfterStallTimeout() throws Exception {
        try (FaultTest.Setup s = setup("to_dst_copy", 150_000);
             FerryHarness ferry = FerryHarness.start(s.src(), s.dst(), "export", fullRefresh(), s.props());
             LogCapture log = LogCapture.of("dev.ferry.transfer")) {
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            List<String> before = table(s.dst(), "export.orders");
            s.src().execute("UPDATE app.orders SET note = 'changed' WHERE id % 7 = 0");
            s.dstProxy().blackHoleAfter("COPY ", 2 << 20);

            Timed t = timed(ferry);

            assertThat(s.dstProxy().isBlackHole()).as("the destination went silent mid-COPY").isTrue();
            assertThat(t.run().status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(t.millis()).isLessThan(STALL_MS + AFTER_DEAD_DESTINATION_MS);
            assertThat(log.lines()).anySatisfy(l -> assertThat(l).contains("moved no bytes to the destination 'dst' for 2s")
                    .contains("ferry.destination.dst.stallTimeout"));
            assertThat(table(s.dst(), "export.orders")).as("readers still see the old table").isEqualTo(before);

            // The destination's backend still waits for COPY data that will never come: a server notices a dead client
            // only by its TCP keepalive. When the path comes back (or keepalive ends it) its transaction is rolled back.
            s.dstProxy().heal();
            assertThat(awaitNoTransaction(s.dst(), 10_000)).isEmpty();
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertSame(s);
        }
    }

    /** The query path (a filter) writes its rows into a COPY of its own: the same stall bound holds there. */
    @Test
    void aDestinationGoneSilentMidCopyOfTheQueryPathIsCutAfterStallTimeout() throws Exception {
        try (FaultTest.Setup s = setup("to_dst_query", 150_000);
             FerryHarness ferry = FerryHarness.start(s.src(), s.dst(), "export",
                     incremental("filter", "customer >= :c", "filter.c", "0", "batchSize", "200000"), s.props());
             LogCapture log = LogCapture.of("dev.ferry.transfer")) {
            s.dstProxy().blackHoleAfter("COPY ", 2 << 20);

            Timed t = timed(ferry);

            assertThat(s.dstProxy().isBlackHole()).as("the destination went silent mid-COPY").isTrue();
            assertThat(t.run().status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(t.millis()).isLessThan(STALL_MS + AFTER_DEAD_DESTINATION_MS);
            assertThat(log.lines()).anySatisfy(l -> assertThat(l).contains("moved no bytes to the destination 'dst' for 2s")
                    .contains("ferry.destination.dst.stallTimeout"));

            s.dstProxy().heal();
            assertThat(awaitNoTransaction(s.dst(), 10_000)).isEmpty();
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertSame(s);
        }
    }

    @Test
    void aDestinationGoneSilentMidMergeFailsWithinItsBoundAndItsSessionEnds() throws Exception {
        try (FaultTest.Setup s = setup("to_dst_merge", 3_000);
             FerryHarness ferry = FerryHarness.start(s.src(), s.dst(), "export", incremental(), s.props())) {
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            List<String> before = table(s.dst(), "export.orders");
            s.src().execute("UPDATE app.orders SET note = 'changed', updated_at = now() WHERE id % 3 = 0");
            // the merge reaches the server and runs; its answer, and everything after, is lost
            s.dstProxy().blackHoleAfter(Merge.STAGE + " ON CONFLICT", 0);

            Timed t = timed(ferry);

            assertThat(s.dstProxy().isBlackHole()).as("the destination went silent mid-merge").isTrue();
            assertThat(t.run().status()).isEqualTo(TransferRun.Status.FAILED);
            // the merge's answer is due within statementTimeout + stallTimeout (5s)
            assertThat(t.millis()).isLessThan(ANSWER_MS + AFTER_DEAD_DESTINATION_MS);
            // The server ran the merge and now holds its row locks, idle in a transaction whose client is gone: its
            // idle_in_transaction_session_timeout (the same 5s) ends it, with the path still dead.
            assertThat(awaitNoTransaction(s.dst(), ANSWER_MS + 3_000)).as("the server ended the orphaned session").isEmpty();
            assertThat(table(s.dst(), "export.orders")).as("the batch was rolled back").isEqualTo(before);

            s.dstProxy().heal();
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertSame(s);
        }
    }

    @Test
    void aDestinationGoneSilentMidSwapFailsWithinItsBoundAndItsSessionEnds() throws Exception {
        try (FaultTest.Setup s = setup("to_dst_swap", 3_000);
             FerryHarness ferry = FerryHarness.start(s.src(), s.dst(), "export", fullRefresh(), s.props())) {
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            List<String> before = table(s.dst(), "export.orders");
            s.src().execute("UPDATE app.orders SET note = 'changed' WHERE id % 3 = 0");
            // the swap's first statement (the new table's primary key) runs; its answer is lost
            s.dstProxy().blackHoleAfter("_pkey\" PRIMARY KEY", 0);

            Timed t = timed(ferry);

            assertThat(s.dstProxy().isBlackHole()).as("the destination went silent mid-swap").isTrue();
            assertThat(t.run().status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(t.millis()).isLessThan(ANSWER_MS + AFTER_DEAD_DESTINATION_MS);
            assertThat(awaitNoTransaction(s.dst(), ANSWER_MS + 3_000)).as("the server ended the orphaned session").isEmpty();
            assertThat(table(s.dst(), "export.orders")).as("nothing was swapped").isEqualTo(before);

            s.dstProxy().heal();
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertSame(s);
        }
    }

    /**
     * A swap statement that outlasts statementTimeout (here checking a user's slow CHECK constraint on the new rows)
     * fails the run once: a retry would copy the whole table again only to time out the same way.
     */
    @Test
    void aSwapStatementOverStatementTimeoutFailsOnceNamingTheSetting() throws Exception {
        try (FaultTest.Setup s = setup("to_swap_stmt", 3_000);
             FerryHarness ferry = FerryHarness.start(s.src(), s.dst(), "export", fullRefresh("retryAttempts", "5"), s.props())) {
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            s.dst().execute("CREATE FUNCTION export.slow_ok(id bigint) RETURNS boolean LANGUAGE plpgsql IMMUTABLE"
                            + " AS $$ BEGIN PERFORM pg_sleep(0.002); RETURN true; END $$",
                    "ALTER TABLE export.orders ADD CONSTRAINT slow_check CHECK (export.slow_ok(id))");
            List<String> before = table(s.dst(), "export.orders");
            s.src().execute("UPDATE app.orders SET note = 'changed' WHERE id % 3 = 0");

            Timed t = timed(ferry);

            assertThat(t.run().status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(t.run().firstError()).contains("longer than the destination's statementTimeout")
                    .contains("ferry.destination.dst.statementTimeout").contains("keeps its previous contents");
            assertThat(table(s.dst(), "export.orders")).isEqualTo(before);
            try (Connection d = s.dst().admin()) {
                assertThat(Dumps.scalar(d, "SELECT attempts FROM export._ferry_runs WHERE run_id = ?", t.run().id()))
                        .as("not retried").isEqualTo("1");
            }
            assertThat(inTransaction(s.dst())).isEmpty();
        }
    }

    /**
     * A reader holding the destination table makes the swap wait: after lockTimeout the run fails, once (copying the
     * table again would only wait again), naming the table, who holds it and the setting; the old table stays.
     */
    @Test
    void aSwapThatCannotGetItsLockFailsWithinLockTimeoutWithoutRetries() throws Exception {
        try (FaultTest.Setup s = setup("to_swap_lock", 3_000);
             FerryHarness ferry = FerryHarness.start(s.src(), s.dst(), "export", fullRefresh("retryAttempts", "5"), s.props())) {
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            List<String> before = table(s.dst(), "export.orders");
            List<String> tables = exportTables(s.dst());
            s.src().execute("UPDATE app.orders SET note = 'changed' WHERE id % 3 = 0");
            Timed t;
            try (Connection reader = s.dst().admin()) {
                reader.setAutoCommit(false);
                String pid = Dumps.scalar(reader, "SELECT pg_backend_pid()");
                Dumps.scalar(reader, "SELECT count(*) FROM export.orders");

                t = timed(ferry);

                assertThat(t.run().status()).isEqualTo(TransferRun.Status.FAILED);
                assertThat(t.millis()).as("one lock wait, not six").isLessThan(5 * LOCK_MS); // attempts == 1 proves no retry; this bounds the one wait loosely, for a loaded machine
                assertThat(t.run().firstError()).contains("the swap of destination table export.orders waited 2s for a lock on it")
                        .contains("pid " + pid + " (role ").contains("ferry.destination.dst.lockTimeout")
                        .contains("export.orders keeps its previous contents");
                assertThat(table(s.dst(), "export.orders")).isEqualTo(before);
                reader.rollback();
            }
            try (Connection d = s.dst().admin()) {
                assertThat(Dumps.scalar(d, "SELECT attempts FROM export._ferry_runs WHERE run_id = ?", t.run().id()))
                        .as("not retried").isEqualTo("1");
            }
            assertThat(exportTables(s.dst())).as("no load table is left").isEqualTo(tables);
            assertThat(inTransaction(s.dst())).isEmpty();
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertSame(s);
        }
    }

    /** Schema evolution's ALTER TABLE waits behind a reader no longer than lockTimeout, and changes nothing then. */
    @Test
    void schemaEvolutionThatCannotGetItsLockFailsWithinLockTimeout() throws Exception {
        try (FaultTest.Setup s = setup("to_evolve_lock", 3_000);
             FerryHarness ferry = FerryHarness.start(s.src(), s.dst(), "export", incremental("retryAttempts", "5"), s.props())) {
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            List<String> before = table(s.dst(), "export.orders");
            String state;
            try (Connection d = s.dst().admin()) {
                state = Dumps.scalar(d, "SELECT cursor_value || key_value::text FROM export._ferry_state");
            }
            s.src().execute("ALTER TABLE app.orders ADD COLUMN extra int",
                    "UPDATE app.orders SET extra = id, updated_at = now() WHERE id % 3 = 0");
            Timed t;
            try (Connection reader = s.dst().admin()) {
                reader.setAutoCommit(false);
                String pid = Dumps.scalar(reader, "SELECT pg_backend_pid()");
                Dumps.scalar(reader, "SELECT count(*) FROM export.orders");

                t = timed(ferry);

                assertThat(t.run().status()).isEqualTo(TransferRun.Status.FAILED);
                assertThat(t.millis()).as("one lock wait, not six").isLessThan(5 * LOCK_MS); // attempts == 1 proves no retry; this bounds the one wait loosely, for a loaded machine
                assertThat(t.run().firstError()).contains("the schema evolution of destination table export.orders waited 2s")
                        .contains("pid " + pid + " (role ").contains("ferry.destination.dst.lockTimeout");
                reader.rollback();
            }
            assertThat(table(s.dst(), "export.orders")).as("no column added, no row changed").isEqualTo(before);
            try (Connection d = s.dst().admin()) {
                assertThat(Dumps.scalar(d, "SELECT cursor_value || key_value::text FROM export._ferry_state")).isEqualTo(state);
                assertThat(Dumps.scalar(d, "SELECT attempts FROM export._ferry_runs WHERE run_id = ?", t.run().id()))
                        .as("not retried").isEqualTo("1");
            }
            assertThat(inTransaction(s.dst())).isEmpty();
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertSame(s);
        }
    }
}
