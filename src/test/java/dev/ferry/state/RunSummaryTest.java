package dev.ferry.state;

import dev.ferry.pipeline.Notifications;
import java.util.List;

import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.LogCapture;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/** A run's last line (the log's and the notification's error) says how its tables failed, each with its own cause. */
class RunSummaryTest {

    @Test
    void whenEveryTableFailsTheRunsLastLineNamesEachWithItsOwnError() throws Exception {
        TestDb src = TestDb.source("summary");
        TestDb dst = TestDb.destination("summary");
        src.execute("CREATE SCHEMA app", "CREATE SCHEMA other",
                "CREATE TABLE app.a (id int PRIMARY KEY)", "CREATE TABLE app.b (id int PRIMARY KEY)",
                "CREATE TABLE other.c (id int PRIMARY KEY)");
        src.grantRead("app");
        src.grantRead("other");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", transfer("three", "app.a, app.b, other.c"))) {
            // each table breaks its own way after the start's checks
            src.execute("DROP TABLE app.a", "REVOKE SELECT ON app.b FROM \"" + src.user() + "\"",
                    "REVOKE USAGE ON SCHEMA other FROM \"" + src.user() + "\"");
            TransferRun run;
            try (LogCapture log = LogCapture.of("dev.ferry.transfer")) {
                run = ferry.sync("three");
                List<String> last = log.lines().stream().filter(l -> l.contains("run " + run.id() + " failed")).toList();
                assertThat(last).hasSize(1);
                assertSummary(last.get(0));
            }
            assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
            assertSummary(Notifications.event(run).getString("error"));
            // the first failure is the first table's, named as such
            assertThat(run.firstError()).startsWith("app.a: source table app.a does not exist");
        }
    }

    /** All three failures, in the order the tables ran, each with the cause that is its own. */
    static void assertSummary(String line) {
        assertThat(line).contains("3 of 3 tables failed, in this order: (1) app.a: source table app.a does not exist");
        int a = line.indexOf("app.a: source table app.a does not exist");
        int b = line.indexOf(" (2) app.b: the source user");
        int c = line.indexOf(" (3) other.c: the source user");
        assertThat(b).as("app.b's own error, after app.a's: %s", line).isGreaterThan(a);
        assertThat(c).as("other.c's own error, after app.b's: %s", line).isGreaterThan(b);
        assertThat(line.substring(b, c)).contains("may not read app.b").contains("GRANT SELECT ON \"app\".\"b\"");
        assertThat(line.substring(c)).contains("may not use schema other").contains("GRANT USAGE ON SCHEMA \"other\"");
    }
}
