package dev.ferry.pipeline;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import dev.ferry.app.FerryRuntime;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import org.junit.jupiter.api.Test;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hundreds of scheduled incremental runs while a writer inserts, updates and soft-deletes source rows and faults
 * are injected at random moments (connections cut on either side, Ferry's backends terminated). Afterwards the
 * destination equals the source. Bounded: about a minute.
 */
class SoakTest {

    @Test
    void twoHundredScheduledRunsUnderWritesAndFaultsEndEqual() throws Exception {
        try (FaultTest.Setup s = FaultTest.setup("soak", 5_000)) {
            s.src().execute("ALTER TABLE app.orders ADD COLUMN deleted_at timestamptz");
            // lookback 0: the one writer commits in cursor order, so nothing commits late; a lookback would re-read
            // every row it touched in the last five minutes on every run
            java.nio.file.Path dir = FerryHarness.write(s.src(), s.dst(), "export",
                    transfer("orders", "app.orders", "mode", "incremental", "cursor", "updated_at", "deletedColumn", "deleted_at",
                            "every", "150ms", "batchSize", "500", "lookback", "0", "retryDelay", "100ms", "retryMaxDelay", "1s", "retryAttempts", "8"),
                    s.props());
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger writes = new AtomicInteger();
            AtomicInteger faults = new AtomicInteger();
            Thread writer = new Thread(() -> write(s, stop, writes), "soak-writer");
            Thread injector = new Thread(() -> inject(s, stop, faults), "soak-faults");
            long t0 = System.nanoTime();
            try (FerryRuntime ferry = new FerryRuntime(dir.resolve("application.properties"), dir.resolve("routes"),
                    FerryRuntime.Trigger.SCHEDULED, new Properties(), null)) {
                ferry.start();
                writer.start();
                injector.start();
                FaultTest.awaitRuns(s.dst(), "succeeded", 200, Duration.ofSeconds(90));
                stop.set(true);
                writer.join();
                injector.join();
                // the writer has stopped: a few clean runs carry the last changes over
                int done = countSucceeded(s);
                FaultTest.awaitRuns(s.dst(), "succeeded", done + 3, Duration.ofSeconds(30));
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            try (Connection src = s.src().admin(); Connection d = s.dst().admin()) {
                Dumps.assertSameRows(src, "app", "orders", d, "export", "orders", "id");
                String runs = Dumps.scalar(d, "SELECT count(*) FROM export._ferry_runs WHERE status IN ('succeeded', 'failed')");
                String retried = Dumps.scalar(d, "SELECT count(*) FROM export._ferry_runs WHERE attempts > 1 OR status = 'failed'");
                System.out.printf("soak: %s runs (%s retried or failed), %d writes, %d faults in %.1fs%n", runs, retried, writes.get(),
                        faults.get(), secs);
                assertThat(Integer.parseInt(runs)).isGreaterThanOrEqualTo(200);
                assertThat(faults.get()).as("faults were injected").isGreaterThan(5);
                assertThat(Integer.parseInt(retried)).as("some runs met the faults").isPositive();
                assertThat(writes.get()).isGreaterThan(100);
            }
            assertThat(secs).isLessThan(120);
        }
    }

    static int countSucceeded(FaultTest.Setup s) throws Exception {
        try (Connection d = s.dst().admin()) {
            return Integer.parseInt(Dumps.scalar(d, "SELECT count(*) FROM export._ferry_runs WHERE status = 'succeeded'"));
        }
    }

    /** Small transactions of inserts, updates and soft deletes, each moving updated_at. */
    static void write(FaultTest.Setup s, AtomicBoolean stop, AtomicInteger writes) {
        Random r = new Random(7);
        long next = 1_000_000;
        try (Connection c = s.src().admin(); Statement st = c.createStatement()) {
            while (!stop.get()) {
                switch (r.nextInt(3)) {
                    case 0 -> st.execute("INSERT INTO app.orders (id, customer, amount, note, updated_at) VALUES (" + (next++)
                            + ", 1, 1.5, 'new', clock_timestamp())");
                    case 1 -> st.execute("UPDATE app.orders SET amount = amount + 1, updated_at = clock_timestamp() WHERE id = "
                            + (1 + r.nextInt(5_000)));
                    default -> st.execute("UPDATE app.orders SET deleted_at = clock_timestamp(), updated_at = clock_timestamp()"
                            + " WHERE id = " + (1 + r.nextInt(5_000)));
                }
                writes.incrementAndGet();
                Thread.sleep(5);
            }
        } catch (Exception e) {
            throw new IllegalStateException("the writer failed", e);
        }
    }

    /** Every 0.3 to 1.5 seconds: cut the source or destination connections, or terminate one of Ferry's backends. */
    static void inject(FaultTest.Setup s, AtomicBoolean stop, AtomicInteger faults) {
        Random r = new Random(11);
        try {
            while (!stop.get()) {
                Thread.sleep(300 + r.nextInt(1200));
                switch (r.nextInt(3)) {
                    case 0 -> s.srcProxy().cutAll();
                    case 1 -> s.dstProxy().cutAll();
                    default -> {
                        try (Connection d = s.dst().admin()) {
                            Dumps.scalar(d, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ? ORDER BY random() LIMIT 1",
                                    s.dst().user());
                        }
                    }
                }
                faults.incrementAndGet();
            }
        } catch (Exception e) {
            throw new IllegalStateException("the fault injector failed", e);
        }
    }
}
