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
 * What users attach to a destination table besides grants and plain indexes (those are {@link FullRefreshSwap}'s):
 * constraints, NOT NULL and defaults, foreign keys in both directions, row-level security, triggers, rules, comments,
 * storage and statistics settings, column grants, replica identity. A full refresh reads them
 * from the old table and re-creates them around the swap, in the swap's transaction, so that they survive it.
 *
 * <p>Everything that checks rows (constraints, NOT NULL, foreign keys to other tables) is added to the load table
 * before the old one is dropped: a new row that breaks one fails the run there, with the old table untouched and
 * readable meanwhile. Constraints backed by an index (UNIQUE, EXCLUDE) get a temporary name until the old table is
 * gone. The rest (policies, triggers, rules, comments, settings, foreign keys that point at this table) only exists
 * once the new table has the old one's name, since their definitions name the table; they are cheap catalog changes,
 * except the foreign keys pointing here, which are checked against the new rows.
 *
 * <p>Statements are generated from the catalog's own deparsed definitions ({@code pg_get_constraintdef},
 * {@code pg_get_triggerdef}, {@code pg_get_expr}...) with identifiers and literals quoted by the server's
 * {@code format()}.
 */
final class TableAttachments {

    /** A statement, and what it re-creates, as an error names it, e.g. {@code check constraint "positive"}. */
    record Step(String sql, String what, Probe probe) {

        Step(String sql, String what) {
            this(sql, what, null);
        }
    }

    /** Run on the load table before the old table is dropped; they check the new rows. */
    final List<Step> onLoad = new ArrayList<>();
    /** Temporary constraint names to rename to the original once the old table is gone: {temporary, original}. */
    final List<String[]> renames = new ArrayList<>();
    /** Run just before the old table is dropped: what would block the drop, or go with it. */
    final List<Step> beforeDrop = new ArrayList<>();
    /** Run on the new table once it has the old one's name. */
    final List<Step> afterSwap = new ArrayList<>();

    private TableAttachments() {
    }

    /**
     * Reads what is attached to {@code schema.table}. {@code userPrimaryKey}: whether a primary key the old table has is
     * the user's (the source has no key, so Ferry adds none) and must be re-created too.
     */
    static TableAttachments read(Connection con, String schema, String table, String loadTable, boolean userPrimaryKey,
                                 String swapTag) throws SQLException {
        return read(con, schema, table, loadTable, userPrimaryKey, swapTag, List.of());
    }

