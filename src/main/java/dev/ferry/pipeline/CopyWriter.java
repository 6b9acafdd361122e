package dev.ferry.pipeline;

import dev.ferry.destination.CopyTextEncoder;
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

import dev.ferry.config.Sql;
import dev.ferry.observe.TableProgress;
import dev.ferry.source.SourceTable;
import dev.ferry.source.TableRead;
import org.apache.camel.Body;
import org.apache.camel.ExchangeProperty;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;

/**
 * The query path's write step: a batch of rows read by camel-sql (and given their metadata columns by the transform
 * step) streamed into the destination with COPY, from the source's result set straight into the COPY stream: memory
 * holds one fetch of rows and one output buffer, whatever the batch or table size. A full refresh writes into its
 * load table, inside the load's single transaction; the merge modes into a temporary stage, for the merge step.
 */
public final class CopyWriter {

    static final int BUFFER = 256 * 1024;
    /** How many rows the query path counts before adding them to the table's progress. */
    static final int PROGRESS_ROWS = 4096;

    private final dev.ferry.destination.CopyStreams streams;

    public CopyWriter(dev.ferry.destination.CopyStreams streams) {
        this.streams = streams;
    }

    public void write(@ExchangeProperty(TableLoad.TABLE) TableLoad load, @Body RowBatch batch) throws SQLException, IOException {
        SourceTable t = load.sourceTable();
        TableRead read = load.read();
        Connection con = load.connection();
        String target;
        if (load.isFullRefresh()) {
            target = Sql.qualified(load.schema(), load.loadTable());
        } else {
            StringJoiner cols = DestinationSchema.columnDefinitions(t);
            cols.add(Sql.ident(DestinationSchema.SYNCED_AT) + " timestamptz");
            cols.add(Sql.ident(DestinationSchema.RUN_ID) + " uuid");
            try (Statement st = con.createStatement()) {
                st.execute("CREATE TEMP TABLE " + Merge.STAGE + " " + cols + " ON COMMIT DROP");
            }
            target = "pg_temp." + Merge.STAGE;
        }
        // a full refresh is one query for the whole table: a shutdown abandons it, as it does a bulk one (the old table stays)
        Copied copied = copy(con, load.run().destination(), target, t, batch,
                load.isFullRefresh() ? read::stopRequested : () -> false, load.progress());
        load.readBy("query");
        load.addRows(copied.rows);
        if (copied.stopped) {
            return; // not drained: the table's end reports the run interrupted
        }
        int cursorIndex = read.spec().cursor() == null ? -1 : t.indexOf(read.spec().cursor());
        String lastCursor = copied.last == null || cursorIndex < 0 ? null : text(copied.last[cursorIndex]);
        List<String> lastKey = copied.last == null ? null : keyOf(copied.last, t);
        TableRead.Phase phase = read.phase();
        read.advance(copied.rows, lastCursor, lastKey);
        load.batchEnd(new BatchEnd(phase, lastCursor, lastKey), true);
    }

    private record Copied(long rows, byte[][] last, boolean stopped) {
    }

    /** Writes a batch's rows into a COPY; like {@link CopyPipe}, bounded by the destination's stallTimeout, not statementTimeout. */
    private Copied copy(Connection con, dev.ferry.config.ConnectionSettings destination, String target, SourceTable t,
                               RowBatch batch, java.util.function.BooleanSupplier stop, TableProgress progress)
            throws SQLException, IOException {
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
            CopyTextEncoder encoder = new CopyTextEncoder(new CopyInStream(in, watchdog, progress), BUFFER);
            long counted = 0; // rows added to progress: every PROGRESS_ROWS rows, not each one
            while (it.hasNext()) {
                if (stop.getAsBoolean()) {
                    return new Copied(rows, last, true); // the finally cancels the COPY and closes the result set
                }
                byte[][] row = it.next();
                encoder.writeRow(row, batch.appendedFields());
                last = row;
                rows++;
                if (rows - counted == PROGRESS_ROWS && progress != null) {
                    progress.add(PROGRESS_ROWS, 0);
                    counted = rows;
                }
            }
            encoder.flush();
            if (progress != null) {
                progress.add(rows - counted, 0);
            }
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
        private final TableProgress progress;

        CopyInStream(CopyIn in, CopyPipe.Watchdog watchdog, TableProgress progress) {
            this.in = in;
            this.watchdog = watchdog;
            this.progress = progress;
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
                if (progress != null) {
                    progress.add(0, len); // bytes as each buffer (256 KiB) goes out
                }
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
