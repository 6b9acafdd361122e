package dev.ferry.operate;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import dev.ferry.app.FerryRuntime;
import dev.ferry.state.TransferRun;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.LogCapture;
import dev.ferry.testing.TestDb;
import org.apache.camel.util.json.JsonArray;
import org.apache.camel.util.json.JsonObject;
import org.apache.camel.util.json.Jsoner;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The console's JSON API and pages over HTTP (no browser), against a running Ferry: what they show is what the
 * destination's run history holds; no response ever holds a password; user values are escaped in HTML; actions need
 * the bearer token whenever the server listens beyond loopback, and are refused there without one.
 */
class ConsoleApiTest {

    static TestDb src;
    static TestDb dst;
    static String transfers;
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    /** Every response body, searched for passwords at the end. */
    static final List<String> BODIES = new ArrayList<>();
    static final String SCRIPT = "<script>alert('x')</script>";

    @BeforeAll
    static void setUp() throws Exception {
        src = TestDb.source("console");
        dst = TestDb.destination("console");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.items (id int PRIMARY KEY, name text)",
                "INSERT INTO app.items SELECT g, 'item ' || g FROM generate_series(1, 57) g",
                "CREATE TABLE app.others (id int PRIMARY KEY)");
        src.grantRead("app");
        // a rare cron: the test decides when runs happen
        transfers = FerryHarness.transfer("items", "app.items", "cron", "0 0 3 1 1 ?")
                + FerryHarness.transfer("other", "app.others", "cron", "0 0 3 1 1 ?");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "con", transfers)) {
            assertThat(ferry.sync("items").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
        }
        // a failed run whose error holds markup (an error quotes names and values from the databases)
        dst.execute("INSERT INTO con._ferry_runs (run_id, transfer, source_table, mode, status, started_at, finished_at, error)"
                + " VALUES (gen_random_uuid(), 'other', 'app.others', 'full_refresh', 'failed', now(), now(), '" + SCRIPT.replace("'", "''") + "')");
    }

    @AfterAll
    static void noPasswordAnywhere() {
        if (src == null) {
            return; // setUp failed: that is the error to see
        }
        for (String body : BODIES) {
            assertThat(body).doesNotContain(src.password()).doesNotContain(dst.password());
        }
    }

    static FerryRuntime start(Map<String, String> props) throws Exception {
        Path dir = FerryHarness.write(src, dst, "con", transfers, Map.of());
        Properties overrides = new Properties();
        overrides.putAll(props);
        FerryRuntime ferry = new FerryRuntime(dir.resolve("application.properties"), dir.resolve("routes"),
                FerryRuntime.Trigger.SCHEDULED, overrides, null);
        try {
            ferry.start();
        } catch (Exception e) {
            ferry.close();
            throw e;
        }
        assertThat(ferry.httpPort()).isPositive();
        return ferry;
    }

    static HttpResponse<String> get(FerryRuntime ferry, String path) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ferry.httpPort() + path))
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        BODIES.add(r.body());
        return r;
    }

    static HttpResponse<String> post(FerryRuntime ferry, String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ferry.httpPort() + path))
                .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.noBody());
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        BODIES.add(r.body());
        return r;
    }

    static List<List<String>> records(String transfer) throws Exception {
        List<List<String>> out = new ArrayList<>();
        try (Connection c = dst.admin(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT run_id, status, rows FROM con._ferry_runs WHERE transfer = '" + transfer
                     + "' ORDER BY started_at DESC")) {
            while (rs.next()) {
                out.add(List.of(rs.getString(1), rs.getString(2), rs.getString(3)));
            }
        }
        return out;
    }

    /**
     * Pages and /api/status reuse one read of the destinations for a while, whoever asks (hundreds of destination
     * databases must not be queried at every refresh of every viewer), and read again at once when a run of this
     * process ends.
     */
    @Test
    @Timeout(90)
    void theStatusIsReusedBetweenPagesUntilARunOfThisProcessEnds() throws Exception {
        String elsewhere = java.util.UUID.randomUUID().toString();
        String local = null;
        try (FerryRuntime ferry = start(Map.of())) {
            String before = lastRunId(get(ferry, "/api/status"), "items");
            assertThat(before).isEqualTo(records("items").get(0).get(0));
            // another node's run lands in the history: the status is not read again for it at once
            dst.execute("INSERT INTO con._ferry_runs (run_id, transfer, source_table, mode, status, started_at, finished_at, rows)"
                    + " VALUES ('" + elsewhere + "', 'items', 'app.items', 'full_refresh', 'succeeded', now() + interval '1 hour',"
                    + " now() + interval '1 hour', 57)");
            assertThat(lastRunId(get(ferry, "/api/status"), "items")).isEqualTo(before);
            // a run of this process ends: read again, and the other node's run shows with it
            local = ferry.runOnce("items").id().toString();
            assertThat(records("items").stream().map(r -> r.get(0))).contains(local);
            // read again in the background: a page shows it once done (a request waits for it a second at most)
            String shown = lastRunId(get(ferry, "/api/status"), "items");
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(8);
            while (!elsewhere.equals(shown) && System.nanoTime() < deadline) {
                Thread.sleep(200);
                shown = lastRunId(get(ferry, "/api/status"), "items");
            }
            assertThat(shown).isEqualTo(elsewhere);
        } finally {
            dst.execute("DELETE FROM con._ferry_runs WHERE run_id::text IN ('" + elsewhere + "', '" + local + "')");
        }
    }

    static String lastRunId(HttpResponse<String> status, String transfer) throws Exception {
        JsonArray all = (JsonArray) Jsoner.deserialize(status.body());
        JsonObject t = (JsonObject) all.stream().filter(o -> ((JsonObject) o).get("name").equals(transfer)).findFirst().orElseThrow();
        return (String) ((JsonObject) t.get("lastRun")).get("runId");
    }

    @Test
    @Timeout(90)
    void onLoopbackTheApiShowsTheHistoryAndActionsNeedNoToken() throws Exception {
        try (FerryRuntime ferry = start(Map.of())) {
            HttpResponse<String> status = get(ferry, "/api/status");
            assertThat(status.statusCode()).isEqualTo(200);
            assertThat(status.headers().firstValue("Content-Type").orElse("")).startsWith("application/json");
            JsonArray all = (JsonArray) Jsoner.deserialize(status.body());
            JsonObject items = (JsonObject) all.stream().filter(o -> ((JsonObject) o).get("name").equals("items")).findFirst().orElseThrow();
            JsonObject last = (JsonObject) items.get("lastRun");
            List<String> record = records("items").get(0);
            assertThat(last.get("runId")).isEqualTo(record.get(0));
            assertThat(last.get("status")).isEqualTo(record.get(1));
            assertThat(((Number) last.get("rows")).longValue()).isEqualTo(Long.parseLong(record.get(2))).isEqualTo(57L);
            // from the running scheduler, not estimated
            assertThat(items.get("nextFireEstimated")).isEqualTo(false);
            assertThat(items.get("nextFire")).isNotNull();

            JsonArray runs = (JsonArray) Jsoner.deserialize(get(ferry, "/api/transfers/items/runs").body());
            assertThat(runs).hasSize(1);
            assertThat(((JsonObject) runs.get(0)).get("runId")).isEqualTo(record.get(0));
            assertThat(get(ferry, "/api/transfers/nope/runs").statusCode()).isEqualTo(404);

            JsonArray connections = (JsonArray) Jsoner.deserialize(get(ferry, "/api/connections").body());
            assertThat(connections.stream().map(o -> ((JsonObject) o).get("id")).toList())
                    .containsExactly("source.src", "destination.dst");
            JsonObject d = (JsonObject) connections.get(1);
            assertThat(d.get("user")).isEqualTo(dst.user());
            assertThat(d.get("database")).isEqualTo(dst.database());
            assertThat(d.get("schema")).isEqualTo("con");

            // another site's page in the operator's browser may not act through it
            HttpResponse<String> crossSite = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ferry.httpPort()
                    + "/api/connections/destination.dst/check")).header("Origin", "http://evil.example")
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(crossSite.statusCode()).as(crossSite.body()).isEqualTo(403);
            HttpResponse<String> check = post(ferry, "/api/connections/destination.dst/check", null);
            assertThat(check.statusCode()).as(check.body()).isEqualTo(200);
            assertThat(((JsonObject) Jsoner.deserialize(check.body())).get("status")).as(check.body()).isEqualTo("PASS");
            assertThat(post(ferry, "/api/connections/source.nope/check", null).statusCode()).isEqualTo(404);

            HttpResponse<String> run = post(ferry, "/api/transfers/items/run", null);
            assertThat(run.statusCode()).isEqualTo(403);
            assertThat(run.body()).contains("ferry.console.runNow");
            assertThat(records("items")).hasSize(1);
        }
    }

    @Test
    @Timeout(90)
    void pagesEscapeUserValues() throws Exception {
        try (FerryRuntime ferry = start(Map.of())) {
            HttpResponse<String> page = get(ferry, "/");
            assertThat(page.statusCode()).isEqualTo(200);
            assertThat(page.headers().firstValue("Content-Type").orElse("")).startsWith("text/html");
            assertThat(page.body()).contains("items", "other", "<svg class=\"spark\"", "Test connection")
                    .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;").doesNotContain(SCRIPT)
                    .doesNotContain("Run now</button>"); // off by default
            HttpResponse<String> history = get(ferry, "/transfers/other");
            assertThat(history.statusCode()).isEqualTo(200);
            assertThat(history.body()).contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;").doesNotContain(SCRIPT);
            assertThat(get(ferry, "/transfers/%3Cscript%3E").body()).doesNotContain("<script>alert").contains("&lt;script&gt;");
        }
    }

    @Test
    @Timeout(90)
    void beyondLoopbackWithoutATokenActionsAreRefused() throws Exception {
        try (LogCapture log = LogCapture.of("dev.ferry"); FerryRuntime ferry = start(Map.of("ferry.http.host", "0.0.0.0"))) {
            assertThat(log.lines()).anyMatch(l -> l.contains("no console token is set"));
            HttpResponse<String> check = post(ferry, "/api/connections/destination.dst/check", null);
            assertThat(check.statusCode()).isEqualTo(403);
            assertThat(check.body()).contains("FERRY_CONSOLE_TOKEN", "ferry.console.tokenFile");
            // reading needs no token
            assertThat(get(ferry, "/api/status").statusCode()).isEqualTo(200);
        }
    }

    @Test
    @Timeout(90)
    void beyondLoopbackActionsNeedTheToken() throws Exception {
        Path tokenFile = Files.createTempFile("console-token", "");
        String token = "t0ken-" + System.nanoTime();
        Files.writeString(tokenFile, token + "\n");
        try (FerryRuntime ferry = start(Map.of("ferry.http.host", "0.0.0.0", "ferry.console.tokenFile", tokenFile.toString(),
                "ferry.console.runNow", "true"))) {
            assertThat(post(ferry, "/api/connections/source.src/check", null).statusCode()).isEqualTo(401);
            assertThat(post(ferry, "/api/connections/source.src/check", token + "x").statusCode()).isEqualTo(401);
            HttpResponse<String> ok = post(ferry, "/api/connections/source.src/check", token);
            assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
            assertThat(((JsonObject) Jsoner.deserialize(ok.body())).get("status")).isEqualTo("PASS");
            assertThat(get(ferry, "/").body()).contains("Run now</button>", "id=\"token\"");

            assertThat(post(ferry, "/api/transfers/items/run", null).statusCode()).isEqualTo(401);
            int before = records("items").size();
            HttpResponse<String> run = post(ferry, "/api/transfers/items/run", token);
            assertThat(run.statusCode()).as(run.body()).isEqualTo(202);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!(records("items").size() > before && records("items").get(0).get(1).equals("succeeded"))) {
                assertThat(System.nanoTime()).as("the run started from the console").isLessThan(deadline);
                Thread.sleep(50);
            }
            assertThat(records("items").get(0).get(2)).isEqualTo("57");
        }
    }

    /** The status line of a request sent as typed, Host header included (java.net.http does not let a test set Host). */
    static String rawStatusLine(FerryRuntime ferry, String method, String path, String host) throws Exception {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", ferry.httpPort())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write((method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 0\r\n"
                    + "Connection: close\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            String response = new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            BODIES.add(response);
            return response.lines().findFirst().orElse("");
        }
    }

    /**
     * DNS rebinding: another site's name, resolved to 127.0.0.1, makes its page same-origin with the console in the
     * operator's browser. On loopback, a request naming any other host than the server's own is refused, GET too.
     */
    @Test
    @Timeout(90)
    void onLoopbackRequestsNamingAnotherHostAreRefused() throws Exception {
        try (FerryRuntime ferry = start(Map.of())) {
            int port = ferry.httpPort();
            for (String path : new String[] {"/", "/api/status", "/api/connections", "/transfers/items", "/api/transfers/items/runs"}) {
                assertThat(rawStatusLine(ferry, "GET", path, "evil.example:" + port)).as(path).contains(" 403 ");
                assertThat(rawStatusLine(ferry, "GET", path, "localhost:" + port)).as(path).contains(" 200 ");
            }
            assertThat(rawStatusLine(ferry, "POST", "/api/connections/source.src/check", "evil.example:" + port)).contains(" 403 ");
            assertThat(rawStatusLine(ferry, "POST", "/api/connections/source.src/check", "127.0.0.1")).contains(" 200 ");
            assertThat(rawStatusLine(ferry, "GET", "/api/connections", "[::1]:" + port)).contains(" 200 ");
            // the server's own name on another port is another server's
            assertThat(rawStatusLine(ferry, "GET", "/api/connections", "127.0.0.1:" + (port == 1 ? 2 : port - 1))).contains(" 403 ");
        }
    }

    /** Camel's own properties set the addresses the server binds: beyond loopback there, actions need the token. */
    @Test
    @Timeout(90)
    void camelsServerHostBeyondLoopbackLocksActions() throws Exception {
        try (FerryRuntime ferry = start(Map.of("camel.server.host", "0.0.0.0", "camel.management.host", "0.0.0.0"))) {
            HttpResponse<String> check = post(ferry, "/api/connections/destination.dst/check", null);
            assertThat(check.statusCode()).as(check.body()).isEqualTo(403);
            assertThat(check.body()).contains("FERRY_CONSOLE_TOKEN");
            // any name may reach it there: the token guards the actions
            assertThat(rawStatusLine(ferry, "GET", "/api/connections", "ferry.example:" + ferry.httpPort())).contains(" 200 ");
        }
        try (FerryRuntime ferry = start(Map.of("camel.management.host", "0.0.0.0"))) {
            assertThat(post(ferry, "/api/connections/destination.dst/check", null).statusCode()).isEqualTo(403);
        }
    }
}
