package dev.ferry.write;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import dev.ferry.config.Sql;
import dev.ferry.read.SourceTable;
import org.apache.camel.Body;
import org.apache.camel.ExchangeProperty;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;

/**
 * Writes a batch into the destination with COPY, streaming rows from the source's result set straight into the
 * COPY stream: memory holds one fetch of rows and one output buffer, whatever the batch or table size.
 */
public final class CopyWriter {

    static final int BUFFER = 256 * 1024;

    public void write(@ExchangeProperty(TableLoads.TABLE) TableLoad load, @Body RowBatch batch) throws SQLException, IOException {
        SourceTable t = load.sourceTable();
        boolean[] bytea = new boolean[t.columns().size()];
        for (int i = 0; i < bytea.length; i++) {
            bytea[i] = t.columns().get(i).bytea();
        }
        int[] keyIndexes = t.key().stream().mapToInt(t::indexOf).toArray();

        String copy = "COPY " + Sql.qualified(load.schema(), load.loadTable())
                + " (" + Sql.idents(DestinationSchema.copyColumns(t)) + ") FROM STDIN";
        PGConnection pg = load.connection().unwrap(PGConnection.class);
        CopyIn in = pg.getCopyAPI().copyIn(copy);
        long rows = 0;
        byte[][] last = null;
        Iterator<byte[][]> it = batch.rows();
        boolean done = false;
        try {
            CopyTextEncoder encoder = new CopyTextEncoder(new CopyInStream(in), BUFFER);
            while (it.hasNext()) {
                byte[][] row = it.next();
                encoder.writeRow(row, bytea, batch.appendedFields());
                last = row;
                rows++;
            }
            encoder.flush();
            in.endCopy();
            done = true;
        } finally {
            if (!done && in.isActive()) {
                try {
                    in.cancelCopy();
                } catch (SQLException ignored) {
                    // the connection is broken; the rollback or close that follows discards it
                }
            }
            if (it instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // the result set is done with either way
                }
            }
        }
        load.addRows(rows);
        load.read().advance(rows, last == null ? null : keyOf(last, keyIndexes, bytea));
    }

    /** Hands the encoder's full buffers to COPY without another copy. */
    static final class CopyInStream extends java.io.OutputStream {
        private final CopyIn in;

        CopyInStream(CopyIn in) {
            this.in = in;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            try {
                in.writeToCopy(b, off, len);
            } catch (SQLException e) {
                throw new IOException(e.getMessage(), e);
            }
        }
    }

    /** The text form of a row's key columns, to start the next batch after it. */
    static List<String> keyOf(byte[][] row, int[] keyIndexes, boolean[] bytea) {
        List<String> key = new ArrayList<>(keyIndexes.length);
        for (int k : keyIndexes) {
            byte[] v = row[k];
            if (bytea[k]) {
                StringBuilder sb = new StringBuilder("\\x");
                for (byte b : v) {
                    sb.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
                }
                key.add(sb.toString());
            } else {
                key.add(new String(v, StandardCharsets.UTF_8));
            }
        }
        return key;
    }
}
