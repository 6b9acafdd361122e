package dev.ferry.app;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import dev.ferry.config.ConfigException;
import dev.ferry.connect.Connections;
import dev.ferry.config.Durations;
import dev.ferry.config.RouteFiles;
import dev.ferry.config.TransferCatalog;
import dev.ferry.state.Shutdown;
import dev.ferry.state.TransferRun;
import org.apache.camel.CamelContext;
import org.apache.camel.main.Main;

/**
 * Ferry as a Camel Main application: application.properties, the YAML routes folder, and
 * {@link FerryConfiguration}.
 *
 * <p>With {@link Trigger#SCHEDULED} the transfers run on their schedules until the process is stopped. With
 * {@link Trigger#MANUAL} the schedules never fire and {@link #runOnce} runs a transfer's route directly (for
 * {@code sync} and {@code demo --once}).
 */
public final class FerryRuntime implements AutoCloseable {

    public enum Trigger { SCHEDULED, MANUAL }

    private final Path config;
    private final Path routes;
    private final Trigger trigger;
    private final Properties overrides;
    private final Duration scheduleOverride;
    private final Main main = new Main();
    /** How long a stop waits for running transfers to reach a batch boundary before Camel forces them. */
    static final int SHUTDOWN_TIMEOUT_SECONDS = 60;
    private final java.util.concurrent.CountDownLatch closed = new java.util.concurrent.CountDownLatch(1);
    private volatile Thread signalHook;

    public FerryRuntime(Path config, Path routes, Trigger trigger, Properties overrides, Duration scheduleOverride) {
        this.config = config.toAbsolutePath().normalize();
        this.routes = routes.toAbsolutePath().normalize();
        this.trigger = trigger;
        this.overrides = overrides == null ? new Properties() : overrides;
        this.scheduleOverride = scheduleOverride;
    }

