package dev.ferry.pipeline;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * SIGTERM (a real signal, to a Ferry in a child JVM) stops Ferry within a bound whatever it is doing: waiting to
 * retry, waiting for a connection, copying. What was committed stays, nothing half-done is, the table being moved
 * is recorded {@code interrupted}, no session is left in a transaction, and a {@code sync} of several transfers
 * starts no further one.
 */
// measures time bounds or runs several Ferry processes: runs alone, after the other tests (pom.xml, "serial")
@Tag("serial")
class StoppingTest {

    /** How long Ferry may take to exit after SIGTERM in these tests. */
    private static final long BOUND_SECONDS = 15;

    @Test
    void syncAllStopsWaitingToRetryAndStartsNoFurtherTransfer() throws Exception {
        TestDb src = TestDb.source("stopretry");
        TestDb dst = TestDb.destination("stopretry");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.u (id int PRIMARY KEY, v text)", "INSERT INTO app.u VALUES (1, 'a')");
        src.grantRead("app");
        try (ServerSocket refused = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = refused.getLocalPort();
            refused.close(); // nothing listens there: every connect is refused at once, a transient failure
            // the first retry after 1 s, the second after a minute: the run is caught in that second wait
            String yaml = onSource("down", transfer("a_unreachable", "app.t", "retryDelay", "1s", "retryMultiplier", "60"))
                    + transfer("b_next", "app.u");
            Map<String, String> props = new LinkedHashMap<>(source("down", port, "1s"));
            // one run at a time, so that b_next waits its turn behind a_unreachable (sync --all runs up to
            // ferry.maxRunsInFlight at once): the one a stop must never start
            props.put("ferry.maxRunsInFlight", "1");
            Path dir = FerryHarness.write(src, dst, "export", yaml, props);
            Process p = ferry(dir, "sync", "--all");
            try (Connection d = dst.admin()) {
                waitFor(p, dir, () -> "2".equals(scalarOrNull(d, "SELECT attempts FROM export._ferry_runs WHERE transfer = 'a_unreachable'")));
            }
            Thread.sleep(2500); // the second attempt failed (the pool gives up after the 1 s connect timeout): in the minute's wait
            double secs = stop(p, dir);
            String log = log(dir);
            assertThat(secs).as("exit %.1fs after SIGTERM; log:\n%s", secs, log).isLessThan(BOUND_SECONDS);
            try (Connection d = dst.admin()) {
                assertThat(Dumps.rows(d, "SELECT status, attempts, error FROM export._ferry_runs ORDER BY id")).as("log:\n%s", log)
                        .singleElement().asString()
                        .startsWith("interrupted|2|stopped for shutdown after a transient failure (the next run covers it); the last attempt failed:")
                        .contains("refused");
                assertThat(Dumps.scalar(d, "SELECT to_regclass('export.u') IS NULL")).as("the next transfer never started").isEqualTo("t");
                assertNoSessionLeft(d, dst);
            }
            assertThat(log).contains("transfer b_next: not started: Ferry is stopping");
        }
    }

    @Test
    void runStopsWaitingToRetry() throws Exception {
        TestDb src = TestDb.source("stoprunretry");
        TestDb dst = TestDb.destination("stoprunretry");
        try (ServerSocket refused = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = refused.getLocalPort();
            refused.close();
            String yaml = onSource("down", transfer("a_unreachable", "app.t", "retryDelay", "1s", "retryMultiplier", "60"));
            Path dir = FerryHarness.write(src, dst, "export", yaml, source("down", port, "1s"));
            Process p = ferry(dir, "run");
            try (Connection d = dst.admin()) {
                waitFor(p, dir, () -> "2".equals(scalarOrNull(d, "SELECT attempts FROM export._ferry_runs WHERE transfer = 'a_unreachable'")));
            }
            Thread.sleep(2500);
            double secs = stop(p, dir);
            String log = log(dir);
            assertThat(secs).as("exit %.1fs after SIGTERM; log:\n%s", secs, log).isLessThan(BOUND_SECONDS);
            try (Connection d = dst.admin()) {
                assertThat(Dumps.rows(d, "SELECT status, attempts FROM export._ferry_runs ORDER BY id")).as("log:\n%s", log)
                        .containsExactly("interrupted|2");
                assertNoSessionLeft(d, dst);
            }
        }
    }

