package dev.ferry.pipeline;

import dev.ferry.failure.Errors;
import dev.ferry.state.RunHistory;
import dev.ferry.state.Runs;
import dev.ferry.state.TransferRun;
import dev.ferry.failure.RetryDecision;
import dev.ferry.state.Shutdown;
import dev.ferry.config.TransferCatalog;
import dev.ferry.config.TransferSpec;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the transfer route's error handler asks: retry this failure or not ({@link #isTransient}), and what happens
 * before each retry ({@link #beforeRetry}). The delays between attempts (exponential, capped) are the route's
 * redelivery policy; this decides which failures get them and how many.
 */
public final class Retries {

    private static final Logger LOG = LoggerFactory.getLogger("dev.ferry.transfer");

    private final TransferCatalog catalog;
    private final RetryDecision decision;
    private final dev.ferry.connect.Connections connections;

    private final Shutdown shutdown;

    private final dev.ferry.observe.FerryMeters meters;

    public Retries(TransferCatalog catalog, RetryDecision decision, dev.ferry.connect.Connections connections, Shutdown shutdown) {
        this(catalog, decision, connections, shutdown, dev.ferry.observe.FerryMeters.none());
    }

    public Retries(TransferCatalog catalog, RetryDecision decision, dev.ferry.connect.Connections connections, Shutdown shutdown,
                   dev.ferry.observe.FerryMeters meters) {
        this.catalog = catalog;
        this.decision = decision;
        this.connections = connections;
        this.shutdown = shutdown;
        this.meters = meters;
    }

    /** The route's retry-while predicate: a transient failure, attempts left, and Ferry not shutting down. */
    public boolean isTransient(Exchange exchange) {
        Throwable failure = failure(exchange);
        if (failure == null || shutdown.requested() || !decision.isTransient(failure)) {
            return false;
        }
        // Camel counts the retry it is deciding on before asking: 1 on the first failure. retryAttempts is how many
        // retries follow the first attempt, so retry number retryAttempts is still allowed.
        int retry = exchange.getIn().getHeader(Exchange.REDELIVERY_COUNTER, 0, Integer.class);
        TransferSpec spec = catalog.contains(exchange.getFromRouteId()) ? catalog.get(exchange.getFromRouteId()) : null;
        int allowed = spec == null ? 0 : spec.retryAttempts();
        return retry <= allowed;
    }

    /**
     * Whether a failure was cut short by a shutdown rather than being a failure of the table: Camel's error handler
     * gave up waiting for the next retry because Ferry is stopping (allowRedeliveryWhileStopping: false in
     * ferry-transfer.yaml), or a failure that would have been retried came while stopping. The table is recorded
     * interrupted, and the next run covers it.
     */
    public boolean stoppedForShutdown(Throwable failure) {
        return shutdown.requested() && failure != null
                && (failure instanceof java.util.concurrent.RejectedExecutionException || decision.isTransient(failure));
    }

    /** The failure a retry was waiting on, when a shutdown ended the wait (Camel keeps it as a suppressed exception). */
    public static Throwable retried(Throwable failure) {
        if (failure instanceof java.util.concurrent.RejectedExecutionException && failure.getSuppressed().length > 0) {
            return failure.getSuppressed()[0];
        }
        return failure;
    }

    /** Logs each retry, with its cause: retry k is attempt k + 1 of retryAttempts + 1. */
    public void beforeRetry(Exchange exchange) {
        int retry = exchange.getIn().getHeader(Exchange.REDELIVERY_COUNTER, 0, Integer.class);
        TransferRun run = exchange.getProperty(Runs.RUN, TransferRun.class);
        Object table = exchange.getProperty(Failures.SOURCE_TABLE);
        String what = run == null ? exchange.getFromRouteId() : run.spec().name();
        String cause = TransferRun.describe(failure(exchange), run);
        LOG.warn("transfer {}: {}retrying (attempt {} of {}) after a transient failure: {}", what,
                table != null ? table + ": " : "", retry + 1, run == null ? "?" : run.spec().retryAttempts() + 1, cause);
        meters.retried(what, table == null ? "" : table.toString());
        Long record = exchange.getProperty(Failures.RECORD, Long.class);
        if (run != null && record != null && table != null) {
            try (java.sql.Connection c = connections.dataSource(run.destination()).getConnection()) {
                RunHistory.retrying(c, run.destination().schema(), record, cause);
            } catch (java.sql.SQLException | RuntimeException e) {
                LOG.debug("could not count the retry in the run history: {}", e.getMessage());
            }
        }
    }

    private static Throwable failure(Exchange exchange) {
        Throwable t = exchange.getException();
        return t != null ? t : exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
    }
}
