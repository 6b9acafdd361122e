package dev.ferry.destination;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

import dev.ferry.config.ConnectionSettings;
import dev.ferry.config.Durations;
import dev.ferry.observe.TableProgress;
import org.postgresql.PGConnection;
import org.postgresql.core.BaseConnection;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyOut;

/**
 * Streams one {@code COPY ... TO STDOUT} on the source into one {@code COPY ... FROM STDIN} on the destination.
 *
 * <p>Hot path: every byte of a bulk copy passes through here, untouched. A reader (on a thread of {@link CopyStreams})
 * drains the source's COPY messages into 1 MiB chunks and hands them over a queue of four to the writer, so that both
 * servers work at the same time and memory stays at a few MiB whatever the table's size. The only thing read from the
 * data is where each row message starts, to keep the last row for callers that need its key.
 *
 * <p>A COPY stream runs as long as the table is large, so no statement_timeout bounds it; instead an end that moves
 * no byte for its {@code stallTimeout} is stalled (a dead network, a stuck server): a watchdog closes that end's socket,
 * which ends the blocked read or write at once, and the copy fails as a broken connection, which is retried. One
 * thread watches every open COPY ({@link CopyStreams}).
 */
public final class CopyPipe {

    static final int CHUNK = 1 << 20;
    private static final Chunk END = new Chunk(new byte[0], 0, 0);

    /**
     * A filled part of a buffer handed to the writer, and how many rows it holds: the buffer is never written again, so
     * it is not copied.
     */
    private record Chunk(byte[] bytes, int length, long rows) {
    }

    private CopyPipe() {
    }

    /**
     * What went through: how many rows, the source's last row message (null when there was none), and whether the
     * copy was abandoned because {@code stop} said so (the destination's transaction then holds a failed COPY and
     * must be rolled back).
     */
    public record Result(long rows, byte[] lastRow, boolean stopped) {
    }

    public static Result run(CopyStreams streams, Connection source, ConnectionSettings sourceSettings, String copyOut,
                             Connection destination, ConnectionSettings destinationSettings, String copyIn, boolean binary,
                             BooleanSupplier stop) throws SQLException {
        return run(streams, source, sourceSettings, copyOut, destination, destinationSettings, copyIn, binary, stop, null);
    }