    /** As above; {@code key}, the source's key columns, lets an error name the rows that break a CHECK or NOT NULL. */
    static TableAttachments read(Connection con, String schema, String table, String loadTable, boolean userPrimaryKey,
                                 String swapTag, List<String> key) throws SQLException {
        TableAttachments a = new TableAttachments();
        String target = Sql.qualified(schema, table);
        String load = Sql.qualified(schema, loadTable);
        String display = Sql.displayIdent(schema) + "." + Sql.displayIdent(table);

        // NOT NULL and defaults the user set on columns; every column of the old table is in the load table
        for (String[] r : rows(con, """
                SELECT format('ALTER TABLE %s ALTER COLUMN %I SET NOT NULL', ?, a.attname), a.attname
                FROM pg_catalog.pg_attribute a
                WHERE a.attrelid = ?::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attnotnull
                  -- the primary key's columns are NOT NULL because of it: the key re-created (Ferry's or the user's) decides
                  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = a.attrelid AND i.indisprimary
                                  AND a.attnum = ANY (i.indkey))
                  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute l WHERE l.attrelid = ?::regclass AND l.attname = a.attname
                                  AND l.attnotnull)
                ORDER BY a.attnum""", load, target, load)) {
            a.onLoad.add(new Step(r[0], "NOT NULL on column " + Sql.displayIdent(r[1]), probe(load, key, Sql.ident(r[1]) + " IS NULL")));
        }
        for (String[] r : rows(con, """
                SELECT format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT %s', ?, a.attname, pg_catalog.pg_get_expr(d.adbin, d.adrelid))
                FROM pg_catalog.pg_attrdef d JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                WHERE d.adrelid = ?::regclass AND NOT a.attisdropped AND a.attgenerated = ''
                ORDER BY a.attnum""", load, target)) {
            a.onLoad.add(new Step(r[0], "a column default"));
        }
        // a sequence owned by a column (serial) would go with the old table: it moves to the new one
        for (String[] r : rows(con, """
                SELECT format('ALTER SEQUENCE %I.%I OWNED BY %s.%I', sn.nspname, s.relname, ?, a.attname)
                FROM pg_catalog.pg_depend dp JOIN pg_catalog.pg_class s ON s.oid = dp.objid AND s.relkind = 'S'
                JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace
                JOIN pg_catalog.pg_attribute a ON a.attrelid = dp.refobjid AND a.attnum = dp.refobjsubid
                WHERE dp.classid = 'pg_catalog.pg_class'::regclass AND dp.refclassid = 'pg_catalog.pg_class'::regclass
                  AND dp.refobjid = ?::regclass AND dp.deptype = 'a'""", load, target)) {
            a.beforeDrop.add(new Step(r[0], "an owned sequence"));
        }

        // constraints on the table itself: CHECK, UNIQUE, EXCLUDE, foreign keys (and a primary key that is the user's)
        int n = 0;
        for (String[] r : rows(con, """
                SELECT k.conname, k.contype::text, pg_catalog.pg_get_constraintdef(k.oid), (k.confrelid = k.conrelid)::text,
                       pg_catalog.obj_description(k.oid, 'pg_constraint')
                FROM pg_catalog.pg_constraint k
                WHERE k.conrelid = ?::regclass AND k.contype IN ('c', 'u', 'x', 'f', 'p') AND k.conislocal
                ORDER BY k.contype = 'f', k.conname""", target)) {
            String name = r[0];
            String type = r[1];
            String def = r[2];
            if (type.equals("p") && !userPrimaryKey) {
                continue;
            }
            String what = kind(type) + " " + Sql.displayIdent(name) + " (" + def + ")";
            if (type.equals("f") && r[3].equals("true")) {
                // it names this table, so it can only point at the new one once that has the name
                a.afterSwap.add(new Step("ALTER TABLE " + target + " ADD CONSTRAINT " + Sql.ident(name) + " " + def, what));
            } else if (type.equals("c") || type.equals("f")) {
                // CHECK and foreign key names are per table: the original name is free on the load table
                Probe probe = type.equals("c") && def.startsWith("CHECK ") && !def.endsWith(" NOT VALID")
                        ? probe(load, key, "NOT " + def.substring("CHECK ".length()).replaceAll(" NO INHERIT$", "")) : null;
                a.onLoad.add(new Step("ALTER TABLE " + load + " ADD CONSTRAINT " + Sql.ident(name) + " " + def, what, probe));
            } else {
                // an index-backed constraint's name is its index's, which the old table's index holds until the drop
                String tmp = FullRefreshSwap.tempName(swapTag, "c", n++);
                a.onLoad.add(new Step("ALTER TABLE " + load + " ADD CONSTRAINT " + Sql.ident(tmp) + " " + def, what));
                a.renames.add(new String[] {tmp, name});
            }
            if (r[4] != null) {
                a.afterSwap.add(formatted(con, "SELECT format('COMMENT ON CONSTRAINT %I ON %s IS %L', ?, ?, ?)", "a comment", name, target, r[4]));
            }
        }

        // foreign keys in other tables that point at this one: dropped before the drop, added back (and checked) after
        for (String[] r : rows(con, """
                SELECT k.conname, cn.nspname, c.relname, pg_catalog.pg_get_constraintdef(k.oid),
                       pg_catalog.pg_has_role(c.relowner, 'USAGE')::text, pg_catalog.obj_description(k.oid, 'pg_constraint')
                FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
                JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace
                WHERE k.contype = 'f' AND k.confrelid = ?::regclass AND k.conrelid <> k.confrelid AND k.conparentid = 0
                ORDER BY 2, 3, 1""", target)) {
            String other = Sql.qualified(r[1], r[2]);
            String otherDisplay = Sql.displayIdent(r[1]) + "." + Sql.displayIdent(r[2]);
            if (!r[4].equals("true")) {
                throw new DestinationException("foreign key " + Sql.displayIdent(r[0]) + " of table " + otherDisplay + " references destination table "
                        + display + ", which a full refresh replaces; Ferry must re-point the key at the new table, and only the owner of "
                        + otherDisplay + " may. Nothing was written. Fix: ALTER TABLE " + other + " OWNER TO " + Sql.ident(currentUser(con))
                        + "; or drop the foreign key, or use an incremental mode for " + display);
            }
            a.beforeDrop.add(new Step("ALTER TABLE " + other + " DROP CONSTRAINT " + Sql.ident(r[0]), "foreign key " + Sql.displayIdent(r[0])));
            a.afterSwap.add(new Step("ALTER TABLE " + other + " ADD CONSTRAINT " + Sql.ident(r[0]) + " " + r[3],
                    "foreign key " + Sql.displayIdent(r[0]) + " of table " + otherDisplay + " (" + r[3] + "), which needs rows the new ones lack"));
            if (r[5] != null) {
                a.afterSwap.add(formatted(con, "SELECT format('COMMENT ON CONSTRAINT %I ON %s IS %L', ?, ?, ?)", "a comment", r[0], other, r[5]));
            }
        }

        // row-level security: the policies, then the switches (the table owner's own statements above are not subject to them)
        for (String[] r : rows(con, """
                SELECT format('CREATE POLICY %I ON %s AS %s FOR %s TO %s%s%s', p.polname, ?,
                         CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END,
                         CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
                         (SELECT string_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r)) END, ', ')
                          FROM unnest(p.polroles) r),
                         CASE WHEN p.polqual IS NULL THEN '' ELSE ' USING (' || pg_catalog.pg_get_expr(p.polqual, p.polrelid) || ')' END,
                         CASE WHEN p.polwithcheck IS NULL THEN ''
                              ELSE ' WITH CHECK (' || pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) || ')' END),
                       p.polname, pg_catalog.obj_description(p.oid, 'pg_policy')
                FROM pg_catalog.pg_policy p WHERE p.polrelid = ?::regclass ORDER BY p.polname""", target, target)) {
            a.afterSwap.add(new Step(r[0], "policy " + Sql.displayIdent(r[1])));
            if (r[2] != null) {
                a.afterSwap.add(formatted(con, "SELECT format('COMMENT ON POLICY %I ON %s IS %L', ?, ?, ?)", "a comment", r[1], target, r[2]));
            }
        }
        // the new table's primary key: the user's, re-created under its name, or Ferry's (when the source has a key)
        String primaryKey = DestinationSchema.primaryKeyName(table);
        if (userPrimaryKey) {
            primaryKey = null;
            for (String[] r : rows(con, "SELECT conname FROM pg_catalog.pg_constraint WHERE conrelid = ?::regclass AND contype = 'p'", target)) {
                primaryKey = r[0];
            }
        }
        for (String[] r : rows(con, """
                SELECT c.relrowsecurity::text, c.relforcerowsecurity::text, c.relreplident::text,
                       (SELECT CASE WHEN i.indisprimary THEN NULL ELSE ic.relname END FROM pg_catalog.pg_index i
                        JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = c.oid AND i.indisreplident),
                       (SELECT CASE WHEN i.indisprimary THEN NULL ELSE ic.relname END FROM pg_catalog.pg_index i
                        JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = c.oid AND i.indisclustered),
                       (SELECT i.indisprimary::text FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisreplident),
                       (SELECT i.indisprimary::text FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisclustered)
                FROM pg_catalog.pg_class c WHERE c.oid = ?::regclass AND c.relkind IN ('r', 'p')""", target)) {
            if (r[0].equals("true")) {
                a.afterSwap.add(new Step("ALTER TABLE " + target + " ENABLE ROW LEVEL SECURITY", "row-level security"));
            }
            if (r[1].equals("true")) {
                a.afterSwap.add(new Step("ALTER TABLE " + target + " FORCE ROW LEVEL SECURITY", "row-level security"));
            }
            // an index named here is re-created under its name; the primary key may be Ferry's, under Ferry's name
            String identityIndex = "true".equals(r[5]) ? primaryKey : r[3];
            String identity = switch (r[2]) {
                case "n" -> "NOTHING";
                case "f" -> "FULL";
                case "i" -> identityIndex == null ? null : "USING INDEX " + Sql.ident(identityIndex);
                default -> null;
            };
            if (identity != null) {
                a.afterSwap.add(new Step("ALTER TABLE " + target + " REPLICA IDENTITY " + identity, "the replica identity"));
            }
            String clusterIndex = "true".equals(r[6]) ? primaryKey : r[4];
            if (clusterIndex != null) {
                a.afterSwap.add(new Step("ALTER TABLE " + target + " CLUSTER ON " + Sql.ident(clusterIndex), "the clustering index"));
            }
        }

        // triggers (created after the load, so they do not fire for it) and their enabled state; rules
        for (String[] r : rows(con, """
                SELECT pg_catalog.pg_get_triggerdef(t.oid), t.tgname, t.tgenabled::text, pg_catalog.obj_description(t.oid, 'pg_trigger')
                FROM pg_catalog.pg_trigger t WHERE t.tgrelid = ?::regclass AND NOT t.tgisinternal ORDER BY t.tgname""", target)) {
            a.afterSwap.add(new Step(r[0], "trigger " + Sql.displayIdent(r[1])));
            String state = switch (r[2]) {
                case "D" -> "DISABLE TRIGGER ";
                case "R" -> "ENABLE REPLICA TRIGGER ";
                case "A" -> "ENABLE ALWAYS TRIGGER ";
                default -> null;
            };
            if (state != null) {
                a.afterSwap.add(new Step("ALTER TABLE " + target + " " + state + Sql.ident(r[1]), "trigger " + Sql.displayIdent(r[1])));
            }
            if (r[3] != null) {
                a.afterSwap.add(formatted(con, "SELECT format('COMMENT ON TRIGGER %I ON %s IS %L', ?, ?, ?)", "a comment", r[1], target, r[3]));
            }
        }
        for (String[] r : rows(con, """
                SELECT pg_catalog.pg_get_ruledef(r.oid), r.rulename, r.ev_enabled::text FROM pg_catalog.pg_rewrite r
                WHERE r.ev_class = ?::regclass AND r.rulename <> '_RETURN' ORDER BY r.rulename""", target)) {
            a.afterSwap.add(new Step(r[0], "rule " + Sql.displayIdent(r[1])));
            if (r[2].equals("D")) {
                a.afterSwap.add(new Step("ALTER TABLE " + target + " DISABLE RULE " + Sql.ident(r[1]), "rule " + Sql.displayIdent(r[1])));
            }
        }

        // comments on the table and its columns
        for (String[] r : rows(con, """
                SELECT CASE WHEN d.objsubid = 0 THEN format('COMMENT ON %s %s IS %L',
                                 CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, ?, d.description)
                            ELSE format('COMMENT ON COLUMN %s.%I IS %L', ?, a.attname, d.description) END
                FROM pg_catalog.pg_description d JOIN pg_catalog.pg_class c ON c.oid = d.objoid
                LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = d.objoid AND a.attnum = d.objsubid
                WHERE d.classoid = 'pg_catalog.pg_class'::regclass AND d.objoid = ?::regclass
                  AND (d.objsubid = 0 OR NOT a.attisdropped) ORDER BY d.objsubid""", target, target, target)) {
            a.afterSwap.add(new Step(r[0], "a comment"));
        }

        // storage parameters of the table and its TOAST table (fillfactor, autovacuum_*...)
        for (String[] r : rows(con, """
                SELECT format('ALTER TABLE %s SET (%s)', ?, string_agg(o, ', ')) FROM (
                  SELECT\s""" + option("x") + """
                   AS o
                  FROM pg_catalog.pg_class c, unnest(c.reloptions) x WHERE c.oid = ?::regclass AND c.relkind IN ('r', 'p')
                  UNION ALL
                  SELECT 'toast.' || """ + option("x") + """
                  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_class t ON t.oid = c.reltoastrelid, unnest(t.reloptions) x
                  WHERE c.oid = ?::regclass) s
                HAVING count(*) > 0""", target, target, target)) {
            a.afterSwap.add(new Step(r[0], "storage parameters"));
        }

        // per column: grants, statistics targets, options (n_distinct...), storage
        for (String[] r : rows(con, """
                SELECT format('GRANT %s (%I) ON %s TO %s%s', x.privilege_type, a.attname, ?,
                              CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(x.grantee)) END,
                              CASE WHEN x.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
                FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid,
                     LATERAL pg_catalog.aclexplode(a.attacl) x
                WHERE a.attrelid = ?::regclass AND a.attnum > 0 AND NOT a.attisdropped AND x.grantee <> c.relowner
                ORDER BY a.attnum, x.grantee, x.privilege_type""", target, target)) {
            a.afterSwap.add(new Step(r[0], "a column grant"));
        }
        for (String[] r : rows(con, """
                SELECT format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS %s', ?, a.attname, a.attstattarget)
                FROM pg_catalog.pg_attribute a
                WHERE a.attrelid = ?::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attstattarget >= 0
                UNION ALL
                SELECT format('ALTER TABLE %s ALTER COLUMN %I SET (%s)', ?, a.attname,
                              (SELECT string_agg(""" + option("x") + """
                                  , ', ') FROM unnest(a.attoptions) x))
                FROM pg_catalog.pg_attribute a
                WHERE a.attrelid = ?::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attoptions IS NOT NULL
                UNION ALL
                SELECT format('ALTER TABLE %s ALTER COLUMN %I SET STORAGE %s', ?, a.attname,
                              CASE a.attstorage WHEN 'p' THEN 'PLAIN' WHEN 'e' THEN 'EXTERNAL' WHEN 'm' THEN 'MAIN' ELSE 'EXTENDED' END)
                FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
                WHERE a.attrelid = ?::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attstorage <> t.typstorage""",
                target, target, target, target, target, target)) {
            a.afterSwap.add(new Step(r[0], "a column setting"));
        }

        // extended statistics objects (they go with the old table)
        for (String[] r : rows(con, """
                SELECT pg_catalog.pg_get_statisticsobjdef(s.oid), s.stxname FROM pg_catalog.pg_statistic_ext s
                WHERE s.stxrelid = ?::regclass ORDER BY s.stxname""", target)) {
            a.afterSwap.add(new Step(r[0], "statistics " + Sql.displayIdent(r[1])));
        }

        // the owner, when a role Ferry's role is a member of owns the table: last, as Ferry's role made all of the above
        for (String[] r : rows(con, """
                SELECT format('ALTER TABLE %s OWNER TO %I', ?, pg_catalog.pg_get_userbyid(c.relowner)) FROM pg_catalog.pg_class c
                WHERE c.oid = ?::regclass AND c.relkind IN ('r', 'p') AND pg_catalog.pg_get_userbyid(c.relowner) <> current_user""",
                target, target)) {
            a.afterSwap.add(new Step(r[0], "the owner"));
        }
        return a;
    }

