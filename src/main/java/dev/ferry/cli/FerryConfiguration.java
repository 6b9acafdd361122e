package dev.ferry.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import dev.ferry.config.ConfigException;
import dev.ferry.config.ConnectionSettings;
import dev.ferry.config.Connections;
import dev.ferry.config.Durations;
import dev.ferry.config.RouteFiles;
import dev.ferry.config.TransferCatalog;
import dev.ferry.read.BatchPlanner;
import dev.ferry.read.RawRowMapperFactory;
import dev.ferry.state.Failures;
import dev.ferry.state.Runs;
import dev.ferry.write.CopyWriter;
import dev.ferry.write.MetadataColumns;
import dev.ferry.write.TableLoads;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.StartupListener;
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

    public static final String CATALOG = "ferryCatalog";
    public static final String CONNECTIONS = "ferryConnections";

    @Override
    public void configure(CamelContext camel) {
        String configName = camel.getPropertiesComponent().resolveProperty("ferry.config").orElse("application.properties");
        Path routes = Path.of(camel.getPropertiesComponent().resolveProperty("ferry.routes").orElse("routes"));
        TransferCatalog catalog = new TransferCatalog();
        camel.getPropertiesComponent().resolveProperty("ferry.every").ifPresent(e -> catalog.overrideSchedule(Durations.parse(e)));
        camel.getCamelContextExtension().getContextPlugin(Model.class)
                .addRouteTemplateDefinitionConverter(TransferCatalog.TEMPLATE_ID, catalog);

        Connections connections = Connections.fromProperties(camel, configName);
        List<String> problems = new ArrayList<>(connections.problems());
        bindBeans(camel, catalog, connections);

        Connections validated = connections;
        try {
            camel.addStartupListener(validation(catalog, validated, routes, problems));
        } catch (Exception e) {
            throw new org.apache.camel.RuntimeCamelException(e);
        }
    }

    private static StartupListener validation(TransferCatalog catalog, Connections validated, Path routes, List<String> problems) {
        return new StartupListener() {
            @Override
            public void onCamelContextStarting(CamelContext context, boolean alreadyStarted) {
                List<String> all = new ArrayList<>(problems);
                try {
                    catalog.validate(context, validated, RouteFiles.scan(routes, TransferCatalog.TEMPLATE_ID));
                } catch (ConfigException e) {
                    all.addAll(e.problems());
                }
                if (all.isEmpty() && catalog.all().isEmpty()) {
                    all.add(routes + ": no transfers found; declare one as a templatedRoute of the 'ferry-transfer'"
                            + " template (see routes/shop.yaml)");
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

    private static void bindBeans(CamelContext camel, TransferCatalog catalog, Connections connections) {
        camel.getRegistry().bind(CATALOG, catalog);
        camel.getRegistry().bind(CONNECTIONS, connections);
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
}
