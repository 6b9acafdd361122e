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
 * A cursor value of {@code infinity} or {@code NaN} sorts after every other value: once the watermark is there, every
 * later change of the table is skipped. Ferry cannot tell a real change from it, but it must say so, loudly: in the
 * log and in the run record's notes, naming the transfer, the table, the value and what to do.
 */
class EndOfTimeWatermarkTest {

    @Test
    void aWatermarkAtInfinityOrNaNIsWarnedOfInTheLogAndTheRunRecord() throws Exception {
        TestDb src = TestDb.source("endoftime");
        TestDb dst = TestDb.destination("endoftime");
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.events (id int PRIMARY KEY, updated_at timestamptz NOT NULL, v text)",
                "INSERT INTO app.events SELECT g, timestamptz '2025-01-01' + g * interval '1 minute', 'v' FROM generate_series(1, 50) g",
                // 25 rows at infinity: the watermark is there after two batches, and warned of once
                "INSERT INTO app.events SELECT g, 'infinity', 'forever' FROM generate_series(51, 75) g",
                "CREATE TABLE app.prices (id int PRIMARY KEY, version numeric NOT NULL, v text)",
                "INSERT INTO app.prices SELECT g, g, 'v' FROM generate_series(1, 50) g",
                "INSERT INTO app.prices VALUES (51, 'NaN', 'not a number')",
                "CREATE TABLE app.fine (id int PRIMARY KEY, updated_at timestamptz NOT NULL)",
                "INSERT INTO app.fine SELECT g, timestamptz '2025-01-01' + g * interval '1 minute' FROM generate_series(1, 50) g",
                "INSERT INTO app.fine VALUES (0, '-infinity')");
        src.grantRead("app");
        String yaml = transfer("events", "app.events", "mode", "incremental", "cursor", "updated_at", "batchSize", "20")
                + transfer("prices", "app.prices", "mode", "incremental", "cursor", "version", "batchSize", "20")
                + transfer("fine", "app.fine", "mode", "incremental", "cursor", "updated_at");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml); LogCapture log = LogCapture.of("dev.ferry.transfer")) {
            ferry.sync("events");
            ferry.sync("prices");
            ferry.sync("fine");
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                // the rows themselves arrive exactly
                Dumps.assertSameRows(s, "app", "events", d, "export", "events", "id");
                Dumps.assertSameRows(s, "app", "prices", d, "export", "prices", "id");
                assertThat(Dumps.scalar(d, "SELECT cursor_value FROM export._ferry_state WHERE transfer = 'events'")).isEqualTo("infinity");

                String events = Dumps.scalar(d, "SELECT notes FROM export._ferry_runs WHERE transfer = 'events'");
                assertThat(events).isEqualTo(Watermarks.endOfTimeWarning("export", "events", "app.events", "updated_at", "infinity"))
                        .contains("transfer 'events': app.events has a row whose cursor updated_at is 'infinity'")
                        .contains("every later change of the table is skipped")
                        .contains("delete the table's row in export._ferry_state");
                assertThat(Dumps.scalar(d, "SELECT notes FROM export._ferry_runs WHERE transfer = 'prices'"))
                        .contains("transfer 'prices': app.prices has a row whose cursor version is 'NaN'");
                assertThat(Dumps.scalar(d, "SELECT notes FROM export._ferry_runs WHERE transfer = 'fine'"))
                        .as("-infinity sorts first: it hides nothing").isNull();
                List<String> warnings = log.lines().stream().filter(l -> l.startsWith("WARN") && l.contains("sorts after every other value")).toList();
                assertThat(warnings).as("once per table and run").containsExactly("WARN " + events,
                        "WARN " + Dumps.scalar(d, "SELECT notes FROM export._ferry_runs WHERE transfer = 'prices'"));
            }
        }
    }
}
