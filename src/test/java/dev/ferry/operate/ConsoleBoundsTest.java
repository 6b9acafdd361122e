package dev.ferry.operate;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;

import dev.ferry.app.FerryRuntime;
import dev.ferry.state.TransferRun;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TcpProxy;
import dev.ferry.testing.TestDb;
import org.apache.camel.util.json.JsonArray;
import org.apache.camel.util.json.JsonObject;
import org.apache.camel.util.json.Jsoner;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the console does when its destinations are slow, silent or busy: no request waits on a destination beyond a
 * bound (and health probes answer meanwhile), a destination is read again only for its own transfers' runs, runs that
 * hold every session of a destination do not make it "unreachable", and "Test connection" gives up on a silent network.
 * Two transfers, "ta" writing to schema a and "tb" to schema b of one destination database.
 */
class ConsoleBoundsTest {

    static TestDb src;
    static TestDb dst;
    static String transfers;
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    static void setUp() throws Exception {
        src = TestDb.source("bounds");
        dst = TestDb.destination("bounds");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.items (id int PRIMARY KEY, name text)",
                "INSERT INTO app.items SELECT g, 'item ' || g FROM generate_series(1, 23) g");
        src.grantRead("app");
        // a rare cron: the test decides when runs happen
        transfers = FerryHarness.transfer("ta", "app.items", "cron", "0 0 3 1 1 ?")
                + FerryHarness.transfer("tb", "app.items", "destination", "dstb", "cron", "0 0 3 1 1 ?");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "a", transfers, FerryHarness.destination("dstb", dst, "b"))) {
            assertThat(ferry.sync("ta").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(ferry.sync("tb").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
        }
    }

    static FerryRuntime start(Map<String, String> extra) throws Exception {
        Map<String, String> props = new HashMap<>(FerryHarness.destination("dstb", dst, "b"));
        props.putAll(extra);
        Path dir = FerryHarness.write(src, dst, "a", transfers, props);
        Properties overrides = new Properties();
        overrides.setProperty("ferry.preflight", "false"); // a silent destination is the console's to show
        FerryRuntime ferry = new FerryRuntime(dir.resolve("application.properties"), dir.resolve("routes"),
                FerryRuntime.Trigger.SCHEDULED, overrides, null);
        try {
            ferry.start();
        } catch (Exception e) {
            ferry.close();
            throw e;
        }
        return ferry;
    }

    static CompletableFuture<HttpResponse<String>> get(FerryRuntime ferry, String path) {
        return HTTP.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ferry.httpPort() + path))
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static JsonObject transfer(HttpResponse<String> status, String name) throws Exception {
        assertThat(status.statusCode()).as(status.body()).isEqualTo(200);
        JsonArray all = (JsonArray) Jsoner.deserialize(status.body());
        return (JsonObject) all.stream().filter(o -> ((JsonObject) o).get("name").equals(name)).findFirst().orElseThrow();
    }

    static String lastRunId(HttpResponse<String> status, String name) throws Exception {
        JsonObject last = (JsonObject) transfer(status, name).get("lastRun");
        return last == null ? null : (String) last.get("runId");
    }

    /** Elapsed seconds since {@code t0} (System.nanoTime). */
    static double since(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    @Test
    @Timeout(60)
    void aDestinationGoneSilentMidReadHoldsNoRequest() throws Exception {
        try (TcpProxy proxy = new TcpProxy(dst.server().host(), dst.server().port())) {
            String port = String.valueOf(proxy.port());
            // sessions open; the status query goes out and nothing ever comes back
            proxy.blackHoleAfter("_ferry_runs", 0);
            try (FerryRuntime ferry = start(Map.of("ferry.destination.dst.port", port, "ferry.destination.dstb.port", port))) {
                long t0 = System.nanoTime();
                CompletableFuture<HttpResponse<String>> status = get(ferry, "/api/status");
                CompletableFuture<HttpResponse<String>> page = get(ferry, "/");
                // the health probe answers while the status is being read
                HttpResponse<String> live = get(ferry, "/observe/health/live").get();
                assertThat(live.statusCode()).as(live.body()).isEqualTo(200);
                assertThat(status.isDone()).as("the health probe answered before the status read ended").isFalse();
                assertThat(since(t0)).isLessThan(5);

                HttpResponse<String> s = status.get();
                double took = since(t0);
                assertThat(s.statusCode()).isEqualTo(200);
                assertThat(took).as("the first status read is bounded").isLessThan(StatusReader.READ_BOUND.toSeconds() + 4);
                // the schema whose query went out first got no answer; the other, read beside it, found the path dead as
                // it asked for a session or sent its query: either way unreachable, within the bound
                java.util.List<String> reasons = new java.util.ArrayList<>();
                for (String name : new String[] {"ta", "tb"}) {
                    reasons.add((String) transfer(s, name).get("unreachable"));
                }
                assertThat(reasons).as(s.body()).allSatisfy(r -> assertThat(r).startsWith("unreachable: "))
                        .contains(StatusReader.NO_ANSWER);
                HttpResponse<String> p = page.get();
                assertThat(p.statusCode()).isEqualTo(200);
                assertThat(p.body()).contains(StatusReader.NO_ANSWER);
                assertThat(proxy.isBlackHole()).isTrue();

                // later requests are answered from the last read at once, however long the next one takes
                long t1 = System.nanoTime();
                assertThat(get(ferry, "/api/status").get().statusCode()).isEqualTo(200);
                assertThat(get(ferry, "/").get().statusCode()).isEqualTo(200);
                assertThat(get(ferry, "/observe/health/live").get().statusCode()).isEqualTo(200);
                assertThat(since(t1)).isLessThan(4);
                proxy.heal(); // the sessions it swallowed closed: Ferry stops without waiting them out
            }
        }
    }

    /**
     * A run of ta makes schema a stale, not schema b: with hundreds of transfers some run ends every few seconds, and
     * each must not re-read every destination.
     */
    @Test
    @Timeout(60)
    void aRunRereadsOnlyItsOwnDestinationSchema() throws Exception {
        String elsewhereA = java.util.UUID.randomUUID().toString();
        String elsewhereB = java.util.UUID.randomUUID().toString();
        try (FerryRuntime ferry = start(Map.of())) {
            long firstRead = System.nanoTime();
            HttpResponse<String> before = get(ferry, "/api/status").get();
            String tbBefore = lastRunId(before, "tb");
            assertThat(tbBefore).isNotNull();
            // other nodes' runs land in both schemas
            for (String[] r : new String[][] {{"a", "ta", elsewhereA}, {"b", "tb", elsewhereB}}) {
                dst.execute("INSERT INTO " + r[0] + "._ferry_runs (run_id, transfer, source_table, mode, status, started_at,"
                        + " finished_at, rows) VALUES ('" + r[2] + "', '" + r[1] + "', 'app.items', 'full_refresh', 'succeeded',"
                        + " now() + interval '1 hour', now() + interval '1 hour', 23)");
            }
            assertThat(ferry.runOnce("ta").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            // the read again runs in the background: a page shows it once done (a request waits for it a second at most)
            HttpResponse<String> after = get(ferry, "/api/status").get();
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(8);
            while (!elsewhereA.equals(lastRunId(after, "ta")) && System.nanoTime() < deadline) {
                Thread.sleep(200);
                after = get(ferry, "/api/status").get();
            }
            assertThat(lastRunId(after, "ta")).as("schema a read again").isEqualTo(elsewhereA);
            if (since(firstRead) < Console.STATUS_REUSE.toSeconds() - 1) { // else b's read is due anyway (a slow machine)
                assertThat(lastRunId(after, "tb")).as("schema b not read again").isEqualTo(tbBefore);
            }
        } finally {
            dst.execute("DELETE FROM a._ferry_runs WHERE run_id::text = '" + elsewhereA + "'",
                    "DELETE FROM b._ferry_runs WHERE run_id::text = '" + elsewhereB + "'",
                    "DELETE FROM a._ferry_runs WHERE started_at > (SELECT min(started_at) FROM a._ferry_runs)");
        }
    }

    /**
     * With more destination schemas than reading threads, a schema queued behind a silent one is read in full: each
     * read's bound counts from its own start. (It counted from when all were queued, and the healthy schema behind a
     * silent one showed "no answer" too.)
     */
    @Test
    @Timeout(60)
    void aSilentDestinationCutsShortNoReadQueuedBehindIt() throws Exception {
        try (TcpProxy proxy = new TcpProxy(dst.server().host(), dst.server().port())) {
            proxy.blackHoleAfter("_ferry_runs", 0);
            java.util.concurrent.ExecutorService oneThread = java.util.concurrent.Executors.newSingleThreadExecutor();
            try (FerryRuntime ferry = start(Map.of("ferry.destination.dst.port", String.valueOf(proxy.port())))) {
                StatusReader reader = new StatusReader(ferry.connections(), ferry.catalog(), NextFires.estimated(), oneThread);
                Map<String, TransferStatus> byName = new HashMap<>();
                reader.status().forEach(t -> byName.put(t.name(), t));
                assertThat(proxy.isBlackHole()).isTrue();
                assertThat(byName.get("ta").unreachable()).isEqualTo(StatusReader.NO_ANSWER);
                assertThat(byName.get("tb").unreachable()).as("read after the silent one, on the same thread").isNull();
                assertThat(byName.get("tb").lastRun()).isNotNull();
                proxy.heal();
            } finally {
                oneThread.shutdownNow();
            }
        }
    }

    /** Runs hold every session of the destination's pool: its status is still read, on a session of its own. */
    @Test
    @Timeout(60)
    void runsHoldingEverySessionDoNotMakeADestinationUnreachable() throws Exception {
        try (FerryRuntime ferry = start(Map.of("ferry.destination.dst.maxSessions", "3", "ferry.destination.dstb.maxSessions", "3"))) {
            var d = ferry.connections().destination("dst");
            javax.sql.DataSource pool = ferry.connections().dataSource(d);
            try (Connection held1 = pool.getConnection(); Connection held2 = pool.getConnection(); Connection held3 = pool.getConnection()) {
                assertThat(held3.isValid(5)).isTrue();
                long t0 = System.nanoTime();
                HttpResponse<String> s = get(ferry, "/api/status").get();
                assertThat(since(t0)).isLessThan(4);
                for (String name : new String[] {"ta", "tb"}) {
                    assertThat(transfer(s, name).get("unreachable")).as(s.body()).isNull();
                    assertThat(lastRunId(s, name)).isNotNull();
                }
            }
        }
    }

    /** "Test connection" on a destination whose network goes silent after the connect answers FAIL within its bound. */
    @Test
    @Timeout(60)
    void testConnectionGivesUpOnASilentNetwork() throws Exception {
        try (TcpProxy proxy = new TcpProxy(dst.server().host(), dst.server().port())) {
            try (FerryRuntime ferry = start(Map.of("ferry.destination.dst.port", String.valueOf(proxy.port()),
                    "ferry.destination.dst.connectTimeout", "1s"))) {
                proxy.blackHoleAfter("server_version", 0);
                long t0 = System.nanoTime();
                HttpResponse<String> check = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ferry.httpPort()
                        + "/api/connections/destination.dst/check")).timeout(Duration.ofSeconds(40))
                        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
                double took = since(t0);
                assertThat(proxy.isBlackHole()).isTrue();
                assertThat(check.statusCode()).as(check.body()).isEqualTo(200);
                assertThat(((JsonObject) Jsoner.deserialize(check.body())).get("status")).as(check.body()).isEqualTo("FAIL");
                // the bound: connectTimeout (1 s) + 10 s of silence
                assertThat(took).isBetween(9.0, 16.0);
            }
        }
    }

    static HttpResponse<String> runNow(FerryRuntime ferry, String name) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ferry.httpPort() + "/api/transfers/" + name + "/run"))
                .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    }

    static long succeeded(String schema, String transfer) throws Exception {
        try (Connection c = dst.admin(); var st = c.createStatement(); var rs = st.executeQuery("SELECT count(*) FROM " + schema
                + "._ferry_runs WHERE status = 'succeeded' AND transfer = '" + transfer + "'")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** "Run now" says whether the run started or waits behind another, and does not queue a transfer twice. */
    @Test
    @Timeout(60)
    void runNowSaysWhetherTheRunStartedOrWaits() throws Exception {
        long ta = succeeded("a", "ta");
        long tb = succeeded("b", "tb");
        try (FerryRuntime ferry = start(Map.of("ferry.console.runNow", "true")); Connection lock = src.admin()) {
            // the source table locked: ta's run waits on it, tb's waits behind ta's
            lock.setAutoCommit(false);
            lock.createStatement().execute("LOCK TABLE app.items IN ACCESS EXCLUSIVE MODE");
            HttpResponse<String> first = runNow(ferry, "ta");
            assertThat(first.statusCode()).as(first.body()).isEqualTo(202);
            JsonObject started = (JsonObject) Jsoner.deserialize(first.body());
            assertThat(started.get("started")).isEqualTo(true);
            assertThat((JsonArray) started.get("queuedBehind")).isEmpty();
            HttpResponse<String> second = runNow(ferry, "tb");
            assertThat(second.statusCode()).as(second.body()).isEqualTo(202);
            JsonObject queued = (JsonObject) Jsoner.deserialize(second.body());
            assertThat(queued.get("started")).isEqualTo(false);
            assertThat((JsonArray) queued.get("queuedBehind")).containsExactly("ta");
            HttpResponse<String> again = runNow(ferry, "ta");
            assertThat(again.statusCode()).as(again.body()).isEqualTo(409);
            assertThat(again.body()).contains("already running");
            assertThat(runNow(ferry, "tb").body()).contains("already queued");
            lock.rollback();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (succeeded("a", "ta") == ta || succeeded("b", "tb") == tb) {
                assertThat(System.nanoTime()).as("both runs ended").isLessThan(deadline);
                Thread.sleep(50);
            }
            // done: the next one starts at once
            deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            HttpResponse<String> next;
            while ((next = runNow(ferry, "tb")).statusCode() == 409) {
                assertThat(System.nanoTime()).as("tb's run left the queue").isLessThan(deadline);
                Thread.sleep(50);
            }
            assertThat(((JsonObject) Jsoner.deserialize(next.body())).get("started")).as(next.body()).isEqualTo(true);
        }
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            dev.ferry.testing.Dumps.assertSameRows(s, "app", "items", d, "a", "items", "id");
            dev.ferry.testing.Dumps.assertSameRows(s, "app", "items", d, "b", "items", "id");
        }
    }
}
