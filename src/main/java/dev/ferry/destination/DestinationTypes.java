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
    private final List<SchemaEvolution.Change> changes = new ArrayList<>();
    /** Only look: what the destination lacks is recorded as a change not applied, and no DDL runs. */
    private boolean dry;
    /** Whether notes and changes are recorded (not for the columns a freeze does not copy). */
    private boolean record = true;

    private DestinationTypes(Connection con, String schema) {
        this.con = con;
        this.schema = schema;
    }

    /**
     * The result: a destination type per column, notes on columns that could not keep their type, and each change of
     * a destination type (a type created, an enum label or a composite attribute added), applied or, when only
     * checking, found missing.
     */
    public record Resolved(List<String> types, List<String> notes, List<SchemaEvolution.Change> changes) {
    }

    /** The kinds of {@link SchemaEvolution.Change} a destination type's change is reported as. */
    public static final String TYPE_CREATED = "type created";
    public static final String LABEL_ADDED = "enum label added";
    public static final String ATTRIBUTE_ADDED = "attribute added";

    /**
     * Resolves every column's type, in one transaction committed before any row is loaded (PostgreSQL will not
     * store an enum label added in the transaction that stores it). Tables of one run (parallelTables) and other
     * transfers into the same schema may share an enum or composite: the transaction holds a lock per destination
     * schema, so that one of them creates the type and the others see it, instead of racing to "already exists". A
     * transaction lock, not a session one: a failure can never leave it held by a pooled session.
     */
    public static Resolved resolve(Connection autocommit, String schema, SourceTable table) throws SQLException {
        return resolve(autocommit, schema, table, false, java.util.Set.of());
    }

    /**
     * As {@link #resolve(Connection, String, SourceTable)}; with {@code check} (onSchemaChange freeze or fail, on a
     * table that exists), changes nothing: what the destination lacks comes back as changes not applied. The columns
     * in {@code skip} (not copied: freeze, new at the source) get the type they would have, unchecked and unreported.
     */
    public static Resolved resolve(Connection autocommit, String schema, SourceTable table, boolean check,
                                   java.util.Set<String> skip) throws SQLException {
        DestinationTypes d = new DestinationTypes(autocommit, schema);
        d.dry = check;
        List<String> types = new ArrayList<>();
        autocommit.setAutoCommit(false);
        boolean committed = false;
        try {
            try (PreparedStatement ps = autocommit.prepareStatement("SELECT pg_catalog.pg_advisory_xact_lock(hashtext(?), 0)")) {
                ps.setString(1, "ferry types:" + schema);
                ps.execute();
            }
            for (SourceColumn c : table.columns()) {
                boolean skipped = skip.contains(c.name());
                d.dry = check || skipped;
                d.record = !skipped;
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
        return new Resolved(types, d.notes, d.changes);
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
        if (!record && (t instanceof SourceType.Enum || t instanceof SourceType.Composite)) {
            // a column not copied (freeze): the type it would have, as the report shows it; nothing looked up or created
            return display(t instanceof SourceType.Enum e ? e.name() : ((SourceType.Composite) t).name());
        }
        if (t instanceof SourceType.Enum e) {
            return ensureEnum(column, e);
        }
        if (t instanceof SourceType.Composite c) {
            return ensureComposite(column, c);
        }
        if (t instanceof SourceType.Extension x) {
            String qualified = extensionType(x);
            if (qualified != null) {
                return qualified + x.modifiers();
            }
            note("column " + Sql.displayIdent(column) + ": type " + x.declared() + " comes from extension " + x.extension()
                    + ", which the destination does not have, so the column holds its text form; run CREATE EXTENSION "
                    + Sql.ident(x.extension()) + " at the destination to keep the type (a full refresh then recreates the column)");
            return "text";
        }
        SourceType.Other o = (SourceType.Other) t;
        note("column " + Sql.displayIdent(column) + ": type " + o.declared() + " is a user-defined " + o.kind()
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

    private String ensureEnum(String column, SourceType.Enum e) throws SQLException {
        String qualified = Sql.qualified(schema, e.name());
        String kind = existingKind(e.name());
        if (kind == null) {
            if (changed(TYPE_CREATED, column, null, display(e.name()))) {
                return qualified;
            }
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
            if (changed(LABEL_ADDED, column, display(e.name()), "'" + label.replace("'", "''") + "'")) {
                existing.add(label);
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
            if (changed(TYPE_CREATED, column, null, display(c.name()))) {
                return qualified;
            }
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
            if (!existing.contains(name)
                    && !changed(ATTRIBUTE_ADDED, column, display(c.name()), Sql.displayIdent(name) + " " + attrTypes.get(i))) {
                execute("ALTER TYPE " + qualified + " ADD ATTRIBUTE " + Sql.ident(name) + " " + attrTypes.get(i));
            }
        }
        return qualified;
    }

    /**
     * Records a change of a destination type (once, when recording); true when only checking: the caller then changes
     * nothing.
     */
    private boolean changed(String kind, String column, String from, String to) {
        SchemaEvolution.Change change = new SchemaEvolution.Change(kind, column, from, to, !dry);
        if (record && !changes.contains(change)) {
            changes.add(change);
        }
        return dry;
    }

    private void note(String note) {
        if (record) {
            notes.add(note);
        }
    }

    private String display(String type) {
        return Sql.displayIdent(schema) + "." + Sql.displayIdent(type);
    }

    /** A change of a destination type as the run record says it: applied, or (freeze, fail) found missing. */
    public static String describe(SchemaEvolution.Change c) {
        String column = "column " + Sql.displayIdent(c.column());
        return switch (c.kind()) {
            case TYPE_CREATED -> c.applied() ? "schema change: type " + c.to() + " (" + column + ") created"
                    : "type " + c.to() + " of " + column + " is missing at the destination";
            case LABEL_ADDED -> c.applied() ? "schema change: enum type " + c.from() + " (" + column + "): label " + c.to() + " added"
                    : "enum type " + c.from() + " of " + column + " lacks the source's label " + c.to();
            default -> c.applied() ? "schema change: composite type " + c.from() + " (" + column + "): attribute " + c.to() + " added"
                    : "composite type " + c.from() + " of " + column + " lacks the source's attribute " + c.to();
        };
    }

    /**
     * The stop of a table whose destination types lack what the source's columns need, under onSchemaChange freeze or
     * fail (no type is changed then): each missing type, label or attribute, and the ways out.
     */
    public static SchemaChangeStop stop(String schema, String table, List<SchemaEvolution.Change> missing,
                                        dev.ferry.config.ChangePolicy.SchemaChange policy) {
        String display = Sql.displayIdent(schema) + "." + Sql.displayIdent(table);
        String what = String.join("; ", missing.stream().map(DestinationTypes::describe).toList());
        String message = policy == dev.ferry.config.ChangePolicy.SchemaChange.FAIL
                ? "destination table " + display + " differs from its source and the transfer's onSchemaChange is fail: " + what
                + ". Nothing was written, no type was changed. To go on: set onSchemaChange: evolve for one run (it creates the"
                + " types and adds the labels and attributes), or change the types at the destination by hand (CREATE TYPE, ALTER"
                + " TYPE ... ADD VALUE / ADD ATTRIBUTE), or leave the column out with excludeColumns"
                : "destination table " + display + " cannot take the source's rows: " + what + ", so the column's destination type"
                + " cannot hold the source's values, and the transfer's onSchemaChange is freeze, which changes no destination"
                + " type. Nothing was written. Ways out: set onSchemaChange: evolve for one run, which adds them; or add them at"
                + " the destination yourself (ALTER TYPE ... ADD VALUE / ADD ATTRIBUTE); or leave the column out with excludeColumns";
        return new SchemaChangeStop(message, missing, policy);
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