    /**
     * A source that accepts the TCP connection and then never answers (a hung server, a black-holing firewall): the
     * run waits for a connection; SIGTERM ends it within the connect timeout, recorded interrupted, not retried.
     */
    @Test
    void syncStopsWhileWaitingForAConnection() throws Exception {
        TestDb src = TestDb.source("stopwait");
        TestDb dst = TestDb.destination("stopwait");
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) { // never accepts
            String yaml = onSource("silent", transfer("a_silent", "app.t", "retryDelay", "1m"));
            Path dir = FerryHarness.write(src, dst, "export", yaml, source("silent", silent.getLocalPort(), "5s"));
            Process p = ferry(dir, "sync", "a_silent");
            try (Connection d = dst.admin()) {
                waitFor(p, dir, () -> "running".equals(scalarOrNull(d, "SELECT status FROM export._ferry_runs")));
            }
            double secs = stop(p, dir);
            String log = log(dir);
            assertThat(secs).as("exit %.1fs after SIGTERM; log:\n%s", secs, log).isLessThan(BOUND_SECONDS);
            try (Connection d = dst.admin()) {
                assertThat(Dumps.rows(d, "SELECT status, attempts FROM export._ferry_runs")).as("log:\n%s", log)
                        .containsExactly("interrupted|1");
                assertNoSessionLeft(d, dst);
            }
        }
    }

    /**
     * A full refresh in the middle of its COPY, in {@code sync}: the copy is abandoned, the destination keeps its
     * previous table, and the next sync copies the table whole.
     */
    @Test
    void syncStopsWhileCopyingAndKeepsTheOldTable() throws Exception {
        TestDb src = TestDb.source("stopcopy");
        TestDb dst = TestDb.destination("stopcopy");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.snapshot (id int PRIMARY KEY, v text)",
                "INSERT INTO app.snapshot SELECT g, 'old' FROM generate_series(1, 100000) g");
        src.grantRead("app");
        String yaml = transfer("snapshot", "app.snapshot");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml)) {
            ferry.sync("snapshot");
        }
        src.execute("ALTER TABLE app.snapshot RENAME TO snapshot_data", "UPDATE app.snapshot_data SET v = 'new'",
                // sleeps 1 ms every 20 rows: the copy takes several seconds, so the signal lands while it copies
                "CREATE FUNCTION app.slowly(id int, v text) RETURNS text LANGUAGE plpgsql STABLE"
                        + " AS $$ BEGIN IF id % 20 = 0 THEN PERFORM pg_sleep(0.001); END IF; RETURN v; END $$",
                "CREATE VIEW app.snapshot AS SELECT id, app.slowly(id, v) AS v FROM app.snapshot_data");
        Path dir = FerryHarness.write(src, dst, "export", yaml, Map.of());
        Process p = ferry(dir, "sync", "snapshot");
        try (Connection d = dst.admin()) {
            waitFor(p, dir, () -> "1".equals(scalarOrNull(d, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY \"export\".%'")));
        }
        double secs = stop(p, dir);
        String log = log(dir);
        assertThat(secs).as("exit %.1fs after SIGTERM; log:\n%s", secs, log).isLessThan(BOUND_SECONDS);
        try (Connection d = dst.admin()) {
            assertThat(Dumps.rows(d, "SELECT DISTINCT v FROM export.snapshot")).as("the old table stays whole").containsExactly("old");
            assertThat(Dumps.scalar(d, "SELECT count(*) FROM export.snapshot")).isEqualTo("100000");
            assertThat(Dumps.rows(d, "SELECT status FROM export._ferry_runs ORDER BY id")).as("log:\n%s", log)
                    .containsExactly("succeeded", "interrupted");
            assertNoSessionLeft(d, dst);
        }
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml)) {
            ferry.sync("snapshot");
        }
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "snapshot", d, "export", "snapshot", "id");
        }
    }

    /**
     * An incremental transfer merging batch after batch, in {@code sync}: it stops at a batch boundary, whole batches
     * committed with their watermark, and the next sync resumes after them.
     */
    @Test
    void syncStopsWhileMergingAndTheNextSyncResumes() throws Exception {
        TestDb src = TestDb.source("stopmerge");
        TestDb dst = TestDb.destination("stopmerge");
        src.execute("CREATE SCHEMA app",
                "CREATE FUNCTION app.slowly(id bigint, v text) RETURNS text LANGUAGE plpgsql STABLE"
                        + " AS $$ BEGIN IF id % 100 = 0 THEN PERFORM pg_sleep(0.001); END IF; RETURN v; END $$",
                "CREATE TABLE app.events_data (id bigint PRIMARY KEY, payload text, at timestamptz NOT NULL)",
                "CREATE INDEX ON app.events_data (at, id)",
                "INSERT INTO app.events_data SELECT g, repeat('p', 100), timestamptz '2025-01-01' + g * interval '1 ms'"
                        + " FROM generate_series(1, 100000) g",
                "CREATE VIEW app.events AS SELECT id, app.slowly(id, payload) AS payload, at FROM app.events_data");
        src.grantRead("app");
        String yaml = transfer("events", "app.events", "mode", "incremental", "cursor", "at", "key", "id", "batchSize", "2000",
                "lookback", "0");
        Path dir = FerryHarness.write(src, dst, "export", yaml, Map.of());
        Process p = ferry(dir, "sync", "events");
        try (Connection d = dst.admin()) {
            waitFor(p, dir, () -> {
                String rows = scalarOrNull(d, "SELECT rows FROM export._ferry_runs WHERE status = 'running'");
                return rows != null && Long.parseLong(rows) >= 6000;
            });
        }
        double secs = stop(p, dir);
        String log = log(dir);
        assertThat(secs).as("exit %.1fs after SIGTERM; log:\n%s", secs, log).isLessThan(BOUND_SECONDS);
        long committed;
        try (Connection d = dst.admin()) {
            assertThat(Dumps.rows(d, "SELECT status FROM export._ferry_runs")).as("log:\n%s", log).containsExactly("interrupted");
            committed = Long.parseLong(Dumps.scalar(d, "SELECT count(*) FROM export.events"));
            assertThat(committed % 2000).as("whole batches only").isZero();
            assertThat(committed).isBetween(6000L, 98_000L);
            assertThat(Dumps.scalar(d, "SELECT max(id) FROM export.events")).isEqualTo(String.valueOf(committed));
            assertThat(Dumps.scalar(d, "SELECT key_value[1] FROM export._ferry_state WHERE transfer = 'events'"))
                    .as("the watermark is the last committed row").isEqualTo(String.valueOf(committed));
            assertNoSessionLeft(d, dst);
        }
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml)) {
            assertThat(ferry.sync("events").rows()).isEqualTo(100_000 - committed);
        }
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "events", d, "export", "events", "id");
        }
    }

    /**
     * The demo (its embedded servers, its routes, its transfers on a schedule) stops within the bound too. Its
     * embedded servers stop with the process (their own shutdown hook), so what its runs record is not checked here.
     */
    @Test
    void demoStops() throws Exception {
        Path dir = Files.createTempDirectory("ferry-demo-stop");
        List<String> args = List.of(ShutdownTest.javaBin(), "-cp", System.getProperty("java.class.path"), "dev.ferry.app.Ferry",
                "--config", Path.of("application.properties").toAbsolutePath().toString(),
                "--routes", Path.of("routes").toAbsolutePath().toString(), "demo", "--every", "1h");
        Process p = new ProcessBuilder(args).redirectErrorStream(true).redirectOutput(dir.resolve("ferry.log").toFile()).start();
        waitFor(p, dir, () -> {
            try {
                return log(dir).matches("(?s).*transfer \\S+: run \\S+ started.*");
            } catch (Exception e) {
                return false;
            }
        });
        double secs = stop(p, dir);
        assertThat(secs).as("exit %.1fs after SIGTERM; log:\n%s", secs, log(dir)).isLessThan(BOUND_SECONDS);
    }

    /** The transfer's YAML, reading from another declared source. */
    static String onSource(String source, String yaml) {
        return yaml.replace("- name: source\n        value: 'src'", "- name: source\n        value: '" + source + "'");
    }

    /** Properties declaring a source at 127.0.0.1:port (nothing behind it that answers). */
    static Map<String, String> source(String name, int port, String connectTimeout) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("ferry.source." + name + ".hostname", "127.0.0.1");
        p.put("ferry.source." + name + ".port", String.valueOf(port));
        p.put("ferry.source." + name + ".database", "nowhere");
        p.put("ferry.source." + name + ".user", "nobody");
        p.put("ferry.source." + name + ".password", "unused");
        p.put("ferry.source." + name + ".connectTimeout", connectTimeout);
        return p;
    }

    static Process ferry(Path dir, String... command) throws Exception {
        List<String> args = new ArrayList<>(List.of(ShutdownTest.javaBin(), "-cp", System.getProperty("java.class.path"),
                "dev.ferry.app.Ferry", "--config", dir.resolve("application.properties").toString(),
                "--routes", dir.resolve("routes").toString()));
        args.addAll(List.of(command));
        return new ProcessBuilder(args).redirectErrorStream(true).redirectOutput(dir.resolve("ferry.log").toFile()).start();
    }

    /** Waits (up to a minute) until the condition holds while the process runs. */
    static void waitFor(Process p, Path dir, BooleanSupplier condition) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean()) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new AssertionError("the awaited state never came" + (p.isAlive() ? "" : " (Ferry exited)") + "; log:\n" + log(dir));
            }
            Thread.sleep(20);
        }
    }

    /** Sends SIGTERM and returns how many seconds the process took to exit (killed after a minute). */
    static double stop(Process p, Path dir) throws Exception {
        long t0 = System.nanoTime();
        p.destroy(); // SIGTERM
        boolean ended = p.waitFor(60, TimeUnit.SECONDS);
        double secs = (System.nanoTime() - t0) / 1e9;
        if (!ended) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError("Ferry did not exit within a minute of SIGTERM; log:\n" + log(dir));
        }
        return secs;
    }

    static String log(Path dir) throws Exception {
        return Files.readString(dir.resolve("ferry.log"), StandardCharsets.UTF_8);
    }

    /** No session of the destination database is left in a transaction, nor holds an advisory (transfer) lock. */
    static void assertNoSessionLeft(Connection d, TestDb dst) throws Exception {
        String sql = "SELECT count(*) FROM pg_stat_activity a WHERE a.datname = '" + dst.database() + "' AND a.pid <> pg_backend_pid()"
                + " AND (a.state LIKE 'idle in transaction%' OR a.state = 'active'"
                + " OR EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory'))";
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5); // the server notices a closed socket soon after
        String n = Dumps.scalar(d, sql);
        while (!"0".equals(n) && System.nanoTime() < deadline) {
            Thread.sleep(50);
            n = Dumps.scalar(d, sql);
        }
        assertThat(n).as("sessions left in a transaction or holding a lock").isEqualTo("0");
    }

    static String scalarOrNull(Connection c, String sql) {
        return ShutdownTest.scalarOrNull(c, sql);
    }
}
