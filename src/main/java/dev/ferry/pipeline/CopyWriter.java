package dev.ferry.pipeline;

import dev.ferry.destination.CopyTextEncoder;
import dev.ferry.destination.DestinationException;
import dev.ferry.destination.DestinationSchema;
import dev.ferry.destination.CopyPipe;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.StringJoiner;

import dev.ferry.config.Mode;
import dev.ferry.config.Sql;
import dev.ferry.config.TransferSpec;
import dev.ferry.source.SourceTable;
import dev.ferry.source.TableRead;
import dev.ferry.state.CrashPoints;
import dev.ferry.state.RunHistory;
import dev.ferry.state.Watermarks;
import org.apache.camel.Body;
import org.apache.camel.ExchangeProperty;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;

/**
 * Writes a batch into the destination with COPY, streaming rows from the source's result set straight into the
 * COPY stream: memory holds one fetch of rows and one output buffer, whatever the batch or table size.
 *
 * <p>A full refresh copies into its fresh table, inside the load's single transaction. Incremental modes copy into a
 * temporary staging table and merge it into the destination by key ({@code INSERT ... ON CONFLICT}, which works on
 * PostgreSQL 12 and up), then write the watermark and commit: each batch lands whole, with the watermark that
 * covers it, or not at all.
 */
public final class CopyWriter {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger("dev.ferry.transfer");
    static final int BUFFER = 256 * 1024;
    static final String STAGE = "_ferry_stage";

    private final dev.ferry.destination.CopyStreams streams;

    public CopyWriter(dev.ferry.destination.CopyStreams streams) {
        this.streams = streams;
    }

    public void write(@ExchangeProperty(TableLoads.TABLE) TableLoad load, @Body RowBatch batch) throws SQLException, IOException {
        SourceTable t = load.sourceTable();
        TableRead read = load.read();
        Mode mode = read.mode();
        Connection con = load.connection();
        String target;
        if (mode == Mode.FULL_REFRESH) {
            target = Sql.qualified(load.schema(), load.loadTable());
        } else {
            StringJoiner cols = DestinationSchema.columnDefinitions(t);
            cols.add(Sql.ident(DestinationSchema.SYNCED_AT) + " timestamptz");
            cols.add(Sql.ident(DestinationSchema.RUN_ID) + " uuid");
            try (Statement st = con.createStatement()) {
                st.execute("CREATE TEMP TABLE " + STAGE + " " + cols + " ON COMMIT DROP");
            }
            target = "pg_temp." + STAGE;
        }
        // a full refresh is one query for the whole table: a shutdown abandons it, as it does a bulk one (the old table stays)
        Copied copied = copy(con, load.run().destination(), target, t, batch,
                mode == Mode.FULL_REFRESH ? read::stopRequested : () -> false);
        load.readBy("query");
        load.addRows(copied.rows);
        if (copied.stopped) {
            return; // not drained: the table's finish reports the run interrupted
        }
        int cursorIndex = read.spec().cursor() == null ? -1 : t.indexOf(read.spec().cursor());
        String lastCursor = copied.last == null || cursorIndex < 0 ? null : text(copied.last[cursorIndex]);
        List<String> lastKey = copied.last == null ? null : keyOf(copied.last, t);
        TableRead.Phase phase = read.phase();
        read.advance(copied.rows, lastCursor, lastKey);
        if (mode == Mode.FULL_REFRESH) {
            return;
        }
        load.addChanged(merge(con, load, true));
        commitBatch(load, phase, lastCursor, lastKey);
    }

    /**
     * Ends an incremental batch: its watermark (where the next batch or run starts), the run record's row count and
     * the lease check, then the commit that makes the batch and all of that durable together.
     */
    static void commitBatch(TableLoad load, TableRead.Phase phase, String lastCursor, List<String> lastKey) throws SQLException {
        Connection con = load.connection();
        TableRead read = load.read();
        Mode mode = read.mode();
        SourceTable t = load.sourceTable();
        TransferSpec spec = read.spec();
        String sourceTable = load.source().display();
        if (mode == Mode.XMIN) {
            if (lastKey != null) {
                // an unfinished pass: where to resume it after a crash
                Watermarks.State prev = Watermarks.load(con, load.schema(), spec.name(), sourceTable);
                Watermarks.save(con, load.schema(), spec.name(), sourceTable, load.run().id(), new Watermarks.State(mode.key(),
                        null, t.key(), null, lastKey, prev == null ? null : prev.xminHorizon(), read.xminTo()));
            }
        } else if (phase == TableRead.Phase.MAIN && lastKey != null) {
            Watermarks.save(con, load.schema(), spec.name(), sourceTable, load.run().id(),
                    new Watermarks.State(mode.key(), spec.cursor(), t.key(), lastCursor, lastKey, null, null));
            String warning = Watermarks.endOfTimeWarning(load.schema(), spec.name(), sourceTable, spec.cursor(), lastCursor);
            if (warning != null && read.firstEndOfTime()) {
                LOG.warn(warning);
                RunHistory.note(con, load.schema(), load.recordId(), List.of(warning)); // with the batch that moved it there
            }
            warnIfAheadOfClock(load, lastCursor);
        }
        RunHistory.progress(con, load.schema(), load.recordId(), load.rows());
        dev.ferry.state.Lease.check(con, load.schema(), spec.name(), load.run().id());
        CrashPoints.reached("before-commit");
        con.commit();
        CrashPoints.reached("between-batches");
    }

