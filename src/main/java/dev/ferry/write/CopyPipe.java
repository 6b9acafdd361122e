package dev.ferry.write;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyOut;

/**
 * Streams one {@code COPY ... TO STDOUT} on the source into one {@code COPY ... FROM STDIN} on the destination.
 *
 * <p>Hot path: every byte of a bulk copy passes through here, untouched. A reader thread drains the source's COPY
 * messages into 1 MiB chunks and hands them over a queue of four to the writer, so that both servers work at the
 * same time and memory stays at a few MiB whatever the table's size. The only thing read from the data is where
 * each row message starts, to keep the last row for callers that need its key.
 */
final class CopyPipe {

    static final int CHUNK = 1 << 20;
    private static final Chunk END = new Chunk(new byte[0], 0);

    /** A filled part of a buffer handed to the writer: the buffer is never written again, so it is not copied. */
    private record Chunk(byte[] bytes, int length) {
    }

    private CopyPipe() {
    }

    /**
     * What went through: how many rows, the source's last row message (null when there was none), and whether the
     * copy was abandoned because {@code stop} said so (the destination's transaction then holds a failed COPY and
     * must be rolled back).
     */
    record Result(long rows, byte[] lastRow, boolean stopped) {
    }

    static Result run(Connection source, String copyOut, Connection destination, String copyIn, boolean binary,
                      BooleanSupplier stop) throws SQLException {
        BlockingQueue<Chunk> chunks = new ArrayBlockingQueue<>(4);
        Reader reader = new Reader(source, copyOut, chunks, binary);
        Thread t = new Thread(reader, "ferry-copy-reader");
        t.setDaemon(true);
        CopyIn in = destination.unwrap(PGConnection.class).getCopyAPI().copyIn(copyIn);
        t.start();
        boolean done = false;
        try {
            while (true) {
                if (stop.getAsBoolean()) {
                    return new Result(reader.rows, null, true);
                }
                Chunk chunk = chunks.poll(1, TimeUnit.SECONDS);
                if (chunk == null) {
                    if (reader.failure != null) {
                        break;
                    }
                    if (!t.isAlive() && chunks.isEmpty()) {
                        // the reader ended without handing over its end or its failure: never wait for it forever
                        throw new SQLException("the source reader stopped without finishing the copy");
                    }
                    continue;
                }
                if (chunk == END) {
                    break;
                }
                in.writeToCopy(chunk.bytes(), 0, chunk.length());
            }
            if (reader.failure != null) {
                throw reader.failure;
            }
            long rows = in.endCopy();
            done = true;
            return new Result(rows, reader.lastRow, false);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SQLException("interrupted while copying", "57014", e);
        } finally {
            if (!done) {
                reader.stop = true;
                CopyWriter.cancelQuietly(in);
                chunks.clear();
            }
            try {
                t.join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Reads the source's COPY stream into chunks. */
    private static final class Reader implements Runnable {
        private final Connection source;
        private final String sql;
        private final BlockingQueue<Chunk> chunks;
        private final boolean binary;
        private volatile SQLException failure;
        private volatile boolean stop;
        private byte[] lastRow;
        private volatile long rows; // published at each chunk handed over, not per row

        Reader(Connection source, String sql, BlockingQueue<Chunk> chunks, boolean binary) {
            this.source = source;
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
                byte[] message;
                while ((message = out.readFromCopy()) != null) {
                    if (stop) {
                        out.cancelCopy();
                        return;
                    }
                    if (isRow(message)) {
                        lastRow = message;
                        count++;
                    }
                    if (message.length > chunk.length - pos) {
                        rows = count;
                        put(new Chunk(chunk, pos));
                        chunk = new byte[Math.max(CHUNK, message.length)];
                        pos = 0;
                    }
                    System.arraycopy(message, 0, chunk, pos, message.length);
                    pos += message.length;
                }
                rows = count;
                if (pos > 0) {
                    put(new Chunk(chunk, pos));
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
                if (failure != null) {
                    CopyWriter.cancelQuietly(out);
                }
            }
        }

        private void put(Chunk chunk) throws InterruptedException {
            while (!chunks.offer(chunk, 1, TimeUnit.SECONDS)) {
                if (stop) {
                    throw new InterruptedException("the writer stopped");
                }
            }
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
}
