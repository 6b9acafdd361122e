package dev.ferry.app;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import dev.ferry.config.Durations;
import dev.ferry.config.TransferSpec;
import dev.ferry.state.TransferRun;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code ferry demo}: two embedded PostgreSQL servers, a shop database on one, and the example transfers from
 * routes/ moving it into a warehouse on the other. Users and grants are made exactly as the setup docs say (a
 * reader with SELECT on the source, a writer with CREATE and TEMPORARY on the destination database), so the demo
 * also shows the least privilege Ferry needs.
 */
public final class Demo {

    private static final Logger LOG = LoggerFactory.getLogger("dev.ferry.demo");

    /** What the demo started, for tests that want to look at both databases afterwards. */
    public record Servers(EmbeddedServer source, EmbeddedServer destination, Properties connections) {
    }

    private Demo() {
    }

    /** Starts both servers, loads the shop data and creates the users; returns the connection properties for Ferry. */
    public static Servers prepare() throws Exception {
        LOG.info("starting embedded PostgreSQL servers for the source (shop) and the destination (warehouse)");
        EmbeddedServer source = EmbeddedServer.start();
        EmbeddedServer destination = EmbeddedServer.start();
        String readerPassword = randomPassword();
        String writerPassword = randomPassword();
        source.execute("postgres", "CREATE DATABASE shop");
        long t0 = System.nanoTime();
        try (Connection c = source.connect("shop")) {
            DemoData.create(c);
        }
        LOG.info("source filled with the demo shop in {}s", String.format("%.1f", (System.nanoTime() - t0) / 1e9));
        // the source setup doc: a login role with CONNECT, USAGE on the schema and SELECT on its tables
        source.execute("shop",
                "CREATE ROLE ferry_reader LOGIN PASSWORD '" + readerPassword + "'",
                "GRANT CONNECT ON DATABASE shop TO ferry_reader",
                "GRANT USAGE ON SCHEMA shop TO ferry_reader",
                "GRANT SELECT ON ALL TABLES IN SCHEMA shop TO ferry_reader",
                "ALTER DEFAULT PRIVILEGES IN SCHEMA shop GRANT SELECT ON TABLES TO ferry_reader");
        // the destination setup doc: CREATE and TEMPORARY on the database, nothing more
        destination.execute("postgres", "CREATE DATABASE warehouse");
        destination.execute("warehouse",
                "CREATE ROLE ferry_writer LOGIN PASSWORD '" + writerPassword + "'",
                "GRANT CREATE, TEMPORARY ON DATABASE warehouse TO ferry_writer");
        Properties p = new Properties();
        p.setProperty("ferry.source.shop.hostname", "localhost");
        p.setProperty("ferry.source.shop.port", String.valueOf(source.port()));
        p.setProperty("ferry.source.shop.database", "shop");
        p.setProperty("ferry.source.shop.user", "ferry_reader");
        p.setProperty("ferry.source.shop.password", readerPassword);
        p.setProperty("ferry.destination.warehouse.hostname", "localhost");
        p.setProperty("ferry.destination.warehouse.port", String.valueOf(destination.port()));
        p.setProperty("ferry.destination.warehouse.database", "warehouse");
        p.setProperty("ferry.destination.warehouse.user", "ferry_writer");
        p.setProperty("ferry.destination.warehouse.password", writerPassword);
        LOG.info("look inside while it runs:  psql -h localhost -p {} -U postgres shop   |   psql -h localhost -p {} -U postgres warehouse",
                source.port(), destination.port());
        return new Servers(source, destination, p);
    }

    /**
     * Runs the demo.
     *
     * @param once  run every transfer once and return; otherwise run them on {@code every} until stopped
     * @return the process exit status: 0 when every run succeeded
     */
    public static int run(Path config, Path routes, boolean once, Duration every) throws Exception {
        Servers servers = prepare();
        try {
            if (once) {
                return runOnce(config, routes, servers.connections());
            }
            runScheduled(config, routes, servers, every);
            return 0;
        } finally {
            servers.source().close();
            servers.destination().close();
        }
    }

    static int runOnce(Path config, Path routes, Properties connections) throws Exception {
        try (FerryRuntime ferry = new FerryRuntime(config, routes, FerryRuntime.Trigger.MANUAL, connections, null)) {
            ferry.start();
            int failed = 0;
            long rows = 0;
            long t0 = System.nanoTime();
            for (TransferSpec spec : ferry.catalog().all()) {
                if (ferry.stopping()) {
                    failed++;
                    continue;
                }
                TransferRun run = ferry.runOnce(spec.name());
                rows += run == null ? 0 : run.rows();
                if (run == null || run.status() != TransferRun.Status.SUCCEEDED) {
                    failed++;
                }
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            LOG.info("demo: {} transfer(s), {} failed; {} rows in {}s ({} rows/s)", ferry.catalog().all().size(), failed, rows,
                    String.format("%.2f", secs), String.format("%.0f", rows / Math.max(secs, 1e-3)));
            return failed == 0 ? 0 : 1;
        }
    }

    private static void runScheduled(Path config, Path routes, Servers servers, Duration every) throws Exception {
        LOG.info("demo: every transfer runs every {}, and the shop gets new and shipped orders every 5s; Ctrl-C to stop",
                Durations.format(every));
        ScheduledExecutorService activity = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "demo-shop-activity");
            t.setDaemon(true);
            return t;
        });
        AtomicInteger round = new AtomicInteger();
        activity.scheduleWithFixedDelay(() -> {
            try (Connection c = servers.source().connect("shop")) {
                DemoData.simulateActivity(c, round.incrementAndGet());
            } catch (Exception e) {
                LOG.warn("demo: shop activity failed: {}", e.getMessage());
            }
        }, 5, 5, TimeUnit.SECONDS);
        try (FerryRuntime ferry = new FerryRuntime(config, routes, FerryRuntime.Trigger.SCHEDULED, servers.connections(), every)) {
            ferry.start();
            ferry.awaitShutdown();
        } finally {
            activity.shutdownNow();
        }
    }

    private static String randomPassword() {
        String chars = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        SecureRandom r = new SecureRandom();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 24; i++) {
            sb.append(chars.charAt(r.nextInt(chars.length())));
        }
        return sb.toString();
    }
}
