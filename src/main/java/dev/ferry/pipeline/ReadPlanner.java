package dev.ferry.pipeline;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

import dev.ferry.config.Mode;
import dev.ferry.config.TableRef;
import dev.ferry.config.TransferSpec;
import dev.ferry.connect.Connections;
import dev.ferry.source.BatchPlanner;
import dev.ferry.source.SourceCatalog;
import dev.ferry.source.SourceTable;
import dev.ferry.source.SourceTableException;
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
        SourceTable source;
        long[] horizon = null;
        String sourceClock;
        try (Connection c = connections.dataSource(run.source()).getConnection()) {
            source = SourceCatalog.describe(c, table).select(spec);
            if (spec.mode() == Mode.XMIN) {
                horizon = xminHorizon(c);
            }
            sourceClock = spec.mode().incremental() ? BatchPlanner.sourceClock(c, source, spec) : null;
        }
        if (spec.mode().incremental() && !source.hasKey()) {
            throw new SourceTableException("transfer '" + spec.name() + "': " + table.display() + " has no primary key, and mode "
                    + spec.mode().key() + " merges rows by key; set the 'key' parameter to columns that identify a row");
        }
        TableRead read = new TableRead(source, spec, Connections.beanName(run.source()), shutdown::requested);
        read.sourceClock(sourceClock);
        read.sourceHorizon(horizon);
        exchange.setProperty(BatchPlanner.READ, read);
    }

    /** The source's oldest running transaction and next transaction id, epoch-extended (never wrap). */
    static long[] xminHorizon(Connection source) throws SQLException {
        try (PreparedStatement ps = source.prepareStatement(
                "SELECT txid_snapshot_xmin(s), txid_snapshot_xmax(s) FROM txid_current_snapshot() s");
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            return new long[] {rs.getLong(1), rs.getLong(2)};
        }
    }
}
