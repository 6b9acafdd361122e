package dev.ferry.pipeline;

import java.sql.Connection;
import java.sql.SQLException;

import dev.ferry.config.TableRef;
import dev.ferry.config.TransferSpec;
import dev.ferry.connect.Connections;
import dev.ferry.source.BatchPlanner;
import dev.ferry.source.SourceCatalog;
import dev.ferry.source.SourceTable;
import dev.ferry.source.TableRead;
import dev.ferry.state.Runs;
import dev.ferry.state.Shutdown;
import dev.ferry.state.TransferRun;
import org.apache.camel.Body;
import org.apache.camel.Exchange;
import org.apache.camel.ExchangeProperty;

/**
 * Plans the table's read: describes the source table (its columns as the transfer selects them, its key, their
 * types), and starts the read's position and path (see {@link TableRead}); for the modes that need them, the source's
 * clock and its transaction horizon at the start.
 */
public final class ReadPlanner {

    private final Connections connections;
    private final Shutdown shutdown;

    public ReadPlanner(Connections connections, Shutdown shutdown) {
        this.connections = connections;
        this.shutdown = shutdown;
    }

    public void plan(@ExchangeProperty(Runs.RUN) TransferRun run, @Body TableRef table, Exchange exchange) throws SQLException {
        TransferSpec spec = run.spec();
        try (Connection c = connections.dataSource(run.source()).getConnection()) {
            SourceTable source = dev.ferry.source.ColumnTransform.apply(c, SourceCatalog.describe(c, table).select(spec), spec);
            TableRead read = new TableRead(source, spec, Connections.beanName(run.source()), shutdown::requested);
            read.start(c);
            if (run.reloadOf() != null) {
                // a full reload of an incremental transfer: where its next run resumes, read before the copy starts
                read.resumeMark(BatchPlanner.resumeMark(c, source, spec, run.reloadOf()));
            }
            read.estimate(c);
            exchange.setProperty(BatchPlanner.READ, read);
        }
    }
}
