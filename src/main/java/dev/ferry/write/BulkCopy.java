package dev.ferry.write;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.StringJoiner;

import dev.ferry.config.Connections;
import dev.ferry.config.Mode;
import dev.ferry.config.Sql;
import dev.ferry.read.BatchPlanner;
import dev.ferry.read.SourceTable;
import dev.ferry.read.TableRead;
import org.apache.camel.ExchangeProperty;

/**
 * The bulk path: a batch moved by COPY at both ends, {@code COPY ... TO STDOUT} on the source streamed straight into
 * {@code COPY ... FROM STDIN} on the destination (see {@link CopyPipe}), in PostgreSQL's binary format when every
 * column is a built-in type and in its text format otherwise. No row is parsed on the way.
 *
 * <p>Used for full refreshes (the whole table in one stream, one snapshot) and for the keyset batches of incremental
 * and append transfers. Transfers with a row filter, xmin mode and the NULL-cursor pass read through camel-sql,
 * whose bound parameters COPY cannot take.
 */
public final class BulkCopy {

    private final Connections connections;

    public BulkCopy(Connections connections) {
        this.connections = connections;
    }

    public void copy(@ExchangeProperty(TableLoads.TABLE) TableLoad load) throws SQLException {
        Connection source = connections.dataSource(load.run().source()).getConnection();
        boolean clean = false;
        try {
            boolean binary = binary(load, source);
            String path = binary ? "copy binary" : "copy text";
            if (load.read().mode() == Mode.FULL_REFRESH) {
                ParallelCopy.Plan plan = ParallelCopy.plan(load, source);
                load.readBy(plan.streams() > 1 ? path + " in " + plan.streams() + " streams" : path);
                clean = wholeTable(load, source, binary, plan);
            } else {
                load.readBy(path);
                clean = batch(load, source, binary);
            }
        } finally {
            if (!clean) {
                // a COPY abandoned midway leaves the session in an unknown state: never hand it to another run
                connections.evict(load.run().source(), source);
            }
            source.close();
        }
    }

    /** Binary when every column has a built-in type and both servers share an encoding, decided once per table. */
    private static boolean binary(TableLoad load, Connection source) throws SQLException {
        Boolean decided = load.binaryCopy();
        if (decided == null) {
            // binary COPY carries text in the server's encoding, unconverted
            decided = load.sourceTable().binarySafe() && serverEncoding(source).equals(serverEncoding(load.connection()));
            load.binaryCopy(decided);
        }
        return decided;
    }

    /**
     * A full refresh: the whole table in one stream, in one snapshot, into the load table. A shutdown abandons it (the
     * load is rolled back and the old table stays); returns false then.
     */
    private boolean wholeTable(TableLoad load, Connection source, boolean binary, ParallelCopy.Plan plan) throws SQLException {
        TableRead read = load.read();
        if (plan.streams() > 1) {
            return done(load, ParallelCopy.run(connections, load, source, binary, plan, read::stopRequested));
        }
        SourceTable t = load.sourceTable();
        String format = binary ? "binary" : "text";
        String out = t.plainTable()
                ? "COPY " + t.ref().quoted() + " (" + Sql.idents(t.columnNames()) + ") TO STDOUT (FORMAT " + format + ")"
                : "COPY (" + BatchPlanner.planCopy(read, false).sql() + ") TO STDOUT (FORMAT " + format + ")";
        // the metadata columns are added after the load (see DestinationSchema.addRunColumns);
        // FREEZE: the table was created in this transaction, so its rows can be written frozen
        String in = "COPY " + Sql.qualified(load.schema(), load.loadTable()) + " (" + Sql.idents(t.columnNames())
                + ") FROM STDIN (FORMAT " + format + ", FREEZE)";
        return done(load, CopyPipe.run(source, out, load.connection(), in, binary, read::stopRequested));
    }

    /** Counts a whole-table copy; false when a shutdown stopped it. */
    private static boolean done(TableLoad load, CopyPipe.Result r) {
        load.addRows(r.rows());
        if (r.stopped()) {
            return false;
        }
        load.read().drainedInOne(r.rows());
        return true;
    }

    /**
     * One keyset batch of an incremental or append transfer: copied into a temporary stage, merged into the table,
     * and committed with its watermark. Where the batch ended is read from its last row: in binary form straight
     * from the cursor and key columns when Ferry can write their values as text itself (integers, uuid, dates and
     * timestamps), otherwise from the text of the cursor and key that the query then appends to every row.
     */
    private static boolean batch(TableLoad load, Connection source, boolean binary) throws SQLException {
        TableRead read = load.read();
        SourceTable t = load.sourceTable();
        String format = binary ? "binary" : "text";
        List<String> keyset = BatchPlanner.keyset(read);
        int[] keysetIndexes = keyset.stream().mapToInt(t::indexOf).toArray();
        int[] keysetTypes = java.util.Arrays.stream(keysetIndexes).map(i -> i < 0 ? 0 : t.columns().get(i).typeOid()).toArray();
        boolean fromRow = binary && java.util.Arrays.stream(keysetTypes).allMatch(CopyRows::decodes);
        BatchPlanner.Query q = BatchPlanner.planCopy(read, !fromRow);
        bindSettings(source, q.params());
        StringJoiner stage = new StringJoiner(", ", "(", ")");
        for (int i = 0; i < t.columns().size(); i++) {
            stage.add(Sql.ident(t.columns().get(i).name()) + " " + t.destinationTypes().get(i));
        }
        for (int i = 0; !fromRow && i < keyset.size(); i++) {
            stage.add(Sql.ident(BatchPlanner.KEYSET_COLUMN + i) + " text");
        }
        Connection con = load.connection();
        try (Statement st = con.createStatement()) {
            st.execute("CREATE TEMP TABLE " + CopyWriter.STAGE + " " + stage + " ON COMMIT DROP");
        }
        CopyPipe.Result r = CopyPipe.run(source, "COPY (" + q.sql() + ") TO STDOUT (FORMAT " + format + ")", con,
                "COPY pg_temp." + CopyWriter.STAGE + " FROM STDIN (FORMAT " + format + ", FREEZE)", binary, () -> false);
        load.addRows(r.rows());
        String lastCursor = null;
        List<String> lastKey = null;
        if (r.lastRow() != null) {
            List<String> last = fromRow ? CopyRows.binaryFields(r.lastRow(), keysetIndexes, keysetTypes)
                    : CopyRows.lastFields(r.lastRow(), binary, keyset.size());
            boolean withCursor = read.phase() == TableRead.Phase.MAIN && read.spec().cursor() != null;
            lastCursor = withCursor ? last.get(0) : null;
            lastKey = withCursor ? last.subList(1, last.size()) : last;
        }
        TableRead.Phase phase = read.phase();
        read.advance(r.rows(), lastCursor, lastKey);
        load.addChanged(CopyWriter.merge(con, load, false));
        CopyWriter.commitBatch(load, phase, lastCursor, lastKey);
        return true;
    }

    private static String serverEncoding(Connection con) throws SQLException {
        try (Statement st = con.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_catalog.current_setting('server_encoding')")) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** Binds a copy query's values to session settings (COPY itself takes no parameters). */
    private static void bindSettings(Connection source, List<Object> values) throws SQLException {
        if (values.isEmpty()) {
            return;
        }
        try (PreparedStatement ps = source.prepareStatement(BatchPlanner.settingsStatement(values.size()))) {
            for (int i = 0; i < values.size(); i++) {
                ps.setString(i + 1, String.valueOf(values.get(i)));
            }
            ps.execute();
        }
    }
}
