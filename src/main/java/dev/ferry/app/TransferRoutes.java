package dev.ferry.app;

import java.util.LinkedHashMap;
import java.util.Map;

import dev.ferry.config.TransferCatalog;
import dev.ferry.failure.Errors;
import org.apache.camel.CamelContext;

/**
 * Adds and removes transfers' routes while Ferry runs: the one place both the recipients lists' refresh
 * ({@link RecipientsRefresh}) and the route files' refresh ({@link RoutesRefresh}) change the running transfers. A
 * transfer is replaced by removing it and adding it again.
 */
final class TransferRoutes {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger("dev.ferry");

    private final CamelContext camel;
    private final TransferCatalog catalog;

    TransferRoutes(CamelContext camel, TransferCatalog catalog) {
        this.camel = camel;
        this.catalog = catalog;
    }

    /**
     * Adds a transfer the catalog already holds (checked as at startup) as a route of the {@code ferry-transfer}
     * template, which the catalog converts as at startup (a recipients list's becomes its {@code ferry-recipients} route);
     * Camel starts it, and its trigger fires on its schedule. On failure the catalog forgets it.
     */
    void add(String name, Map<String, String> parameters) throws Exception {
        try {
            camel.addRouteFromTemplate(name, TransferCatalog.TEMPLATE_ID, new LinkedHashMap<>(parameters));
        } catch (Exception e) {
            catalog.dismiss(name);
            throw e;
        }
    }

    /**
     * Stops a transfer's route with Camel's graceful route stop (a run in progress is waited for, up to the shutdown
     * timeout, as at shutdown), removes it (its Quartz trigger with it), and forgets it in the catalog.
     */
    void remove(String name) {
        try {
            camel.getRouteController().stopRoute(name);
            camel.removeRoute(name);
        } catch (Exception e) {
            LOG.warn("transfer {}: its route could not be removed: {}", name, Errors.describe(e));
        }
        catalog.dismiss(name);
    }
}
