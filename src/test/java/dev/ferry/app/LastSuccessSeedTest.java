package dev.ferry.app;

import java.util.Map;
import java.util.Properties;

import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static dev.ferry.app.ObserveEndpointsTest.await;
import static dev.ferry.app.ObserveEndpointsTest.metrics;
import static dev.ferry.app.ObserveEndpointsTest.scalar;
import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * After a restart, the age of a transfer's data is in the metrics before its next success: the health check's read of
 * the run history seeds {@code ferry_last_success_timestamp_seconds}, so age alerts do not go silent until then.
 */
class LastSuccessSeedTest {

    @Test
    @Timeout(60)
    void theLastSuccessIsReadFromTheHistoryAtStart() throws Exception {
        TestDb src = TestDb.source("seed");
        TestDb dst = TestDb.destination("seed");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.a (id int PRIMARY KEY)", "INSERT INTO app.a VALUES (1), (2)");
        src.grantRead("app");
        // a schedule that does not fire while the test runs: the gauge can only come from the history
        String yaml = transfer("a", "app.a", "cron", "0 0 0 1 1 ? 2099");
        java.nio.file.Path dir;
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml, Map.of("ferry.health.interval", "1s"))) {
            assertThat(ferry.sync("a").status().name()).isEqualTo("SUCCEEDED");
            dir = ferry.dir();
        }
        double ended = scalar(dst, "SELECT extract(epoch FROM max(finished_at)) FROM export._ferry_runs WHERE transfer = 'a'")
                .doubleValue();
        try (FerryRuntime ferry = new FerryRuntime(dir.resolve("application.properties"), dir.resolve("routes"),
                FerryRuntime.Trigger.SCHEDULED, new Properties(), null)) {
            ferry.start();
            int port = ferry.httpPort();
            await(() -> metrics(port).containsKey("ferry_last_success_timestamp_seconds{transfer=a}"), "the gauge seeded");
            assertThat(metrics(port).get("ferry_last_success_timestamp_seconds{transfer=a}")).isCloseTo(ended, within(0.01));
            assertThat(metrics(port)).doesNotContainKey("ferry_runs_total{outcome=succeeded,transfer=a}"); // no run here
        }
    }
}
