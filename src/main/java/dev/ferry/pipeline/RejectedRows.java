package dev.ferry.pipeline;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;

import dev.ferry.config.Sql;
import dev.ferry.source.SourceTable;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/**
 * When the destination rejects rows of a batch (a constraint someone added there), finds which: the keys of the
 * staged rows that break the constraint, for an error that names them.
 */
final class RejectedRows {

    private RejectedRows() {
    }

    /**
     * The key of up to five staged rows behind a constraint violation, as {@code (id)=(5), (id)=(9)}; null when they
     * cannot be told apart. Call after rolling back to a savepoint taken before the merge.
     */
    static String keys(Connection con, TableLoad load, SQLException error) {
        ServerErrorMessage m = error instanceof PSQLException p ? p.getServerErrorMessage() : null;
        if (m == null) {
            return null;
        }
        SourceTable t = load.sourceTable();
        String condition;
        try {
            condition = switch (error.getSQLState()) {
                case "23514" -> checkFailure(con, load, m.getConstraint());
                case "23502" -> m.getColumn() == null ? null : "s." + Sql.ident(m.getColumn()) + " IS NULL";
                case "23505" -> uniqueClash(con, load, m.getConstraint());
                default -> null;
            };
            if (condition == null) {
                return null;
            }
            StringJoiner keyCols = new StringJoiner(", ");
            for (String k : t.key()) {
                keyCols.add("s." + Sql.ident(k) + "::text");
            }
            List<String> found = new ArrayList<>();
            try (PreparedStatement ps = con.prepareStatement("SELECT " + keyCols + " FROM pg_temp." + Merge.STAGE + " s"
                    + (condition.startsWith("JOIN") ? " " + condition : " WHERE " + condition) + " LIMIT 5")) {
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        StringJoiner values = new StringJoiner(", ", "(", ")");
                        for (int i = 1; i <= t.key().size(); i++) {
                            values.add(rs.getString(i));
                        }
                        found.add("(" + String.join(", ", t.key()) + ")=" + values);
                    }
                }
            }
            return found.isEmpty() ? null : String.join(", ", found);
        } catch (SQLException | RuntimeException e) {
            return null; // the error itself is still reported; only the keys are missing
        }
    }

    private static String checkFailure(Connection con, TableLoad load, String constraint) throws SQLException {
        if (constraint == null) {
            return null;
        }
        try (PreparedStatement ps = con.prepareStatement("SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c"
                + " WHERE c.conrelid = ?::regclass AND c.conname = ?")) {
            ps.setString(1, Sql.qualified(load.schema(), load.table()));
            ps.setString(2, constraint);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                String def = rs.getString(1).replaceAll("\\s+NOT VALID$", "");
                // CHECK (expr): the same expression, over the staged rows (it names columns the stage has too)
                return def.startsWith("CHECK ") ? "NOT " + def.substring("CHECK ".length()) : null;
            }
        }
    }

    private static String uniqueClash(Connection con, TableLoad load, String constraint) throws SQLException {
        if (constraint == null) {
            return null;
        }
        List<String> cols = new ArrayList<>();
        try (PreparedStatement ps = con.prepareStatement("SELECT a.attname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid"
                + " CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)"
                + " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
                + " WHERE i.indrelid = ?::regclass AND ic.relname = ? ORDER BY k.ord")) {
            ps.setString(1, Sql.qualified(load.schema(), load.table()));
            ps.setString(2, constraint);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    cols.add(rs.getString(1));
                }
            }
        }
        if (cols.isEmpty()) {
            return null;
        }
        StringJoiner on = new StringJoiner(" AND ");
        for (String c : cols) {
            on.add("d." + Sql.ident(c) + " = s." + Sql.ident(c));
        }
        StringJoiner key = new StringJoiner(", ");
        StringJoiner dkey = new StringJoiner(", ");
        for (String k : load.sourceTable().key()) {
            key.add("s." + Sql.ident(k));
            dkey.add("d." + Sql.ident(k));
        }
        return "JOIN " + Sql.qualified(load.schema(), load.table()) + " d ON " + on + " WHERE (" + dkey + ") IS DISTINCT FROM (" + key + ")";
    }
}
