package dev.ferry.app;

import java.util.Map;

import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.apache.camel.component.quartz.QuartzComponent;
import org.junit.jupiter.api.Test;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Quartz gets one thread per run in flight (each transfer's run holds the thread that fired it for the whole run) and
 * one spare: ferry.maxRunsInFlight + 1, whatever the number of transfers.
 */
class QuartzThreadsTest {

    @Test
    void theSchedulerHasAThreadPerRunInFlightAndOneSpare() throws Exception {
        TestDb src = TestDb.source("quartzthreads");
        TestDb dst = TestDb.destination("quartzthreads");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.a (id int PRIMARY KEY)", "CREATE TABLE app.b (id int PRIMARY KEY)",
                "CREATE TABLE app.c (id int PRIMARY KEY)");
        src.grantRead("app");
        String yaml = transfer("a", "app.a") + transfer("b", "app.b", "cron", "0 0 * * * ?") + transfer("c", "app.c");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml, Map.of())) {
            QuartzComponent quartz = ferry.runtime().camel().getComponent("quartz", QuartzComponent.class);
            assertThat(ferry.runtime().catalog().all()).hasSize(3);
            assertThat(quartz.getScheduler().getMetaData().getThreadPoolSize())
                    .isEqualTo(FerryConfiguration.DEFAULT_MAX_RUNS_IN_FLIGHT + 1);
        }
    }

    @Test
    void hundredsOfTransfersShareMaxRunsInFlightThreads() throws Exception {
        TestDb src = TestDb.source("quartzcap");
        TestDb dst = TestDb.destination("quartzcap");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.a (id int PRIMARY KEY)");
        src.grantRead("app");
        StringBuilder yaml = new StringBuilder();
        java.util.Map<String, String> props = new java.util.LinkedHashMap<>();
        for (int i = 0; i < 12; i++) {
            yaml.append(transfer("t" + i, "app.a", "destination", "d" + i));
            props.putAll(FerryHarness.destination("d" + i, dst, "s" + i));
        }
        props.put("ferry.maxRunsInFlight", "4");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml.toString(), props)) {
            QuartzComponent quartz = ferry.runtime().camel().getComponent("quartz", QuartzComponent.class);
            assertThat(ferry.runtime().catalog().all()).hasSize(12);
            assertThat(quartz.getScheduler().getMetaData().getThreadPoolSize()).isEqualTo(4 + 1);
        }
    }

    @Test
    void aBadMaxRunsInFlightStopsTheStart() throws Exception {
        TestDb src = TestDb.source("quartzbad");
        TestDb dst = TestDb.destination("quartzbad");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.a (id int PRIMARY KEY)");
        src.grantRead("app");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> FerryHarness.start(src, dst, "export", transfer("a", "app.a"),
                        java.util.Map.of("ferry.maxRunsInFlight", "0")))
                .isInstanceOf(dev.ferry.config.ConfigException.class)
                .hasMessageContaining("application.properties: ferry.maxRunsInFlight: '0' is not a positive whole number");
    }
}
