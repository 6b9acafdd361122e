package dev.ferry.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import dev.ferry.config.ConfigException;
import dev.ferry.config.Connections;
import dev.ferry.config.ConnectionSettings;
import dev.ferry.config.RouteFiles;
import dev.ferry.config.TransferCatalog;
import dev.ferry.read.BatchPlanner;
import dev.ferry.read.RawRowMapperFactory;
import dev.ferry.state.Failures;
import dev.ferry.state.Runs;
import dev.ferry.state.TransferRun;
import dev.ferry.write.CopyWriter;
import dev.ferry.write.MetadataColumns;
import dev.ferry.write.TableLoads;
import org.apache.camel.CamelContext;
import org.apache.camel.Consumer;
import org.apache.camel.Exchange;
import org.apache.camel.Route;
import org.apache.camel.component.quartz.QuartzEndpoint;
import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.Main;
import org.apache.camel.main.MainListenerSupport;
import org.apache.camel.model.Model;

/**
 * Ferry as a Camel Main application: loads application.properties and the YAML routes, validates every
 * connection and transfer, binds the beans the routes call, and starts Camel.
 *
 * <p>With {@link Trigger#SCHEDULED} the transfers run on their schedules until the process is stopped. With
 * {@link Trigger#MANUAL} the schedules never fire and {@link #runOnce} runs a transfer's route directly, as its
 * Quartz job would (for {@code sync} and {@code demo --once}).
 */
public final class FerryRuntime implements AutoCloseable {

    public enum Trigger { SCHEDULED, MANUAL }

    private final Path config;
    private final Path routes;
    private final Trigger trigger;
    private final Properties overrides;
    private final Duration scheduleOverride;
    private final TransferCatalog catalog = new TransferCatalog();
    private final Main main = new Main();
    private Connections connections;

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
                    + " connections (default ./application.properties)");
        }
        if (!Files.isDirectory(routes)) {
            problems.add(routes + ": no such folder; pass --routes DIR to name the folder of YAML routes (default ./routes)");
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        if (scheduleOverride != null) {
            catalog.overrideSchedule(scheduleOverride);
        }
        main.setPropertyPlaceholderLocations("file:" + config);
        main.configure().withName("ferry")
                .withRoutesIncludePattern("file:" + routes + "/*.yaml,file:" + routes + "/*.yml")
                .withJmxEnabled(false)
                .withShutdownTimeout(60);
        Properties props = new Properties();
        props.putAll(overrides);
        if (trigger == Trigger.MANUAL) {
            props.setProperty("camel.component.quartz.autoStartScheduler", "false");
        }
        main.setOverrideProperties(props);
        String configName = config.getFileName().toString();
        main.addMainListener(new MainListenerSupport() {
            @Override
            public void beforeConfigure(BaseMainSupport m) {
                CamelContext camel = m.getCamelContext();
                camel.getCamelContextExtension().getContextPlugin(Model.class)
                        .addRouteTemplateDefinitionConverter(TransferCatalog.TEMPLATE_ID, catalog);
                List<String> found = new ArrayList<>();
                try {
                    connections = Connections.fromProperties(camel, configName);
                } catch (ConfigException e) {
                    found.addAll(e.problems());
                    connections = new Connections(java.util.Map.of(), java.util.Map.of(), configName);
                }
                bindBeans(camel);
                connectionProblems = found;
            }

            @Override
            public void afterConfigure(BaseMainSupport m) {
                List<String> all = new ArrayList<>(connectionProblems);
                try {
                    catalog.validate(m.getCamelContext(), connections, RouteFiles.scan(routes, TransferCatalog.TEMPLATE_ID));
                } catch (ConfigException e) {
                    all.addAll(e.problems());
                }
                if (all.isEmpty() && catalog.all().isEmpty()) {
                    all.add(routes + ": no transfers found; declare one as a templatedRoute of the 'ferry-transfer' template"
                            + " (see routes/shop.yaml)");
                }
                if (!all.isEmpty()) {
                    throw new ConfigException(all);
                }
            }
        });
        main.init();
        main.start();
    }

    private List<String> connectionProblems = List.of();

    private void bindBeans(CamelContext camel) {
        for (ConnectionSettings s : connections.sources().values()) {
            camel.getRegistry().bind(Connections.beanName(s), connections.dataSource(s));
        }
        camel.getRegistry().bind("ferryRuns", new Runs(catalog, connections));
        camel.getRegistry().bind("ferryTables", new TableLoads(connections));
        camel.getRegistry().bind("ferryBatches", new BatchPlanner());
        camel.getRegistry().bind("ferryRawRows", new RawRowMapperFactory());
        camel.getRegistry().bind("ferryTransform", new MetadataColumns());
        camel.getRegistry().bind("ferryWriter", new CopyWriter());
        camel.getRegistry().bind("ferryFailures", new Failures(connections));
    }

    /** Blocks until the process is asked to stop (SIGTERM, Ctrl-C), then stops Camel gracefully. */
    public void awaitShutdown() throws Exception {
        main.run();
    }

    public TransferCatalog catalog() {
        return catalog;
    }

    public Connections connections() {
        return connections;
    }

    public CamelContext camel() {
        return main.getCamelContext();
    }

    /**
     * Runs one transfer now, in this thread, through its route exactly as its schedule would, and returns how it
     * ended.
     */
    public TransferRun runOnce(String transfer) throws Exception {
        Route route = camel().getRoute(transfer);
        if (route == null || !(route.getEndpoint() instanceof QuartzEndpoint) || route.getConsumer() == null) {
            throw new IllegalArgumentException("no transfer named '" + transfer + "'");
        }
        // what the Quartz job does when the schedule fires: an exchange from the route's consumer, through the route
        Consumer consumer = route.getConsumer();
        Exchange exchange = consumer.createExchange(false);
        try {
            consumer.getProcessor().process(exchange);
            TransferRun run = exchange.getProperty(Runs.RUN, TransferRun.class);
            if (run == null && exchange.getException() != null) {
                throw exchange.getException();
            }
            return run;
        } finally {
            consumer.releaseExchange(exchange, false);
        }
    }

    @Override
    public void close() {
        try {
            main.stop();
        } catch (Exception e) {
            // stopping is best effort
        }
        if (connections != null) {
            connections.close();
        }
    }
}
