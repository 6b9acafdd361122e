package dev.ferry.destination;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;

import dev.ferry.config.Sql;

/**
 * The views and materialized views that depend on a destination table, directly or through other views. A full
 * refresh drops them before it drops the old table and re-creates them on the new one, in the swap's transaction, from
 * their own definitions: the views then follow the source's current columns and types, and readers never see them
 * missing. Re-created with their options, owner, grants, comments, triggers, rules and (materialized views) indexes.
 *
 * <p>Only a view's owner (or a member of the owning role) may drop it. When Ferry's role may not, the table is refilled
 * in place instead, which keeps the views but cannot change a column's type: {@link FullRefreshSwap#checkRefillable} fails such a
 * run before anything is written.
 */
final class DependentViews {

    /**
     * A view to drop and re-create: its qualified name, kind ({@code v} or {@code m}; another kind is a table whose rule
     * reads the table, which Ferry does not re-create) and what re-creates it.
     */
    record View(String name, String display, String kind, String owner, boolean mayDrop, List<String> create) {

        boolean isView() {
            return kind.equals("v") || kind.equals("m");
        }

        /** The keyword of its statements: {@code VIEW} or {@code MATERIALIZED VIEW}. */
        String keyword() {
            return keyword(kind);
        }

        static String keyword(String kind) {
            return kind.equals("m") ? "MATERIALIZED VIEW" : "VIEW";
        }
    }

    private static final dev.ferry.failure.SqlStateRetryDecision RETRY = new dev.ferry.failure.SqlStateRetryDecision();

    private DependentViews() {
    }

    /** The views depending on {@code schema.table}, in an order that creates each after the views it reads. */
    static List<View> read(Connection con, String schema, String table) throws SQLException {
        String sql = """
                WITH RECURSIVE deps(oid, depth) AS (
                  -- a rule of a table (not a view) reading this one is found too, but not followed
                  SELECT r.ev_class, 1 FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid
                  WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
                    AND d.refobjid = ?::regclass AND r.ev_class <> d.refobjid
                  UNION ALL
                  SELECT r.ev_class, deps.depth + 1 FROM deps
                  JOIN pg_catalog.pg_class dc ON dc.oid = deps.oid AND dc.relkind IN ('v', 'm')
                  JOIN pg_catalog.pg_depend d ON d.refobjid = deps.oid AND d.refclassid = 'pg_catalog.pg_class'::regclass
                       AND d.classid = 'pg_catalog.pg_rewrite'::regclass
                  JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid
                  WHERE r.ev_class <> deps.oid AND deps.depth < 100)
                SELECT n.nspname, c.relname, c.relkind::text, pg_catalog.pg_get_userbyid(c.relowner),
                       pg_catalog.pg_has_role(c.relowner, 'USAGE')::text,
                       CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END,
                       (SELECT string_agg(""" + TableAttachments.option("x") + """
                                          , ', ') FROM unnest(c.reloptions) x),
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
            boolean view = r[2].equals("v") || r[2].equals("m");
            boolean mayDrop = view && (r[4].equals("t") || r[4].equals("true"));
            List<String> create = new ArrayList<>();
            if (mayDrop) {
                boolean matview = r[2].equals("m");
                String def = r[5].strip();
                if (def.endsWith(";")) {
                    def = def.substring(0, def.length() - 1);
                }
                create.add("CREATE " + View.keyword(r[2]) + " " + name + (r[6] == null ? "" : " WITH (" + r[6] + ")")
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
                    create.add("ALTER " + View.keyword(r[2]) + " " + name + " OWNER TO " + Sql.ident(r[3]));
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
                st.execute("DROP " + v.keyword() + " " + v.name());
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
                    if (e.getSQLState() == null || RETRY.isTransient(e)) {
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
     * For views Ferry's role may not re-create (see {@link #recreatable}): why the table is refilled in place instead
     * of replaced, with what would let Ferry replace it.
     */
    static String refillReason(Connection con, List<View> views) throws SQLException {
        StringJoiner names = new StringJoiner(", ");
        StringJoiner owners = new StringJoiner("; ");
        List<String> tables = new ArrayList<>();
        for (View v : views) {
            if (!v.isView()) {
                tables.add(v.display());
            } else {
                names.add(v.display() + " (owner " + v.owner() + ")");
                if (!v.mayDrop()) {
                    owners.add("ALTER " + v.keyword() + " " + v.name() + " OWNER TO " + Sql.ident(TableAttachments.currentUser(con)));
                }
            }
        }
        if (!tables.isEmpty()) {
            return "rules of table " + String.join(", ", tables) + " read it, and only views are re-created around the swap"
                    + " (to let Ferry replace it, drop those rules)";
        }
        return "views depend on it: " + names + ", and Ferry's role does not own them all, so it cannot re-create them around"
                + " the swap (to let Ferry replace it, let Ferry's role own the views: " + owners + "; or drop the views, run the"
                + " transfer, and create them again)";
    }
}
