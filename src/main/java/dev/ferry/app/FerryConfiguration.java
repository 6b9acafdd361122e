package dev.ferry.app;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import dev.ferry.cluster.QuartzCluster;
import dev.ferry.config.ConfigException;
import dev.ferry.config.ConnectionSettings;
import dev.ferry.connect.Connections;
import dev.ferry.config.Durations;
import dev.ferry.config.Placeholders;
import dev.ferry.config.ReservedNames;
import dev.ferry.config.RouteFiles;
import dev.ferry.config.Secret;
import dev.ferry.config.TransferCatalog;
import dev.ferry.config.WebhookUrl;
import dev.ferry.destination.CopyStreams;
import dev.ferry.observe.ProgressBoard;
import dev.ferry.source.BatchPlanner;
import dev.ferry.source.RawRowMapperFactory;
import dev.ferry.pipeline.Failures;
import dev.ferry.pipeline.Notifications;
import dev.ferry.pipeline.Retries;
import dev.ferry.state.Runs;
import dev.ferry.state.Shutdown;
import dev.ferry.failure.SqlStateRetryDecision;
import dev.ferry.pipeline.BatchCommit;
import dev.ferry.pipeline.BranchFailures;
import dev.ferry.pipeline.CopyTable;
import dev.ferry.pipeline.CopyWriter;
import dev.ferry.pipeline.HardDeletes;
import dev.ferry.pipeline.Merge;
import dev.ferry.pipeline.Provision;
import dev.ferry.pipeline.ReadPlanner;
import dev.ferry.pipeline.Resume;
import dev.ferry.pipeline.StageBatch;
import dev.ferry.pipeline.Swap;
import dev.ferry.pipeline.TableEnd;
import dev.ferry.pipeline.WatermarkLag;
import dev.ferry.observe.FerryMeters;
import dev.ferry.operate.FerryHealth;
import dev.ferry.pipeline.TableStart;
import dev.ferry.pipeline.MetadataColumns;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.Predicate;
import org.apache.camel.Processor;
import org.apache.camel.StartupListener;
import org.apache.camel.component.quartz.QuartzComponent;
import org.apache.camel.spi.ExecutorServiceManager;
import org.apache.camel.spi.CamelEvent;
import org.apache.camel.support.EventNotifierSupport;
import org.apache.camel.support.LifecycleStrategySupport;
import org.apache.camel.model.Model;

/**
 * Wires Ferry into a Camel Main application, before the routes are read: reads the connections from the
 * properties, binds the beans the routes call, and hooks the transfer catalog into the {@code ferry-transfer}
 * template. When Camel starts, every connection and transfer is validated, and all problems are reported together
 * before any transfer can run.
 *
 * <p>Settings (properties, set by the command line): {@code ferry.routes} (the routes folder, for file:line in
 * messages), {@code ferry.config} (the properties file's name, for messages), {@code ferry.every} (run every
 * transfer on this interval instead of its own schedule: the demo's).
 */
public final class FerryConfiguration implements CamelConfiguration {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger("dev.ferry");

    public static final String CATALOG = "ferryCatalog";
    public static final String CONNECTIONS = "ferryConnections";
    public static final String SHUTDOWN = "ferryShutdown";
    /** The route files as scanned before Camel loaded them (see FerryRuntime). */
    public static final String ROUTE_FILES = "ferryRouteFiles";
    public static final String RECIPIENTS = "ferryRecipients";
    /** Property: transfers run only when asked (sync, check, list), never on their schedules. */
    static final String MANUAL = "ferry.manual";

