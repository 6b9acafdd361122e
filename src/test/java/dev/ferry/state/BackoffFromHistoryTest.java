package dev.ferry.state;

import java.sql.Connection;
import java.util.Properties;

import dev.ferry.app.FerryRuntime;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.LogCapture;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The backoff after failed runs is read from the run history, which every Ferry process writes: runs that failed in
 * one process make another, which has never run the transfer, back off; and a success recorded by any process ends
 * the backoff everywhere.
 */
class BackoffFromHistoryTest {

    @Test
    @Timeout(120)
    void failedRunsRecordedByOneProcessMakeAnotherBackOff() throws Exception {
        TestDb src = TestDb.source("backoff");
        TestDb dst = TestDb.destination("backoff");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.t (id int PRIMARY KEY)", "INSERT INTO app.t VALUES (1), (2)");
        src.grantRead("app");
        src.execute("REVOKE SELECT ON app.t FROM \"" + src.user() + "\""); // a permanent failure: no retries within a run
        // a scheduled run would be due every second; after two failures the backoff is retryDelay x 2 = 2 h
        String yaml = FerryHarness.transfer("t", "app.t", "every", "1s", "retryDelay", "1h", "retryMaxDelay", "3h");
        String runs = "SELECT count(DISTINCT run_id) FROM export._ferry_runs";

        java.nio.file.Path dir;
        try (FerryHarness one = FerryHarness.start(src, dst, "export", yaml)) {
            assertThat(one.sync("t").status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(one.sync("t").status()).isEqualTo(TransferRun.Status.FAILED);
            dir = one.dir();
        }
        try (Connection d = dst.admin()) {
            assertThat(Dumps.scalar(d, runs)).isEqualTo("2");
        }

        // another process, its schedule on: it has seen no failure itself
        FerryRuntime other = new FerryRuntime(dir.resolve("application.properties"), dir.resolve("routes"),
                FerryRuntime.Trigger.SCHEDULED, new Properties(), null);
        try (LogCapture log = LogCapture.of("dev.ferry.transfer")) {
            other.start();
            Thread.sleep(3_000);
            assertThat(log.lines()).anyMatch(l -> l.startsWith("INFO transfer t: not running now: backing off after 2 consecutive"
                    + " failed run(s)"));
            try (Connection d = dst.admin()) {
                assertThat(Dumps.scalar(d, runs)).as("no run while backing off").isEqualTo("2");
            }

            // a success that another process records ends the backoff here too
            src.execute("GRANT SELECT ON app.t TO \"" + src.user() + "\"");
            dst.execute("INSERT INTO export._ferry_runs (run_id, transfer, mode, status, started_at, finished_at, node)"
                    + " VALUES (gen_random_uuid(), 't', 'full_refresh', 'succeeded', now(), now(), 'elsewhere')");
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (System.nanoTime() < deadline && countSucceeded(dst) < 2) {
                Thread.sleep(200);
            }
            assertThat(countSucceeded(dst)).as("this process ran again once the history had a success").isGreaterThanOrEqualTo(2);
        } finally {
            other.close();
        }
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "t", d, "export", "t", "id");
            assertThat(Dumps.scalar(d, "SELECT count(*) FROM export._ferry_runs WHERE node IS NULL")).as("each run names its node")
                    .isEqualTo("0");
        }
    }

    private static int countSucceeded(TestDb dst) throws Exception {
        try (Connection d = dst.admin()) {
            return Integer.parseInt(Dumps.scalar(d, "SELECT count(*) FROM export._ferry_runs WHERE status = 'succeeded'"));
        }
    }
}
