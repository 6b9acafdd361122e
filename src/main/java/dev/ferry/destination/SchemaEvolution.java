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

import dev.ferry.config.ChangePolicy;
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

    /**
     * What reconciling found: the destination's columns the source no longer has (NULL in rows written from now on),
     * the source's columns left out ({@code freeze}: not at the destination), the destination's type for each copied
     * column whose type it keeps ({@code freeze}, by column), every change applied or ignored, and notes for the run
     * record.
     */
    public record Result(List<Column> destinationOnly, List<String> notes, List<Change> changes, List<String> leftOut,
                         Map<String, String> keptTypes) {

        public Result(List<Column> destinationOnly, List<String> notes) {
            this(destinationOnly, notes, List.of(), List.of(), Map.of());
        }

        public List<String> destinationOnlyNames() {
            return destinationOnly.stream().map(Column::name).toList();
        }
    }

    /**
     * One difference between the source's columns (as the transfer copies them) and the destination table's: a column
     * {@code added} at the source (its type in {@code to}), {@code dropped} from it (or left out by the transfer; the
     * destination's type in {@code from}), or {@code retyped}; or a destination type's ({@link DestinationTypes}: a type
     * created, an enum label or composite attribute added, the type in {@code from}); {@code applied} when Ferry changed
     * the destination for it,
     * false when the policy ignored it (or stopped on it).
     */
    public record Change(String kind, String column, String from, String to, boolean applied) {
    }

    private SchemaEvolution() {
    }

    /** The columns of a destination table, Ferry's metadata columns left out. */
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
                    if (!ReservedNames.isFerrys(name)) { // Ferry's metadata columns (the source may not have such names)
                        cols.put(name, new Column(name, rs.getInt(2), rs.getInt(3), rs.getInt(4), rs.getString(5)));
                    }
                }
            }
        }
        return cols;
    }

    /** {@link #reconcile(Connection, String, String, SourceTable, ChangePolicy.SchemaChange, boolean)}: evolve, merge modes. */
    public static Result reconcile(Connection con, String schema, String table, SourceTable source) throws SQLException {
        return reconcile(con, schema, table, source, ChangePolicy.SchemaChange.EVOLVE, false);
    }

    /**
     * Compares an existing destination table with the source's columns and acts as {@code policy} says, inside the
     * caller's transaction; nothing is changed when the table fails.
     * <ul>
     *   <li>evolve: the merge modes add new columns and widen widened ones here; a full refresh ({@code fullRefresh})
     *       changes nothing here: its load table has the source's columns and types, and the table's columns only the
     *       destination has ({@link Result#destinationOnly});</li>
     *   <li>freeze: nothing is changed; new source columns are left out ({@link Result#leftOut}), a source type the
     *       destination column holds is kept as the destination has it ({@link Result#keptTypes}), one it cannot hold
     *       fails;</li>
     *   <li>fail: any difference fails: a new, a dropped or a retyped column.</li>
     * </ul>
     * In every policy a column only the destination has stays, NULL in rows written from then on.
     *
     * @throws DestinationException naming each column the policy cannot go on with, and the ways out
     */
    public static Result reconcile(Connection con, String schema, String table, SourceTable source, ChangePolicy.SchemaChange policy,
                                   boolean fullRefresh) throws SQLException {
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
        String target = Sql.qualified(schema, table);
        String display = Sql.displayIdent(schema) + "." + Sql.displayIdent(table);
        boolean evolve = policy == ChangePolicy.SchemaChange.EVOLVE;
        boolean freeze = policy == ChangePolicy.SchemaChange.FREEZE;
        Map<String, Column> wanted;
        if (freeze) {
            // the columns freeze does not copy may have types the destination lacks (and it creates none for them):
            // only the others are declared; those keep the type name the source asks for, for the report
            List<String> absent = source.columnNames().stream().filter(n -> !existing.containsKey(n)).toList();
            Map<String, Column> present = wantedColumns(con, source.narrowed(absent, Map.of()));
            wanted = new LinkedHashMap<>();
            for (int i = 0; i < source.columns().size(); i++) {
                String name = source.columns().get(i).name();
                Column c = present.get(name);
                wanted.put(name, c != null ? c : new Column(name, 0, -1, 0, source.destinationTypes().get(i)));
            }
        } else {
            wanted = wantedColumns(con, source);
        }
        List<String> ddl = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        List<Change> changes = new ArrayList<>();
        List<String> leftOut = new ArrayList<>();
        Map<String, String> keptTypes = new LinkedHashMap<>();
        List<String> incompatible = new ArrayList<>();
        List<String> differences = new ArrayList<>();
        for (Column w : wanted.values()) {
            Column have = existing.get(w.name());
            String name = Sql.displayIdent(w.name());
            if (have == null) {
                changes.add(new Change("added", w.name(), null, w.display(), evolve));
                if (evolve) {
                    if (!fullRefresh) {
                        ddl.add("ALTER TABLE " + target + " ADD COLUMN " + Sql.ident(w.name()) + " " + w.display());
                    }
                    notes.add("schema change: column " + name + " (" + w.display() + ") is new at the source: added");
                } else if (freeze) {
                    leftOut.add(w.name());
                    notes.add("schema change ignored (freeze): new source column " + name + " (" + w.display() + ") is not copied");
                } else {
                    differences.add("column " + name + " (" + w.display() + ") is new at the source");
                }
                continue;
            }
            boolean equal = have.typeOid() == w.typeOid() && have.typmod() == w.typmod();
            if (equal) {
                continue;
            }
            boolean holds = TypeWidening.canHold(have, w);
            if (holds && evolve && !fullRefresh) {
                continue; // the destination's wider column takes the source's values: the merge changes nothing
            }
            boolean widens = !holds && TypeWidening.canHold(w, have);
            if (evolve) {
                changes.add(new Change("retyped", w.name(), have.display(), w.display(), fullRefresh || widens));
                if (fullRefresh) {
                    notes.add("schema change: column " + name + " retyped from " + have.display() + " to " + w.display()
                            + " (the table is loaded anew with the source's type)");
                } else if (widens) {
                    ddl.add("ALTER TABLE " + target + " ALTER COLUMN " + Sql.ident(w.name()) + " TYPE " + w.display());
                    notes.add("schema change: column " + name + " widened from " + have.display() + " to " + w.display());
                } else {
                    incompatible.add(name + " is " + have.display() + " at the destination but " + w.display() + " at the source");
                }
            } else if (freeze) {
                if (holds) {
                    keptTypes.put(w.name(), have.display());
                    changes.add(new Change("retyped", w.name(), have.display(), w.display(), false));
                    notes.add("schema change ignored (freeze): column " + name + " is " + w.display() + " at the source, kept "
                            + have.display() + " at the destination (which holds its values)");
                } else {
                    changes.add(new Change("retyped", w.name(), have.display(), w.display(), false));
                    incompatible.add(name + " is " + have.display() + " at the destination but " + w.display()
                            + " at the source, whose values it cannot hold");
                }
            } else {
                changes.add(new Change("retyped", w.name(), have.display(), w.display(), false));
                differences.add("column " + name + " is " + w.display() + " at the source but " + have.display() + " at the destination");
            }
        }
        List<Column> destinationOnly = new ArrayList<>();
        for (Column have : existing.values()) {
            if (!wanted.containsKey(have.name())) {
                destinationOnly.add(have);
                changes.add(new Change("dropped", have.name(), have.display(), null, false));
                if (policy == ChangePolicy.SchemaChange.FAIL) {
                    differences.add("column " + Sql.displayIdent(have.name()) + " (" + have.display() + ") is no longer copied from the"
                            + " source (dropped there, or left out by the transfer)");
                } else {
                    notes.add("schema change" + (freeze ? " ignored (freeze)" : "") + ": column " + Sql.displayIdent(have.name())
                            + " is no longer copied from the source (dropped there, or left out by the transfer): kept at the"
                            + " destination, NULL in rows written from now on");
                }
            }
        }
        if (!differences.isEmpty()) {
            throw new SchemaChangeStop("destination table " + display + " differs from its source and the transfer's onSchemaChange"
                    + " is fail: " + String.join("; ", differences) + ". Nothing was written. To go on: set onSchemaChange: evolve"
                    + " for one run (it adds new columns and widens widened ones" + (fullRefresh ? "; a full refresh loads the"
                    + " source's types" : "") + "), or change the destination table by hand to match the source (ALTER TABLE "
                    + target + " ...), or leave the column out with excludeColumns", changes, policy);
        }
        if (!incompatible.isEmpty() && freeze) {
            throw new SchemaChangeStop("destination table " + display + " cannot take the source's rows: column "
                    + String.join("; column ", incompatible) + ", and the transfer's onSchemaChange is freeze, which keeps the"
                    + " destination's columns. Nothing was written. Ways out: set onSchemaChange: evolve for one run, which widens"
                    + " the column; or ALTER the destination column yourself to a type that holds the source's values; or leave the"
                    + " column out with excludeColumns", changes, policy);
        }
        if (!incompatible.isEmpty()) {
            throw new DestinationException("destination table " + display
                    + " cannot take the source's rows: column " + String.join("; column ", incompatible)
                    + ", a change that is not a widening. Nothing was written. Ways out: run the transfer once with mode"
                    + " full_refresh, which recreates the table with the source's types; or drop the destination table"
                    + " (and its row in " + Sql.displayIdent(schema) + "." + ReservedNames.STATE_TABLE + ") so the next run recreates and backfills it;"
                    + " or ALTER the destination column yourself to a type that holds the source's values");
        }
        try (Statement st = con.createStatement()) {
            for (String d : ddl) {
                st.execute(d);
            }
        }
        return new Result(destinationOnly, notes, changes, leftOut, keptTypes);
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
