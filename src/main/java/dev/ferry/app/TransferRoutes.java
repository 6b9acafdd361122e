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
        startScheduleNow(name);
        checksInStep();
    }

    /**
     * Moves the first fire of a route added while the scheduler runs to now. camel-quartz starts such a trigger 500 ms
     * ahead and skips a fire that comes before the trigger's start, and Quartz fires up to 2 ms early: the first run of
     * an {@code every} transfer would then wait a whole interval. Once the route has started (its consumer ready), a start
     * just past leaves nothing to skip. A trigger that already fired (another node's, in a cluster) is left alone.
     */
    private void startScheduleNow(String name) throws org.quartz.SchedulerException {
        org.apache.camel.Route route = camel.getRoute(name);
        if (route == null || !(route.getEndpoint() instanceof org.apache.camel.component.quartz.QuartzEndpoint quartz)) {
            return; // a recipients list's route: a timer
        }
        org.quartz.Scheduler scheduler = quartz.getComponent().getScheduler();
        org.quartz.Trigger trigger = scheduler.getTrigger(quartz.getTriggerKey());
        if (trigger instanceof org.quartz.SimpleTrigger && trigger.getPreviousFireTime() == null) {
            scheduler.rescheduleJob(trigger.getKey(), trigger.getTriggerBuilder()
                    .startAt(new java.util.Date(System.currentTimeMillis() - 1)).build());
        }
    }

    /**
     * Stops a transfer's route with Camel's graceful route stop (a run in progress is waited for, up to the shutdown
     * timeout, as at shutdown), removes it (its Quartz trigger with it), and forgets it in the catalog.
     *
     * @param replacing true when the transfer is added again at once, changed: its meters and health check stay (a
     *                  changed batchSize must not silence an age alert, reset its counters, or turn a failing check UP);
     *                  if the new one cannot be added and the transfer is gone after all, call {@link #gone}
     */
    void remove(String name, boolean replacing) {
        try {
            org.apache.camel.Route route = camel.getRoute(name);
            camel.getRouteController().stopRoute(name);
            camel.removeRoute(name);
            if (route != null && route.getEndpoint() instanceof org.apache.camel.component.quartz.QuartzEndpoint quartz) {
                org.quartz.Scheduler scheduler = quartz.getComponent().getScheduler();
                if (scheduler.getMetaData().isJobStoreClustered()) {
                    // camel-quartz leaves a clustered trigger in place when its route goes (the other nodes share it):
                    // the transfer is gone, so its firings go too
                    scheduler.unscheduleJob(quartz.getTriggerKey());
                }
            }
        } catch (Exception e) {
            LOG.warn("transfer {}: its route could not be removed: {}", name, Errors.describe(e));
        }
        catalog.dismiss(name);
        if (!replacing) {
            gone(name);
        }
    }

    /** A transfer removed for good: its meters and health check go with it (recipients come and go, and leave no stale series or check). */
    void gone(String name) {
        dev.ferry.observe.FerryMeters meters = camel.getRegistry().lookupByNameAndType(dev.ferry.observe.FerryMeters.BEAN,
                dev.ferry.observe.FerryMeters.class);
        if (meters != null) {
            meters.forget(name);
        }
        checksInStep();
    }

    /** The health checks follow the transfers and connections there are now (after a removal, a connection forgotten). */
    void checksInStep() {
        dev.ferry.operate.FerryHealth health = camel.getRegistry().lookupByNameAndType(dev.ferry.operate.FerryHealth.BEAN,
                dev.ferry.operate.FerryHealth.class);
        if (health != null) {
            health.sync();
        }
    }
}
