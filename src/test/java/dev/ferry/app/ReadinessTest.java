package dev.ferry.app;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;

import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TcpProxy;
import dev.ferry.testing.TestDb;
import org.apache.camel.util.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static dev.ferry.app.ObserveEndpointsTest.await;
import static dev.ferry.app.ObserveEndpointsTest.check;
import static dev.ferry.app.ObserveEndpointsTest.checkJson;
import static dev.ferry.app.ObserveEndpointsTest.get;
import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Readiness follows the databases and the runs: a destination whose network swallows everything turns {@code ready}
 * DOWN (503) naming that connection, while every probe answers at once and {@code live} stays UP, and back UP once it accepts them again; a transfer whose last
 * run failed is DOWN with the run's error until a run succeeds.
 */
class ReadinessTest {

    @Test
    @Timeout(90)
    void readyFollowsAnUnreachableDestinationAndAFailedRunWhileLiveStaysUp() throws Exception {
        TestDb src = TestDb.source("ready");
        TestDb dst = TestDb.destination("ready");
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.items (id int PRIMARY KEY, label text)",
                "INSERT INTO app.items SELECT g, 'item ' || g FROM generate_series(1, 50) g");
        src.grantRead("app");
        try (TcpProxy proxy = new TcpProxy(dst.server().host(), dst.server().port())) {
            Path dir = FerryHarness.write(src, dst, "export", transfer("items", "app.items", "every", "1h"), Map.of(
                    "ferry.health.interval", "1s",
                    "ferry.destination.dst.hostname", "127.0.0.1",
                    "ferry.destination.dst.port", String.valueOf(proxy.port()),
                    "ferry.destination.dst.connectTimeout", "2s"));
            try (FerryRuntime ferry = new FerryRuntime(dir.resolve("application.properties"), dir.resolve("routes"),
                    FerryRuntime.Trigger.SCHEDULED, new Properties(), null)) {
                ferry.start();
                int port = ferry.httpPort();
                String destination = "ferry-destination-" + dst.user() + "@127.0.0.1:" + proxy.port() + "/" + dst.database();
                await(() -> get(port, "/observe/health/ready").statusCode() == 200
                        && "UP".equals(check(get(port, "/observe/health/ready").body(), "ferry-transfer-items"))
                        && ObserveEndpointsTest.succeededRuns(dst, "items") == 1, "ready, after the first run");

                // the destination's network swallows everything: ready DOWN once the check's connect timeout passed,
                // naming it and why; every probe meanwhile answers at once, from the last results; live UP
                proxy.blackHole();
                long deadline = System.nanoTime() + java.time.Duration.ofSeconds(45).toNanos();
                while (get(port, "/observe/health/ready").statusCode() != 503) {
                    assertThat(System.nanoTime()).as("ready turns DOWN").isLessThan(deadline);
                    long start = System.nanoTime();
                    get(port, "/observe/health/ready");
                    assertThat(java.time.Duration.ofNanos(System.nanoTime() - start)).isLessThan(java.time.Duration.ofSeconds(1));
                    Thread.sleep(100);
                }
                HttpResponse<String> ready = get(port, "/observe/health/ready");
                JsonObject down = checkJson(ready.body(), destination);
                assertThat(down.getString("status")).isEqualTo("DOWN");
                assertThat(down.getString("message")).contains("destination 'dst'", "cannot connect", "fix:")
                        .doesNotContain(dst.password());
                HttpResponse<String> live = get(port, "/observe/health/live");
                assertThat(live.statusCode()).isEqualTo(200);
                assertThat(live.body()).doesNotContain(destination);

                // healed: UP again
                assertThat(get(port, "/observe/health").statusCode()).isEqualTo(503);
                proxy.heal();
                await(() -> get(port, "/observe/health/ready").statusCode() == 200
                        && "UP".equals(check(get(port, "/observe/health/ready").body(), destination)), "ready UP again");

                // a run that fails: the transfer's check DOWN with the run's error; a later success: UP
                src.execute("REVOKE SELECT ON app.items FROM " + src.user());
                assertThat(ferry.runOnce("items").status().name()).isEqualTo("FAILED");
                await(() -> "DOWN".equals(check(get(port, "/observe/health/ready").body(), "ferry-transfer-items")),
                        "the transfer's check DOWN");
                JsonObject failed = checkJson(get(port, "/observe/health/ready").body(), "ferry-transfer-items");
                assertThat(failed.getString("message")).contains("last run failed", "may not read app.items");
                assertThat(get(port, "/observe/health/ready").statusCode()).isEqualTo(503);
                assertThat(get(port, "/observe/health/live").statusCode()).isEqualTo(200);

                // a reset, and a run interrupted (by a shutdown: one table done, one stopped), decide nothing: still
                // DOWN with the failed run's error, until a run succeeds
                try (java.sql.Connection c = dst.admin()) {
                    dev.ferry.state.RunHistory.reset(c, "export", java.util.UUID.randomUUID(), "items", "full_refresh",
                            "app.items", "watermark deleted");
                    dst.execute("INSERT INTO export._ferry_runs (run_id, transfer, source_table, mode, status, started_at,"
                            + " finished_at, error) SELECT r, 'items', t, 'full_refresh', s, clock_timestamp(), clock_timestamp(),"
                            + " e FROM (SELECT gen_random_uuid() r) one, (VALUES ('app.items', 'succeeded', NULL),"
                            + " ('app.other', 'interrupted', 'stopped for shutdown')) AS v(t, s, e)");
                }
                java.time.Instant written = java.time.Instant.now();
                await(() -> !checkedAt(port).isEmpty() && java.time.Instant.parse(checkedAt(port)).isAfter(written),
                        "the transfer checked after the reset");
                JsonObject stillFailed = checkJson(get(port, "/observe/health/ready").body(), "ferry-transfer-items");
                assertThat(stillFailed.getString("status")).isEqualTo("DOWN");
                assertThat(stillFailed.getString("message")).contains("last run failed", "may not read app.items");
                src.execute("GRANT SELECT ON app.items TO " + src.user());
                assertThat(ferry.runOnce("items").status().name()).isEqualTo("SUCCEEDED");
                await(() -> "UP".equals(check(get(port, "/observe/health/ready").body(), "ferry-transfer-items"))
                        && get(port, "/observe/health/ready").statusCode() == 200, "the transfer's check UP again");
            }
        }
    }

    /** When the transfer's check last read its history ("" before it did). */
    private static String checkedAt(int port) throws Exception {
        JsonObject check = checkJson(get(port, "/observe/health/ready?data=true").body(), "ferry-transfer-items");
        Object details = check == null ? null : check.get("data"); // a check's details, with ?data=true
        Object at = details instanceof JsonObject d ? d.get("checkedAt") : null;
        return at == null ? "" : at.toString();
    }
}
