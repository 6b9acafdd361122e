package dev.ferry.pipeline;

import java.sql.Connection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/** A full refresh that fails half-way leaves the previous table and its data untouched, and says so in the run history. */
class FailedLoadTest {

    /** In one COPY stream, and in three (the bad row in the last stream's pages; the other streams commit theirs). */
    @ParameterizedTest(name = "copyStreams {0}")
    @ValueSource(strings = {"1", "3"})
    void aRowTheDestinationRejectsLeavesThePreviousTableIntact(String copyStreams) throws Exception {
        // a legacy SQL_ASCII source holds bytes that are not UTF-8; a UTF-8 destination refuses them
        TestDb src = TestDb.source("reject", "SQL_ASCII");
        TestDb dst = TestDb.destination("reject");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.notes (id int PRIMARY KEY, body text)",
                "INSERT INTO app.notes SELECT g, 'note ' || g FROM generate_series(1, 2000) g");
        src.grantRead("app");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", FerryHarness.transfer("notes", "app.notes", "batchSize", "100",
                "copyStreams", copyStreams))) {
            assertThat(ferry.sync("notes").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            List<String> before;
            try (Connection d = dst.admin()) {
                before = Dumps.dump(d, "export.notes", "*", "id");
            }
            src.execute("UPDATE app.notes SET body = 'changed ' || id",
                    "UPDATE app.notes SET body = E'bad byte \\xff here' WHERE id = 1500");

            TransferRun run = ferry.sync("notes");

            assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
            try (Connection d = dst.admin()) {
                assertThat(Dumps.dump(d, "export.notes", "*", "id")).as("the previous table, untouched").isEqualTo(before);
                assertThat(Dumps.rows(d, "SELECT status, error FROM export._ferry_runs WHERE run_id = ?", run.id()))
                        .singleElement().satisfies(r -> {
                            assertThat(r).startsWith("failed|");
                            assertThat(r).contains("invalid byte sequence for encoding \"UTF8\"").contains("22021");
                        });
                assertNoLoadTablesLeft(d);
            }
        }
    }

    @Test
    void aKilledDestinationConnectionLeavesThePreviousTableIntact() throws Exception {
        TestDb src = TestDb.source("kill");
        TestDb dst = TestDb.destination("kill");
        // the source is a view that sleeps 1 ms every 100 rows, so that the load is still going when the kill comes
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.events_data (id bigint PRIMARY KEY, payload text)",
                "INSERT INTO app.events_data SELECT g, repeat('x', 200) FROM generate_series(1, 100000) g",
                "CREATE FUNCTION app.slowly(id bigint, v text) RETURNS text LANGUAGE plpgsql STABLE"
                        + " AS $$ BEGIN IF id % 100 = 0 THEN PERFORM pg_sleep(0.001); END IF; RETURN v; END $$",
                "CREATE VIEW app.events AS SELECT id, app.slowly(id, payload) AS payload FROM app.events_data");
        src.grantRead("app");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", FerryHarness.transfer("events", "app.events", "batchSize", "2000",
                // no retries here: the failure itself is under test (FaultTest covers the retry)
                "retryAttempts", "0", "key", "id"))) {
            assertThat(ferry.sync("events").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            List<String> before;
            try (Connection d = dst.admin()) {
                before = Dumps.dump(d, "export.events", "id, payload, _ferry_run_id", "id");
            }
            src.execute("UPDATE app.events_data SET payload = 'changed'");

            // terminate Ferry's destination backend once it is in the middle of the load
            AtomicBoolean killed = new AtomicBoolean();
            CompletableFuture<Void> killer = CompletableFuture.runAsync(() -> {
                try (Connection d = dst.admin()) {
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                    while (!killed.get() && System.nanoTime() < deadline) {
                        String pid = Dumps.scalar(d, """
                                SELECT pid FROM pg_stat_activity WHERE usename = ? AND state = 'active' AND query LIKE 'COPY %' LIMIT 1""",
                                dst.user());
                        String loaded = Dumps.scalar(d, """
                                SELECT count(*) FROM pg_stat_activity WHERE usename = ? AND state = 'active' AND query LIKE 'COPY %'""",
                                dst.user());
                        if (pid != null && !"0".equals(loaded)) {
                            Thread.sleep(150); // well into the load: several batches are written
                            killed.set("t".equals(Dumps.scalar(d, "SELECT pg_terminate_backend(?)", Integer.parseInt(pid))));
                        }
                        Thread.sleep(5);
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });

            TransferRun run = ferry.sync("events");
            killer.get(70, TimeUnit.SECONDS);

            assertThat(killed).as("the test terminated Ferry's destination connection during the load").isTrue();
            assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
            try (Connection d = dst.admin()) {
                assertThat(Dumps.dump(d, "export.events", "id, payload, _ferry_run_id", "id")).as("the previous table, untouched")
                        .isEqualTo(before);
                assertThat(Dumps.rows(d, "SELECT status FROM export._ferry_runs WHERE run_id = ?", run.id())).containsExactly("failed");
                assertThat(Dumps.scalar(d, "SELECT error FROM export._ferry_runs WHERE run_id = ?", run.id())).isNotBlank();
                assertNoLoadTablesLeft(d);
            }
            // and the next run succeeds
            assertThat(ferry.sync("events").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                Dumps.assertSameRows(s, "app", "events", d, "export", "events", "id");
            }
        }
    }

    /**
     * With several COPY streams the load table is committed before the load. When every destination session dies
     * mid-load, the failed attempt cannot drop it; the retry in the same run must drop that leftover (its own run's
     * record names it) instead of failing on "relation already exists".
     */
    @Test
    void aRetryInTheSameRunDropsTheLoadTableItsFailedAttemptLeft() throws Exception {
        TestDb src = TestDb.source("killstreams");
        TestDb dst = TestDb.destination("killstreams");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.events (id bigint PRIMARY KEY, payload text)",
                "INSERT INTO app.events SELECT g, repeat('x', 400) FROM generate_series(1, 400000) g");
        src.grantRead("app");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", FerryHarness.transfer("events", "app.events",
                "copyStreams", "2", "retryAttempts", "1", "retryDelay", "100ms"))) {
            AtomicBoolean killed = new AtomicBoolean();
            CompletableFuture<Void> killer = CompletableFuture.runAsync(() -> {
                try (Connection d = dst.admin()) {
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                    while (!killed.get() && System.nanoTime() < deadline) {
                        if (Integer.parseInt(Dumps.scalar(d, "SELECT count(*) FROM pg_stat_activity WHERE usename = ? AND state = 'active'"
                                + " AND query LIKE 'COPY %'", dst.user())) >= 2) {
                            // every session of the load at once, the one that committed the load table included
                            killed.set(!"0".equals(Dumps.scalar(d, "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))"
                                    + " FROM pg_stat_activity WHERE usename = ?", dst.user())));
                        }
                        Thread.sleep(5);
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            TransferRun run = ferry.sync("events");
            killer.get(70, TimeUnit.SECONDS);

            assertThat(killed).as("the test terminated Ferry's destination sessions during the load").isTrue();
            assertThat(run.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                assertThat(Dumps.scalar(d, "SELECT attempts FROM export._ferry_runs WHERE run_id = ?", run.id())).isEqualTo("2");
                Dumps.assertSameRows(s, "app", "events", d, "export", "events", "id");
                assertNoLoadTablesLeft(d);
            }
        }
    }

    static void assertNoLoadTablesLeft(Connection d) throws Exception {
        assertThat(Dumps.rows(d, "SELECT tablename FROM pg_tables WHERE tablename LIKE '\\_ferry\\_%' AND tablename NOT IN ('_ferry_runs', '_ferry_state', '_ferry_leases')"))
                .isEmpty();
    }
}
