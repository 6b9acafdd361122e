package dev.ferry.state;

import dev.ferry.destination.TableIdentity;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

import dev.ferry.config.Sql;

/**
 * The {@code _ferry_state} table in the destination schema: how far each incremental transfer has read each table.
 *
 * <p>A batch's watermark is written in the same transaction as the batch's rows, so after a crash at any point the
 * destination holds exactly the batches the watermark covers, and the next run resumes after the last of them.
 * The transfer's cursor and key columns are stored with it: when they change, the old watermark no longer means
 * anything and the table is read again from the start.
 *
 * <p>So is the destination table the watermark's rows went into ({@link dev.ferry.destination.TableIdentity}), recorded when a run opens
 * the table: a table dropped, truncated or replaced since no longer holds what the watermark says was written, and
 * the next run reads it again from the start instead of resuming.
 */
public final class Watermarks {

    public static final String TABLE = dev.ferry.config.ReservedNames.STATE_TABLE;

    /**
     * One table's watermark.
     *
     * @param cursorValue  cursor modes: the last committed row's cursor, in text form
     * @param keyValue     cursor modes: that row's key; xmin mode: the key an unfinished pass resumes after
     * @param xminHorizon  xmin mode: the next run re-reads rows of transactions at or after this id
     * @param passHorizon  xmin mode: the horizon of an unfinished pass (null when none)
     */
    public record State(String mode, String cursorColumn, List<String> keyColumns, String cursorValue, List<String> keyValue,
                        Long xminHorizon, Long passHorizon) {

        /** Whether the watermark has moved past the start: some batch of the table was committed. */
        public boolean started() {
            return cursorValue != null || keyValue != null || xminHorizon != null || passHorizon != null;
        }

        /** Whether this watermark was made by a transfer reading the same way. */
        public boolean sameShape(String mode, String cursorColumn, List<String> keyColumns) {
            return this.mode.equals(mode) && java.util.Objects.equals(this.cursorColumn, cursorColumn)
                    && this.keyColumns.equals(keyColumns);
        }
    }

    private Watermarks() {
    }

    public static String qualified(String schema) {
        return Sql.qualified(schema, TABLE);
    }

    public static void ensure(Connection con, String schema) throws SQLException {
        try (Statement st = con.createStatement()) {
            st.execute("CREATE TABLE IF NOT EXISTS " + qualified(schema) + " ("
                    + "transfer text NOT NULL, "
                    + "source_table text NOT NULL, "
                    + "mode text NOT NULL, "
                    + "cursor_column text, "
                    + "key_columns text[] NOT NULL, "
                    + "cursor_value text, "
                    + "key_value text[], "
                    + "xmin_horizon bigint, "
                    + "pass_horizon bigint, "
                    + "run_id uuid NOT NULL, "
                    + "updated_at timestamptz NOT NULL DEFAULT clock_timestamp(), "
                    + "PRIMARY KEY (transfer, source_table))");
            st.execute("ALTER TABLE " + qualified(schema) + " ADD COLUMN IF NOT EXISTS table_oid bigint,"
                    + " ADD COLUMN IF NOT EXISTS table_storage text");
            // the watermark's lag behind the source, measured at the end of each table that succeeded (WatermarkLag):
            // the source's newest cursor value (as cursor_value), how far behind, in what, and when
            st.execute("ALTER TABLE " + qualified(schema) + " ADD COLUMN IF NOT EXISTS source_newest text,"
                    + " ADD COLUMN IF NOT EXISTS lag numeric, ADD COLUMN IF NOT EXISTS lag_unit text,"
                    + " ADD COLUMN IF NOT EXISTS lag_at timestamptz");
            // what the column rules (hash, mask, nullify, cast) did to the rows merged under this watermark
            st.execute("ALTER TABLE " + qualified(schema) + " ADD COLUMN IF NOT EXISTS column_rules text");
        }
    }

