package dev.ferry.write;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads fields out of one COPY row message, binary or text: enough to find where a bulk batch ended (the trailing
 * cursor and key the batch query appends as text).
 */
final class CopyRows {

    /** Binary COPY's signature: the first message starts with it, then flags and header extension lengths. */
    private static final byte[] SIGNATURE = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xff, '\r', '\n', 0};

    private CopyRows() {
    }

    /** Where the tuple starts in a binary message: after the file header if the message carries it. */
    static int tupleStart(byte[] m) {
        if (m.length >= SIGNATURE.length + 8 && startsWithSignature(m)) {
            int extension = readInt(m, SIGNATURE.length + 4);
            int at = SIGNATURE.length + 8 + extension;
            return at < m.length ? at : -1;
        }
        return 0;
    }

    private static boolean startsWithSignature(byte[] m) {
        for (int i = 0; i < SIGNATURE.length; i++) {
            if (m[i] != SIGNATURE[i]) {
                return false;
            }
        }
        return true;
    }

    /** The last {@code count} fields of a row, as text (NULL as null); those fields must be text in binary rows. */
    static List<String> lastFields(byte[] row, boolean binary, int count) {
        List<String> all = binary ? binaryFields(row) : textFields(row);
        return new ArrayList<>(all.subList(all.size() - count, all.size()));
    }

    private static List<String> binaryFields(byte[] m) {
        int at = tupleStart(m);
        int n = ((m[at] & 0xff) << 8) | (m[at + 1] & 0xff);
        at += 2;
        List<String> fields = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int len = readInt(m, at);
            at += 4;
            if (len < 0) {
                fields.add(null);
            } else {
                fields.add(new String(m, at, len, StandardCharsets.UTF_8));
                at += len;
            }
        }
        return fields;
    }

    private static List<String> textFields(byte[] m) {
        int end = m.length;
        if (end > 0 && m[end - 1] == '\n') {
            end--;
        }
        List<String> fields = new ArrayList<>();
        int start = 0;
        for (int i = 0; i <= end; i++) {
            if (i == end || m[i] == '\t') {
                fields.add(unescape(m, start, i));
                start = i + 1;
            }
        }
        return fields;
    }

    /** COPY text's escapes: {@code \N} is NULL; backslash sequences stand for control characters and bytes. */
    static String unescape(byte[] m, int from, int to) {
        if (to - from == 2 && m[from] == '\\' && m[from + 1] == 'N') {
            return null;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(to - from);
        for (int i = from; i < to; i++) {
            byte b = m[i];
            if (b != '\\' || i + 1 >= to) {
                out.write(b);
                continue;
            }
            byte e = m[++i];
            switch (e) {
                case 'b' -> out.write('\b');
                case 'f' -> out.write('\f');
                case 'n' -> out.write('\n');
                case 'r' -> out.write('\r');
                case 't' -> out.write('\t');
                case 'v' -> out.write(0x0b);
                case 'x' -> {
                    int v = 0;
                    int digits = 0;
                    while (digits < 2 && i + 1 < to && Character.digit(m[i + 1], 16) >= 0) {
                        v = v * 16 + Character.digit(m[++i], 16);
                        digits++;
                    }
                    out.write(v);
                }
                default -> {
                    if (e >= '0' && e <= '7') {
                        int v = e - '0';
                        int digits = 1;
                        while (digits < 3 && i + 1 < to && m[i + 1] >= '0' && m[i + 1] <= '7') {
                            v = v * 8 + (m[++i] - '0');
                            digits++;
                        }
                        out.write(v);
                    } else {
                        out.write(e);
                    }
                }
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static int readInt(byte[] m, int at) {
        return ((m[at] & 0xff) << 24) | ((m[at + 1] & 0xff) << 16) | ((m[at + 2] & 0xff) << 8) | (m[at + 3] & 0xff);
    }
}
