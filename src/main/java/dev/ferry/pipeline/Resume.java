package dev.ferry.pipeline;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

import dev.ferry.config.Sql;
import dev.ferry.config.TransferSpec;
import dev.ferry.destination.DestinationSchema;
import dev.ferry.destination.TableIdentity;
import dev.ferry.source.SourceTable;
import dev.ferry.source.SourceTableException;
import dev.ferry.state.Watermarks;
import org.apache.camel.ExchangeProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The merge modes' first step: where the read starts, from the table's committed watermark, unless the transfer now
 * reads differently (mode, cursor or key changed) or the destination table is not the one the watermark was recorded
 * for: then the table is read again from the start (a backfill), and the run record says why. Commits what
 * provisioning changed together with the watermark's record of the table.
 */
public final class Resume {

    private static final Logger LOG = LoggerFactory.getLogger("dev.ferry.transfer");

    public void resume(@ExchangeProperty(TableLoad.TABLE) TableLoad load) throws SQLException {
        TransferSpec spec = load.run().spec();
        Connection con = load.connection();
        String sourceTable = load.source().display();
        TableIdentity current = DestinationSchema.tableIdentity(con, load.schema(), load.table());
        Watermarks.State state = Watermarks.load(con, load.schema(), spec.name(), sourceTable);
        if (state != null && !state.sameShape(spec.mode().key(), spec.cursor(), load.sourceTable().key())) {
            LOG.warn("transfer {}: {}: the transfer's mode, cursor or key changed since its last run ({}, cursor {}, key {});"
                    + " reading the table again from the start", spec.name(), sourceTable, state.mode(),
                    state.cursorColumn(), state.keyColumns());
            state = null;
        }
        TableIdentity recorded = state == null ? null : Watermarks.recordedTable(con, load.schema(), spec.name(), sourceTable);
        if (state != null && state.started()) {
            String change = changed(recorded, load.foundTable());
            String before = change == null || recorded == null ? null : DestinationSchema.tableName(con, load.schema(), recorded);
            if (before != null && !before.equals(load.table())) {
                // destinationTable or a rename changed: resuming would leave the new table without the rows written before
                load.notes().add("the destination table is now " + load.destinationDisplay() + ", and this transfer's watermark"
                        + " was recorded for " + Sql.displayIdent(before) + " (destinationTable or a rename changed): the table"
                        + " is read from the start (a backfill) into the new one; " + Sql.displayIdent(before) + " is left as it is");
                state = null;
            } else if (change != null) {
                load.notes().add("the destination table " + change + " since this transfer's watermark was recorded, so rows"
                        + " written before may be gone: the table is read again from the start (a backfill) instead of"
                        + " resuming");
                state = null;
            }
        }
        java.util.Map<String, String> rules = load.sourceTable().columnRules(spec.columnRules().keyId());
        if (state != null) {
            java.util.Map<String, String> before = Watermarks.columnRules(con, load.schema(), spec.name(), sourceTable);
            List<String> changed = SourceTable.rulesChanged(before, rules);
            if (state.started() && !changed.isEmpty()) {
                // merging on would leave the rows already there as the old rules made them: clear values, or other hashes
                throw new SourceTableException(SourceTableException.Kind.SHAPE, "transfer '" + spec.name() + "', table "
                        + sourceTable + ": its column rules changed since the rows at the destination were merged ("
                        + String.join("; ", changed) + "), so the rows already in " + load.destinationDisplay() + " keep what"
                        + " the old rules wrote (values in clear, or hashes of another key), and no row was written; rewrite"
                        + " the table under the new rules with ferry sync " + spec.name() + " --full-refresh (it keeps the"
                        + " watermark), or restore the old rules");
            }
            if (!before.equals(rules)) {
                Watermarks.recordColumnRules(con, load.schema(), spec.name(), sourceTable, rules); // with this resume's commit
            }
        }
        if (state == null) {
            Watermarks.restart(con, load.schema(), spec.name(), sourceTable, load.run().id(), spec.mode().key(), spec.cursor(),
                    load.sourceTable().key(), current);
            Watermarks.recordColumnRules(con, load.schema(), spec.name(), sourceTable, rules);
        } else if (!current.equals(recorded)) {
            // recorded for the first time (a watermark from an older Ferry), or Ferry itself just rewrote the table
            Watermarks.recordTable(con, load.schema(), spec.name(), sourceTable, current);
        }
        load.mode().startRead(load, state);
        if (load.read().startCursor() != null || load.read().startKey() != null || load.read().xminFrom() != null) {
            load.progress().unknownTotal(); // resumed after its watermark: only part of the table is read, its size says nothing
        }
        con.commit();
        load.schemaCommitted(); // with the provisioning's changes: reported even if a later batch fails
        load.flushNotes();
    }

    /**
     * How the destination table differs from the one a watermark was recorded for, or null when it does not (or
     * cannot be told: a watermark from before tables were recorded, of a table that is still there).
     */
    static String changed(TableIdentity recorded, TableIdentity found) {
        if (found == null) {
            return "was missing (dropped, or its schema was)";
        }
        if (recorded == null) {
            return null;
        }
        if (recorded.oid() != found.oid()) {
            return "is another table than before (dropped and created again, or replaced by a copy)";
        }
        if (!java.util.Objects.equals(recorded.storage(), found.storage())) {
            return "was emptied or rewritten (TRUNCATE, or VACUUM FULL or CLUSTER, which cannot be told apart from it)";
        }
        return null;
    }
}
