package dev.ferry.app;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.apache.camel.util.json.JsonArray;
import org.apache.camel.util.json.JsonObject;
import org.apache.camel.util.json.Jsoner;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code ferry status} and {@code ferry history}, as text and as JSON, after a succeeded and a failed sync: what they
 * print is what {@code _ferry_runs} holds. A destination that cannot be reached shows its transfers as unreachable,
 * and the others still show.
 */
class StatusCommandTest {

    static TestDb src;
    static TestDb dst;
    static Path dir;
    /** The destination's run records: transfer -> [run_id, status, rows, error], newest first. */
    static Map<String, List<List<String>>> records = new LinkedHashMap<>();

    @BeforeAll
    static void setUp() throws Exception {
        src = TestDb.source("status");
        dst = TestDb.destination("status");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.items (id int PRIMARY KEY, name text)",
                "INSERT INTO app.items SELECT g, 'item ' || g FROM generate_series(1, 321) g",
                "CREATE TABLE app.doomed (id int PRIMARY KEY)");
        src.grantRead("app");
        String transfers = FerryHarness.transfer("good", "app.items") + FerryHarness.transfer("bad", "app.doomed", "retryAttempts", "0");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "st", transfers)) {
            assertThat(ferry.sync("good").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            src.execute("DROP TABLE app.doomed"); // after the startup check: the run itself fails
            assertThat(ferry.sync("bad").status()).isEqualTo(TransferRun.Status.FAILED);
        }
        // the lag an incremental transfer's runs measure (the columns are absent in schemas older than them)
        dst.execute("ALTER TABLE st._ferry_state ADD COLUMN IF NOT EXISTS source_newest text, ADD COLUMN IF NOT EXISTS lag numeric,"
                + " ADD COLUMN IF NOT EXISTS lag_unit text, ADD COLUMN IF NOT EXISTS lag_at timestamptz",
                "INSERT INTO st._ferry_state (transfer, source_table, mode, cursor_column, key_columns, run_id, source_newest, lag,"
                + " lag_unit, lag_at) VALUES ('good', 'app.items', 'incremental', 'id', '{id}', gen_random_uuid(), '321', 12.5,"
                + " 'seconds', now()), ('good', 'app.more', 'incremental', 'id', '{id}', gen_random_uuid(), '9', 3, 'seconds', now())");
        // the status command's folder: the same destination, and one more whose server refuses connections
        int closed;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        Map<String, String> far = new LinkedHashMap<>(FerryHarness.destination("far", dst, "st"));
        far.put("ferry.destination.far.port", String.valueOf(closed));
        far.put("ferry.destination.far.connectTimeout", "1s");
        dir = FerryHarness.write(src, dst, "st", transfers + FerryHarness.transfer("faraway", "app.items", "destination", "far"), far);
        try (Connection c = dst.admin(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT transfer, run_id, status, rows, error FROM st._ferry_runs ORDER BY started_at DESC")) {
            while (rs.next()) {
                records.computeIfAbsent(rs.getString(1), k -> new java.util.ArrayList<>())
                        .add(java.util.Arrays.asList(rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5)));
            }
        }
        assertThat(records.get("good")).hasSize(1);
        assertThat(records.get("bad")).hasSize(1);
        assertThat(records.get("bad").get(0).get(3)).contains("doomed");
        // a ferry reset since: a record of the history, not a run (status's last run stays the sync)
        try (Connection c = dst.admin()) {
            dev.ferry.state.RunHistory.reset(c, "st", java.util.UUID.randomUUID(), "good", "incremental", "app.items", "reset by a test");
        }
    }

    /** Runs a command; returns {exit status, stdout}. */
    static Object[] ferry(String... args) {
        dev.ferry.testing.FerryCommand.Out o = dev.ferry.testing.FerryCommand.capture(dir, args);
        return new Object[] {o.status(), o.out()};
    }

    @Test
    @Timeout(60)
    void statusAsJsonMatchesTheRunHistory() throws Exception {
        Object[] r = ferry("status", "--json");
        assertThat(r[0]).isEqualTo(0);
        JsonArray all = (JsonArray) Jsoner.deserialize((String) r[1]);
        Map<String, JsonObject> byName = new LinkedHashMap<>();
        for (Object o : all) {
            byName.put((String) ((JsonObject) o).get("name"), (JsonObject) o);
        }
        assertThat(byName).containsOnlyKeys("good", "bad", "faraway");

        JsonObject good = byName.get("good");
        JsonObject bad = byName.get("bad");
        JsonObject last = (JsonObject) good.get("lastRun");
        assertThat(last.get("runId")).isEqualTo(records.get("good").get(0).get(0));
        assertThat(last.get("status")).isEqualTo("succeeded");
        assertThat(((Number) last.get("rows")).longValue()).isEqualTo(321L);
        assertThat(good.get("schedule")).isEqualTo("every 1h");
        assertThat(good.get("lastError")).isNull();
        assertThat(good.get("unreachable")).isNull();
        assertThat(good.get("lastSuccess")).isEqualTo(last.get("started"));
        assertThat(((Number) good.get("ageMillis")).longValue()).isPositive();
        // no scheduler in this process: an every schedule's next fire is the last start plus the interval
        assertThat(Instant.parse((String) good.get("nextFire")))
                .isEqualTo(Instant.parse((String) last.get("started")).plus(Duration.ofHours(1)));
        assertThat(good.get("nextFireEstimated")).isEqualTo(true);
        JsonArray lags = (JsonArray) good.get("lag");
        assertThat(lags).hasSize(2);
        JsonObject items = (JsonObject) lags.stream().filter(l -> ((JsonObject) l).get("table").equals("app.items")).findFirst().orElseThrow();
        assertThat(items.get("lag")).isEqualTo("12.5");
        assertThat(items.get("unit")).isEqualTo("seconds");
        assertThat(items.get("sourceNewest")).isEqualTo("321");
        assertThat(items.get("at")).isNotNull();
        assertThat(((JsonArray) bad.get("lag"))).isEmpty();
        assertThat(((JsonArray) good.get("recentRows")).stream().map(x -> ((Number) x).longValue()).toList()).containsExactly(321L);

        JsonObject badRun = (JsonObject) bad.get("lastRun");
        assertThat(badRun.get("runId")).isEqualTo(records.get("bad").get(0).get(0));
        assertThat(badRun.get("status")).isEqualTo("failed");
        assertThat((String) bad.get("lastError")).contains(records.get("bad").get(0).get(3));
        assertThat(bad.get("lastSuccess")).isNull();
        assertThat(bad.get("ageMillis")).isNull();

        JsonObject far = byName.get("faraway");
        assertThat((String) far.get("unreachable")).startsWith("unreachable: ");
        assertThat(far.get("lastRun")).isNull();
    }

    @Test
    @Timeout(60)
    void statusAsTextShowsEachTransferOnItsLine() {
        Object[] r = ferry("status");
        assertThat(r[0]).isEqualTo(0);
        String out = (String) r[1];
        String good = line(out, "good ");
        assertThat(good).contains("every 1h", "succeeded", " 321 ", " 12.5s "); // the larger lag of its tables
        String bad = line(out, "bad ");
        assertThat(bad).contains("failed").contains("doomed");
        assertThat(line(out, "faraway ")).contains("unreachable: ");
        assertThat(out).doesNotContain(dst.password());
    }

    @Test
    @Timeout(60)
    void historyListsTheRunsNewestFirst() throws Exception {
        Object[] r = ferry("history", "bad", "--json");
        assertThat(r[0]).isEqualTo(0);
        JsonArray runs = (JsonArray) Jsoner.deserialize((String) r[1]);
        assertThat(runs).hasSize(1);
        JsonObject run = (JsonObject) runs.get(0);
        assertThat(run.get("runId")).isEqualTo(records.get("bad").get(0).get(0));
        assertThat(run.get("status")).isEqualTo("failed");
        assertThat(((Number) run.get("tables")).intValue()).isEqualTo(1);
        assertThat(((JsonArray) run.get("errors")).get(0).toString()).contains(records.get("bad").get(0).get(3));

        JsonArray good = (JsonArray) Jsoner.deserialize((String) ferry("history", "good", "--json")[1]);
        assertThat(good.stream().map(o -> ((JsonObject) o).get("status")).toList()).containsExactly("reset", "succeeded");
        assertThat(((JsonObject) good.get(1)).get("runId")).isEqualTo(records.get("good").get(0).get(0));

        Object[] text = ferry("history", "good", "--limit", "5");
        assertThat(text[0]).isEqualTo(0);
        assertThat(line((String) text[1], records.get("good").get(0).get(0))).contains("succeeded", " 321 ");
    }

    @Test
    @Timeout(60)
    void historyOfAnUnknownTransferIsAUsageError() {
        assertThat(ferry("history", "nope")[0]).isEqualTo(Ferry.BAD_CONFIG);
    }

    private static String line(String out, String start) {
        return out.lines().filter(l -> l.startsWith(start)).findFirst()
                .orElseThrow(() -> new AssertionError("no line starting with '" + start + "' in:\n" + out));
    }
}
