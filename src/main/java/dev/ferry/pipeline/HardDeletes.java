package dev.ferry.pipeline;

import dev.ferry.destination.CopyPipe;
import dev.ferry.destination.CopyStreams;
import dev.ferry.destination.CopyTextEncoder;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.StringJoiner;

import javax.sql.DataSource;

import dev.ferry.config.ReservedNames;
import dev.ferry.config.Sql;
import dev.ferry.config.TransferSpec;
import dev.ferry.source.SourceTable;
import dev.ferry.state.RunHistory;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;

/**
 * Opt-in hard deletes for incremental transfers: removes destination rows whose key no longer exists at the
 * source (or no longer matches the transfer's filter), or, with {@code hardDeletes: soft}, keeps them and sets their
 * {@code _ferry_deleted_at} (once), and clears it on rows whose key is back (the merge also does, for the rows it
 * re-reads). Only keys travel: the source's keys
 * are streamed into a temporary table at the destination with COPY, and one anti-join deletes (or marks) the rest, in
 * the run's last transaction.
 *
 * <p>Runs after the run's batches, so every row the destination holds was read from the source before the keys
 * were: a key missing now was deleted at the source since.
 */
public final class HardDeletes {

    /** The temporary table of the source's keys. */
    private static final String KEYS = ReservedNames.PREFIX + "keys";

    private final dev.ferry.connect.Connections connections;
    private final CopyStreams streams;

    public HardDeletes(dev.ferry.connect.Connections connections, CopyStreams streams) {
        this.connections = connections;
        this.streams = streams;
    }

    /** The route's hard-delete step, in the table's last transaction. */
    public void apply(@org.apache.camel.ExchangeProperty(TableLoad.TABLE) TableLoad load) throws SQLException {
        load.deleted(deleteGone(load, connections.dataSource(load.run().source()), streams));
    }

    private static long deleteGone(TableLoad load, DataSource source, CopyStreams streams) throws SQLException {
        SourceTable t = load.sourceTable();
        TransferSpec spec = load.run().spec();
        Connection dest = load.connection();
        StringJoiner cols = new StringJoiner(", ");
        for (String k : t.key()) {
            cols.add(Sql.ident(k) + " " + t.destinationTypes().get(t.indexOf(k)));
        }
        try (Statement st = dest.createStatement()) {
            st.execute("CREATE TEMP TABLE " + KEYS + " (" + cols + ") ON COMMIT DROP");
        }
        java.util.StringJoiner keys = new java.util.StringJoiner(", ");
        for (String k : t.key()) {
            keys.add(t.column(k).readAsText() ? "CAST(" + Sql.ident(k) + " AS text)" : Sql.ident(k));
        }
        String select = "SELECT " + keys + " FROM " + t.from()
                + (spec.filter() != null ? " WHERE (" + spec.filter().sql() + ")" : "");
        // a COPY as long as the table: bounded by the destination's stallTimeout, not statementTimeout (see CopyPipe)
        CopyPipe.unbounded(dest);
        CopyPipe.Watchdog watchdog = streams.watch(null, null, dest, load.run().destination());
        CopyIn in = null;
        boolean done = false;
        try (Connection src = source.getConnection(); PreparedStatement ps = src.prepareStatement(select)) {
            watchdog.destinationSince = System.nanoTime();
            in = dest.unwrap(PGConnection.class).getCopyAPI().copyIn("COPY pg_temp." + KEYS + " FROM STDIN");
            watchdog.destinationSince = 0;
            ps.setFetchSize(Math.max(spec.fetchSize(), 10_000));
            if (spec.filter() != null) {
                int i = 1;
                for (String name : spec.filter().parameters()) {
                    ps.setString(i++, spec.filterValues().get(name));
                }
            }
            CopyTextEncoder enc = new CopyTextEncoder(new CopyWriter.CopyInStream(in, watchdog, null), CopyWriter.BUFFER);
            try (ResultSet rs = ps.executeQuery()) {
                byte[][] row = new byte[t.key().size()][];
                while (rs.next()) {
                    for (int i = 0; i < row.length; i++) {
                        row[i] = rs.getBytes(i + 1);
                    }
                    enc.writeRow(row, null);
                }
            }
            enc.flush();
            watchdog.destinationSince = System.nanoTime();
            in.endCopy();
            watchdog.destinationSince = 0;
            CopyPipe.bounded(dest);
            done = true;
        } catch (java.io.IOException e) {
            SQLException stalled = CopyPipe.stall(watchdog, e);
            throw stalled != null ? stalled : new SQLException("hard deletes: streaming source keys failed: " + e.getMessage(), e);
        } catch (SQLException e) {
            SQLException stalled = CopyPipe.stall(watchdog, e);
            throw stalled != null ? stalled : e;
        } finally {
            if (!done) {
                watchdog.cancelWatched(in);
            }
            watchdog.stop();
        }
        StringJoiner match = new StringJoiner(" AND ");
        for (String k : t.key()) {
            match.add("k." + Sql.ident(k) + " = d." + Sql.ident(k));
        }
        try (Statement st = dest.createStatement()) {
            st.execute("ANALYZE pg_temp." + KEYS);
        }
        String gone = " NOT EXISTS (SELECT 1 FROM pg_temp." + KEYS + " k WHERE " + match + ")";
        if (spec.changes().softDeletes()) {
            long marked;
            // kept and marked, once: a row marked before keeps its first time (the run's time, bound)
            try (PreparedStatement ps = dest.prepareStatement("UPDATE " + Sql.qualified(load.schema(), load.table()) + " d SET "
                    + Sql.ident(ReservedNames.DELETED_AT) + " = CAST(? AS timestamptz) WHERE d." + Sql.ident(ReservedNames.DELETED_AT)
                    + " IS NULL AND" + gone)) {
                ps.setObject(1, load.run().syncedAt());
                marked = ps.executeUpdate();
            }
            // a row whose key is back, which the merge did not re-read (restored with its old cursor value): live again
            long cleared;
            try (Statement st = dest.createStatement()) {
                cleared = st.executeUpdate("UPDATE " + Sql.qualified(load.schema(), load.table()) + " d SET "
                        + Sql.ident(ReservedNames.DELETED_AT) + " = NULL WHERE d." + Sql.ident(ReservedNames.DELETED_AT)
                        + " IS NOT NULL AND NOT" + gone);
            }
            if (cleared > 0) {
                RunHistory.note(dest, load.schema(), load.recordId(), java.util.List.of("hardDeletes: soft: " + cleared
                        + " row(s) marked deleted are back at the source (their key is there again): no longer marked"));
            }
            return marked;
        }
        try (Statement st = dest.createStatement()) {
            return st.executeUpdate("DELETE FROM " + Sql.qualified(load.schema(), load.table()) + " d WHERE" + gone);
        }
    }
}
