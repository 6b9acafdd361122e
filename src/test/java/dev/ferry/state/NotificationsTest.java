package dev.ferry.state;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import com.sun.net.httpserver.HttpServer;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.LogCapture;
import dev.ferry.testing.TestDb;
import org.apache.camel.util.json.JsonObject;
import org.apache.camel.util.json.Jsoner;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/** Webhook events at the end of runs, and a failing webhook that never fails the transfer. */
class NotificationsTest {

    HttpServer server;
    final List<JsonObject> events = new CopyOnWriteArrayList<>();
    final List<String> authorizations = new CopyOnWriteArrayList<>();
    final AtomicInteger failuresLeft = new AtomicInteger();
    final AtomicInteger requests = new AtomicInteger();

    @BeforeEach
    void startServer() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/hook", exchange -> {
            requests.incrementAndGet();
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            int status = failuresLeft.getAndDecrement() > 0 ? 500 : 204;
            if (status == 204) {
                try {
                    events.add((JsonObject) Jsoner.deserialize(body));
                } catch (Exception e) {
                    status = 400;
                }
                authorizations.add(String.valueOf(exchange.getRequestHeaders().getFirst("Authorization")));
            }
            exchange.sendResponseHeaders(status, -1);
            exchange.close();
        });
        server.start();
    }

    @AfterEach
    void stopServer() {
        server.stop(0);
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/hook?key=s3cr3t-in-url";
    }

    @Test
    void successAndFailureEventsArePostedAsJson() throws Exception {
        TestDb src = TestDb.source("notify");
        TestDb dst = TestDb.destination("notify");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.t (id int PRIMARY KEY, v text)",
                "INSERT INTO app.t SELECT g, 'v' FROM generate_series(1, 120) g", "CREATE TABLE app.u (id int PRIMARY KEY)");
        src.grantRead("app");
        String yaml = transfer("ok", "app.t") + transfer("bad", "app.u", "destination", "dst2");
        Map<String, String> props = new java.util.HashMap<>(FerryHarness.destination("dst2", dst, "export2"));
        props.put("ferry.webhook.url", url());
        props.put("ferry.webhook.token", "tok-123");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml, props)) {
            TransferRun ok = ferry.sync("ok");
            src.execute("REVOKE SELECT ON app.u FROM \"" + src.user() + "\"");
            TransferRun bad = ferry.sync("bad");

            assertThat(events).hasSize(2);
            JsonObject success = events.get(0);
            assertThat(success.getString("type")).isEqualTo("transfer_success");
            assertThat(success.getString("transfer")).isEqualTo("ok");
            assertThat(success.getString("run_id")).isEqualTo(ok.id().toString());
            assertThat(success.getString("status")).isEqualTo("succeeded");
            assertThat(success.getLong("rows")).isEqualTo(120L);
            assertThat(success.getDouble("duration_seconds")).isPositive();
            assertThat(success.get("error")).isNull();
            assertThat((java.util.Collection<?>) success.getCollection("tables")).hasSize(1);
            JsonObject table = (JsonObject) success.getCollection("tables").iterator().next();
            assertThat(table.getString("table")).isEqualTo("app.t");
            assertThat(table.getString("destination_table")).isEqualTo("export.t");

            JsonObject failure = events.get(1);
            assertThat(failure.getString("type")).isEqualTo("transfer_error");
            assertThat(failure.getString("run_id")).isEqualTo(bad.id().toString());
            assertThat(failure.getString("status")).isEqualTo("failed");
            assertThat(failure.getString("error")).contains("may not read app.u").contains("GRANT SELECT");
            assertThat(authorizations).containsOnly("Bearer tok-123");
        }
    }

    @Test
    void aFailingWebhookIsRetriedAndNeverFailsTheTransfer() throws Exception {
        TestDb src = TestDb.source("notify_fail");
        TestDb dst = TestDb.destination("notify_fail");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.t (id int PRIMARY KEY)", "INSERT INTO app.t VALUES (1)");
        src.grantRead("app");
        failuresLeft.set(100); // always down
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", transfer("t", "app.t", "webhook", url()))) {
            TransferRun run = ferry.sync("t");
            assertThat(run.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(requests.get()).as("the first attempt and three retries").isEqualTo(4);
        }
        failuresLeft.set(2); // down twice, then up: the third attempt delivers
        requests.set(0);
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", transfer("t", "app.t", "webhook", url()))) {
            ferry.sync("t");
            assertThat(requests.get()).isEqualTo(3);
            assertThat(events).hasSize(1);
        }
    }

    /**
     * The notify route's redelivery policy is the one place that sets how often a webhook is tried: here a copy of the
     * pipeline tries it twice, and the log says so. Before, the log said "4 attempts" whatever the route did.
     */
    @Test
    void theLogCountsTheAttemptsTheRouteMade() throws Exception {
        TestDb src = TestDb.source("notify_count");
        TestDb dst = TestDb.destination("notify_count");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.t (id int PRIMARY KEY)", "INSERT INTO app.t VALUES (1)");
        src.grantRead("app");
        failuresLeft.set(100); // always down
        java.nio.file.Path dir = FerryHarness.write(src, dst, "export", transfer("t", "app.t", "webhook", url()), Map.of());
        String pipeline = java.nio.file.Files.readString(java.nio.file.Path.of("routes/ferry-pipeline.yaml"));
        String policy = "deadLetterUri: bean:ferryNotifications?method=undelivered\n        redeliveryPolicy:\n"
                + "          maximumRedeliveries: 3\n";
        assertThat(pipeline).contains(policy);
        // a user's copy of the pipeline replaces the shipped one
        java.nio.file.Files.writeString(dir.resolve("routes/ferry-pipeline.yaml"), pipeline.replace(policy,
                policy.replace("maximumRedeliveries: 3", "maximumRedeliveries: 1")));
        try (LogCapture log = LogCapture.of("dev.ferry.notify");
             dev.ferry.app.FerryRuntime ferry = new dev.ferry.app.FerryRuntime(dir.resolve("application.properties"),
                     dir.resolve("routes"), dev.ferry.app.FerryRuntime.Trigger.MANUAL, new java.util.Properties(), null)) {
            ferry.start();
            assertThat(ferry.runOnce("t").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(requests.get()).isEqualTo(2);
            assertThat(log.lines()).anyMatch(l -> l.startsWith("WARN transfer t: transfer_success for run ")
                    && l.contains(" not delivered after 2 attempts ("));
        }
    }

    /** The README says how often a failing webhook is retried: what the shipped notify route does. */
    @Test
    void theReadmeSaysHowOftenTheShippedRouteRetries() throws Exception {
        String pipeline = java.nio.file.Files.readString(java.nio.file.Path.of("routes/ferry-pipeline.yaml"));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("deadLetterUri: bean:ferryNotifications\\?method=undelivered\\s+"
                + "redeliveryPolicy:\\s+maximumRedeliveries: (\\d+)").matcher(pipeline);
        assertThat(m.find()).isTrue();
        String times = Map.of("1", "once", "2", "twice", "3", "three times", "4", "four times").get(m.group(1));
        assertThat(java.nio.file.Files.readString(java.nio.file.Path.of("README.md"))).contains("A webhook that fails\nis retried "
                + times + " with backoff");
    }
}
