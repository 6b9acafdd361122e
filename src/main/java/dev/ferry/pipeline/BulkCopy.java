package dev.ferry.pipeline;

import dev.ferry.destination.CopyRows;
import dev.ferry.destination.DestinationSchema;
import dev.ferry.destination.CopyPipe;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.List;
import java.util.StringJoiner;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

import dev.ferry.config.ConnectionSettings;
import dev.ferry.connect.Connections;
import dev.ferry.config.Mode;
import dev.ferry.config.Sql;
import dev.ferry.source.BatchPlanner;
import dev.ferry.source.SourceTable;
import dev.ferry.source.TableRead;
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
    /** The threads of the extra COPY streams and of the next batch's staging: Camel's, so that its shutdown sees them. */
    private final java.util.concurrent.ExecutorService threads;
    private final dev.ferry.destination.CopyStreams streams;

    public BulkCopy(Connections connections, java.util.concurrent.ExecutorService threads, dev.ferry.destination.CopyStreams streams) {
        this.connections = connections;
        this.threads = threads;
        this.streams = streams;
    }

    public void copy(@ExchangeProperty(TableLoads.TABLE) TableLoad load) throws SQLException {
        boolean binary = binary(load);
        String path = binary ? "copy binary" : "copy text";
        if (load.read().mode() != Mode.FULL_REFRESH) {
            load.readBy(path);
            batch(load, binary);
            return;
        }
        Connection source = connections.dataSource(load.run().source()).getConnection();
        boolean clean = false;
        try {
            ParallelCopy.Plan plan = ParallelCopy.plan(load, source);
            load.readBy(plan.streams() > 1 ? path + " in " + plan.streams() + " streams" : path);
            clean = wholeTable(load, source, binary, plan);
        } finally {
            // a COPY abandoned midway leaves the session in an unknown state: never hand it to another run
            connections.release(load.run().source(), source, clean);
        }
    }

    /** Binary when every column has a built-in type and both servers share an encoding, decided once per table. */
    private boolean binary(TableLoad load) throws SQLException {
        Boolean decided = load.binaryCopy();
        if (decided == null) {
            // binary COPY carries text in the server's encoding, unconverted
            decided = load.sourceTable().binarySafe();
            if (decided) {
                try (Connection source = connections.dataSource(load.run().source()).getConnection()) {
                    decided = serverEncoding(source).equals(serverEncoding(load.connection()));
                }
            }
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
            return done(load, ParallelCopy.run(connections, load, source, binary, plan, read::stopRequested, threads, streams));
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
        return done(load, CopyPipe.run(streams, source, load.run().source(), out, load.connection(), load.run().destination(), in, binary,
                read::stopRequested));
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
     *
     * <p>Pipelined: the merge is most of a batch's time, and all of it on the destination's server, so while one
     * destination session merges and commits this batch, a second one (the load's spare) stages the next, whose
     * start is known as soon as this batch is staged. The next call merges it there, the two sessions swapping
     * roles. Batches still commit one after the other, each with its watermark; a staged batch that is never merged
     * (a failure, a shutdown) is rolled back with its session.
     */
    private void batch(TableLoad load, boolean binary) throws SQLException {
        TableRead read = load.read();
        Keyset keyset = Keyset.of(read, binary);
        CopyPipe.Result r = load.takeStaged();
        if (r == null) {
            r = stage(load.run().source(), load.run().destination(), load.connection(), Stage.plan(load, keyset, binary));
        }
        load.addRows(r.rows());
        String lastCursor = null;
        List<String> lastKey = null;
        if (r.lastRow() != null) {
            List<String> last = keyset.fromRow() ? CopyRows.binaryFields(r.lastRow(), keyset.indexes(), keyset.types())
                    : CopyRows.lastFields(r.lastRow(), binary, keyset.columns().size());
            // bulk batches are the cursor-ordered pass (TableRead#isBulkCopy): the keyset is the cursor, then the key
            lastCursor = last.get(0);
            lastKey = last.subList(1, last.size());
        }
        TableRead.Phase phase = read.phase();
        read.advance(r.rows(), lastCursor, lastKey);
        FutureTask<CopyPipe.Result> next = null;
        if (read.isMore() && read.isBulkCopy()) {
            Stage plan = Stage.plan(load, keyset, binary); // planned here: the read's position is this batch's end
            Connection spare = load.spare(connections.dataSource(load.run().destination()));
            ConnectionSettings source = load.run().source();
            ConnectionSettings destination = load.run().destination();
            next = new FutureTask<>(() -> stage(source, destination, spare, plan));
            threads.execute(next); // a FutureTask: any Throwable of the staging is thrown here by await
        }
        try {
            load.addChanged(CopyWriter.merge(load.connection(), load, false));
            CopyWriter.commitBatch(load, phase, lastCursor, lastKey);
        } catch (SQLException | RuntimeException | Error e) {
            if (next != null) {
                awaitQuietly(next); // the spare session is rolled back with the load; it must be idle by then
            }
            throw e;
        }
        if (next != null) {
            load.staged(await(next));
        }
    }

    /** The columns that order batches (cursor, then key) and how the last row's values are read. */
    private record Keyset(List<String> columns, int[] indexes, int[] types, boolean fromRow) {
        static Keyset of(TableRead read, boolean binary) {
            SourceTable t = read.table();
            List<String> columns = BatchPlanner.keyset(read);
            int[] indexes = columns.stream().mapToInt(t::indexOf).toArray();
            int[] types = Arrays.stream(indexes).map(i -> i < 0 ? 0 : t.columns().get(i).typeOid()).toArray();
            return new Keyset(columns, indexes, types, binary && Arrays.stream(types).allMatch(CopyRows::decodes));
        }
    }

    /** The statements that stage one batch, planned from the read's current position. */
    private record Stage(List<Object> settings, String createStage, String copyOut, String copyIn, boolean binary) {
        static Stage plan(TableLoad load, Keyset keyset, boolean binary) {
            SourceTable t = load.sourceTable();
            BatchPlanner.Query q = BatchPlanner.planCopy(load.read(), !keyset.fromRow());
            StringJoiner columns = DestinationSchema.columnDefinitions(t);
            for (int i = 0; !keyset.fromRow() && i < keyset.columns().size(); i++) {
                columns.add(Sql.ident(BatchPlanner.KEYSET_COLUMN + i) + " text");
            }
            String format = binary ? "binary" : "text";
            return new Stage(List.copyOf(q.params()), "CREATE TEMP TABLE " + CopyWriter.STAGE + " " + columns + " ON COMMIT DROP",
                    "COPY (" + q.sql() + ") TO STDOUT (FORMAT " + format + ")",
                    "COPY pg_temp." + CopyWriter.STAGE + " FROM STDIN (FORMAT " + format + ", FREEZE)", binary);
        }
    }

    /** Copies one batch from the source into a new temporary stage in the destination session's open transaction. */
    private CopyPipe.Result stage(ConnectionSettings sourceSettings, ConnectionSettings destinationSettings, Connection destination,
                                  Stage plan) throws SQLException {
        Connection source = connections.dataSource(sourceSettings).getConnection();
        boolean clean = false;
        try {
            bindSettings(source, plan.settings());
            try (Statement st = destination.createStatement()) {
                st.execute(plan.createStage());
            }
            CopyPipe.Result r = CopyPipe.run(streams, source, sourceSettings, plan.copyOut(), destination, destinationSettings, plan.copyIn(),
                    plan.binary(), () -> false);
            clean = true;
            return r;
        } finally {
            connections.release(sourceSettings, source, clean);
        }
    }

    private static CopyPipe.Result await(FutureTask<CopyPipe.Result> staging) throws SQLException {
        try {
            return staging.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            awaitQuietly(staging);
            throw new SQLException("interrupted while staging the next batch", "57014", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof SQLException s) {
                throw s;
            }
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(cause);
        }
    }

    /** Waits for a staging thread to end, whatever its outcome (its failure is moot next to the one being thrown). */
    private static void awaitQuietly(FutureTask<CopyPipe.Result> staging) {
        boolean interrupted = false;
        while (true) {
            try {
                staging.get();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            } catch (ExecutionException | java.util.concurrent.CancellationException e) {
                break;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** The server's encoding, as the server reported it when the session started (no round trip). */
    private static String serverEncoding(Connection con) throws SQLException {
        return con.unwrap(org.postgresql.PGConnection.class).getParameterStatus("server_encoding");
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
