package dev.ferry.write;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

import dev.ferry.config.Sql;

/**
 * The views and materialized views that depend on a destination table, directly or through other views. A full
 * refresh drops them before it drops the old table and re-creates them on the new one, in the swap's transaction, from
 * their own definitions: the views then follow the source's current columns and types, and readers never see them
 * missing. Re-created with their options, owner, grants, comments, triggers, rules and (materialized views) indexes.
 *
 * <p>Only a view's owner (or a member of the owning role) may drop it. When Ferry's role may not, the table is refilled
 * in place instead, which keeps the views but cannot change a column's type: {@link #checkRefillable} fails such a
 * run before anything is written.
 */
final class DependentViews {

    /** A view to drop and re-create: its qualified name, kind ({@code v} or {@code m}) and what re-creates it. */
    record View(String name, String display, String kind, String owner, boolean mayDrop, List<String> create) {
    }

    private DependentViews() {
    }

    /** The views depending on {@code schema.table}, in an order that creates each after the views it reads. */
    static List<View> read(Connection con, String schema, String table) throws SQLException {
        String sql = """
                WITH RECURSIVE deps(oid, depth) AS (
                  SELECT r.ev_class, 1 FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid
                  WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
                    AND d.refobjid = ?::regclass AND r.ev_class <> d.refobjid
                  UNION ALL
                  SELECT r.ev_class, deps.depth + 1 FROM deps
                  JOIN pg_catalog.pg_depend d ON d.refobjid = deps.oid AND d.refclassid = 'pg_catalog.pg_class'::regclass
                       AND d.classid = 'pg_catalog.pg_rewrite'::regclass
                  JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid
                  WHERE r.ev_class <> deps.oid AND deps.depth < 100)
                SELECT n.nspname, c.relname, c.relkind::text, pg_catalog.pg_get_userbyid(c.relowner),
                       pg_catalog.pg_has_role(c.relowner, 'USAGE')::text, pg_catalog.pg_get_viewdef(c.oid),
                       (SELECT string_agg(pg_catalog.quote_ident(split_part(x, '=', 1)) || '='
                                          || pg_catalog.quote_literal(substr(x, strpos(x, '=') + 1)), ', ') FROM unnest(c.reloptions) x),
                       c.relispopulated::text, c.relowner = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)
                FROM (SELECT oid, max(depth) AS depth FROM deps GROUP BY oid) v
                JOIN pg_catalog.pg_class c ON c.oid = v.oid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                ORDER BY v.depth, n.nspname, c.relname""";
        List<String[]> found = new ArrayList<>();
        try (PreparedStatement ps = con.prepareStatement(sql)) {
            ps.setString(1, Sql.qualified(schema, table));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String[] row = new String[9];
                    for (int i = 0; i < 9; i++) {
                        row[i] = rs.getString(i + 1);
                    }
                    found.add(row);
                }
            }
        }
        List<View> views = new ArrayList<>();
        for (String[] r : found) {
            String name = Sql.qualified(r[0], r[1]);
            String display = Sql.displayIdent(r[0]) + "." + Sql.displayIdent(r[1]);
            boolean mayDrop = r[4].equals("t") || r[4].equals("true");
            List<String> create = new ArrayList<>();
            if (mayDrop) {
                boolean matview = r[2].equals("m");
                String def = r[5].strip();
                if (def.endsWith(";")) {
                    def = def.substring(0, def.length() - 1);
                }
                create.add("CREATE " + (matview ? "MATERIALIZED VIEW " : "VIEW ") + name + (r[6] == null ? "" : " WITH (" + r[6] + ")")
                        + " AS " + def + (matview && !r[7].equals("true") ? " WITH NO DATA" : ""));
                create.addAll(FullRefreshSwap.grants(con, r[0], r[1], name));
                for (String[] idx : FullRefreshSwap.secondaryIndexes(con, r[0], r[1])) {
                    create.add(idx[1]);
                }
                // comments, column grants, defaults, triggers (INSTEAD OF), rules: what a table has, read the same way
                TableAttachments a = TableAttachments.read(con, r[0], r[1], r[1], false, "");
                for (TableAttachments.Step s : a.onLoad) {
                    create.add(s.sql());
                }
                for (TableAttachments.Step s : a.afterSwap) {
                    create.add(s.sql());
                }
                if (!(r[8].equals("t") || r[8].equals("true"))) {
                    create.add("ALTER " + (matview ? "MATERIALIZED VIEW " : "VIEW ") + name + " OWNER TO " + Sql.ident(r[3]));
                }
            }
            views.add(new View(name, display, r[2], r[3], mayDrop, create));
        }
        return views;
    }

    /** Whether Ferry's role may drop (and so re-create) every one of the views. */
    static boolean recreatable(List<View> views) {
        return views.stream().allMatch(View::mayDrop);
    }

    /** Drops the views, the latest created first. */
    static void drop(Statement st, List<View> views) throws SQLException {
        for (int i = views.size() - 1; i >= 0; i--) {
            View v = views.get(i);
            try {
                st.execute("DROP " + (v.kind().equals("m") ? "MATERIALIZED VIEW " : "VIEW ") + v.name());
            } catch (SQLException e) {
                if (!"2BP01".equals(e.getSQLState())) {
                    throw e;
                }
                throw new DestinationException("a full refresh re-creates view " + v.display() + " on the new table, but other objects"
                        + " depend on the view that Ferry cannot carry over: " + FullRefreshSwap.detail(e) + ". Nothing was swapped."
                        + " Fix: drop those objects, or use an incremental mode for the table");
            }
        }
    }

    /** Re-creates the views, in order, once the new table has the old one's name. */
    static void create(Statement st, List<View> views) throws SQLException {
        for (View v : views) {
            for (String sql : v.create()) {
                try {
                    st.execute(sql);
                } catch (SQLException e) {
                    if (e.getSQLState() == null || e.getSQLState().startsWith("08") || e.getSQLState().startsWith("57")
                            || e.getSQLState().startsWith("40") || e.getSQLState().equals("55P03")) {
                        throw e; // a connection or lock problem: the run may be retried
                    }
                    throw new DestinationException("a full refresh re-creates view " + v.display() + " on the new table, and that failed: "
                            + e.getMessage().lines().findFirst().orElse("") + " (SQLSTATE " + e.getSQLState() + "). Nothing was"
                            + " swapped: the table and its views keep their previous contents. Fix: change the view so that it works with"
                            + " the source's current columns, or drop it");
                }
            }
        }
    }

    /**
     * For a table whose views Ferry's role may not re-create (so the refresh refills it in place): fails before anything
     * is written when a column's type at the source differs from the table's, since refilling would cast the values.
     */
    static void checkRefillable(Connection con, String schema, String table, String loadTable) throws SQLException {
        List<View> views = read(con, schema, table);
        if (!recreatable(views)) {
            checkRefillable(con, schema, table, loadTable, views);
        }
    }

    /** As above, with the views already read: at the swap, in case views were created since the load began. */
    static void checkRefillable(Connection con, String schema, String table, String loadTable, List<View> views) throws SQLException {
        Map<String, SchemaEvolution.Column> have = SchemaEvolution.columns(con, schema, table);
        Map<String, SchemaEvolution.Column> want = SchemaEvolution.columns(con, schema, loadTable);
        List<String> changed = new ArrayList<>();
        for (SchemaEvolution.Column w : want.values()) {
            SchemaEvolution.Column h = have.get(w.name());
            if (h != null && (h.typeOid() != w.typeOid() || h.typmod() != w.typmod())) {
                changed.add(Sql.displayIdent(w.name()) + " is " + h.display() + " there and " + w.display() + " at the source");
            }
        }
        if (changed.isEmpty()) {
            return;
        }
        StringJoiner names = new StringJoiner(", ");
        StringJoiner owners = new StringJoiner("; ");
        for (View v : views) {
            names.add(v.display() + " (owner " + v.owner() + ")");
            if (!v.mayDrop()) {
                owners.add("ALTER " + (v.kind().equals("m") ? "MATERIALIZED VIEW " : "VIEW ") + v.name() + " OWNER TO "
                        + Sql.ident(currentUser(con)));
            }
        }
        String display = Sql.displayIdent(schema) + "." + Sql.displayIdent(table);
        throw new DestinationException("destination table " + display + " has views that depend on it: " + names + ". Ferry's role"
                + " does not own them all, so it cannot re-create them around the swap and would refill the table in place, but column "
                + String.join("; column ", changed) + ", and refilling would cast the values. Nothing was written. Fix: let Ferry's"
                + " role own the views (" + owners + "), and it re-creates them on the new table; or drop the views, run the"
                + " transfer, and create them again");
    }

    private static String currentUser(Connection con) throws SQLException {
        try (Statement st = con.createStatement(); ResultSet rs = st.executeQuery("SELECT current_user")) {
            rs.next();
            return rs.getString(1);
        }
    }
}