    /**
     * Warns, once per table and run, when the watermark is ahead of the source's clock (future-dated cursor values,
     * clock skew): in the log, and in the run record with the transaction that wrote or resumed from it.
     */
    static void warnIfAheadOfClock(TableLoad load, String watermark) throws SQLException {
        TableRead read = load.read();
        String warning = Watermarks.aheadOfClockWarning(load.schema(), read.spec().name(), load.source().display(),
                read.spec().cursor(), watermark, read.sourceClock(), read.sinceSourceClock());
        if (warning != null && read.firstAheadOfClock()) {
            LOG.warn(warning);
            RunHistory.note(load.connection(), load.schema(), load.recordId(), List.of(warning));
        }
    }

    /**
     * Merges the staged batch into the destination table; returns the rows inserted or updated.
     *
     * @param metadataStaged whether the stage holds the metadata columns; if not, they are the run's, bound here
     */
    static int merge(Connection con, TableLoad load, boolean metadataStaged) throws SQLException {
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
        if (load.read().mode() == Mode.APPEND || updates.isEmpty()) {
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

    private record Copied(long rows, byte[][] last, boolean stopped) {
    }

    /** Writes a batch's rows into a COPY; like {@link CopyPipe}, bounded by the destination's stallTimeout, not statementTimeout. */
    private Copied copy(Connection con, dev.ferry.config.ConnectionSettings destination, String target, SourceTable t,
                               RowBatch batch, java.util.function.BooleanSupplier stop) throws SQLException, IOException {
        String copy = "COPY " + target + " (" + Sql.idents(DestinationSchema.copyColumns(t)) + ") FROM STDIN";
        CopyPipe.unbounded(con);
        CopyPipe.Watchdog watchdog = streams.watch(null, null, con, destination);
        CopyIn in = null;
        long rows = 0;
        byte[][] last = null;
        Iterator<byte[][]> it = batch.rows();
        boolean done = false;
        try {
            watchdog.destinationSince = System.nanoTime();
            in = con.unwrap(PGConnection.class).getCopyAPI().copyIn(copy);
            watchdog.destinationSince = 0;
            CopyTextEncoder encoder = new CopyTextEncoder(new CopyInStream(in, watchdog), BUFFER);
            while (it.hasNext()) {
                if (stop.getAsBoolean()) {
                    return new Copied(rows, last, true); // the finally cancels the COPY and closes the result set
                }
                byte[][] row = it.next();
                encoder.writeRow(row, batch.appendedFields());
                last = row;
                rows++;
            }
            encoder.flush();
            watchdog.destinationSince = System.nanoTime();
            in.endCopy();
            watchdog.destinationSince = 0;
            CopyPipe.bounded(con);
            done = true;
        } catch (SQLException | IOException e) {
            SQLException stalled = CopyPipe.stall(watchdog, e);
            if (stalled != null) {
                throw stalled;
            }
            throw e;
        } finally {
            if (!done) {
                watchdog.cancelWatched(in);
            }
            watchdog.stop();
            if (it instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // the result set is done with either way
                }
            }
        }
        return new Copied(rows, last, false);
    }

    /** Hands the encoder's full buffers to COPY without another copy. */
    static final class CopyInStream extends java.io.OutputStream {
        private final CopyIn in;
        private final CopyPipe.Watchdog watchdog;

        CopyInStream(CopyIn in, CopyPipe.Watchdog watchdog) {
            this.in = in;
            this.watchdog = watchdog;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            try {
                watchdog.destinationSince = System.nanoTime();
                in.writeToCopy(b, off, len);
                watchdog.destinationSince = 0;
            } catch (SQLException e) {
                throw new IOException(e.getMessage(), e);
            }
        }
    }

    /** The text form of a row's key columns, to start the next batch after it. */
    static List<String> keyOf(byte[][] row, SourceTable t) {
        List<String> key = new ArrayList<>(t.key().size());
        for (String k : t.key()) {
            int i = t.indexOf(k);
            key.add(text(row[i]));
        }
        return key;
    }

    private static String text(byte[] v) {
        return v == null ? null : new String(v, StandardCharsets.UTF_8);
    }
}
