package dev.ferry.state;

import java.sql.Connection;
import java.util.List;

import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.LogCapture;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A watermark ahead of the source's clock (a future-dated row, a source clock set back) hides every change made
 * until the clock passes it. Ferry warns of it once per run and table, naming the table and both values, in the log
 * and the run record; values at or before the clock (and local timestamps within a time zone's reach) are not warned of.
 */
class AheadOfClockWatermarkTest {

    static final String WARNED = "is ahead of the source's clock";

    @Test
    void aWatermarkAheadOfTheSourcesClockIsWarnedOfOncePerRun() throws Exception {
        TestDb src = TestDb.source("aheadclock");
        TestDb dst = TestDb.destination("aheadclock");
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.events (id int PRIMARY KEY, updated_at timestamptz NOT NULL, v text)",
                "INSERT INTO app.events SELECT g, timestamptz '2025-01-01' + g * interval '1 minute', 'v' FROM generate_series(1, 40) g",
                "INSERT INTO app.events SELECT g, timestamptz '2099-01-01 00:00:00+00', 'future' FROM generate_series(41, 85) g",
                "CREATE TABLE app.visits (id int PRIMARY KEY, seen timestamp NOT NULL)",
                "INSERT INTO app.visits SELECT g, timestamp '2025-01-01' + g * interval '1 hour' FROM generate_series(1, 30) g",
                "INSERT INTO app.visits VALUES (31, timestamp '2099-06-30 12:00:00')",
                "CREATE TABLE app.days (id int PRIMARY KEY, day date NOT NULL)",
                "INSERT INTO app.days SELECT g, date '2025-01-01' + g FROM generate_series(1, 30) g",
                "INSERT INTO app.days VALUES (31, date '2099-12-31')",
                // at the clock, or a local timestamp a few hours ahead (written in another time zone): not warned of
                "CREATE TABLE app.fine (id int PRIMARY KEY, updated_at timestamptz NOT NULL, seen timestamp NOT NULL)",
                "INSERT INTO app.fine SELECT g, now(), localtimestamp + interval '3 hours' FROM generate_series(1, 30) g");
        src.grantRead("app");
        String yaml = transfer("events", "app.events", "mode", "incremental", "cursor", "updated_at", "batchSize", "20")
                + transfer("visits", "app.visits", "mode", "incremental", "cursor", "seen", "batchSize", "20")
                + transfer("days", "app.days", "mode", "append", "cursor", "day")
                + transfer("fine", "app.fine", "mode", "incremental", "cursor", "updated_at")
                + transfer("fine-local", "app.fine", "mode", "incremental", "cursor", "seen", "destination", "dst2");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml, FerryHarness.destination("dst2", dst, "export2"));
             LogCapture log = LogCapture.of("dev.ferry.transfer")) {
            for (String t : List.of("events", "visits", "days", "fine", "fine-local")) {
                assertThat(ferry.sync(t).status()).as(t).isEqualTo(TransferRun.Status.SUCCEEDED);
            }
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                Dumps.assertSameRows(s, "app", "events", d, "export", "events", "id");
                Dumps.assertSameRows(s, "app", "visits", d, "export", "visits", "id");
                Dumps.assertSameRows(s, "app", "days", d, "export", "days", "id");
                Dumps.assertSameRows(s, "app", "fine", d, "export", "fine", "id");

                String events = Dumps.scalar(d, "SELECT notes FROM export._ferry_runs WHERE transfer = 'events'");
                assertThat(events).containsPattern("^transfer 'events': app.events: the watermark, cursor updated_at ="
                                + " '2099-01-01 00:00:00(\\.0+)?\\+00', is ahead of the source's clock \\('20[0-9]{2}-[0-9]{2}-[0-9]{2}"
                                + " [0-9:.]+[+-][0-9:]+'\\)")
                        .contains("rows that change get updated_at values before the watermark (and its lookback), and are skipped")
                        .contains("delete the table's row in export._ferry_state (transfer 'events', source_table 'app.events')");
                assertThat(Dumps.scalar(d, "SELECT notes FROM export._ferry_runs WHERE transfer = 'visits'"))
                        .containsPattern("app.visits: the watermark, cursor seen = '2099-06-30 12:00:00(\\.0+)?', is ahead of the source's"
                                + " clock \\('20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9:.]+'\\)");
                assertThat(Dumps.scalar(d, "SELECT notes FROM export._ferry_runs WHERE transfer = 'days'"))
                        .containsPattern("app.days: the watermark, cursor day = '2099-12-31', is ahead of the source's clock"
                                + " \\('20[0-9]{2}-[0-9]{2}-[0-9]{2}'\\)");
                assertThat(Dumps.scalar(d, "SELECT notes FROM export._ferry_runs WHERE transfer = 'fine'")).isNull();
                assertThat(Dumps.scalar(d, "SELECT notes FROM export2._ferry_runs WHERE transfer = 'fine-local'")).isNull();

                List<String> warnings = log.lines().stream().filter(l -> l.startsWith("WARN") && l.contains(WARNED)).toList();
                assertThat(warnings).as("once per table and run (events has three batches past the clock)").containsExactly(
                        "WARN " + events, "WARN " + Dumps.scalar(d, "SELECT notes FROM export._ferry_runs WHERE transfer = 'visits'"),
                        "WARN " + Dumps.scalar(d, "SELECT notes FROM export._ferry_runs WHERE transfer = 'days'"));

                // the next run resumes from the same watermark, still ahead: warned of again, once
                assertThat(ferry.sync("events").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
                List<String> again = log.lines().stream().filter(l -> l.startsWith("WARN") && l.contains(WARNED)).toList();
                assertThat(again).hasSize(4);
                assertThat(again.get(3)).startsWith("WARN transfer 'events': app.events: the watermark, cursor updated_at = '2099-01-01");
                assertThat(Dumps.rows(d, "SELECT count(*) FILTER (WHERE strpos(notes, ?) > 0) FROM export._ferry_runs"
                        + " WHERE transfer = 'events'", WARNED)).containsExactly("2");
                Dumps.assertSameRows(s, "app", "events", d, "export", "events", "id");
            }
        }
    }
}