    /**
     * Runs a step; a row that breaks what it re-creates (SQLSTATE class 23) fails the run for good, naming it.
     */
    static void run(Statement st, Step step, String display) throws SQLException {
        Connection con = st.getConnection();
        // with a probe, a savepoint lets the rows be looked up after the failure
        java.sql.Savepoint savepoint = step.probe() == null ? null : con.setSavepoint();
        try {
            st.execute(step.sql());
            if (savepoint != null) {
                con.releaseSavepoint(savepoint);
            }
        } catch (SQLException e) {
            if (e.getSQLState() == null || !e.getSQLState().startsWith("23")) {
                throw e;
            }
            String server = dev.ferry.failure.Errors.serverDetail(e);
            String detail = server != null ? " " + server : "";
            if (savepoint != null) {
                con.rollback(savepoint);
                List<String> keys = new ArrayList<>();
                for (String[] r : rows(con, step.probe().sql())) {
                    keys.add("(" + step.probe().key() + ")=(" + String.join(", ", java.util.Arrays.stream(r)
                            .map(v -> v == null ? "NULL" : v).toList()) + ")");
                }
                if (!keys.isEmpty()) {
                    detail = " Rows breaking it: key " + String.join(", ", keys) + (keys.size() == 5 ? " (and maybe more)" : "") + ".";
                }
            }
            throw new DestinationException("the new rows of destination table " + display + " break " + step.what() + "." + detail
                    + " (SQLSTATE " + e.getSQLState() + ") Nothing was swapped: " + display + " keeps its previous contents."
                    + " Fix the rows at the source, or drop the constraint at the destination if it no longer applies");
        }
    }

