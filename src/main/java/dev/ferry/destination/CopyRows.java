package dev.ferry.destination;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads fields out of one COPY row message, binary or text: enough to find where a bulk batch ended (the trailing
 * cursor and key the batch query appends as text).
 */
public final class CopyRows {

    /** Binary COPY's signature: the first message starts with it, then flags and header extension lengths. */
    private static final byte[] SIGNATURE = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xff, '\r', '\n', 0};

    private CopyRows() {
    }

    /** Where the tuple starts in a binary message: after the file header if the message carries it. */
    public static int tupleStart(byte[] m) {
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
    public static List<String> lastFields(byte[] row, boolean binary, int count) {
        List<String> all = binary ? binaryFields(row) : textFields(row);
        return new ArrayList<>(all.subList(all.size() - count, all.size()));
    }

    private static final int INT2 = 21;
    private static final int INT4 = 23;
    private static final int INT8 = 20;
    private static final int UUID_OID = 2950;
    private static final int DATE = 1082;
    private static final int TIMESTAMP = 1114;
    private static final int TIMESTAMPTZ = 1184;
    /** PostgreSQL's epoch for dates and timestamps. */
    private static final java.time.LocalDate EPOCH = java.time.LocalDate.of(2000, 1, 1);

    /** Whether {@link #binaryFields(byte[], int[], int[])} can write a value of this type as text. */
    public static boolean decodes(int typeOid) {
        return switch (typeOid) {
            case INT2, INT4, INT8, UUID_OID, DATE, TIMESTAMP, TIMESTAMPTZ -> true;
            default -> false;
        };
    }

    /**
     * The given columns of a binary row, as text PostgreSQL casts back to the same values: integers in decimal, uuid
     * in its usual form, dates and timestamps in ISO form with microseconds, UTC for timestamptz, and BC and
     * infinity as PostgreSQL writes them.
     *
     * @param columns  the fields to read, by position in the row
     * @param typeOids their types, each one that {@link #decodes}
     */
    public static List<String> binaryFields(byte[] m, int[] columns, int[] typeOids) {
        int at = tupleStart(m);
        int n = ((m[at] & 0xff) << 8) | (m[at + 1] & 0xff);
        at += 2;
        int[] offsets = new int[n];
        int[] lengths = new int[n];
        for (int i = 0; i < n; i++) {
            lengths[i] = readInt(m, at);
            offsets[i] = at + 4;
            at += 4 + Math.max(lengths[i], 0);
        }
        List<String> fields = new ArrayList<>(columns.length);
        for (int i = 0; i < columns.length; i++) {
            int c = columns[i];
            fields.add(lengths[c] < 0 ? null : text(m, offsets[c], typeOids[i]));
        }
        return fields;
    }

    private static String text(byte[] m, int at, int typeOid) {
        return switch (typeOid) {
            case INT2 -> Short.toString((short) (((m[at] & 0xff) << 8) | (m[at + 1] & 0xff)));
            case INT4 -> Integer.toString(readInt(m, at));
            case INT8 -> Long.toString(readLong(m, at));
            case UUID_OID -> new java.util.UUID(readLong(m, at), readLong(m, at + 8)).toString();
            case DATE -> {
                int days = readInt(m, at);
                yield days == Integer.MAX_VALUE ? "infinity" : days == Integer.MIN_VALUE ? "-infinity" : date(EPOCH.plusDays(days), "");
            }
            case TIMESTAMP, TIMESTAMPTZ -> {
                long micros = readLong(m, at);
                if (micros == Long.MAX_VALUE || micros == Long.MIN_VALUE) {
                    yield micros == Long.MAX_VALUE ? "infinity" : "-infinity";
                }
                java.time.LocalDateTime ts = EPOCH.atStartOfDay().plusSeconds(Math.floorDiv(micros, 1_000_000L))
                        .plusNanos(Math.floorMod(micros, 1_000_000L) * 1000L);
                String time = String.format(java.util.Locale.ROOT, " %02d:%02d:%02d.%06d", ts.getHour(), ts.getMinute(), ts.getSecond(),
                        ts.getNano() / 1000);
                yield date(ts.toLocalDate(), time + (typeOid == TIMESTAMPTZ ? "+00" : ""));
            }
            default -> throw new IllegalArgumentException("no text form for type oid " + typeOid);
        };
    }

    /** {@code yyyy-mm-dd} plus {@code suffix}, then {@code BC} for years before 1 (ISO year 0 is 1 BC). */
    private static String date(java.time.LocalDate d, String suffix) {
        int year = d.getYear();
        boolean bc = year <= 0;
        return String.format(java.util.Locale.ROOT, "%04d-%02d-%02d%s%s", bc ? 1 - year : year, d.getMonthValue(), d.getDayOfMonth(),
                suffix, bc ? " BC" : "");
    }

    private static long readLong(byte[] m, int at) {
        return ((long) readInt(m, at) << 32) | (readInt(m, at + 4) & 0xffffffffL);
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
