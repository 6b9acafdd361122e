package dev.ferry.pipeline;

import java.sql.Connection;
import java.sql.SQLException;

import dev.ferry.destination.DestinationException;
import dev.ferry.destination.DestinationSchema;
import dev.ferry.destination.FullRefreshSwap;
import dev.ferry.destination.LockWaits;
import dev.ferry.config.Sql;
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
            // for the swap's transaction (and its afterLoad), the session names its transfer: another swap waiting for
            // the schema's turn says who holds it
            try (java.sql.PreparedStatement ps = con.prepareStatement("SELECT pg_catalog.set_config('application_name', ?, true)")) {
                String app = FullRefreshSwap.SWAP_APPLICATION + load.run().spec().name();
                ps.setString(1, app.length() <= 63 ? app : app.substring(0, 63)); // PostgreSQL keeps 63 bytes of it
                ps.execute();
            }
            // hardDeletes: soft: the old table's rows gone from the source are carried over, marked
            load.deleted(FullRefreshSwap.swap(con, load.schema(), load.table(), load.loadTable(), load.sourceTable(),
                    DestinationSchema.swapTag(load.run().id(), load.table()),
                    load.run().spec().changes().softDeletes() ? load.run().syncedAt() : null));
        } catch (FullRefreshSwap.SwapTurnTimeout e) {
            dev.ferry.config.ConnectionSettings d = load.run().destination();
            throw new DestinationException("the swap of " + load.destinationDisplay() + " waited "
                    + dev.ferry.config.Durations.format(e.waited()) + " (the destination's lockTimeout) for its turn to swap in schema "
                    + Sql.displayIdent(load.schema()) + " and gave up: "
                    + (e.holder() != null ? e.holder() + " holds it" : "the swap that held it ended meanwhile")
                    + ", another full refresh swapping a table into that schema (one at a time), whose afterLoad statements run in"
                    + " its swap's transaction and hold the turn until they end. Nothing was swapped: " + load.destinationDisplay()
                    + " keeps its previous contents; the run is not retried, and the next scheduled run tries again. To wait"
                    + " longer, raise " + d.propertyPrefix() + "lockTimeout; or make that transfer's afterLoad short (long work"
                    + " such as VACUUM runs after the commit, outside the swap)");
        } catch (SQLException e) {
            if (statementTimedOut(e)) {
                // building the key or indexes, or checking constraints, outlasted the bound: a retry would copy the
                // whole table again only to time out the same way
                throw new DestinationException("the swap of " + load.destinationDisplay() + " ran one statement (building its"
                        + " primary key or indexes, or checking constraints) longer than the destination's statementTimeout ("
                        + load.run().destination().timeouts().statement() + "); nothing was swapped: the table keeps its"
                        + " previous contents. Raise " + load.run().destination().propertyPrefix() + "statementTimeout");
            }
            if (!LockWaits.timedOut(e)) {
                throw e;
            }
            throw LockWaits.failure(load.destinationPool(), load.run().destination(), "the swap of", load.schema(), load.table(),
                    LockWaits.pid(con), "Nothing was swapped: " + load.destinationDisplay() + " keeps its previous contents");
        }
        if (load.run().reloadOf() != null) {
            resumeAfterReload(load, con);
        }
    }

    /**
     * A one-off full reload of an incremental, append or xmin transfer's table: the watermark its next run resumes
     * from, read before the copy, committed with the swap and recorded for the table swapped in.
     */
    private static void resumeAfterReload(TableLoad load, Connection con) throws SQLException {
        dev.ferry.config.Mode mode = load.run().reloadOf();
        dev.ferry.config.TransferSpec spec = load.run().spec();
        dev.ferry.source.TableRead.ResumeMark mark = load.read().resumeMark();
        String sourceTable = load.source().display();
        dev.ferry.state.Watermarks.save(con, load.schema(), spec.name(), sourceTable, load.run().id(), new dev.ferry.state.Watermarks.State(
                mode.key(), mode == dev.ferry.config.Mode.XMIN ? null : spec.cursor(), load.sourceTable().key(), mark.cursor(), null,
                mark.xminHorizon(), null));
        dev.ferry.state.Watermarks.recordTable(con, load.schema(), spec.name(), sourceTable,
                DestinationSchema.tableIdentity(con, load.schema(), load.table()));
        dev.ferry.state.Watermarks.recordColumnRules(con, load.schema(), spec.name(), sourceTable,
                load.sourceTable().columnRules(spec.columnRules().keyId()));
        dev.ferry.state.RunHistory.note(con, load.schema(), load.recordId(), java.util.List.of("full reload (sync --full-refresh)"
                + " of mode " + mode.key() + ": the next run resumes from "
                + (mark.xminHorizon() != null ? "transaction " + mark.xminHorizon() : mark.cursor() == null ? "the start"
                : Sql.displayIdent(spec.cursor()) + " = '" + mark.cursor() + "'")));
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
