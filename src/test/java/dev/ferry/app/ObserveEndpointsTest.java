package dev.ferry.app;

import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.apache.camel.util.json.JsonArray;
import org.apache.camel.util.json.JsonObject;
import org.apache.camel.util.json.Jsoner;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * {@code /observe/metrics} and {@code /observe/health} of a running Ferry: Ferry's meters, labelled by transfer and
 * table, agree with the run history and the watermarks it wrote; the health checks answer in JSON, readiness with
 * Ferry's checks, liveness without them; a transfer removed leaves no series and no check behind.
 */
class ObserveEndpointsTest {

    @Test
    @Timeout(90)
    void metricsAgreeWithTheRunHistoryAndHealthAnswersInJson() throws Exception {
        TestDb src = TestDb.source("observe");
        TestDb dst = TestDb.destination("observe");
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.orders (id int PRIMARY KEY, amount numeric(10,2), updated_at timestamptz NOT NULL)",
                "INSERT INTO app.orders SELECT g, g * 1.5, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute'"
                        + " FROM generate_series(1, 300) g",
                "CREATE TABLE app.events (id bigint PRIMARY KEY, note text)",
                "INSERT INTO app.events SELECT g, 'e ' || g FROM generate_series(1, 100) g");
        src.grantRead("app");
        String yaml = transfer("orders", "app.orders", "mode", "incremental", "cursor", "updated_at")
                + transfer("events", "app.events", "mode", "xmin");
        Path dir = FerryHarness.write(src, dst, "export", yaml, Map.of("ferry.health.interval", "1s", "ferry.routesRefresh", "1s"));
        try (FerryRuntime ferry = new FerryRuntime(dir.resolve("application.properties"), dir.resolve("routes"),
                FerryRuntime.Trigger.SCHEDULED, new Properties(), null)) {
            ferry.start();
            int port = ferry.httpPort();
            assertThat(port).isPositive();
            // the schedules' first fires (then hourly), and one more run of orders, by hand
            await(() -> succeededRuns(dst, "orders") == 1 && succeededRuns(dst, "events") == 1, "both transfers ran once");
            assertThat(ferry.runOnce("orders").status().name()).isEqualTo("SUCCEEDED");
            src.execute("INSERT INTO app.events VALUES (101, 'e 101')");
            assertThat(ferry.runOnce("events").status().name()).isEqualTo("SUCCEEDED");

            Map<String, Double> m = metrics(port);
            assertThat(m.get("ferry_runs_total{outcome=succeeded,transfer=orders}")).isEqualTo(succeededRuns(dst, "orders"))
                    .isEqualTo(2.0);
            assertThat(m.get("ferry_runs_total{outcome=succeeded,transfer=events}")).isEqualTo(2.0);
            assertThat(m.get("ferry_run_duration_seconds_count{transfer=orders}")).isEqualTo(2.0);
            assertThat(m.get("ferry_run_wait_seconds_count{transfer=orders}")).isEqualTo(2.0);
            assertThat(m.get("ferry_runs_in_flight")).isEqualTo(0.0);
            assertThat(m.get("ferry_runs_waiting_sessions")).isEqualTo(0.0);
            assertThat(m.get("ferry_last_success_timestamp_seconds{transfer=orders}"))
                    .isCloseTo(scalar(dst, "SELECT extract(epoch FROM max(finished_at)) FROM export._ferry_runs"
                            + " WHERE transfer = 'orders'").doubleValue(), within(1.0));
            // rows and bytes, counted as they stream (the progress board's counters), agree with the run history
            assertThat(m.get("ferry_rows_total{table=app.orders,transfer=orders}"))
                    .isEqualTo(scalar(dst, "SELECT sum(rows) FROM export._ferry_runs WHERE transfer = 'orders'").doubleValue());
            assertThat(m.get("ferry_rows_total{table=app.events,transfer=events}"))
                    .isEqualTo(scalar(dst, "SELECT sum(rows) FROM export._ferry_runs WHERE transfer = 'events'").doubleValue());
            assertThat(m.get("ferry_bytes_total{table=app.orders,transfer=orders}")).isGreaterThan(300 * 10.0);
            // Camel's route meters are in the same registry
            assertThat(m.keySet()).anyMatch(k -> k.startsWith("camel_exchanges_total{") && k.contains("routeId=orders"));

            // the lag, as stored for the console, and as the gauge says: newest - watermark, computed here in SQL
            try (Connection c = src.admin(); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT max(updated_at)::text FROM app.orders")) {
                rs.next();
                assertThat(text(dst, "SELECT source_newest FROM export._ferry_state WHERE transfer = 'orders'"))
                        .isEqualTo(rs.getString(1));
            }
            BigDecimal expected = scalar(dst, "SELECT extract(epoch FROM (source_newest::timestamptz - cursor_value::timestamptz))"
                    + " FROM export._ferry_state WHERE transfer = 'orders'");
            assertThat(scalar(dst, "SELECT lag FROM export._ferry_state WHERE transfer = 'orders'")).isEqualByComparingTo(expected);
            assertThat(text(dst, "SELECT lag_unit || ' ' || (lag_at > now() - interval '1 minute') FROM export._ferry_state"
                    + " WHERE transfer = 'orders'")).isEqualTo("seconds true");
            assertThat(m.get("ferry_watermark_lag_seconds{table=app.orders,transfer=orders}")).isEqualTo(expected.doubleValue());
            // xmin: the source's next transaction id against the committed horizon
            BigDecimal xminLag = scalar(dst, "SELECT source_newest::bigint - xmin_horizon FROM export._ferry_state"
                    + " WHERE transfer = 'events'");
            assertThat(xminLag.signum()).isNotNegative();
            assertThat(scalar(dst, "SELECT lag FROM export._ferry_state WHERE transfer = 'events'")).isEqualByComparingTo(xminLag);
            assertThat(text(dst, "SELECT lag_unit FROM export._ferry_state WHERE transfer = 'events'")).isEqualTo("transactions");
            assertThat(m.get("ferry_watermark_lag_values{table=app.events,transfer=events}")).isEqualTo(xminLag.doubleValue());

            // health: readiness has Ferry's checks (once the background check ran), liveness does not
            await(() -> "UP".equals(check(get(port, "/observe/health/ready").body(), "ferry-transfer-orders")), "the transfer checked");
            HttpResponse<String> ready = get(port, "/observe/health/ready");
            assertThat(ready.statusCode()).isEqualTo(200);
            JsonObject readyJson = (JsonObject) Jsoner.deserialize(ready.body());
            assertThat(readyJson.getString("status")).isEqualTo("UP");
            String destinationCheck = "ferry-destination-" + dst.user() + "@" + dst.server().host() + ":" + dst.server().port()
                    + "/" + dst.database();
            assertThat(check(ready.body(), destinationCheck)).isEqualTo("UP");
            assertThat(check(ready.body(), "ferry-transfer-events")).isEqualTo("UP");
            assertThat(ready.body()).contains("reachable and authenticated").doesNotContain(dst.password());
            HttpResponse<String> live = get(port, "/observe/health/live");
            assertThat(live.statusCode()).isEqualTo(200);
            assertThat(live.body()).doesNotContain("ferry-transfer-", "ferry-destination-");
            assertThat(((JsonObject) Jsoner.deserialize(live.body())).getString("status")).isEqualTo("UP");
            HttpResponse<String> all = get(port, "/observe/health");
            assertThat(all.statusCode()).isEqualTo(200);
            assertThat(check(all.body(), "ferry-transfer-orders")).isEqualTo("UP");

            // a transfer changed in the route files (replaced) keeps its series: the age of its data and its counts
            Map<String, Double> beforeChange = metrics(port);
            double lastSuccess = beforeChange.get("ferry_last_success_timestamp_seconds{transfer=events}");
            java.nio.file.Files.writeString(dir.resolve("routes/transfers.yaml"), transfer("orders", "app.orders", "mode", "incremental", "cursor", "updated_at")
                    + transfer("events", "app.events", "mode", "xmin", "batchSize", "777"));
            await(() -> ferry.catalog().contains("events") && ferry.catalog().get("events").batchSize() == 777, "the transfer replaced");
            Map<String, Double> afterChange = metrics(port);
            assertThat(afterChange.get("ferry_last_success_timestamp_seconds{transfer=events}")).isGreaterThanOrEqualTo(lastSuccess);
            assertThat(afterChange.get("ferry_runs_total{outcome=succeeded,transfer=events}")).isGreaterThanOrEqualTo(2.0);
            // and its health check, as last checked (not one registered anew, "added, not checked yet")
            assertThat(checkJson(get(port, "/observe/health/ready").body(), "ferry-transfer-events").getString("message"))
                    .contains("last run did not fail");

            // a transfer removed from the route files takes its series and its health check with it
            java.nio.file.Files.writeString(dir.resolve("routes/transfers.yaml"),
                    transfer("orders", "app.orders", "mode", "incremental", "cursor", "updated_at"));
            await(() -> !ferry.catalog().contains("events"), "the transfer removed");
            assertThat(metrics(port).keySet()).noneMatch(k -> k.startsWith("ferry_") && k.contains("transfer=events"))
                    .anyMatch(k -> k.startsWith("ferry_runs_total{") && k.contains("transfer=orders"));
            assertThat(check(get(port, "/observe/health/ready").body(), "ferry-transfer-events")).isNull();
            assertThat(check(get(port, "/observe/health/ready").body(), "ferry-transfer-orders")).isEqualTo("UP");
        }
    }

    /** A retry after a transient failure (a merge that waited lockTimeout for a row lock) counts for its table. */
    @Test
    @Timeout(90)
    void retriesAreCountedByTransferAndTable() throws Exception {
        TestDb src = TestDb.source("retried");
        TestDb dst = TestDb.destination("retried");
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.items (id int PRIMARY KEY, label text, updated_at timestamptz NOT NULL)",
                "INSERT INTO app.items SELECT g, 'item ' || g, now() - interval '1 hour' FROM generate_series(1, 20) g");
        src.grantRead("app");
        Path dir = FerryHarness.write(src, dst, "export", transfer("items", "app.items", "mode", "incremental", "cursor",
                "updated_at", "retryDelay", "200ms", "retryAttempts", "10"), Map.of("ferry.destination.dst.lockTimeout", "1s"));
        try (FerryRuntime ferry = new FerryRuntime(dir.resolve("application.properties"), dir.resolve("routes"),
                FerryRuntime.Trigger.SCHEDULED, new Properties(), null)) {
            ferry.start();
            // ended, not only recorded: a run by hand while the first is still ending would be skipped
            await(() -> succeededRuns(dst, "items") == 1
                    && Double.valueOf(1.0).equals(metrics(ferry.httpPort()).get("ferry_runs_total{outcome=succeeded,transfer=items}")),
                    "the first run");
            src.execute("UPDATE app.items SET label = 'changed', updated_at = now() WHERE id = 1");
            try (Connection holder = dst.admin()) {
                holder.setAutoCommit(false);
                try (Statement st = holder.createStatement()) {
                    st.execute("UPDATE export.items SET label = label WHERE id = 1"); // the merge waits on this row
                }
                java.util.concurrent.CompletableFuture<dev.ferry.state.TransferRun> run =
                        java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                            try {
                                return ferry.runOnce("items");
                            } catch (Exception e) {
                                throw new java.util.concurrent.CompletionException(e);
                            }
                        });
                await(() -> scalar(dst, "SELECT coalesce(max(attempts), 0) FROM export._ferry_runs WHERE transfer = 'items'")
                        .intValue() > 1, "a retry");
                holder.rollback();
                assertThat(run.get(60, java.util.concurrent.TimeUnit.SECONDS).status().name()).isEqualTo("SUCCEEDED");
            }
            BigDecimal attempts = scalar(dst, "SELECT max(attempts) FROM export._ferry_runs WHERE transfer = 'items'");
            assertThat(metrics(ferry.httpPort()).get("ferry_retries_total{table=app.items,transfer=items}"))
                    .isEqualTo(attempts.doubleValue() - 1);
            assertThat(text(dst, "SELECT label FROM export.items WHERE id = 1")).isEqualTo("changed");
        }
    }

    /** Runs of the transfer that succeeded (each table's record succeeded), as the run history says. */
    static double succeededRuns(TestDb dst, String transfer) throws Exception {
        try (Connection c = dst.admin(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM (SELECT run_id FROM export._ferry_runs WHERE transfer = '"
                     + transfer + "' GROUP BY run_id HAVING bool_and(status = 'succeeded')) r")) {
            rs.next();
            return rs.getLong(1);
        } catch (java.sql.SQLException e) {
            return 0; // no history yet
        }
    }

    static BigDecimal scalar(TestDb db, String sql) throws Exception {
        try (Connection c = db.admin(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getBigDecimal(1);
        }
    }

    static String text(TestDb db, String sql) throws Exception {
        try (Connection c = db.admin(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    static HttpResponse<String> get(int port, String path) throws Exception {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A health check's status in the JSON of /observe/health, or null when it is not there. */
    static String check(String json, String id) throws Exception {
        JsonObject body = (JsonObject) Jsoner.deserialize(json);
        JsonArray checks = body.getCollection("checks");
        if (checks == null) {
            return null;
        }
        for (Object o : checks) {
            JsonObject check = (JsonObject) o;
            if (id.equals(check.getString("name"))) {
                return check.getString("status");
            }
        }
        return null;
    }

    /** A check's JSON object. */
    static JsonObject checkJson(String json, String id) throws Exception {
        JsonArray checks = ((JsonObject) Jsoner.deserialize(json)).getCollection("checks");
        for (Object o : checks) {
            if (id.equals(((JsonObject) o).getString("name"))) {
                return (JsonObject) o;
            }
        }
        return null;
    }

    private static final Pattern SAMPLE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)})?\\s+(\\S+)(?:\\s+\\d+)?");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    /**
     * The Prometheus text format's samples, keyed {@code name{label=value,...}} with the labels sorted by name (no
     * quotes), or {@code name} alone; comment lines skipped.
     */
    static Map<String, Double> metrics(int port) throws Exception {
        HttpResponse<String> r = get(port, "/observe/metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        Map<String, Double> samples = new LinkedHashMap<>();
        for (String line : r.body().split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            Matcher m = SAMPLE.matcher(line.strip());
            assertThat(m.matches()).as("a sample line: %s", line).isTrue();
            List<String> labels = new ArrayList<>();
            if (m.group(2) != null) {
                Matcher l = LABEL.matcher(m.group(2));
                while (l.find()) {
                    labels.add(l.group(1) + "=" + l.group(2).replace("\\\"", "\"").replace("\\\\", "\\"));
                }
            }
            labels.sort(null);
            String key = labels.isEmpty() ? m.group(1) : m.group(1) + "{" + String.join(",", labels) + "}";
            samples.put(key, Double.parseDouble(m.group(3)));
        }
        return samples;
    }

    static void await(BooleanSupplierWithException condition, String what) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(45).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(100);
        }
    }

    @FunctionalInterface
    interface BooleanSupplierWithException {
        boolean getAsBoolean() throws Exception;
    }
}
