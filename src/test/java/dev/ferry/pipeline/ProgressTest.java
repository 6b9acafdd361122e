package dev.ferry.pipeline;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.LogCapture;
import dev.ferry.testing.TcpProxy;
import dev.ferry.testing.TestDb;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.component.micrometer.MicrometerConstants;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Progress on long work: a source reached through a throttled proxy, so that each table takes several progress
 * intervals (250 ms) on any machine. The report's lines grow, with a percent and an ETA where the source's size is
 * known (analyzed) and without where it is not (a filtered read); a full refresh's run record shows rows while it is
 * still running; the gauges live while the table runs; and the rows arrive exactly.
 */
class ProgressTest {

    /** The line for one table: rows, bytes, elapsed, rate, then maybe the percent and ETA. */
    private static final Pattern LINE = Pattern.compile("transfer (\\S+): (\\S+) -> (\\S+): ([0-9,]+) rows, [0-9.]+ [kMGT]?B in \\S+"
            + " \\(([0-9,]+) rows/s\\)(, (\\d+)% of ~\\S+ rows(, ETA \\S+)?)?");
    /** What the source sends, per connection: two to three seconds per table below. */
    private static final long BYTES_PER_SECOND = 1_500_000;

    static TestDb src;
    static TestDb dst;
    static TcpProxy proxy;
    static FerryHarness ferry;
    static MeterRegistry meters;

