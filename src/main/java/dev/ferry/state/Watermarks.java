package dev.ferry.state;

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
 */
public final class Watermarks {

    public static final String TABLE = "_ferry_state";

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

    /** Writes a table's watermark; call inside the transaction of the batch it covers. */
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

    private static List<String> list(Array a) throws SQLException {
        return a == null ? null : Arrays.asList((String[]) a.getArray());
    }
}