    /** Loads and validates everything, then starts Camel (schedules fire only with {@link Trigger#SCHEDULED}). */
    public void start() throws Exception {
        List<String> problems = new ArrayList<>();
        if (!Files.isRegularFile(config)) {
            problems.add(config + ": no such file; pass --config FILE to name the properties file that declares the"
                    + " connections (default ./" + Ferry.DEFAULT_CONFIG + ")");
        }
        if (!Files.isDirectory(routes)) {
            problems.add(routes + ": no such folder; pass --routes DIR to name the folder of YAML routes (default ./" + Ferry.DEFAULT_ROUTES + ")");
        }
        RouteFiles files = RouteFiles.none();
        if (problems.isEmpty()) {
            // what Camel cannot even load routes from (bad YAML, a missing or empty parameter, a missing template or
            // direct: consumer): it would stop at it without a file and line, or a run would wait forever
            files = RouteFiles.scan(routes, TransferCatalog.TEMPLATE_ID);
            problems.addAll(files.problems());
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        main.bind(FerryConfiguration.ROUTE_FILES, files);
        // one Micrometer registry for Camel's route meters and Ferry's (FerryMeters), bound before Camel Main sets up
        // camel-micrometer-prometheus, which uses an existing one; one-off commands get it too (served by nothing)
        main.bind(org.apache.camel.component.micrometer.MicrometerConstants.METRICS_REGISTRY_NAME,
                new io.micrometer.prometheusmetrics.PrometheusMeterRegistry(io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT));
        Properties defaults = httpServerDefaults();
        if (trigger == Trigger.MANUAL) {
            defaults.remove("camel.metrics.binders"); // the JVM's meters: nobody scrapes a one-off command (see below)
        }
        main.setInitialProperties(defaults);
        main.setPropertyPlaceholderLocations("file:" + config);
        main.configure().withName("ferry")
                .withRoutesIncludePattern(files.includePattern()) // the shipped routes, then the folder's
                .withJmxEnabled(false)
                .withShutdownTimeout(SHUTDOWN_TIMEOUT_SECONDS)
                // the MDC keys of a run's log lines (transfer, table, run_id): onto a split's and multicast's threads
                .withUseMdcLogging(true).withMdcLoggingKeysPattern(dev.ferry.observe.LogContext.KEYS_PATTERN)
                .addConfiguration(FerryConfiguration.class);
        Properties props = new Properties();
        props.putAll(overrides);
        props.setProperty("ferry.config", config.getFileName().toString());
        props.setProperty("ferry.routes", routes.toString());
        if (scheduleOverride != null) {
            props.setProperty("ferry.every", Durations.format(scheduleOverride));
        }
        if (trigger == Trigger.MANUAL) {
            props.setProperty("camel.component.quartz.autoStartScheduler", "false");
            props.setProperty(FerryConfiguration.MANUAL, "true");
            props.setProperty(HTTP_ENABLED, "false"); // a one-off command serves nothing, and leaves the port to `ferry run`
            // nor does it keep Camel's meters of every route and of the JVM, which nobody scrapes (Ferry's own meters stay)
            props.setProperty("camel.metrics.enableRoutePolicy", "false");
            props.setProperty("camel.metrics.enableRouteEventNotifier", "false");
        }
        main.setOverrideProperties(props);
        main.init();
        main.start();
        if (httpPort() > 0) {
            String base = "http://" + camel().getPropertiesComponent().resolveProperty("ferry.http.host").orElse("") + ":" + httpPort();
            org.slf4j.LoggerFactory.getLogger("dev.ferry").info("HTTP server: console {}/, health {}/observe/health, metrics {}/observe/metrics",
                    base, base, base);
        }
        // each recipients list's transfers, before any trigger fires or a command looks for them; the lists' routes read
        // them again every recipientsRefresh
        RecipientsRefresh recipients = camel().getRegistry().lookupByNameAndType(FerryConfiguration.RECIPIENTS, RecipientsRefresh.class);
        recipients.refreshAll();
        if (trigger == Trigger.SCHEDULED) {
            followRouteFiles(files, recipients);
            clearLogContextAfterRuns();
        }
        if (trigger == Trigger.MANUAL) {
            // Camel Main stops Camel on SIGTERM only in run(); a one-off command (sync, demo --once) runs transfers
            // in its own thread, so it stops them the same way itself: see stopForSignal
            Thread hook = new Thread(this::stopForSignal, "ferry-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            signalHook = hook;
        }
    }

    /**
     * A scheduled run's MDC keys (LogContext) stay on its Quartz worker thread as Camel's MDC callbacks put them back when
     * the route returns: cleared once the job is done, so that the thread's next lines are not the run's.
     */
    private void clearLogContextAfterRuns() throws Exception {
        camel().getComponent("quartz", org.apache.camel.component.quartz.QuartzComponent.class).getScheduler().getListenerManager()
                .addJobListener(new org.quartz.listeners.JobListenerSupport() {
                    @Override
                    public String getName() {
                        return "ferry-log-context";
                    }

                    @Override
                    public void jobWasExecuted(org.quartz.JobExecutionContext context, org.quartz.JobExecutionException e) {
                        dev.ferry.observe.LogContext.clear();
                    }
                });
    }

    /** The property that turns the HTTP server (health, metrics, console) off. */
    static final String HTTP_ENABLED = "ferry.http.enabled";

    /** The HTTP server's Camel properties (http-server.properties): the lowest precedence, under everything users set. */
    private static Properties httpServerDefaults() throws java.io.IOException {
        Properties defaults = new Properties();
        try (java.io.InputStream in = FerryRuntime.class.getResourceAsStream("http-server.properties")) {
            defaults.load(in);
        }
        return defaults;
    }

    /**
     * Under {@code run}, the route files are read again every {@code ferry.routesRefresh} (RoutesRefresh, on a timer
     * route of its own): transfers added, changed or removed there take effect without a restart. A one-off command
     * reads them once.
     */
    private void followRouteFiles(RouteFiles files, RecipientsRefresh recipients) throws Exception {
        CamelContext camel = camel();
        long millis = FerryConfiguration.routesRefresh(camel, new ArrayList<>()).toMillis();
        boolean preflight = camel.getPropertiesComponent().resolveProperty("ferry.preflight").map(Boolean::parseBoolean).orElse(true);
        RoutesRefresh refresh = new RoutesRefresh(camel, catalog(), connections(), recipients, routes, files, preflight);
        camel.addRoutes(new org.apache.camel.builder.RouteBuilder() {
            @Override
            public void configure() {
                from("timer:" + RoutesRefresh.ROUTE_ID + "?period=" + millis + "&delay=" + millis)
                        .routeId(RoutesRefresh.ROUTE_ID)
                        .bean(refresh, "refresh");
            }
        });
    }

    /**
     * On SIGTERM or Ctrl-C during a one-off command: asks the running transfer to stop (at its next batch boundary,
     * or at once when it waits to retry), lets Camel's graceful shutdown wait for it, then waits for the command to
     * record how it ended and close; the JVM exits when this returns.
     */
    private void stopForSignal() {
        org.slf4j.LoggerFactory.getLogger("dev.ferry").warn("ferry: stopping (signal received): the running transfer stops at"
                + " its next batch boundary and no further transfer starts");
        Shutdown shutdown = shutdown();
        if (shutdown != null) {
            shutdown.request();
        }
        try {
            if (camel() != null) {
                camel().stop(); // the graceful shutdown strategy: waits for the running exchange, ends retry waits
            }
        } catch (Exception e) {
            // stopping is best effort: the wait below still bounds the exit
        }
        try {
            closed.await(SHUTDOWN_TIMEOUT_SECONDS, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Whether Ferry was asked to stop: a command that runs transfers one after another starts no further one. */
    public boolean stopping() {
        Shutdown shutdown = shutdown();
        return shutdown != null && shutdown.requested();
    }

    private Shutdown shutdown() {
        return camel() == null ? null : camel().getRegistry().lookupByNameAndType(FerryConfiguration.SHUTDOWN, Shutdown.class);
    }

    /** Blocks until the process is asked to stop (SIGTERM, Ctrl-C), then stops Camel gracefully. */
    public void awaitShutdown() throws Exception {
        main.run();
    }

    /** The port the HTTP server listens on (the free one taken when ferry.http.port is 0); 0 when it is off. */
    public int httpPort() {
        var server = camel() == null ? null
                : camel().hasService(org.apache.camel.component.platform.http.vertx.VertxPlatformHttpServer.class);
        return server == null ? 0 : server.getPort();
    }

    public CamelContext camel() {
        return main.getCamelContext();
    }

    public TransferCatalog catalog() {
        return camel().getRegistry().lookupByNameAndType(FerryConfiguration.CATALOG, TransferCatalog.class);
    }

    public Connections connections() {
        return camel().getRegistry().lookupByNameAndType(FerryConfiguration.CONNECTIONS, Connections.class);
    }

    /** Runs one transfer now, in this thread, and returns how it ended. */
    public TransferRun runOnce(String transfer) throws Exception {
        return TransferLauncher.runOnce(camel(), transfer);
    }

    /**
     * Runs the transfers now, up to {@code ferry.maxRunsInFlight} at once (each waits its turn for sessions like a
     * scheduled run), and returns how each ended, in the order given; null for one not started because Ferry is stopping.
     */
    public java.util.Map<String, TransferRun> runAll(List<String> transfers) throws Exception {
        return runAll(transfers, false);
    }

    /** {@link #runAll(List)}; with {@code fullRefresh}, each as a one-off full reload ({@code sync --full-refresh}). */
    public java.util.Map<String, TransferRun> runAll(List<String> transfers, boolean fullRefresh) throws Exception {
        int threads = Math.max(1, Math.min(transfers.size(), FerryConfiguration.maxRunsInFlight(camel(), new ArrayList<>())));
        java.util.concurrent.ExecutorService pool = camel().getExecutorServiceManager().newFixedThreadPool(this, "ferry-sync", threads);
        try {
            java.util.Map<String, java.util.concurrent.Future<TransferRun>> runs = new java.util.LinkedHashMap<>();
            for (String name : transfers) {
                runs.put(name, pool.submit(() -> {
                    if (stopping()) {
                        org.slf4j.LoggerFactory.getLogger("dev.ferry").warn("transfer {}: not started: Ferry is stopping", name);
                        return null;
                    }
                    return TransferLauncher.runOnce(camel(), name, fullRefresh);
                }));
            }
            java.util.Map<String, TransferRun> ended = new java.util.LinkedHashMap<>();
            for (java.util.Map.Entry<String, java.util.concurrent.Future<TransferRun>> e : runs.entrySet()) {
                try {
                    ended.put(e.getKey(), e.getValue().get());
                } catch (java.util.concurrent.ExecutionException ex) {
                    throw ex.getCause() instanceof Exception cause ? cause : ex;
                }
            }
            return ended;
        } finally {
            camel().getExecutorServiceManager().shutdown(pool);
        }
    }

    @Override
    public void close() {
        try {
            closeRuntime();
        } finally {
            closed.countDown();
            Thread hook = signalHook;
            signalHook = null;
            if (hook != null && Thread.currentThread() != hook) {
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException e) {
                    // the JVM is already stopping: the hook is running, and has just been released
                }
            }
        }
    }

    private void closeRuntime() {
        Connections connections = camel() == null ? null : connections();
        try {
            if (trigger == Trigger.MANUAL && camel() != null) {
                // the scheduler never started: let it go without the half-second wait for its idle worker threads
                camel().getComponent("quartz", org.apache.camel.component.quartz.QuartzComponent.class).getScheduler().shutdown(false);
            }
            main.stop();
        } catch (Exception e) {
            // stopping is best effort
        }
        if (connections != null) {
            connections.close();
        }
    }
}
