package dev.ferry.testing;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import org.postgresql.PGConnection;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Row-by-row comparison of a source table and its destination copy: both are dumped with
 * {@code COPY (SELECT ... ORDER BY key) TO STDOUT}, PostgreSQL's own text form of every value, and compared line
 * by line. Equal dumps mean equal rows and equal values, NULLs included.
 */
public final class Dumps {

    private Dumps() {
    }

    /** The dump of the given columns of a table, ordered by {@code orderBy} (quoted SQL). */
    public static List<String> dump(Connection con, String qualifiedTable, String columns, String orderBy) throws SQLException {
        String sql = "COPY (SELECT " + columns + " FROM " + qualifiedTable + " ORDER BY " + orderBy + ") TO STDOUT";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            con.unwrap(PGConnection.class).getCopyAPI().copyOut(sql, out);
        } catch (java.io.IOException e) {
            throw new SQLException(e);
        }
        String text = out.toString(StandardCharsets.UTF_8);
        List<String> lines = new ArrayList<>(List.of(text.split("\n", -1)));
        if (!lines.isEmpty() && lines.get(lines.size() - 1).isEmpty()) {
            lines.remove(lines.size() - 1);
        }
        return lines;
    }

    /** The quoted, comma-separated column list of a table, in order. */
    public static String columns(Connection con, String schema, String table) throws SQLException {
        List<String> cols = new ArrayList<>();
        try (PreparedStatement ps = con.prepareStatement("""
                SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = ? AND c.relname = ? AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum""")) {
            ps.setString(1, schema);
            ps.setString(2, table);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    cols.add(TestDb.quote(rs.getString(1)));
                }
            }
        }
        return String.join(", ", cols);
    }

    /**
     * Asserts the destination table holds exactly the source table's rows: every source column, compared as text,
     * ordered by {@code orderBy}.
     */
    public static void assertSameRows(Connection source, String sourceSchema, String sourceTable,
                                      Connection destination, String destSchema, String destTable, String orderBy) throws SQLException {
        String cols = columns(source, sourceSchema, sourceTable);
        List<String> expected = dump(source, TestDb.quote(sourceSchema) + "." + TestDb.quote(sourceTable), cols, orderBy);
        List<String> actual = dump(destination, TestDb.quote(destSchema) + "." + TestDb.quote(destTable), cols, orderBy);
        assertThat(expected).as("source %s.%s must not be empty for a meaningful comparison", sourceSchema, sourceTable).isNotEmpty();
        assertThat(actual).as("rows of %s.%s (as text, ordered by %s) vs source %s.%s", destSchema, destTable, orderBy,
                sourceSchema, sourceTable).containsExactlyElementsOf(expected);
    }

    public static long count(Connection con, String qualifiedTable) throws SQLException {
        try (var st = con.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM " + qualifiedTable)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** A single value from a query, as text. */
    public static String scalar(Connection con, String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = con.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                ps.setObject(i + 1, params[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    /** All rows of a query, each as its columns joined by {@code |}. */
    public static List<String> rows(Connection con, String sql, Object... params) throws SQLException {
        List<String> rows = new ArrayList<>();
        try (PreparedStatement ps = con.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                ps.setObject(i + 1, params[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                int n = rs.getMetaData().getColumnCount();
                while (rs.next()) {
                    StringBuilder sb = new StringBuilder();
                    for (int i = 1; i <= n; i++) {
                        if (i > 1) {
                            sb.append('|');
                        }
                        sb.append(rs.getString(i));
                    }
                    rows.add(sb.toString());
                }
            }
        }
        return rows;
    }
}
