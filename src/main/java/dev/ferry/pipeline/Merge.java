package dev.ferry.pipeline;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import dev.ferry.config.ReservedNames;
import dev.ferry.config.Sql;
import dev.ferry.destination.DestinationException;
import dev.ferry.destination.DestinationSchema;
import dev.ferry.source.SourceTable;
import org.apache.camel.ExchangeProperty;

/**
 * The merge modes' merge step: the staged batch into the destination table by key ({@code INSERT ... ON CONFLICT},
 * which works on PostgreSQL 12 and up), in the load's transaction; the commit step then makes it durable with its
 * watermark. A row the destination rejects fails the batch, naming its key.
 */
public final class Merge {

    /** The temporary table a batch is staged in, dropped at the batch's commit. */
    static final String STAGE = ReservedNames.PREFIX + "stage";

    public void merge(@ExchangeProperty(TableLoad.TABLE) TableLoad load) throws SQLException {
        load.addChanged(insertOnConflict(load.connection(), load, load.metadataStaged()));
    }

    /**
     * Merges the staged batch into the destination table; returns the rows inserted or updated.
     *
     * @param metadataStaged whether the stage holds the metadata columns; if not, they are the run's, bound here
     */
    private static int insertOnConflict(Connection con, TableLoad load, boolean metadataStaged) throws SQLException {
        SourceTable t = load.sourceTable();
        List<String> cols = DestinationSchema.copyColumns(t);
        String selected = metadataStaged ? Sql.idents(cols)
                : Sql.idents(t.columnNames()) + ", CAST(? AS timestamptz), CAST(? AS uuid)";
        StringBuilder sql = new StringBuilder("INSERT INTO ").append(Sql.qualified(load.schema(), load.table()))
                .append(" (").append(Sql.idents(cols)).append(") SELECT ").append(selected)
                .append(" FROM pg_temp.").append(STAGE).append(" ON CONFLICT (").append(Sql.idents(t.key())).append(") DO ");
        List<String> updates = new ArrayList<>();
        for (String c : cols) {
            if (!t.key().contains(c)) {
                updates.add(Sql.ident(c) + " = EXCLUDED." + Sql.ident(c));
            }
        }
        for (String gone : load.destinationOnly()) {
            updates.add(Sql.ident(gone) + " = NULL"); // no longer at the source: NULL in rows written from now on
        }
        if (load.clearsDeletedAt()) {
            updates.add(Sql.ident(DestinationSchema.DELETED_AT) + " = NULL"); // a row that comes back is no longer deleted
        }
        if (load.mode().keepsExistingRows() || updates.isEmpty()) {
            sql.append("NOTHING"); // append: rows already there stay as they are
        } else {
            sql.append("UPDATE SET ").append(String.join(", ", updates));
        }
        java.sql.Savepoint before = con.setSavepoint();
        try (java.sql.PreparedStatement ps = con.prepareStatement(sql.toString())) {
            if (!metadataStaged) {
                ps.setObject(1, load.run().syncedAt());
                ps.setObject(2, load.run().id());
            }
            return ps.executeUpdate();
        } catch (SQLException e) {
            if (e.getSQLState() == null || !e.getSQLState().startsWith("23")) {
                throw e;
            }
            con.rollback(before);
            String keys = RejectedRows.keys(con, load, e);
            String first = e.getMessage() == null ? "" : e.getMessage().split("\n")[0];
            throw new DestinationException("the destination rejected " + (keys != null ? "the row(s) with key " + keys : "a row")
                    + " of " + load.source().display() + " merging into " + load.destinationDisplay() + ": " + first
                    + " (SQLSTATE " + e.getSQLState() + "). The batch was rolled back and its watermark not moved: fix the row at"
                    + " the source or the constraint at the destination, and the next run resumes from the last committed batch");
        }
    }
}