    /** A query for the key of up to five load-table rows breaking a constraint, and the key's column names, for an error. */
    record Probe(String sql, String key) {
    }

    /** The probe for load-table rows meeting {@code condition}; null when the source has no key to name rows by. */
    private static Probe probe(String load, List<String> key, String condition) {
        if (key.isEmpty()) {
            return null;
        }
        StringJoiner values = new StringJoiner(", ");
        for (String k : key) {
            values.add(Sql.ident(k) + "::text");
        }
        return new Probe("SELECT " + values + " FROM " + load + " WHERE " + condition + " LIMIT 5", String.join(", ", key));
    }

    /**
     * A storage option {@code name=value} of an options array element {@code x} (reloptions, attoptions), as SQL that
     * quotes both for a {@code SET (...)} or {@code WITH (...)} clause.
     */
    static String option(String x) {
        return "pg_catalog.quote_ident(split_part(" + x + ", '=', 1)) || '=' || pg_catalog.quote_literal(substr(" + x
                + ", strpos(" + x + ", '=') + 1))";
    }

    private static String kind(String contype) {
        return switch (contype) {
            case "c" -> "check constraint";
            case "u" -> "unique constraint";
            case "x" -> "exclusion constraint";
            case "f" -> "foreign key";
            default -> "primary key";
        };
    }

    static String currentUser(Connection con) throws SQLException {
        return rows(con, "SELECT current_user::text").get(0)[0];
    }

    private static Step formatted(Connection con, String formatSql, String what, String... values) throws SQLException {
        return new Step(rows(con, formatSql, values).get(0)[0], what);
    }

    private static List<String[]> rows(Connection con, String sql, String... params) throws SQLException {
        List<String[]> out = new ArrayList<>();
        try (PreparedStatement ps = con.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                ps.setString(i + 1, params[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                int n = rs.getMetaData().getColumnCount();
                while (rs.next()) {
                    String[] row = new String[n];
                    for (int i = 0; i < n; i++) {
                        row[i] = rs.getString(i + 1);
                    }
                    out.add(row);
                }
            }
        }
        return out;
    }
}
