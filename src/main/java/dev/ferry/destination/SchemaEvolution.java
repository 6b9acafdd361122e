package dev.ferry.destination;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

import dev.ferry.config.ReservedNames;
import dev.ferry.config.Sql;
import dev.ferry.source.SourceTable;

/**
 * Keeps a destination table in step with its source's columns, before a run writes any row:
 * <ul>
 *   <li>a new source column is added ({@code ALTER TABLE ... ADD COLUMN});</li>
 *   <li>a widened type (int to bigint, varchar(20) to varchar(50) or text, numeric(10,2) to numeric(12,2), a
 *       larger timestamp precision...) widens the destination column;</li>
 *   <li>a column gone from the source (or left out by the transfer) stays, NULL from then on;</li>
 *   <li>any other type change fails the run before any row is written, naming the table, column, both types, and
 *       the ways out.</li>
 * </ul>
 */
public final class SchemaEvolution {

    /** The temporary table that turns the source's type names into the oids and modifiers PostgreSQL compares. */
    private static final String SHAPE = ReservedNames.PREFIX + "shape";

    /** A column as a table has it: its type's oid and modifier, and how {@code format_type} writes it. */
    public record Column(String name, int typeOid, int typmod, int elemOid, String display) {
    }

    /** What reconciling found: the destination's columns the source no longer has, and notes for the run record. */
    public record Result(List<Column> destinationOnly, List<String> notes) {

        public List<String> destinationOnlyNames() {
            return destinationOnly.stream().map(Column::name).toList();
        }
    }

    private SchemaEvolution() {
    }

    /** The columns of a destination table, metadata columns left out. */
    public static Map<String, Column> columns(Connection con, String schema, String table) throws SQLException {
        return columnsOf(con, "SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                + " WHERE n.nspname = ? AND c.relname = ?", schema, table);
    }

    private static Map<String, Column> columnsOf(Connection con, String relation, String... params) throws SQLException {
        Map<String, Column> cols = new LinkedHashMap<>();
        try (PreparedStatement ps = con.prepareStatement("SELECT a.attname, a.atttypid::int, a.atttypmod, t.typelem::int,"
                + " pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a"
                + " JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
                + " WHERE a.attrelid = (" + relation + ") AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum")) {
            for (int i = 0; i < params.length; i++) {
                ps.setString(i + 1, params[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String name = rs.getString(1);
                    if (!name.equals(DestinationSchema.SYNCED_AT) && !name.equals(DestinationSchema.RUN_ID)) {
                        cols.put(name, new Column(name, rs.getInt(2), rs.getInt(3), rs.getInt(4), rs.getString(5)));
                    }
                }
            }
        }
        return cols;
    }

    /**
     * Brings an existing destination table in line with the source, inside the caller's transaction; nothing is
     * changed when an incompatible change is found.
     *
     * @throws DestinationException listing every incompatible column
     */
    public static Result reconcile(Connection con, String schema, String table, SourceTable source) throws SQLException {
        Map<String, Column> existing = columns(con, schema, table);
        if (existing.size() == source.columns().size()) {
            // the common case, nothing changed: every column there, under the very type name the source asks for
            boolean same = true;
            for (int i = 0; i < source.columns().size() && same; i++) {
                Column have = existing.get(source.columns().get(i).name());
                same = have != null && have.display().equals(source.destinationTypes().get(i));
            }
            if (same) {
                return new Result(List.of(), List.of());
            }
        }
        Map<String, Column> wanted = wantedColumns(con, source);
        String target = Sql.qualified(schema, table);
        List<String> ddl = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        List<String> incompatible = new ArrayList<>();
        for (Column w : wanted.values()) {
            Column have = existing.get(w.name());
            if (have == null) {
                ddl.add("ALTER TABLE " + target + " ADD COLUMN " + Sql.ident(w.name()) + " " + w.display());
                notes.add("column " + Sql.displayIdent(w.name()) + " (" + w.display() + ") is new at the source: added");
            } else if (TypeWidening.canHold(have, w)) {
                continue;
            } else if (TypeWidening.canHold(w, have)) {
                ddl.add("ALTER TABLE " + target + " ALTER COLUMN " + Sql.ident(w.name()) + " TYPE " + w.display());
                notes.add("column " + Sql.displayIdent(w.name()) + " widened from " + have.display() + " to " + w.display());
            } else {
                incompatible.add(Sql.displayIdent(w.name()) + " is " + have.display() + " at the destination but "
                        + w.display() + " at the source");
            }
        }
        if (!incompatible.isEmpty()) {
            throw new DestinationException("destination table " + Sql.displayIdent(schema) + "." + Sql.displayIdent(table)
                    + " cannot take the source's rows: column " + String.join("; column ", incompatible)
                    + ", a change that is not a widening. Nothing was written. Ways out: run the transfer once with mode"
                    + " full_refresh, which recreates the table with the source's types; or drop the destination table"
                    + " (and its row in " + Sql.displayIdent(schema) + "." + ReservedNames.STATE_TABLE + ") so the next run recreates and backfills it;"
                    + " or ALTER the destination column yourself to a type that holds the source's values");
        }
        List<Column> destinationOnly = new ArrayList<>();
        for (Column have : existing.values()) {
            if (!wanted.containsKey(have.name())) {
                destinationOnly.add(have);
                notes.add("column " + Sql.displayIdent(have.name()) + " is no longer copied from the source (dropped there, or left"
                        + " out by the transfer): kept at the destination, NULL in rows written from now on");
            }
        }
        try (Statement st = con.createStatement()) {
            for (String d : ddl) {
                st.execute(d);
            }
        }
        return new Result(destinationOnly, notes);
    }

    /**
     * The destination columns the source asks for, with their types as the destination understands them: declared in
     * a temporary table, so that names like {@code varchar(40)} become the type oid and modifier PostgreSQL compares.
     */
    private static Map<String, Column> wantedColumns(Connection con, SourceTable source) throws SQLException {
        StringJoiner cols = DestinationSchema.columnDefinitions(source);
        try (Statement st = con.createStatement()) {
            st.execute("CREATE TEMP TABLE " + SHAPE + " " + cols + " ON COMMIT DROP");
        }
        Map<String, Column> wanted = columnsOf(con, "SELECT 'pg_temp." + SHAPE + "'::regclass");
        try (Statement st = con.createStatement()) {
            st.execute("DROP TABLE pg_temp." + SHAPE);
        }
        return wanted;
    }
}
