package dev.ferry.pipeline;

import java.sql.Connection;
import java.sql.SQLException;

import dev.ferry.destination.DestinationException;
import dev.ferry.destination.DestinationSchema;
import dev.ferry.destination.FullRefreshSwap;
import dev.ferry.destination.LockWaits;
import org.apache.camel.ExchangeProperty;

/**
 * A full refresh's finish: the load table gets its metadata columns (bulk path), its primary key and what users
 * attached to the old table, and replaces it, in the load's transaction (see {@link FullRefreshSwap}); the table end
 * step commits it with the run record.
 */
public final class Swap {

    public void swap(@ExchangeProperty(TableLoad.TABLE) TableLoad load) throws SQLException {
        Connection con = load.connection();
        if (load.read().isBulkCopy()) {
            DestinationSchema.addRunColumns(con, load.schema(), load.loadTable(), load.run().syncedAt(), load.run().id());
        }
        try {
            FullRefreshSwap.swap(con, load.schema(), load.table(), load.loadTable(), load.sourceTable(),
                    DestinationSchema.swapTag(load.run().id(), load.table()));
        } catch (SQLException e) {
            if (statementTimedOut(e)) {
                // building the key or indexes, or checking constraints, outlasted the bound: a retry would copy the
                // whole table again only to time out the same way
                throw new DestinationException("the swap of " + load.destinationDisplay() + " ran one statement (building its"
                        + " primary key or indexes, or checking constraints) longer than the destination's statementTimeout ("
                        + load.run().destination().timeouts().statement() + "); nothing was swapped: the table keeps its"
                        + " previous contents. Raise ferry.destination." + load.run().destination().name() + ".statementTimeout");
            }
            if (!LockWaits.timedOut(e)) {
                throw e;
            }
            throw LockWaits.failure(load.destinationPool(), load.run().destination(), "the swap of", load.schema(), load.table(),
                    LockWaits.pid(con), "Nothing was swapped: " + load.destinationDisplay() + " keeps its previous contents");
        }
    }

    /** PostgreSQL's statement_timeout ended the statement (57014 is also a cancel for other reasons, such as a stop). */
    static boolean statementTimedOut(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLException sql && "57014".equals(sql.getSQLState()) && sql.getMessage() != null
                    && sql.getMessage().contains("statement timeout")) {
                return true;
            }
        }
        return false;
    }
}
