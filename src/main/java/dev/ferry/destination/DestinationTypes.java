package dev.ferry.destination;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import dev.ferry.config.Sql;
import dev.ferry.source.SourceColumn;
import dev.ferry.source.SourceTable;
import dev.ferry.source.SourceType;

/**
 * Gives each source column a destination type that holds its values exactly, creating what the destination lacks.
 *
 * <ul>
 *   <li>Built-in types are kept as declared: {@code numeric(12,2)}, {@code varchar(40)}, {@code int[]}.</li>
 *   <li>Domains become their base type.</li>
 *   <li>Enums and composite types are recreated in the destination schema under their own names; labels and
 *       attributes added at the source later are added at the destination in the run that first sees them, enum
 *       labels in the same sort position.</li>
 *   <li>Extension types (citext, hstore, ltree, PostGIS...) are kept when the destination has the extension, and
 *       carried as text otherwise, with a note in the log and the run record.</li>
 *   <li>Anything else (user-defined base or range types) is carried as text, with a note.</li>
 * </ul>
 * Type DDL runs in a transaction of its own: PostgreSQL will not use an enum label added in the transaction that uses
 * it, so new types and labels are committed before any row is loaded.
 */
public final class DestinationTypes {

    private final Connection con;
    private final String schema;
    private final List<String> notes = new ArrayList<>();

    private DestinationTypes(Connection con, String schema) {
        this.con = con;
        this.schema = schema;
    }

    /** The result: a destination type per column, and notes on columns that could not keep their type. */
    public record Resolved(List<String> types, List<String> notes) {
    }

    /**
     * Resolves every column's type, in one transaction committed before any row is loaded (PostgreSQL will not
     * store an enum label added in the transaction that stores it). Tables of one run (parallelTables) and other
     * transfers into the same schema may share an enum or composite: the transaction holds a lock per destination
     * schema, so that one of them creates the type and the others see it, instead of racing to "already exists". A
     * transaction lock, not a session one: a failure can never leave it held by a pooled session.
     */
    public static Resolved resolve(Connection autocommit, String schema, SourceTable table) throws SQLException {
        DestinationTypes d = new DestinationTypes(autocommit, schema);
        List<String> types = new ArrayList<>();
        autocommit.setAutoCommit(false);
        boolean committed = false;
        try {
            try (PreparedStatement ps = autocommit.prepareStatement("SELECT pg_catalog.pg_advisory_xact_lock(hashtext(?), 0)")) {
                ps.setString(1, "ferry types:" + schema);
                ps.execute();
            }
            for (SourceColumn c : table.columns()) {
                types.add(d.type(c.name(), c.type()));
            }
            autocommit.commit();
            committed = true;
        } finally {
            if (!committed) {
                try {
                    autocommit.rollback();
                } catch (SQLException quiet) {
                    // the failure that got here is the one to report; the pool discards a broken connection
                }
            }
        }
        autocommit.setAutoCommit(true);
        return new Resolved(types, d.notes);
    }

    /**
     * Why a column of this type may reach the destination as text rather than as its own type, or null when its type is
     * kept: the rule {@link #type} applies, without a destination to look at (for {@code ferry discover}). An extension
     * type is carried as text only where the destination lacks the extension; any other user-defined base or range type
     * always is. Arrays and composite attributes are looked through.
     */
    public static String textReason(SourceType t) {
        if (t instanceof SourceType.ArrayOf a) {
            return textReason(a.element());
        }
        if (t instanceof SourceType.Composite c) {
            for (SourceType.Attribute a : c.attributes()) {
                String r = textReason(a.type());
                if (r != null) {
                    return "attribute " + Sql.displayIdent(a.name()) + " of " + c.name() + ": " + r;
                }
            }
            return null;
        }
        if (t instanceof SourceType.Extension x) {
            return x.declared() + " from extension " + x.extension() + ": as text unless the destination has " + x.extension();
        }
        if (t instanceof SourceType.Other o) {
            return o.declared() + ", a user-defined " + o.kind() + ": always as text";
        }
        return null; // built-in types, enums: kept
    }

    private String type(String column, SourceType t) throws SQLException {
        if (t instanceof SourceType.BuiltIn b) {
            return b.declared();
        }
        if (t instanceof SourceType.ArrayOf a) {
            return type(column, a.element()) + "[]";
        }
        if (t instanceof SourceType.Enum e) {
            return ensureEnum(e);
        }
        if (t instanceof SourceType.Composite c) {
            return ensureComposite(column, c);
        }
        if (t instanceof SourceType.Extension x) {
            String qualified = extensionType(x);
            if (qualified != null) {
                return qualified + x.modifiers();
            }
            notes.add("column " + Sql.displayIdent(column) + ": type " + x.declared() + " comes from extension " + x.extension()
                    + ", which the destination does not have, so the column holds its text form; run CREATE EXTENSION "
                    + Sql.ident(x.extension()) + " at the destination to keep the type (a full refresh then recreates the column)");
            return "text";
        }
        SourceType.Other o = (SourceType.Other) t;
        notes.add("column " + Sql.displayIdent(column) + ": type " + o.declared() + " is a user-defined " + o.kind()
                + " that Ferry does not recreate, so the column holds its text form");
        return "text";
    }