    /**
     * Like {@link #run(CopyStreams, Connection, ConnectionSettings, String, Connection, ConnectionSettings, String,
     * boolean, BooleanSupplier)}, adding each chunk's rows and bytes to {@code progress} (when not null) as it is written
     * into the destination: once per MiB, not per row.
     */
    public static Result run(CopyStreams streams, Connection source, ConnectionSettings sourceSettings, String copyOut,
                             Connection destination, ConnectionSettings destinationSettings, String copyIn, boolean binary,
                             BooleanSupplier stop, TableProgress progress) throws SQLException {
        BlockingQueue<Chunk> chunks = new ArrayBlockingQueue<>(4);
        Watchdog watchdog = streams.watch(source, sourceSettings, destination, destinationSettings);
        Reader reader = new Reader(source, copyOut, chunks, binary, watchdog);
        Future<?> reading = null;
        boolean done = false;
        CopyIn in = null;
        try {
            unbounded(source);
            unbounded(destination);
            watchdog.destinationSince = System.nanoTime();
            in = destination.unwrap(PGConnection.class).getCopyAPI().copyIn(copyIn);
            watchdog.destinationSince = 0;
            watchdog.sourceSince = System.nanoTime();
            reading = streams.read(reader);
            while (true) {
                if (stop.getAsBoolean()) {
                    return new Result(reader.rows, null, true);
                }
                Chunk chunk = chunks.poll(1, TimeUnit.SECONDS);
                if (chunk == null) {
                    if (reader.failure != null) {
                        break;
                    }
                    if (reading.isDone() && chunks.isEmpty()) {
                        // the reader ended without handing over its end or its failure: never wait for it forever
                        throw new SQLException("the source reader stopped without finishing the copy");
                    }
                    continue;
                }
                if (chunk == END) {
                    break;
                }
                watchdog.destinationSince = System.nanoTime();
                in.writeToCopy(chunk.bytes(), 0, chunk.length());
                watchdog.destinationSince = 0;
                if (progress != null) {
                    progress.add(chunk.rows(), chunk.length());
                }
            }
            if (reader.failure != null) {
                throw reader.failure;
            }
            watchdog.destinationSince = System.nanoTime();
            long rows = in.endCopy();
            watchdog.destinationSince = 0;
            bounded(destination);
            done = true;
            return new Result(rows, reader.lastRow, false);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SQLException("interrupted while copying", "57014", e);
        } catch (SQLException e) {
            SQLException stalled = stall(watchdog, e);
            throw stalled != null ? stalled : e;
        } finally {
            if (!done) {
                reader.stop = true;
                watchdog.cancelWatched(in);
                chunks.clear();
            }
            watchdog.stop();
            if (reading != null && !reading.isDone()) {
                try {
                    reading.get(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (ExecutionException | TimeoutException | CancellationException e) {
                    // the reader hands its failure over in Reader.failure; a reader still blocked is given up on, as before
                }
            }
        }
    }

    /**
     * Lifts statement_timeout for the COPY, for the rest of the connection's transaction (the destination's is put back
     * after the COPY; a source connection is rolled back when released).
     */
    public static void unbounded(Connection c) throws SQLException {
        if (!c.getAutoCommit()) {
            try (Statement st = c.createStatement()) {
                st.execute("SET LOCAL statement_timeout = 0");
            }
        }
    }

    /** After a COPY: the rest of the transaction (a merge, the swap) is bounded by statementTimeout again. */
    public static void bounded(Connection c) throws SQLException {
        if (!c.getAutoCommit()) {
            try (Statement st = c.createStatement()) {
                st.execute("SET LOCAL statement_timeout = DEFAULT");
            }
        }
    }

    /**
     * The stall to report instead of {@code e} when the watchdog cut a connection (what the closed socket made the
     * blocked call say is not the cause: kept for the trace, not the report); null when it did not.
     */
    public static SQLException stall(Watchdog watchdog, Exception e) {
        if (watchdog.stalled == null) {
            return null;
        }
        SQLException stalled = new SQLException(watchdog.stalled, "08006");
        stalled.addSuppressed(e);
        return stalled;
    }

    /**
     * Watches both ends of one pipe: when an end has been waited on (the source for its next chunk, the destination to
     * take one) for longer than its stallTimeout, closes that end's connection, which ends the blocked read or write.
     * The query path watches its destination only (its source's reads are bounded by pgjdbc's socketTimeout). Made by
     * {@link CopyStreams#watch}, whose tick checks it until {@link #stop()}.
     */
    public static final class Watchdog {
        private final CopyStreams streams;
        private final Connection source;
        private final ConnectionSettings sourceSettings;
        private final Connection destination;
        private final ConnectionSettings destinationSettings;
        private final Duration sourceStall;
        private final Duration destinationStall;
        /** When the current wait on each end began (System.nanoTime), 0 while not waiting on it. */
        volatile long sourceSince;
        public volatile long destinationSince;
        volatile boolean done;
        /** What stalled, once an end was cut. */
        volatile String stalled;

        Watchdog(CopyStreams streams, Connection source, ConnectionSettings sourceSettings, Connection destination,
                 ConnectionSettings destinationSettings) {
            this.streams = streams;
            this.source = source;
            this.sourceSettings = sourceSettings;
            this.destination = destination;
            this.destinationSettings = destinationSettings;
            this.sourceStall = sourceSettings == null ? Duration.ZERO : sourceSettings.timeouts().stall();
            this.destinationStall = destinationSettings.timeouts().stall();
        }

        /** The COPY is over: no longer watched. */
        public void stop() {
            done = true;
            streams.unwatch(this);
        }

        /**
         * Cancels an unfinished COPY into the destination while still watching it: cancelling waits for the server's
         * answer, which a dead path never sends, so the wait gets the same stall bound as the copy.
         */
        public void cancelWatched(org.postgresql.copy.CopyOperation in) {
            destinationSince = System.nanoTime();
            cancelQuietly(in);
            destinationSince = 0;
        }

        /** One tick of {@link CopyStreams}: cuts the end waited on past its bound; after one cut, nothing more. */
        void check() {
            if (done || stalled != null) {
                return;
            }
            if (past(sourceSince, sourceStall)) {
                cut(source, sourceSettings, sourceStall, "from");
            } else if (past(destinationSince, destinationStall)) {
                cut(destination, destinationSettings, destinationStall, "to");
            }
        }

        private static boolean past(long since, Duration bound) {
            return since != 0 && !bound.isZero() && System.nanoTime() - since > bound.toNanos();
        }

        private void cut(Connection c, ConnectionSettings s, Duration bound, String direction) {
            stalled = "the COPY stream moved no bytes " + direction + " the " + s.role().key() + " '" + s.name() + "' for "
                    + Durations.format(bound) + " (a dead network or a stuck server): its connection was closed and the"
                    + " table is retried. " + s.propertyPrefix() + "stallTimeout sets how long a stream may stall";
            try {
                c.unwrap(BaseConnection.class).abort(Runnable::run);
            } catch (SQLException | RuntimeException e) {
                // already closed: the blocked call has ended anyway
            }
        }
    }

    /** Reads the source's COPY stream into chunks. */
    private static final class Reader implements Runnable {
        private final Connection source;
        private final String sql;
        private final BlockingQueue<Chunk> chunks;
        private final boolean binary;
        private final Watchdog watchdog;
        private volatile SQLException failure;
        private volatile boolean stop;
        private byte[] lastRow;
        private volatile long rows; // published at each chunk handed over, not per row

        Reader(Connection source, String sql, BlockingQueue<Chunk> chunks, boolean binary, Watchdog watchdog) {
            this.source = source;
            this.watchdog = watchdog;
            this.sql = sql;
            this.chunks = chunks;
            this.binary = binary;
        }

        @Override
        public void run() {
            CopyOut out = null;
            try {
                out = source.unwrap(PGConnection.class).getCopyAPI().copyOut(sql);
                byte[] chunk = new byte[CHUNK];
                int pos = 0;
                long count = 0;
                long handedOver = 0; // rows in the chunks handed over so far
                byte[] message;
                while ((message = out.readFromCopy()) != null) {
                    if (stop) {
                        out.cancelCopy();
                        return;
                    }
                    if (message.length > chunk.length - pos) {
                        rows = count;
                        put(new Chunk(chunk, pos, count - handedOver));
                        handedOver = count;
                        chunk = new byte[Math.max(CHUNK, message.length)];
                        pos = 0;
                    }
                    if (isRow(message)) {
                        lastRow = message;
                        count++;
                    }
                    System.arraycopy(message, 0, chunk, pos, message.length);
                    pos += message.length;
                }
                rows = count;
                if (pos > 0) {
                    put(new Chunk(chunk, pos, count - handedOver));
                }
                put(END);
            } catch (SQLException e) {
                failure = e;
            } catch (InterruptedException e) {
                failure = new SQLException("interrupted while reading the source", "57014", e);
            } catch (RuntimeException e) {
                failure = new SQLException("reading the source failed: " + e.getMessage(), e);
            } catch (OutOfMemoryError e) {
                // one row larger than the heap can hold: retrying would fail the same way
                failure = new SQLException("reading the source failed: the Java heap ran out (" + e.getMessage() + "); a row of this"
                        + " table may be larger than the heap allows: give Ferry more memory (-Xmx)", e);
            } catch (Error e) {
                failure = new SQLException("reading the source failed: " + e, e);
            } finally {
                watchdog.sourceSince = 0; // done with the source: the writer's end of the copy is the destination's wait
                if (failure != null) {
                    cancelQuietly(out);
                }
            }
        }

        /** Hands a chunk over; the wait for the writer is not a wait on the source, so the stall clock restarts after it. */
        private void put(Chunk chunk) throws InterruptedException {
            watchdog.sourceSince = 0;
            while (!chunks.offer(chunk, 1, TimeUnit.SECONDS)) {
                if (stop) {
                    throw new InterruptedException("the writer stopped");
                }
            }
            watchdog.sourceSince = System.nanoTime();
        }

        /** A row message: in binary form, not the header alone nor the trailer (field count -1). */
        private boolean isRow(byte[] m) {
            if (!binary) {
                return true;
            }
            int at = CopyRows.tupleStart(m);
            return at >= 0 && at + 2 <= m.length && !(m[at] == (byte) 0xff && m[at + 1] == (byte) 0xff);
        }
    }

    /** Cancels a COPY still in progress; a failure means a broken connection, which the rollback or close discards. */
    public static void cancelQuietly(org.postgresql.copy.CopyOperation copy) {
        if (copy != null && copy.isActive()) {
            try {
                copy.cancelCopy();
            } catch (SQLException ignored) {
                // nothing more to do here
            }
        }
    }
}
