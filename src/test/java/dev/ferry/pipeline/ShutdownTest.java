package dev.ferry.pipeline;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * SIGTERM to a running Ferry: it stops at a batch boundary with nothing partial committed, records the run as
 * interrupted, and the next start resumes from the last committed batch. A full refresh copying its table in one
 * stream abandons it, keeping the old table. The sources are views that sleep 1 ms every 100 rows, so that the runs
 * are still going when the signal comes.
 */
// measures time bounds or runs several Ferry processes: runs alone, after the other tests (pom.xml, "serial")
@Tag("serial")
class ShutdownTest {

    @Test
    void sigtermStopsAtABatchBoundaryAndTheNextRunResumes() throws Exception {
        TestDb src = TestDb.source("sigterm");
        TestDb dst = TestDb.destination("sigterm");
        src.execute("CREATE SCHEMA app",
                // STABLE, though it sleeps: a volatile function in a view would keep the planner off the (at, id) index
                "CREATE FUNCTION app.slowly(id bigint, v text) RETURNS text LANGUAGE plpgsql STABLE"
                        + " AS $$ BEGIN IF id % 100 = 0 THEN PERFORM pg_sleep(0.001); END IF; RETURN v; END $$",
                "CREATE TABLE app.events_data (id bigint PRIMARY KEY, payload text, at timestamptz NOT NULL)",
                "CREATE INDEX ON app.events_data (at, id)",
                "INSERT INTO app.events_data SELECT g, repeat('p', 300), timestamptz '2025-01-01' + g * interval '1 ms' FROM generate_series(1, 200000) g",
                "CREATE VIEW app.events AS SELECT id, app.slowly(id, payload) AS payload, at FROM app.events_data",
                "CREATE TABLE app.snapshot (id int PRIMARY KEY, v text)",
                "INSERT INTO app.snapshot SELECT g, 'old' FROM generate_series(1, 150000) g");
        src.grantRead("app");
        String yaml = transfer("events", "app.events", "mode", "incremental", "cursor", "at", "key", "id", "batchSize", "5000", "lookback", "0")
                + transfer("snapshot", "app.snapshot", "destination", "dst2", "key", "id");
        Map<String, String> props = FerryHarness.destination("dst2", dst, "export2");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", transfer("snapshot", "app.snapshot", "destination", "dst2"), props)) {
            ferry.sync("snapshot"); // a first full refresh, so that an interrupted one has an old table to keep
        }
        src.execute("ALTER TABLE app.snapshot RENAME TO snapshot_data",
                "UPDATE app.snapshot_data SET v = 'new'",
                "CREATE VIEW app.snapshot AS SELECT id, app.slowly(id, v) AS v FROM app.snapshot_data");
        Path dir = FerryHarness.write(src, dst, "export", yaml, props);

        Process p = new ProcessBuilder(List.of(javaBin(), "-cp", System.getProperty("java.class.path"), "dev.ferry.app.Ferry",
                "--config", dir.resolve("application.properties").toString(), "--routes", dir.resolve("routes").toString(), "run"))
                .redirectErrorStream(true).redirectOutput(dir.resolve("ferry.log").toFile()).start();
        // wait until both runs are well under way: some event batches committed, the snapshot load begun
        try (Connection d = dst.admin()) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline) {
                String rows = scalarOrNull(d, "SELECT rows FROM export._ferry_runs WHERE status = 'running'");
                String loading = scalarOrNull(d, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY \"export2\".%'");
                if (rows != null && Long.parseLong(rows) >= 20_000 && "1".equals(loading)) {
                    break;
                }
                Thread.sleep(20);
            }
        }
        double secs = StoppingTest.stop(p, dir);
        String log = Files.readString(dir.resolve("ferry.log"), StandardCharsets.UTF_8);
        assertThat(secs).as("exit %.1fs after SIGTERM; log:\n%s", secs, log).isLessThan(15);
        assertThat(p.exitValue()).as("log:\n%s", log).isIn(0, 143);

        long committed;
        try (Connection d = dst.admin()) {
            assertThat(Dumps.rows(d, "SELECT status, error FROM export._ferry_runs WHERE transfer = 'events'"))
                    .singleElement().asString().startsWith("interrupted|stopped for shutdown after");
            committed = Long.parseLong(Dumps.scalar(d, "SELECT count(*) FROM export.events"));
            assertThat(committed % 5000).as("whole batches only").isZero();
            assertThat(committed).isBetween(5000L, 195_000L);
            assertThat(Dumps.scalar(d, "SELECT max(id) FROM export.events")).isEqualTo(String.valueOf(committed));
            assertThat(Dumps.scalar(d, "SELECT key_value[1] FROM export._ferry_state WHERE transfer = 'events'"))
                    .isEqualTo(String.valueOf(committed));
            assertThat(Dumps.rows(d, "SELECT DISTINCT v FROM export2.snapshot")).as("the interrupted full refresh left the old table")
                    .containsExactly("old");
            assertThat(Dumps.rows(d, "SELECT status FROM export2._ferry_runs WHERE transfer = 'snapshot' ORDER BY id"))
                    .containsExactly("succeeded", "interrupted");
            StoppingTest.assertNoSessionLeft(d, dst);
        }

        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml, props)) {
            TransferRun resumed = ferry.sync("events");
            assertThat(resumed.rows()).isEqualTo(200_000 - committed);
            assertThat(ferry.sync("snapshot").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
        }
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "events", d, "export", "events", "id");
            Dumps.assertSameRows(s, "app", "snapshot", d, "export2", "snapshot", "id");
        }
    }

    static String scalarOrNull(Connection c, String sql) {
        try {
            return Dumps.scalar(c, sql);
        } catch (Exception e) {
            return null;
        }
    }

    static String javaBin() {
        return System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
    }
}
