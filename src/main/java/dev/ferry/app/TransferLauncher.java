package dev.ferry.app;

import dev.ferry.state.Runs;
import dev.ferry.state.TransferRun;
import org.apache.camel.CamelContext;
import org.apache.camel.Consumer;
import org.apache.camel.Exchange;
import org.apache.camel.Route;
import org.apache.camel.component.quartz.QuartzEndpoint;

/** Runs a transfer now, for {@code sync} and the demo, through its route exactly as its Quartz trigger would. */
public final class TransferLauncher {

    private TransferLauncher() {
    }

    /**
     * Runs one transfer in the calling thread and returns how it ended.
     *
     * @throws IllegalArgumentException when no transfer has that name
     */
    public static TransferRun runOnce(CamelContext camel, String transfer) throws Exception {
        return runOnce(camel, transfer, false);
    }

    /**
     * Runs one transfer in the calling thread and returns how it ended; with {@code fullRefresh}, as a one-off full
     * reload of an incremental, append or xmin transfer's tables (see Runs#FULL_REFRESH).
     */
    public static TransferRun runOnce(CamelContext camel, String transfer, boolean fullRefresh) throws Exception {
        Route route = camel.getRoute(transfer);
        if (route == null || !(route.getEndpoint() instanceof QuartzEndpoint) || route.getConsumer() == null) {
            throw new IllegalArgumentException("no transfer named '" + transfer + "'");
        }
        // what the Quartz job does when the schedule fires: an exchange from the route's consumer, through the route
        Consumer consumer = route.getConsumer();
        Exchange exchange = consumer.createExchange(false);
        exchange.setProperty(Runs.MANUAL, true);
        if (fullRefresh) {
            exchange.setProperty(Runs.FULL_REFRESH, true);
        }
        try {
            consumer.getProcessor().process(exchange);
            TransferRun run = exchange.getProperty(Runs.RUN, TransferRun.class);
            if (run == null && exchange.getException() != null) {
                throw exchange.getException();
            }
            return run;
        } finally {
            consumer.releaseExchange(exchange, false);
            // Camel's MDC callbacks put the run's keys back as the route returns: the thread's next lines are not the run's
            dev.ferry.observe.LogContext.clear();
        }
    }
}
