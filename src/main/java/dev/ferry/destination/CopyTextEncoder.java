package dev.ferry.destination;

import java.io.IOException;
import java.io.OutputStream;

/**
 * Encodes rows into PostgreSQL's COPY text format and streams them out in large chunks.
 *
 * <p>Hot path: every row of every transfer passes through {@link #writeRow}. Values arrive as the bytes of their
 * text form, so encoding is a scan for the four bytes COPY escapes (backslash, tab, newline, carriage return) and a
 * bulk copy of the runs between them; no value is decoded into a String or an object. UTF-8 continuation bytes
 * never equal those four, so multi-byte characters pass through untouched.
 */
public final class CopyTextEncoder {

    private static final byte[] NULL = {'\\', 'N'};

    private final OutputStream out;
    private final byte[] buf;
    private int pos;

    public CopyTextEncoder(OutputStream out, int bufferSize) {
        this.out = out;
        this.buf = new byte[bufferSize];
    }

    /** Writes one row: its values, then {@code appended} (already encoded, starting with a tab), then a newline. */
    public void writeRow(byte[][] values, byte[] appended) throws IOException {
        for (int i = 0; i < values.length; i++) {
            if (i > 0) {
                put((byte) '\t');
            }
            byte[] v = values[i];
            if (v == null) {
                put(NULL, 0, 2);
            } else {
                writeEscaped(v);
            }
        }
        if (appended != null) {
            put(appended, 0, appended.length);
        }
        put((byte) '\n');
    }

    private void writeEscaped(byte[] v) throws IOException {
        int start = 0;
        for (int i = 0; i < v.length; i++) {
            byte b = v[i];
            byte esc;
            switch (b) {
                case '\\' -> esc = '\\';
                case '\t' -> esc = 't';
                case '\n' -> esc = 'n';
                case '\r' -> esc = 'r';
                default -> {
                    continue;
                }
            }
            put(v, start, i - start);
            put((byte) '\\');
            put(esc);
            start = i + 1;
        }
        put(v, start, v.length - start);
    }

    private void put(byte b) throws IOException {
        if (pos == buf.length) {
            flush();
        }
        buf[pos++] = b;
    }

    private void put(byte[] src, int off, int len) throws IOException {
        if (len > buf.length - pos) {
            flush();
            if (len > buf.length) {
                out.write(src, off, len);
                return;
            }
        }
        System.arraycopy(src, off, buf, pos, len);
        pos += len;
    }

    public void flush() throws IOException {
        if (pos > 0) {
            out.write(buf, 0, pos);
            pos = 0;
        }
    }
}
