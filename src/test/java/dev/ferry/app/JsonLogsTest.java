package dev.ferry.app;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.apache.camel.util.json.JsonObject;
import org.apache.camel.util.json.Jsoner;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * JSON logs with one setting (FERRY_LOG_FORMAT=json): every line a JSON object carrying the run's transfer, table and
 * run id, on whatever thread logged it; the plain format unchanged without it.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class JsonLogsTest {

    static TestDb src;
    static TestDb dst;
    static Path dir;

    @BeforeAll
    static void setUp() throws Exception {
        src = TestDb.source("jsonlogs");
        dst = TestDb.destination("jsonlogs");
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.items (id int PRIMARY KEY, name text)",
                "INSERT INTO app.items SELECT g, 'item ' || g FROM generate_series(1, 2000) g",
                "CREATE TABLE app.events (id int PRIMARY KEY, kind text, at timestamptz NOT NULL)",
                "INSERT INTO app.events SELECT g, 'k' || g % 7, timestamptz '2025-01-01' + g * interval '1 minute'"
                        + " FROM generate_series(1, 1000) g");
        src.grantRead("app");
        // a table the reader may not read: its table fails at once (permanent), the run's other tables go on
        src.execute("CREATE TABLE app.secret (id int PRIMARY KEY)", "REVOKE ALL ON app.secret FROM " + src.user());
        dir = FerryHarness.write(src, dst, "export",
                FerryHarness.transfer("items", "app.items, app.secret", "parallelTables", "2", "copyStreams", "2")
                        + FerryHarness.transfer("events", "app.events", "mode", "incremental", "cursor", "at", "batchSize", "200"),
                Map.of());
    }

    @Test
    void everyLineIsJsonAndATableLineCarriesTheTransferTableAndRunId() throws Exception {
        List<String> lines = sync("json");
        List<JsonObject> json = new ArrayList<>();
        for (String line : lines) {
            Object parsed = Jsoner.deserialize(line);
            assertThat(parsed).as("a JSON object: %s", line).isInstanceOf(JsonObject.class);
            json.add((JsonObject) parsed);
        }
        assertThat(json).allSatisfy(o -> assertThat(o).containsKeys("timestamp", "level", "logger", "thread", "message"));

        Map<String, String> runIds = new java.util.HashMap<>();
        try (Connection d = dst.admin()) {
            for (String row : Dumps.rows(d, "SELECT DISTINCT transfer, run_id FROM export._ferry_runs")) {
                runIds.put(row.split("\\|")[0], row.split("\\|")[1]);
            }
        }
        assertThat(runIds).containsOnlyKeys("items", "events");

        JsonObject itemsEnd = only(json, "transfer items: app.items -> export.items: ");
        assertThat(itemsEnd).containsEntry("transfer", "items").containsEntry("table", "app.items")
                .containsEntry("run_id", runIds.get("items"));
        JsonObject eventsEnd = only(json, "transfer events: app.events -> export.events: ");
        assertThat(eventsEnd).containsEntry("transfer", "events").containsEntry("table", "app.events")
                .containsEntry("run_id", runIds.get("events"));

        JsonObject failed = only(json, "transfer items: app.secret failed after 0 rows");
        assertThat(failed).containsEntry("level", "ERROR").containsEntry("table", "app.secret").containsEntry("run_id", runIds.get("items"));
        assertThat(failed.getString("exception")).startsWith("dev.ferry.source.SourceTableException: the source user "
                + src.user() + " may not read app.secret");

        // every line of a run carries its own run id, whichever thread logged it (the split's table threads too)
        Set<String> threads = new HashSet<>();
        for (JsonObject o : json) {
            if (o.containsKey("transfer")) {
                assertThat(o.getString("run_id")).as("%s", o).isEqualTo(runIds.get(o.getString("transfer")));
                threads.add(o.getString("thread"));
            }
            if (o.containsKey("table")) {
                assertThat(o).containsKey("transfer");
            }
        }
        assertThat(threads).as("the runs logged on more than their launching threads").hasSizeGreaterThan(2);
        // a run's end is the run's line, not its last table's
        assertThat(only(json, "transfer items: run " + runIds.get("items") + " failed")).doesNotContainKey("table").containsEntry("run_id", runIds.get("items"));

        String all = String.join("\n", lines);
        assertThat(all).doesNotContain(src.password()).doesNotContain(dst.password());
    }

    @Test
    void withoutTheSettingTheLinesArePlainAndTheFailureHasNoStackTrace() throws Exception {
        List<String> lines = sync(null);
        assertThat(lines).isNotEmpty().allSatisfy(l -> assertThat(l)
                .matches("\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3} (INFO |WARN |ERROR) .{14} [a-z.]+\\.[A-Za-z]+ - .*"));
        assertThat(lines).anyMatch(l -> l.contains("ERROR") && l.contains("transfer items: app.secret failed after 0 rows"));
    }

    /** "JSON" or a typo named no appender at first: the process ran without a single log line. */
    @Test
    void aFormatInCapitalsIsJsonAndAnUnknownOneLogsPlainWithAWarning() throws Exception {
        List<String> capitals = syncEvents("JSON");
        assertThat(capitals).isNotEmpty().allSatisfy(l -> assertThat(Jsoner.deserialize(l)).isInstanceOf(JsonObject.class));
        assertThat(capitals).anyMatch(l -> l.contains("transfer events: run ") && l.contains("succeeded"));

        List<String> unknown = syncEvents("xml");
        assertThat(unknown.get(0)).contains("log format 'xml'").contains("logging plain");
        assertThat(unknown).anyMatch(l -> l.matches("\\d{4}-\\d\\d-\\d\\d .* INFO .* - transfer events: run .* succeeded.*"));
    }

    private static List<String> syncEvents(String format) throws Exception {
        Path log = Files.createTempFile(dir, "sync-events", ".log");
        ProcessBuilder pb = new ProcessBuilder(List.of(System.getProperty("java.home") + File.separator + "bin" + File.separator + "java",
                "-cp", System.getProperty("java.class.path"), "dev.ferry.app.Ferry",
                "--config", dir.resolve("application.properties").toString(), "--routes", dir.resolve("routes").toString(),
                "sync", "events"))
                .redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("FERRY_LOG_FORMAT", format);
        Process p = pb.start();
        assertThat(p.waitFor(90, TimeUnit.SECONDS)).isTrue();
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as("log:\n%s", String.join("\n", lines)).isEqualTo(Ferry.OK);
        return lines;
    }

    @Test
    void retriesOfATableKeepTheKeysAndTheRunClearsThemAtItsEnd() throws Exception {
        int closed;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            closed = s.getLocalPort(); // nothing listens there once closed: every connection is refused, a transient failure
        }
        Map<String, String> props = Map.of("ferry.source.far.hostname", "127.0.0.1", "ferry.source.far.port", String.valueOf(closed),
                "ferry.source.far.database", "nowhere", "ferry.source.far.user", "u", "ferry.source.far.password", "p",
                "ferry.source.far.connectTimeout", "1s");
        List<Map<String, String>> events = new java.util.concurrent.CopyOnWriteArrayList<>();
        org.apache.logging.log4j.core.appender.AbstractAppender capture = new org.apache.logging.log4j.core.appender.AbstractAppender(
                "mdc-test", null, null, true, org.apache.logging.log4j.core.config.Property.EMPTY_ARRAY) {
            @Override
            public void append(org.apache.logging.log4j.core.LogEvent event) {
                Map<String, String> e = new java.util.HashMap<>(event.getContextData().toMap());
                e.put("message", event.getMessage().getFormattedMessage());
                events.add(e);
            }
        };
        capture.start();
        org.apache.logging.log4j.core.Logger logger = (org.apache.logging.log4j.core.Logger) org.apache.logging.log4j.LogManager
                .getLogger("dev.ferry.transfer");
        logger.addAppender(capture);
        logger.setAdditive(true); // addAppender made its config with the root's additivity (false): later captures above it see its events
        String yaml = FerryHarness.transfer("far", "app.t", "source", "far", "retryAttempts", "1", "retryDelay", "50ms");
        try (FerryHarness ferry = FerryHarness.start(null, dst, "far", yaml, props)) {
            dev.ferry.state.TransferRun run = ferry.sync("far");
            assertThat(run.status()).isEqualTo(dev.ferry.state.TransferRun.Status.FAILED);
            assertThat(org.slf4j.MDC.get("transfer")).as("cleared when the run ended").isNull();
            assertThat(events.stream().filter(e -> e.get("message").contains("retrying (attempt"))).hasSize(1)
                    .allSatisfy(e -> assertThat(e).containsEntry("transfer", "far").containsEntry("table", "app.t")
                            .containsEntry("run_id", run.id().toString()));
            assertThat(events).isNotEmpty().allSatisfy(e -> assertThat(e).containsEntry("transfer", "far")
                    .containsEntry("run_id", run.id().toString()));
        } finally {
            logger.removeAppender(capture);
        }
    }

    @Test
    void aScheduledRunLeavesItsQuartzThreadWithoutTheKeys() throws Exception {
        try (Connection d = dst.admin()) {
            d.createStatement().execute("DROP SCHEMA IF EXISTS sched CASCADE");
        }
        Path scheduled = FerryHarness.write(src, dst, "sched", FerryHarness.transfer("events", "app.events", "mode", "incremental",
                "cursor", "at"), Map.of());
        List<String> afterJobs = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (FerryRuntime ferry = new FerryRuntime(scheduled.resolve("application.properties"), scheduled.resolve("routes"),
                FerryRuntime.Trigger.SCHEDULED, null, java.time.Duration.ofMillis(300))) {
            ferry.start();
            // called after Ferry's own listener, on the job's thread: what that thread's MDC holds once the run is done
            ferry.camel().getComponent("quartz", org.apache.camel.component.quartz.QuartzComponent.class).getScheduler()
                    .getListenerManager().addJobListener(new org.quartz.listeners.JobListenerSupport() {
                        @Override
                        public String getName() {
                            return "test-mdc";
                        }

                        @Override
                        public void jobWasExecuted(org.quartz.JobExecutionContext context, org.quartz.JobExecutionException e) {
                            afterJobs.add(String.valueOf(org.slf4j.MDC.get("transfer")) + "/" + org.slf4j.MDC.get("run_id"));
                        }
                    });
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (afterJobs.size() < 2 && System.nanoTime() < end) {
                Thread.sleep(50);
            }
        }
        assertThat(afterJobs).hasSizeGreaterThanOrEqualTo(2).allSatisfy(v -> assertThat(v).isEqualTo("null/null"));
    }

    private static JsonObject only(List<JsonObject> json, String messageStart) {
        List<JsonObject> found = json.stream().filter(o -> o.getString("message").startsWith(messageStart)).toList();
        assertThat(found).as("lines starting %s", messageStart).hasSize(1);
        return found.get(0);
    }

    /** A child JVM's {@code sync items events} with FERRY_LOG_FORMAT set to {@code format} (null: unset); its output lines. */
    private static List<String> sync(String format) throws Exception {
        try (Connection d = dst.admin()) {
            d.createStatement().execute("DROP SCHEMA IF EXISTS export CASCADE");
        }
        Path log = Files.createTempFile(dir, "sync", ".log");
        ProcessBuilder pb = new ProcessBuilder(List.of(System.getProperty("java.home") + File.separator + "bin" + File.separator + "java",
                "-cp", System.getProperty("java.class.path"), "dev.ferry.app.Ferry",
                "--config", dir.resolve("application.properties").toString(), "--routes", dir.resolve("routes").toString(),
                "sync", "items", "events"))
                .redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().remove("FERRY_LOG_FORMAT");
        if (format != null) {
            pb.environment().put("FERRY_LOG_FORMAT", format);
        }
        Process p = pb.start();
        assertThat(p.waitFor(90, TimeUnit.SECONDS)).isTrue();
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as("one table failed; log:\n%s", String.join("\n", lines)).isEqualTo(Ferry.FAILED);
        return lines;
    }
}