    @BeforeAll
    static void setUp() throws Exception {
        src = TestDb.source("progress");
        dst = TestDb.destination("progress");
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.big (id bigint PRIMARY KEY, v int NOT NULL, s text)",
                "INSERT INTO app.big SELECT g, g % 1000, 'r' || g FROM generate_series(1, 120000) g",
                "CREATE TABLE app.events (id bigint PRIMARY KEY, kind int NOT NULL)",
                "INSERT INTO app.events SELECT g, g % 3 FROM generate_series(1, 150000) g",
                "ANALYZE app.big", "ANALYZE app.events");
        src.grantRead("app");
        proxy = new TcpProxy(src.server().host(), src.server().port());
        proxy.throttle(BYTES_PER_SECOND);
        ferry = FerryHarness.start(src, dst, "export",
                FerryHarness.transfer("big", "app.big")
                        + FerryHarness.transfer("events", "app.events", "mode", "incremental", "cursor", "id", "batchSize", "30000")
                        + FerryHarness.transfer("filtered", "app.big", "destination", "dst2", "filter", "v < :limit",
                                "filter.limit", "900"),
                properties());
        // the registry Camel keeps under its name for it (camel-micrometer's), where Ferry's meters go too
        meters = ferry.runtime().camel().getRegistry().lookupByNameAndType(MicrometerConstants.METRICS_REGISTRY_NAME, MeterRegistry.class);
        assertThat(meters).as("Camel's Micrometer registry").isNotNull();
    }

    private static Map<String, String> properties() {
        Map<String, String> p = new java.util.HashMap<>(FerryHarness.destination("dst2", dst, "filtered"));
        p.put("ferry.source.src.port", String.valueOf(proxy.port()));
        p.put("ferry.progressInterval", "250ms");
        return p;
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (ferry != null) {
            ferry.close();
        }
        if (proxy != null) {
            proxy.close();
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void fullRefreshReportsGrowingRowsWithPercentAndEta() throws Exception {
        Watch watch = Watch.start(dst, "export", "app.big");
        TransferRun run;
        List<String> lines;
        try (LogCapture log = LogCapture.of("dev.ferry.transfer")) {
            run = ferry.sync("big");
            lines = log.lines();
        } finally {
            watch.stop();
        }
        assertThat(run.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
        List<Matcher> reports = reports(lines, "big");
        assertThat(reports).as("progress lines in %s", lines).hasSizeGreaterThanOrEqualTo(2);
        assertGrowing(reports);
        assertThat(reports).anySatisfy(m -> {
            assertThat(m.group(7)).as("percent in %s", m.group()).isNotNull();
            assertThat(Integer.parseInt(m.group(7))).isBetween(0, 99);
            assertThat(m.group(8)).as("ETA in %s", m.group()).isNotNull();
        });
        assertThat(watch.maxRunningRows.get()).as("_ferry_runs.rows while the run was still running").isPositive();
        assertThat(watch.gaugeSeen.get()).as("ferry_table_rows_done while the table ran").isPositive();
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            assertThat(Dumps.scalar(d, "SELECT status || ' ' || rows FROM export._ferry_runs WHERE run_id = ?", run.id()))
                    .isEqualTo("succeeded 120000");
            Dumps.assertSameRows(s, "app", "big", d, "export", "big", "id");
        }
        // the table's gauges end with it; its counters keep the rows and bytes moved
        assertThat(meters.find("ferry.table.rows.done").tags("transfer", "big").gauges()).isEmpty();
        assertThat(meters.get("ferry.rows").tags("transfer", "big", "table", "app.big").counter().count()).isEqualTo(120000);
        assertThat(meters.get("ferry.bytes").tags("transfer", "big", "table", "app.big").counter().count()).isGreaterThan(120000 * 10);
        if (meters instanceof io.micrometer.prometheusmetrics.PrometheusMeterRegistry prometheus) {
            // as /observe/metrics serves them
            assertThat(prometheus.scrape()).contains("ferry_rows_total{table=\"app.big\",transfer=\"big\"} 120000.0")
                    .contains("ferry_bytes_total{table=\"app.big\",transfer=\"big\"}");
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void incrementalBackfillReportsPercentAndCommittedRows() throws Exception {
        Watch watch = Watch.start(dst, "export", "app.events");
        TransferRun run;
        List<String> lines;
        try (LogCapture log = LogCapture.of("dev.ferry.transfer")) {
            run = ferry.sync("events");
            lines = log.lines();
        } finally {
            watch.stop();
        }
        assertThat(run.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
        List<Matcher> reports = reports(lines, "events");
        assertThat(reports).as("progress lines in %s", lines).hasSizeGreaterThanOrEqualTo(2);
        assertGrowing(reports);
        assertThat(reports).anySatisfy(m -> assertThat(m.group(8)).as("percent and ETA in %s", m.group()).isNotNull());
        assertThat(watch.maxRunningRows.get()).as("_ferry_runs.rows while the run was still running").isPositive();
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            assertThat(Dumps.scalar(d, "SELECT status || ' ' || rows FROM export._ferry_runs WHERE run_id = ?", run.id()))
                    .isEqualTo("succeeded 150000");
            Dumps.assertSameRows(s, "app", "events", d, "export", "events", "id");
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void filteredReadReportsRowsAndRateButNoPercent() throws Exception {
        TransferRun run;
        List<String> lines;
        try (LogCapture log = LogCapture.of("dev.ferry.transfer")) {
            run = ferry.sync("filtered");
            lines = log.lines();
        }
        assertThat(run.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
        List<Matcher> reports = reports(lines, "filtered");
        assertThat(reports).as("progress lines in %s", lines).hasSizeGreaterThanOrEqualTo(2);
        assertGrowing(reports);
        assertThat(reports).allSatisfy(m -> {
            assertThat(m.group(6)).as("no percent without a known size: %s", m.group()).isNull();
            // a first report may come before the first chunk (the read is still being planned): 0 rows, 0 rows/s
            if (!m.group(4).equals("0")) {
                assertThat(Long.parseLong(m.group(5).replace(",", ""))).as("rate in %s", m.group()).isPositive();
            }
        });
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            List<String> expected = Dumps.rows(s, "SELECT id || ' ' || v || ' ' || s FROM app.big WHERE v < 900 ORDER BY id");
            assertThat(Dumps.rows(d, "SELECT id || ' ' || v || ' ' || s FROM filtered.big ORDER BY id"))
                    .hasSize(108000).containsExactlyElementsOf(expected);
        }
    }

    private static List<Matcher> reports(List<String> lines, String transfer) {
        List<Matcher> found = new ArrayList<>();
        for (String l : lines) {
            Matcher m = LINE.matcher(l);
            if (m.find() && m.group(1).equals(transfer)) {
                found.add(m);
            }
        }
        return found;
    }

    private static void assertGrowing(List<Matcher> reports) {
        long before = -1;
        for (Matcher m : reports) {
            long rows = Long.parseLong(m.group(4).replace(",", ""));
            assertThat(rows).as("rows in %s", m.group()).isGreaterThanOrEqualTo(before);
            before = rows;
        }
        assertThat(Long.parseLong(reports.get(reports.size() - 1).group(4).replace(",", "")))
                .isGreaterThan(Long.parseLong(reports.get(0).group(4).replace(",", "")));
    }

    /** Polls, from another connection, the running record's rows and the table's gauge while a sync runs. */
    private static final class Watch {
        final AtomicLong maxRunningRows = new AtomicLong();
        final AtomicLong gaugeSeen = new AtomicLong();
        final AtomicBoolean stop = new AtomicBoolean();
        Thread thread;

        static Watch start(TestDb db, String schema, String sourceTable) {
            Watch w = new Watch();
            w.thread = new Thread(() -> {
                while (!w.stop.get()) {
                    try (Connection c = db.admin(); Statement st = c.createStatement()) {
                        while (!w.stop.get()) {
                            try (ResultSet rs = st.executeQuery("SELECT coalesce(max(rows), 0) FROM " + schema
                                    + "._ferry_runs WHERE status = 'running' AND source_table = '" + sourceTable + "'")) {
                                rs.next();
                                w.maxRunningRows.accumulateAndGet(rs.getLong(1), Math::max);
                            }
                            Gauge g = meters.find("ferry.table.rows.done").tag("table", sourceTable).gauge();
                            if (g != null) {
                                w.gaugeSeen.accumulateAndGet((long) g.value(), Math::max);
                            }
                            Thread.sleep(20); // a poll's pace, not a wait for a condition
                        }
                    } catch (Exception e) {
                        // the history table is made by the run's start: poll again, soon
                        try {
                            Thread.sleep(20);
                        } catch (InterruptedException stopped) {
                            return;
                        }
                    }
                }
            }, "progress-watch");
            w.thread.setDaemon(true);
            w.thread.start();
            return w;
        }

        void stop() throws InterruptedException {
            stop.set(true);
            thread.join(5000);
        }
    }
}
