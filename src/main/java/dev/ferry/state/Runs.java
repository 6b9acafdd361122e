package dev.ferry.state;

import java.sql.Connection;
import java.sql.SQLException;

import dev.ferry.config.Connections;
import dev.ferry.config.TransferCatalog;
import dev.ferry.config.TransferSpec;
import dev.ferry.write.DestinationSchema;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The start and end of a run: what the route's first and last steps call. */
public final class Runs {

    public static final String RUN = "ferryRun";
    private static final Logger LOG = LoggerFactory.getLogger("dev.ferry.transfer");

    private final TransferCatalog catalog;
    private final Connections connections;

    public Runs(TransferCatalog catalog, Connections connections) {
        this.catalog = catalog;
        this.connections = connections;
    }

    /** Starts a run of the transfer whose route fired: makes sure the destination schema and run history exist. */
    public void begin(Exchange exchange) throws SQLException {
        TransferSpec spec = catalog.get(exchange.getFromRouteId());
        TransferRun run = new TransferRun(spec, connections.source(spec.source()), connections.destination(spec.destination()));
        exchange.setProperty(RUN, run);
        LOG.info("transfer {}: run {} started ({}, {} table(s), {} -> {})", spec.name(), run.id(), spec.mode().key(),
                spec.tables().size(), run.source().describe(), run.destination().describe());
        try (Connection c = connections.dataSource(run.destination()).getConnection()) {
            DestinationSchema.ensureSchema(c, run.destination().schema());
            RunHistory.ensure(c, run.destination().schema());
        }
        exchange.getIn().setBody(run.getTables());
    }

    /** Logs how the run ended. Tables that failed were recorded by the error route as they failed. */
    public void finish(Exchange exchange) {
        TransferRun run = exchange.getProperty(RUN, TransferRun.class);
        if (run == null) {
            return;
        }
        double secs = run.seconds();
        if (run.status() == TransferRun.Status.SUCCEEDED) {
            LOG.info("transfer {}: run {} succeeded: {} rows in {}s ({} rows/s)", run.spec().name(), run.id(), run.rows(),
                    String.format("%.2f", secs), String.format("%.0f", run.rows() / Math.max(secs, 1e-3)));
        } else {
            LOG.error("transfer {}: run {} failed after {}s: {}", run.spec().name(), run.id(), String.format("%.2f", secs),
                    run.firstError());
        }
    }
}