    /**
     * The column rules the table's rows were merged under, by column ("" for none); empty for none recorded (a
     * watermark from before rules were kept).
     */
    public static java.util.Map<String, String> columnRules(Connection con, String schema, String transfer, String sourceTable)
            throws SQLException {
        try (PreparedStatement ps = con.prepareStatement("SELECT column_rules FROM " + qualified(schema)
                + " WHERE transfer = ? AND source_table = ?")) {
            ps.setString(1, transfer);
            ps.setString(2, sourceTable);
            try (java.sql.ResultSet rs = ps.executeQuery()) {
                String text = rs.next() ? rs.getString(1) : null;
                java.util.Map<String, String> rules = new java.util.TreeMap<>();
                if (text != null && !text.isEmpty()) {
                    org.apache.camel.util.json.JsonObject json = org.apache.camel.util.json.Jsoner.deserialize(text,
                            new org.apache.camel.util.json.JsonObject());
                    json.forEach((k, v) -> rules.put(k, String.valueOf(v)));
                }
                return rules;
            }
        }
    }

    /** Records the column rules the table's rows are merged under (see {@link #columnRules}). */
    public static void recordColumnRules(Connection con, String schema, String transfer, String sourceTable,
                                         java.util.Map<String, String> rules) throws SQLException {
        try (PreparedStatement ps = con.prepareStatement("UPDATE " + qualified(schema) + " SET column_rules = ?"
                + " WHERE transfer = ? AND source_table = ?")) {
            ps.setString(1, org.apache.camel.util.json.Jsoner.serialize(new java.util.TreeMap<>(rules)));
            ps.setString(2, transfer);
            ps.setString(3, sourceTable);
            ps.executeUpdate();
        }
    }

    /**
     * Records how far a table's watermark is behind the source: its newest cursor value in text form (xmin mode: the
     * source's next transaction id), and the lag in {@code unit} (seconds, values or transactions; null when unknown).
     */
    public static void recordLag(Connection con, String schema, String transfer, String sourceTable, String sourceNewest,
                                 java.math.BigDecimal lag, String unit) throws SQLException {
        try (PreparedStatement ps = con.prepareStatement("UPDATE " + qualified(schema) + " SET source_newest = ?, lag = ?,"
                + " lag_unit = ?, lag_at = clock_timestamp() WHERE transfer = ? AND source_table = ?")) {
            ps.setString(1, sourceNewest);
            ps.setBigDecimal(2, lag);
            ps.setString(3, unit);
            ps.setString(4, transfer);
            ps.setString(5, sourceTable);
            ps.executeUpdate();
        }
    }