    private String extensionType(SourceType.Extension x) throws SQLException {
        try (PreparedStatement ps = con.prepareStatement("""
                SELECT n.nspname FROM pg_catalog.pg_type t
                JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
                JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e'
                JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
                WHERE e.extname = ? AND t.typname = ?""")) {
            ps.setString(1, x.extension());
            ps.setString(2, x.name());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Sql.qualified(rs.getString(1), x.name()) : null;
            }
        }
    }

    /** {@code e} for an enum, {@code c} for a composite, null when no type of that name exists in the schema. */
    private String existingKind(String name) throws SQLException {
        try (PreparedStatement ps = con.prepareStatement("""
                SELECT t.typtype, c.relkind FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
                LEFT JOIN pg_catalog.pg_class c ON c.oid = t.typrelid
                WHERE n.nspname = ? AND t.typname = ?""")) {
            ps.setString(1, schema);
            ps.setString(2, name);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                String relkind = rs.getString(2);
                return relkind != null && !relkind.equals("c") ? "table" : rs.getString(1);
            }
        }
    }

    private String ensureEnum(SourceType.Enum e) throws SQLException {
        String qualified = Sql.qualified(schema, e.name());
        String kind = existingKind(e.name());
        if (kind == null) {
            executeFormatted(con, "SELECT format('CREATE TYPE %I.%I AS ENUM (%s)', ?, ?,"
                    + " (SELECT coalesce(string_agg(quote_literal(l), ', ' ORDER BY o), '') FROM unnest(?::text[]) WITH ORDINALITY AS x(l, o)))",
                    schema, e.name(), e.labels());
            return qualified;
        }
        if (!kind.equals("e")) {
            throw conflict(e.name(), "an enum");
        }
        List<String> existing = new ArrayList<>();
        try (PreparedStatement ps = con.prepareStatement("SELECT enumlabel FROM pg_catalog.pg_enum WHERE enumtypid = ?::regtype"
                + " ORDER BY enumsortorder")) {
            ps.setString(1, qualified);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    existing.add(rs.getString(1));
                }
            }
        }
        for (int i = 0; i < e.labels().size(); i++) {
            String label = e.labels().get(i);
            if (existing.contains(label)) {
                continue;
            }
            // keep the source's sort order: place it after its predecessor, or before the first label
            if (i > 0) {
                executeFormatted(con, "SELECT format('ALTER TYPE %I.%I ADD VALUE IF NOT EXISTS %L AFTER %L', ?, ?, ?, ?)",
                        schema, e.name(), label, e.labels().get(i - 1));
            } else if (!existing.isEmpty()) {
                executeFormatted(con, "SELECT format('ALTER TYPE %I.%I ADD VALUE IF NOT EXISTS %L BEFORE %L', ?, ?, ?, ?)",
                        schema, e.name(), label, existing.get(0));
            } else {
                executeFormatted(con, "SELECT format('ALTER TYPE %I.%I ADD VALUE IF NOT EXISTS %L', ?, ?, ?)", schema, e.name(), label);
            }
            existing.add(label);
        }
        return qualified;
    }

    private String ensureComposite(String column, SourceType.Composite c) throws SQLException {
        List<String> attrTypes = new ArrayList<>();
        for (SourceType.Attribute a : c.attributes()) {
            attrTypes.add(type(column + "." + a.name(), a.type()));
        }
        String qualified = Sql.qualified(schema, c.name());
        String kind = existingKind(c.name());
        if (kind == null) {
            StringBuilder ddl = new StringBuilder("CREATE TYPE ").append(qualified).append(" AS (");
            for (int i = 0; i < attrTypes.size(); i++) {
                ddl.append(i > 0 ? ", " : "").append(Sql.ident(c.attributes().get(i).name())).append(' ').append(attrTypes.get(i));
            }
            execute(ddl.append(')').toString());
            return qualified;
        }
        if (!kind.equals("c")) {
            throw conflict(c.name(), "a composite type");
        }
        List<String> existing = new ArrayList<>();
        try (PreparedStatement ps = con.prepareStatement("SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid ="
                + " (SELECT typrelid FROM pg_catalog.pg_type WHERE oid = ?::regtype) AND attnum > 0 AND NOT attisdropped")) {
            ps.setString(1, qualified);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    existing.add(rs.getString(1));
                }
            }
        }
        for (int i = 0; i < attrTypes.size(); i++) {
            String name = c.attributes().get(i).name();
            if (!existing.contains(name)) {
                execute("ALTER TYPE " + qualified + " ADD ATTRIBUTE " + Sql.ident(name) + " " + attrTypes.get(i));
            }
        }
        return qualified;
    }

    private DestinationException conflict(String name, String what) {
        return new DestinationException("destination schema " + Sql.displayIdent(schema) + " already has a table or type named "
                + Sql.displayIdent(name) + " that is not " + what + ", so the source's type " + name + " cannot be recreated"
                + " there; rename or drop " + Sql.qualified(schema, name) + " at the destination");
    }

    /** Runs DDL built on the server by {@code format()}, so that names and labels reach it only as bind parameters. */
    static void executeFormatted(Connection con, String formatQuery, Object... params) throws SQLException {
        String ddl;
        try (PreparedStatement ps = con.prepareStatement(formatQuery)) {
            for (int i = 0; i < params.length; i++) {
                if (params[i] instanceof List<?> list) {
                    ps.setArray(i + 1, con.createArrayOf("text", list.toArray()));
                } else {
                    ps.setString(i + 1, (String) params[i]);
                }
            }
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                ddl = rs.getString(1);
            }
        }
        try (Statement st = con.createStatement()) {
            st.execute(ddl);
        }
    }

    private void execute(String ddl) throws SQLException {
        try (Statement st = con.createStatement()) {
            st.execute(ddl);
        }
    }
}