    @Override
    public void configure(CamelContext camel) {
        String configName = camel.getPropertiesComponent().resolveProperty("ferry.config").orElse(Ferry.DEFAULT_CONFIG);
        Path routes = Path.of(camel.getPropertiesComponent().resolveProperty("ferry.routes").orElse(Ferry.DEFAULT_ROUTES));
        TransferCatalog catalog = new TransferCatalog(camel);
        catalog.routesFolder(routes);
        if (camel.getPropertiesComponent().resolveProperty(MANUAL).map(Boolean::parseBoolean).orElse(false)) {
            catalog.manual();
        }
        camel.getPropertiesComponent().resolveProperty("ferry.every").ifPresent(e -> catalog.overrideSchedule(Durations.parse(e)));
        camel.getCamelContextExtension().getContextPlugin(Model.class)
                .addRouteTemplateDefinitionConverter(TransferCatalog.TEMPLATE_ID, catalog);

        Connections connections = Connections.fromProperties(camel, configName);
        connections.useHousekeeping(camel.getExecutorServiceManager().newScheduledThreadPool(connections, "ferry-pool-housekeeping", 1));
        try {
            // the pools close once the routes have stopped (their runs ended) and before Camel ends its thread pools,
            // so that the pools' periodic housekeeping is cancelled rather than waited for
            camel.addService(new org.apache.camel.support.service.ServiceSupport() {
                @Override
                protected void doStop() {
                    connections.close();
                }
            }, true, true);
        } catch (Exception e) {
            throw new org.apache.camel.RuntimeCamelException(e);
        }
        List<String> problems = new ArrayList<>(connections.problems());
        for (ConnectionSettings d : connections.destinations().values()) {
            String reserved = ReservedNames.schemaProblem(d.schema());
            if (reserved != null) {
                problems.add(configName + ": ferry.destination." + d.name() + ".schema: " + reserved);
            }
        }
        QuartzCluster cluster = QuartzCluster.fromProperties(camel, configName, connections, problems);
        if (camel.getPropertiesComponent().resolveProperty("camel.component.quartz.autoStartScheduler").map("false"::equals)
                .orElse(false)) {
            cluster = null; // sync, check, list: schedules never fire, and the cluster's triggers are not this command's to touch
        }
        if (cluster != null) {
            camel.getCamelContextExtension().registerEndpointCallback(cluster.endpoints());
        }
        // Ferry's meters in the registry camel-micrometer-prometheus serves (FerryRuntime binds it before Camel Main
        // sets up metrics, which then uses it rather than making its own)
        io.micrometer.core.instrument.MeterRegistry meterRegistry = camel.getRegistry().lookupByNameAndType(
                org.apache.camel.component.micrometer.MicrometerConstants.METRICS_REGISTRY_NAME,
                io.micrometer.core.instrument.MeterRegistry.class);
        FerryMeters meters = meterRegistry != null ? new FerryMeters(meterRegistry) : FerryMeters.none();
        camel.getRegistry().bind(FerryMeters.BEAN, meters);
        bindBeans(camel, catalog, connections, problems, cluster);
        maxRunsInFlight(camel, problems);
        routesRefresh(camel, problems);
        httpServer(camel, configName, problems);
        health(camel, catalog, connections, problems);
        console(camel, catalog, connections, configName, problems);

        Connections validated = connections;
        try {
            boolean preflight = camel.getPropertiesComponent().resolveProperty("ferry.preflight").map(Boolean::parseBoolean)
                    .orElse(true);
            camel.addStartupListener(validation(catalog, validated, routes, problems, preflight));
            if (cluster != null) {
                camel.addStartupListener(routesCheck(cluster, catalog));
            }
        } catch (Exception e) {
            throw new org.apache.camel.RuntimeCamelException(e);
        }
    }

    /**
     * The health checks of connections and transfers ({@link FerryHealth}), under the HTTP server only: a one-off
     * command serves no probe.
     */
    private static void health(CamelContext camel, TransferCatalog catalog, Connections connections, List<String> problems) {
        var props = camel.getPropertiesComponent();
        if (!props.resolveProperty(FerryRuntime.HTTP_ENABLED).map(Boolean::parseBoolean).orElse(false)
                || props.resolveProperty(MANUAL).map(Boolean::parseBoolean).orElse(false)) {
            return;
        }
        String text = props.resolveProperty(FerryHealth.INTERVAL).orElse(FerryHealth.DEFAULT_INTERVAL);
        java.time.Duration interval;
        try {
            interval = Durations.parse(text.strip());
            if (interval.isZero() || interval.isNegative()) {
                throw new IllegalArgumentException("not positive");
            }
        } catch (IllegalArgumentException e) {
            problems.add(connections.configName() + ": " + FerryHealth.INTERVAL + ": '" + text + "' is not a duration such as 30s or 1m");
            return;
        }
        FerryHealth health = new FerryHealth(camel, connections, catalog, interval);
        camel.getRegistry().bind(FerryHealth.BEAN, health);
        try {
            camel.addService(health, true, true);
        } catch (Exception e) {
            throw new org.apache.camel.RuntimeCamelException(e);
        }
    }

