package dev.ferry.pipeline;

import java.sql.Connection;
import java.sql.SQLException;

import dev.ferry.state.Lease;
import dev.ferry.state.RunHistory;
import dev.ferry.state.RunInterrupted;
import org.apache.camel.ExchangeProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The table pipeline's last steps: a read that a shutdown stopped at a batch boundary ends the table as interrupted
 * ({@link #requireDrained}); otherwise the mode's completion, the run record marked succeeded and the lease checked
 * commit with the table's last transaction (the swap, the last hard deletes), and the table's outcome is logged.
 */
public final class TableEnd {

    private static final Logger LOG = LoggerFactory.getLogger("dev.ferry.transfer");

    private final WatermarkLag lag;

    public TableEnd() {
        this(null);
    }

    /** @param lag measures an incremental table's watermark lag once it committed (null: not measured) */
    public TableEnd(WatermarkLag lag) {
        this.lag = lag;
    }

    public void requireDrained(@ExchangeProperty(TableLoad.TABLE) TableLoad load) {
        if (!load.read().drained()) {
            // the loop ended at a batch boundary because Ferry is stopping
            throw new RunInterrupted(load.isFullRefresh()
                    ? "stopped for shutdown after " + load.rows() + " rows; the destination table keeps its previous contents"
                    + " and the next run refreshes it"
                    : "stopped for shutdown after " + load.rows() + " rows in " + load.read().batches() + " committed batch(es); the"
                    + " next run resumes after them");
        }
    }

    /** What the mode commits for the next run (an xmin pass's horizon), in the table's last transaction. */
    public void complete(@ExchangeProperty(TableLoad.TABLE) TableLoad load) throws SQLException {
        load.mode().complete(load);
    }

    public void commit(@ExchangeProperty(TableLoad.TABLE) TableLoad load) throws SQLException {
        Connection con = load.connection();
        RunHistory.succeed(con, load.schema(), load.recordId(), load.rows(), load.readPath());
        Lease.check(con, load.schema(), load.run().spec().name(), load.run().id());
        con.commit();
        // whatever the mode, the schema changes applied are in now: a later step that fails (a post-commit afterLoad
        // statement such as VACUUM) still reports them
        load.schemaCommitted();
        load.markFinished();
        // the lag is measured once the table's sessions are back in their pools: a table never holds its destination
        // session while it waits for a source one
        WatermarkLag.Pending pending = lag != null ? lag.prepare(load) : null;
        load.close();
        if (pending != null) {
            lag.measure(pending);
        }
        load.run().tableDone(load.source(), load.rows());
        double secs = load.seconds();
        LOG.info("transfer {}: {} -> {}: {} rows in {}s ({} rows/s), {} batch(es), {}", load.run().spec().name(),
                load.source().display(), load.destinationDisplay(), load.rows(), String.format("%.2f", secs),
                String.format("%.0f", load.rows() / Math.max(secs, 1e-3)), load.read().batches(), load.mode().outcome(load));
    }
}