    public static State load(Connection con, String schema, String transfer, String sourceTable) throws SQLException {
        try (PreparedStatement ps = con.prepareStatement("SELECT mode, cursor_column, key_columns, cursor_value, key_value,"
                + " xmin_horizon, pass_horizon FROM " + qualified(schema) + " WHERE transfer = ? AND source_table = ?")) {
            ps.setString(1, transfer);
            ps.setString(2, sourceTable);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                return new State(rs.getString(1), rs.getString(2), list(rs.getArray(3)), rs.getString(4), list(rs.getArray(5)),
                        (Long) rs.getObject(6), (Long) rs.getObject(7));
            }
        }
    }

    /** The destination table a watermark was recorded for; null when there is none, or it predates the record. */
    public static TableIdentity recordedTable(Connection con, String schema, String transfer, String sourceTable)
            throws SQLException {
        try (PreparedStatement ps = con.prepareStatement("SELECT table_oid, table_storage FROM " + qualified(schema)
                + " WHERE transfer = ? AND source_table = ? AND table_oid IS NOT NULL")) {
            ps.setString(1, transfer);
            ps.setString(2, sourceTable);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? new TableIdentity(rs.getLong(1), rs.getString(2)) : null;
            }
        }
    }

    /**
     * Starts a table over: a watermark at the start, for the given way of reading, recorded for {@code table}. Later
     * saves keep the table recorded here: a run writes into the table it opened.
     */
    public static void restart(Connection con, String schema, String transfer, String sourceTable, UUID runId, String mode,
                               String cursorColumn, List<String> keyColumns, TableIdentity table) throws SQLException {
        save(con, schema, transfer, sourceTable, runId, new State(mode, cursorColumn, keyColumns, null, null, null, null));
        recordTable(con, schema, transfer, sourceTable, table);
    }

    /** Records the destination table a watermark is for (after Ferry itself rewrote it, say). */
    public static void recordTable(Connection con, String schema, String transfer, String sourceTable, TableIdentity table)
            throws SQLException {
        try (PreparedStatement ps = con.prepareStatement("UPDATE " + qualified(schema)
                + " SET table_oid = ?, table_storage = ? WHERE transfer = ? AND source_table = ?")) {
            ps.setLong(1, table.oid());
            ps.setString(2, table.storage());
            ps.setString(3, transfer);
            ps.setString(4, sourceTable);
            ps.executeUpdate();
        }
    }

    /**
     * Writes a table's watermark; call inside the transaction of the batch it covers. The destination table recorded
     * with it stays as {@link #restart} or {@link #recordTable} set it.
     */
    public static void save(Connection con, String schema, String transfer, String sourceTable, UUID runId, State s)
            throws SQLException {
        try (PreparedStatement ps = con.prepareStatement("INSERT INTO " + qualified(schema)
                + " (transfer, source_table, mode, cursor_column, key_columns, cursor_value, key_value, xmin_horizon,"
                + " pass_horizon, run_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, clock_timestamp())"
                + " ON CONFLICT (transfer, source_table) DO UPDATE SET mode = EXCLUDED.mode, cursor_column = EXCLUDED.cursor_column,"
                + " key_columns = EXCLUDED.key_columns, cursor_value = EXCLUDED.cursor_value, key_value = EXCLUDED.key_value,"
                + " xmin_horizon = EXCLUDED.xmin_horizon, pass_horizon = EXCLUDED.pass_horizon, run_id = EXCLUDED.run_id,"
                + " updated_at = EXCLUDED.updated_at")) {
            ps.setString(1, transfer);
            ps.setString(2, sourceTable);
            ps.setString(3, s.mode());
            ps.setString(4, s.cursorColumn());
            ps.setArray(5, con.createArrayOf("text", s.keyColumns().toArray()));
            ps.setString(6, s.cursorValue());
            ps.setArray(7, s.keyValue() == null ? null : con.createArrayOf("text", s.keyValue().toArray()));
            ps.setObject(8, s.xminHorizon(), java.sql.Types.BIGINT);
            ps.setObject(9, s.passHorizon(), java.sql.Types.BIGINT);
            ps.setObject(10, runId);
            ps.executeUpdate();
        }
    }

    /**
     * The warning for a cursor watermark at the end of time, or null: {@code infinity} (timestamps, dates),
     * {@code Infinity} or {@code NaN} (numeric, floating point) sort after every other value, so once the watermark is
     * there every later change of the table, with a real cursor value, sorts before it and is skipped. ({@code
     * -infinity} sorts first, so it hides nothing.)
     */
    public static String endOfTimeWarning(String schema, String transfer, String sourceTable, String cursorColumn, String value) {
        if (value == null || !(value.equalsIgnoreCase("infinity") || value.equalsIgnoreCase("nan"))) {
            return null;
        }
        String column = Sql.displayIdent(cursorColumn);
        return "transfer '" + transfer + "': " + sourceTable + " has a row whose cursor " + column + " is '" + value + "', which"
                + " sorts after every other value: the watermark is now '" + value + "', and every later change of the table"
                + " is skipped. Give such rows a real " + column + " at the source (or leave them out with a filter such as "
                + column + " <> '" + value + "'), then delete the table's row in " + Sql.displayIdent(schema) + "." + TABLE
                + " (transfer '" + transfer + "', source_table '" + sourceTable + "') so that the next run reads it again";
    }

    /**
     * The warning for a cursor watermark ahead of the source's clock, or null: a row dated in the future (or a source
     * clock set back) moved it there, and until the clock passes it, rows changed now carry cursor values before it
     * and are skipped. Both values are cursor values in text form, as PostgreSQL writes a timestamptz, timestamp or
     * date; values that are not (or {@code infinity}, which {@link #endOfTimeWarning} covers) give no warning.
     *
     * @param sinceClock how long ago the clock was read: rows committed since then may carry later values
     */
    public static String aheadOfClockWarning(String schema, String transfer, String sourceTable, String cursorColumn,
                                             String watermark, String sourceClock, java.time.Duration sinceClock) {
        Moment w = Moment.parse(watermark);
        Moment now = Moment.parse(sourceClock);
        if (w == null || now == null || w.zoned() != now.zoned()) {
            return null;
        }
        // a timestamp or date has no zone: its writers' clocks may be in any zone, up to 26 hours ahead of Ferry's
        java.time.LocalDateTime bound = now.at().plus(sinceClock).plusHours(now.zoned() ? 0 : UNZONED_SLACK_HOURS);
        if (!w.at().isAfter(bound)) {
            return null;
        }
        String column = Sql.displayIdent(cursorColumn);
        return "transfer '" + transfer + "': " + sourceTable + ": the watermark, cursor " + column + " = '" + watermark
                + "', is ahead of the source's clock ('" + sourceClock + "'): a row is dated in the future, or the source's"
                + " clock is behind. Until the clock passes it, rows that change get " + column + " values before the"
                + " watermark (and its lookback), and are skipped. Correct such rows at the source (or leave them out with a"
                + " filter such as " + column + " <= now()), then delete the table's row in " + Sql.displayIdent(schema) + "."
                + TABLE + " (transfer '" + transfer + "', source_table '" + sourceTable + "') so that the next run reads it again";
    }

    /** The widest gap between two time zones' clocks (UTC-12 to UTC+14). */
    static final int UNZONED_SLACK_HOURS = 26;

    /** A timestamptz (zoned: an instant, in UTC), timestamp or date, as PostgreSQL writes it in ISO style, to compare. */
    private record Moment(boolean zoned, java.time.LocalDateTime at) {

        private static final java.util.regex.Pattern ISO = java.util.regex.Pattern.compile(
                "(\\d{4,})-(\\d\\d)-(\\d\\d)(?: (\\d\\d):(\\d\\d):(\\d\\d)(?:\\.(\\d{1,9}))?"
                        + "(?:([+-])(\\d\\d)(?::(\\d\\d))?(?::(\\d\\d))?)?)?");

        static Moment parse(String text) {
            java.util.regex.Matcher m = text == null ? null : ISO.matcher(text);
            if (m == null || !m.matches()) {
                return null; // infinity, BC dates, anything else: not compared
            }
            try {
                java.time.LocalDateTime at = java.time.LocalDateTime.of(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)),
                        Integer.parseInt(m.group(3)), m.group(4) == null ? 0 : Integer.parseInt(m.group(4)),
                        m.group(5) == null ? 0 : Integer.parseInt(m.group(5)), m.group(6) == null ? 0 : Integer.parseInt(m.group(6)),
                        m.group(7) == null ? 0 : Integer.parseInt((m.group(7) + "00000000").substring(0, 9)));
                if (m.group(8) == null) {
                    return new Moment(false, at);
                }
                int offset = (Integer.parseInt(m.group(9)) * 3600 + (m.group(10) == null ? 0 : Integer.parseInt(m.group(10))) * 60
                        + (m.group(11) == null ? 0 : Integer.parseInt(m.group(11)))) * ("-".equals(m.group(8)) ? -1 : 1);
                return new Moment(true, at.minusSeconds(offset)); // in UTC
            } catch (RuntimeException e) {
                return null;
            }
        }
    }

    private static List<String> list(Array a) throws SQLException {
        return a == null ? null : Arrays.asList((String[]) a.getArray());
    }
}