    /**
     * The HTTP server's port must be free: Vert.x would only log that it cannot listen, and Ferry would run unwatched,
     * with no health, metrics or console.
     */
    static void httpServer(CamelContext camel, String configName, List<String> problems) {
        var props = camel.getPropertiesComponent();
        if (!props.resolveProperty(FerryRuntime.HTTP_ENABLED).map(Boolean::parseBoolean).orElse(false)) {
            return;
        }
        String host = props.resolveProperty("ferry.http.host").orElse("");
        String port = props.resolveProperty("ferry.http.port").orElse("");
        int number;
        try {
            number = Integer.parseInt(port.trim());
        } catch (NumberFormatException e) {
            number = -1;
        }
        if (number < 0 || number > 65535) { // 0: any free port (the tests' choice)
            problems.add(configName + ": ferry.http.port: '" + port + "' is not a port number (1 to 65535, or 0 for any free one)");
            return;
        }
        try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
            probe.bind(new java.net.InetSocketAddress(host, number));
        } catch (java.io.IOException e) {
            problems.add(configName + ": ferry.http: cannot listen on " + host + ":" + number + " (" + e.getMessage()
                    + "): another process holds that port; set ferry.http.port to a free one, or ferry.http.enabled=false to"
                    + " run without the HTTP server (health, metrics, console)");
        }
    }

    /**
     * The console's bean (routes/ferry-console.yaml calls it, loaded stopped when the HTTP server is off): its "Test
     * connection" runs {@link Check} for the one connection, its "Run now" runs the transfer through its route on a
     * thread of Camel's, one run at a time, as {@link TransferLauncher} does for sync (lock and session budget hold).
     */
    private static void console(CamelContext camel, TransferCatalog catalog, Connections connections, String configName,
                                List<String> problems) {
        java.util.concurrent.ExecutorService thread = camel.getExecutorServiceManager()
                .newSingleThreadExecutor(dev.ferry.operate.Console.class, "ferry-console-run");
        try {
            camel.getRegistry().bind(dev.ferry.operate.Console.BEAN, new dev.ferry.operate.Console(camel, connections, catalog,
                    s -> Check.connection(connections, catalog, s).stream().map(i -> new dev.ferry.operate.ConnectionTester.Line(
                            i.status().name(), i.subject(), i.text(), i.fix())).toList(),
                    dev.ferry.operate.Console.runner(thread, name -> {
                        try {
                            return TransferLauncher.runOnce(camel, name);
                        } catch (Exception e) {
                            throw new org.apache.camel.RuntimeCamelException(e);
                        }
                    })));
        } catch (IllegalArgumentException e) {
            problems.add(configName + ": " + e.getMessage());
        }
    }

    private static StartupListener validation(TransferCatalog catalog, Connections validated, Path routes, List<String> problems,
                                              boolean preflight) {
        return new StartupListener() {
            @Override
            public void onCamelContextStarting(CamelContext context, boolean alreadyStarted) {
                List<String> all = new ArrayList<>(problems);
                try {
                    // the scan the runtime made before Camel loaded the routes (scanning again would warn twice)
                    RouteFiles files = context.getRegistry().lookupByNameAndType(ROUTE_FILES, RouteFiles.class);
                    catalog.validate(context, validated, files != null ? files : RouteFiles.scan(routes, TransferCatalog.TEMPLATE_ID));
                } catch (ConfigException e) {
                    all.addAll(e.problems());
                }
                if (all.isEmpty() && catalog.all().isEmpty() && catalog.lists().isEmpty()) {
                    all.add(routes + ": no transfers found; declare one as a templatedRoute of the 'ferry-transfer'"
                            + " template (see routes/shop.yaml)");
                }
                if (all.isEmpty() && preflight) {
                    // the checklist of `ferry check`, at every start: configuration mistakes stop the start, the rest is logged
                    // (a recipients list's transfer as declared: its source side is each recipient's)
                    for (Check.Item item : Check.run(validated, catalog, catalog.allWithLists())) {
                        if (item.configProblem() != null) {
                            all.add(item.configProblem());
                        } else if (item.status() != Check.Item.Status.PASS) {
                            LOG.warn("check: {}", item.line().replace("\n      ", "; "));
                        } else {
                            LOG.debug("check: {}", item.line());
                        }
                    }
                }
                if (!all.isEmpty()) {
                    throw new ConfigException(all);
                }
            }

            @Override
            public void onCamelContextStarted(CamelContext context, boolean alreadyStarted) {
                // validated while starting
            }
        };
    }

    /** Once started, a cluster node records its transfers and warns when they differ from the other nodes'. */
    private static StartupListener routesCheck(QuartzCluster cluster, TransferCatalog catalog) {
        return new StartupListener() {
            @Override
            public void onCamelContextStarted(CamelContext context, boolean alreadyStarted) {
                if (!alreadyStarted) {
                    java.util.Set<org.quartz.TriggerKey> own = new java.util.HashSet<>();
                    for (org.apache.camel.Route route : context.getRoutes()) {
                        if (route.getEndpoint() instanceof org.apache.camel.component.quartz.QuartzEndpoint q) {
                            own.add(q.getTriggerKey());
                        }
                    }
                    cluster.checkRoutes(catalog.all(), catalog.lists().keySet(),
                            context.getComponent("quartz", QuartzComponent.class).getScheduler(), own);
                }
            }
        };
    }

    private static void bindBeans(CamelContext camel, TransferCatalog catalog, Connections connections, List<String> problems,
                                  QuartzCluster cluster) {
        camel.getRegistry().bind(CATALOG, catalog);
        camel.getRegistry().bind(CONNECTIONS, connections);
        for (ConnectionSettings s : connections.sources().values()) {
            camel.getRegistry().bind(Connections.beanName(s), connections.dataSource(s));
        }
        Shutdown shutdown = new Shutdown();
        camel.getManagementStrategy().addEventNotifier(new EventNotifierSupport() {
            @Override
            public void notify(CamelEvent event) {
                if (event instanceof CamelEvent.CamelContextStoppingEvent) {
                    shutdown.request(); // runs stop at their next batch boundary
                }
            }
        });
        camel.getRegistry().bind(SHUTDOWN, shutdown);
        FerryMeters meters = camel.getRegistry().lookupByNameAndType(FerryMeters.BEAN, FerryMeters.class);
        Runs runs = new Runs(catalog, connections, shutdown, meters);
        Retries retries = new Retries(catalog, new SqlStateRetryDecision(), connections, shutdown, meters);
        camel.getRegistry().bind("ferryRuns", runs);
        camel.getRegistry().bind(RECIPIENTS, new RecipientsRefresh(camel, catalog, connections));
        camel.getRegistry().bind("ferryRetryWhile", (Predicate) retries::isTransient);
        camel.getRegistry().bind("ferryBeforeRetry", (Processor) retries::beforeRetry);
        camel.getRegistry().bind("ferryNotifications", notifications(camel, connections.configName(), problems));
        // the table pipeline's steps, in the order the routes call them (ferry-pipeline.yaml)
        CopyStreams streams = copyStreams(camel.getExecutorServiceManager(), connections);
        camel.getRegistry().bind("ferryTables", new dev.ferry.pipeline.RunTables(connections));
        camel.getRegistry().bind("ferryTableStart", new TableStart(connections, shutdown));
        camel.getRegistry().bind("ferryReadPlanner", new ReadPlanner(connections, shutdown));
        camel.getRegistry().bind("ferryProvision", new Provision(connections, progressBoard(camel, connections, problems)));
        camel.getRegistry().bind("ferryResume", new Resume());
        camel.getRegistry().bind("ferryCopyTable", new CopyTable(connections,
                camel.getExecutorServiceManager().newCachedThreadPool(connections, "ferry-copy"), streams));
        camel.getRegistry().bind("ferryStage", new StageBatch(connections, streams));
        // the incremental route's multicast: unbounded, like the sessions it stages in (each table holds one at most)
        camel.getRegistry().bind("ferryStagingThreads", camel.getExecutorServiceManager().newCachedThreadPool(connections, "ferry-stage"));
        camel.getRegistry().bind("ferryBranches", new BranchFailures());
        camel.getRegistry().bind("ferryBatches", new BatchPlanner());
        camel.getRegistry().bind("ferryRawRows", new RawRowMapperFactory());
        camel.getRegistry().bind("ferryTransform", new MetadataColumns());
        camel.getRegistry().bind("ferryWriter", new CopyWriter(streams));
        camel.getRegistry().bind("ferryMerge", new Merge());
        camel.getRegistry().bind("ferryCommit", new BatchCommit());
        camel.getRegistry().bind("ferrySwap", new Swap());
        camel.getRegistry().bind("ferryHardDeletes", new HardDeletes(connections, streams));
        // the transfer's hooks: beforeRun in ferry-transfer.yaml, afterLoad before and after the table end's commit
        camel.getRegistry().bind("ferryHooks", new dev.ferry.pipeline.HookSteps(connections));
        camel.getRegistry().bind("ferryTableEnd", new TableEnd(new WatermarkLag(connections, meters)));
        camel.getRegistry().bind("ferryFailures", new Failures(connections, runs, retries));
        QuartzComponent quartz = camel.getComponent("quartz", QuartzComponent.class);
        camel.addLifecycleStrategy(new LifecycleStrategySupport() {
            @Override
            public void onContextStarting(CamelContext context) {
                // no component has started yet: Quartz reads its properties when its component starts
                if (cluster != null) {
                    cluster.prepare();
                }
                configureQuartz(quartz, maxRunsInFlight(context, new ArrayList<>()), cluster);
            }
        });
    }

    /**
     * Every COPY's threads from Camel's ExecutorServiceManager, so that Camel's shutdown sees them: a pool of source
     * readers, and one watchdog thread over all open COPY streams.
     */
    private static CopyStreams copyStreams(ExecutorServiceManager executors, Connections connections) {
        List<ConnectionSettings> all = new ArrayList<>(connections.sources().values());
        all.addAll(connections.destinations().values());
        return new CopyStreams(executors.newCachedThreadPool(connections, "ferry-copy-reader"),
                executors.newScheduledThreadPool(connections, "ferry-copy-watchdog", 1), CopyStreams.tick(all));
    }

    /**
     * The board of tables in flight ({@link ProgressBoard#BEAN}), with the meters of progress in Camel's Micrometer
     * registry when there is one, reporting every {@code ferry.progressInterval} on one scheduled thread of Camel's.
     */
    private static ProgressBoard progressBoard(CamelContext camel, Object owner, List<String> problems) {
        java.time.Duration interval = ProgressBoard.DEFAULT_INTERVAL;
        String text = camel.getPropertiesComponent().resolveProperty(ProgressBoard.INTERVAL_PROPERTY).orElse(null);
        if (text != null && !text.isBlank()) {
            try {
                interval = Durations.parse(text.strip());
            } catch (IllegalArgumentException e) {
                interval = java.time.Duration.ZERO;
            }
            if (interval.isZero() || interval.isNegative()) {
                problems.add(camel.getPropertiesComponent().resolveProperty("ferry.config").orElse(Ferry.DEFAULT_CONFIG) + ": "
                        + ProgressBoard.INTERVAL_PROPERTY + ": '" + text + "' is not a duration such as 10s or 1m");
                interval = ProgressBoard.DEFAULT_INTERVAL;
            }
        }
        ProgressBoard board = new ProgressBoard(() -> camel.getRegistry().lookupByNameAndType(
                org.apache.camel.component.micrometer.MicrometerConstants.METRICS_REGISTRY_NAME,
                io.micrometer.core.instrument.MeterRegistry.class), interval);
        board.reportOn(camel.getExecutorServiceManager().newScheduledThreadPool(owner, "ferry-progress", 1),
                camel.getExecutorServiceManager().newThreadPool(owner, "ferry-progress-records",
                        new org.apache.camel.builder.ThreadPoolProfileBuilder("ferry-progress-records").poolSize(4).maxPoolSize(4)
                                .allowCoreThreadTimeOut(true).keepAliveTime(10L).build()));
        camel.getRegistry().bind(ProgressBoard.BEAN, board);
        return board;
    }

    /** How many runs a process has going at once by default ({@code ferry.maxRunsInFlight}). */
    public static final int DEFAULT_MAX_RUNS_IN_FLIGHT = 10;

    /**
     * The Quartz threads: a transfer's route runs its whole run on the Quartz thread that fired it, so one per run in
     * flight ({@code ferry.maxRunsInFlight}; fires beyond it wait for a thread, in the order they were due: Quartz's own
     * queue), whatever the number of transfers, which recipients lists and edited route files change while running;
     * and one spare, so that a fire that finds its transfer's previous run still going is recorded as skipped soon
     * (Runs.begin).
     */
    static int quartzThreads(int maxRunsInFlight) {
        return maxRunsInFlight + 1;
    }

    /**
     * {@code ferry.maxRunsInFlight}: how many runs this process has going at once; the default while a problem with it
     * (added to {@code problems}) stops the start.
     */
    static int maxRunsInFlight(CamelContext camel, List<String> problems) {
        String text = camel.getPropertiesComponent().resolveProperty("ferry.maxRunsInFlight").orElse(null);
        if (text == null || text.isBlank()) {
            return DEFAULT_MAX_RUNS_IN_FLIGHT;
        }
        try {
            int n = Integer.parseInt(text.trim());
            if (n >= 1) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        problems.add(camel.getPropertiesComponent().resolveProperty("ferry.config").orElse(Ferry.DEFAULT_CONFIG)
                + ": ferry.maxRunsInFlight: '" + text + "' is not a positive whole number");
        return DEFAULT_MAX_RUNS_IN_FLIGHT;
    }

    /** How often {@code run} reads the route files again by default ({@code ferry.routesRefresh}). */
    public static final java.time.Duration DEFAULT_ROUTES_REFRESH = java.time.Duration.ofSeconds(10);

    /**
     * {@code ferry.routesRefresh}: how often {@code run} reads the route files again (see RoutesRefresh); the default
     * while a problem with it (added to {@code problems}) stops the start.
     */
    static java.time.Duration routesRefresh(CamelContext camel, List<String> problems) {
        String text = camel.getPropertiesComponent().resolveProperty("ferry.routesRefresh").orElse(null);
        if (text == null || text.isBlank()) {
            return DEFAULT_ROUTES_REFRESH;
        }
        try {
            java.time.Duration d = Durations.parse(text.strip());
            if (!d.isZero() && !d.isNegative()) {
                return d;
            }
        } catch (IllegalArgumentException e) {
            // reported below
        }
        problems.add(camel.getPropertiesComponent().resolveProperty("ferry.config").orElse(Ferry.DEFAULT_CONFIG)
                + ": ferry.routesRefresh: '" + text + "' is not a duration such as 10s or 1m");
        return DEFAULT_ROUTES_REFRESH;
    }

    private static void configureQuartz(QuartzComponent quartz, int maxRunsInFlight, QuartzCluster cluster) {
        java.util.Properties qp = new java.util.Properties();
        qp.setProperty("org.quartz.scheduler.instanceName", "ferry");
        qp.setProperty("org.quartz.threadPool.threadCount", String.valueOf(quartzThreads(maxRunsInFlight)));
        qp.setProperty("org.quartz.scheduler.skipUpdateCheck", "true");
        if (cluster != null) {
            qp.putAll(cluster.quartzProperties()); // the JDBC job store, clustered
        }
        quartz.setProperties(new java.util.HashMap<>(qp));
    }

    /**
     * Run notifications, with the default webhook from {@code ferry.webhook.url} (and {@code ferry.webhook.token}), both
     * checked now so that a bad one stops the start with a problem that names the key and never quotes the value.
     */
    private static Notifications notifications(CamelContext camel, String configName, List<String> problems) {
        String url = null;
        String token = null;
        try {
            url = Placeholders.value(camel, "ferry.webhook.url", true);
            String urlProblem = url == null || url.isBlank() ? null : WebhookUrl.problem(url.strip());
            if (urlProblem != null) {
                problems.add(configName + ": ferry.webhook.url " + urlProblem);
            }
        } catch (Placeholders.Unresolved e) {
            problems.add(configName + ": ferry.webhook.url: cannot resolve its value: " + e.getMessage());
        }
        try {
            token = Placeholders.value(camel, "ferry.webhook.token", true);
            // a token read from a secret file or variable often ends with a newline, never part of it
            token = token == null ? null : token.strip();
            String tokenProblem = token == null ? null : WebhookUrl.tokenProblem(token);
            if (tokenProblem != null) {
                problems.add(configName + ": ferry.webhook.token " + tokenProblem);
            }
        } catch (Placeholders.Unresolved e) {
            problems.add(configName + ": ferry.webhook.token: cannot resolve its value: " + e.getMessage());
        }
        return new Notifications(url == null || url.isBlank() ? null : url.strip(), new Secret(token));
    }
}
