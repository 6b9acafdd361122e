package dev.ferry.write;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import dev.ferry.config.Sql;
import dev.ferry.read.SourceTable;

/**
 * Puts a fully loaded table in place of the old one, in the load's own transaction, so that readers see either
 * the old table or the new one, never an empty or half-loaded one.
 *
 * <p>The primary key is built after the load (faster than maintaining it row by row). Grants, secondary indexes and
 * everything else users attach to the old table ({@link TableAttachments}) are re-created on the new one; what checks
 * rows is built before the old table is dropped, so that the old table stays readable meanwhile and a row that breaks
 * it fails the run with the old table untouched. Views that depend on the old table are dropped and re-created on the
 * new one ({@link DependentViews}); when Ferry's role may not drop them, the table is emptied and refilled from the
 * loaded one instead, which keeps the views.
 */
final class FullRefreshSwap {

    private FullRefreshSwap() {
    }

    static void swap(Connection con, String schema, String table, String loadTable, SourceTable source, String swapTag)
            throws SQLException {
        String target = Sql.qualified(schema, table);
        String load = Sql.qualified(schema, loadTable);
        boolean exists = DestinationSchema.tableExists(con, schema, table);
        try (Statement st = con.createStatement()) {
            // A reader holding the old table for long makes the swap wait: lock_timeout (the destination's lockTimeout,
            // set for the session) gives up rather than queue every later reader behind it (see LockWaits).
            List<DependentViews.View> views = exists ? DependentViews.read(con, schema, table) : List.of();
            if (!DependentViews.recreatable(views)) {
                // Ferry may not drop them: the table stays, refilled, provided no column changed type (as checked in TableLoads.open)
                DependentViews.checkRefillable(con, schema, table, loadTable, views);
                refillInPlace(con, st, schema, table, loadTable, source);
                return;
            }
            String tmpKey = tempName(swapTag, "pkey", -1);
            if (source.hasKey()) {
                st.execute("ALTER TABLE " + load + " ADD CONSTRAINT " + Sql.ident(tmpKey) + " PRIMARY KEY ("
                        + Sql.idents(source.key()) + ")");
            }
            List<String[]> indexRenames = new ArrayList<>();
            TableAttachments attached = null;
            String display = Sql.displayIdent(schema) + "." + Sql.displayIdent(table);
            if (exists) {
                for (String grant : grants(con, schema, table, load)) {
                    st.execute(grant);
                }
                int n = 0;
                for (String[] idx : secondaryIndexes(con, schema, table)) {
                    String tmp = tempName(swapTag, "i", n++);
                    TableAttachments.run(st, new TableAttachments.Step(idx[1].replaceFirst(java.util.regex.Pattern.quote(idx[2]),
                            java.util.regex.Matcher.quoteReplacement(Sql.ident(tmp) + " ON " + (idx[3] != null ? "ONLY " : "") + load)),
                            "index " + Sql.displayIdent(idx[0]) + " (" + idx[1] + ")"), display);
                    indexRenames.add(new String[] {tmp, idx[0]});
                }
                attached = TableAttachments.read(con, schema, table, loadTable, !source.hasKey(), swapTag, source.key());
                for (TableAttachments.Step step : attached.onLoad) {
                    TableAttachments.run(st, step, display);
                }
                for (TableAttachments.Step step : attached.beforeDrop) {
                    st.execute(step.sql());
                }
                DependentViews.drop(st, views);
                dropOld(st, target, display);
            }
            st.execute("ALTER TABLE " + load + " RENAME TO " + Sql.ident(table));
            if (source.hasKey()) {
                st.execute("ALTER TABLE " + target + " RENAME CONSTRAINT " + Sql.ident(tmpKey) + " TO "
                        + Sql.ident(DestinationSchema.primaryKeyName(table)));
            }
            for (String[] r : indexRenames) {
                st.execute("ALTER INDEX " + Sql.qualified(schema, r[0]) + " RENAME TO " + Sql.ident(r[1]));
            }
            if (attached != null) {
                for (String[] r : attached.renames) {
                    st.execute("ALTER TABLE " + target + " RENAME CONSTRAINT " + Sql.ident(r[0]) + " TO " + Sql.ident(r[1]));
                }
                for (TableAttachments.Step step : attached.afterSwap) {
                    TableAttachments.run(st, step, display);
                }
            }
            DependentViews.create(st, views);
        }
    }

    /**
     * Before the load, when the table exists: fails when the swap could not carry over what is attached to it (a foreign
     * key or publication Ferry's role may not change, a type change under views it may not re-create), so that such a
     * run fails before reading a row rather than after loading them all (the swap checks again). And makes the load
     * table unlogged when the old one is, which costs nothing while it is empty.
     */
    static void prepareLoad(Connection con, String schema, String table, String loadTable, SourceTable source) throws SQLException {
        TableAttachments.read(con, schema, table, loadTable, !source.hasKey(), "", source.key());
        DependentViews.checkRefillable(con, schema, table, loadTable);
        try (PreparedStatement ps = con.prepareStatement("SELECT relpersistence = 'u' FROM pg_catalog.pg_class WHERE oid = ?::regclass")) {
            ps.setString(1, Sql.qualified(schema, table));
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next() && rs.getBoolean(1)) {
                    try (Statement st = con.createStatement()) {
                        st.execute("ALTER TABLE " + Sql.qualified(schema, loadTable) + " SET UNLOGGED");
                    }
                }
            }
        }
    }

    /**
     * A name for an object of the load table until the swap gives it its real name: unique to the run and the table
     * ({@code swapTag}, see {@link DestinationSchema#swapTag}: tables of one run swap at the same time in the same
     * schema) and to the object ({@code kind}, {@code n}; n below 0 for the only one of its kind), within the limit.
     */
    static String tempName(String swapTag, String kind, int n) {
        return DestinationSchema.truncate("_ferry_" + swapTag + "_" + kind + (n < 0 ? "" : String.valueOf(n)),
                DestinationSchema.MAX_IDENTIFIER_BYTES);
    }

    /** Drops the old table; objects Ferry does not know how to carry over that depend on it fail the run, naming them. */
    private static void dropOld(Statement st, String target, String display) throws SQLException {
        try {
            st.execute("DROP TABLE " + target);
        } catch (SQLException e) {
            if (!"2BP01".equals(e.getSQLState())) {
                throw e;
            }
            throw new DestinationException("a full refresh replaces destination table " + display + ", but other objects depend on it"
                    + " that Ferry cannot carry over to the new table: " + detail(e) + ". Nothing was swapped: "
                    + display + " keeps its previous contents. Fix: drop those objects, or use an incremental mode for " + display);
        }
    }

    /** The server's detail of an error (which objects depend on which), on one line. */
    static String detail(SQLException e) {
        String detail = e instanceof org.postgresql.util.PSQLException p && p.getServerErrorMessage() != null
                && p.getServerErrorMessage().getDetail() != null ? p.getServerErrorMessage().getDetail() : e.getMessage();
        return detail.replace('\n', ' ');
    }

    private static void refillInPlace(Connection con, Statement st, String schema, String table, String loadTable, SourceTable source)
            throws SQLException {
        String target = Sql.qualified(schema, table);
        String load = Sql.qualified(schema, loadTable);
        // a column new at the source is added; views keep working, as they name the columns they read
        java.util.Map<String, SchemaEvolution.Column> have = SchemaEvolution.columns(con, schema, table);
        for (SchemaEvolution.Column c : SchemaEvolution.columns(con, schema, loadTable).values()) {
            if (!have.containsKey(c.name())) {
                st.execute("ALTER TABLE " + target + " ADD COLUMN " + Sql.ident(c.name()) + " " + c.display());
            }
        }
        String cols = Sql.idents(DestinationSchema.copyColumns(source));
        st.execute("TRUNCATE " + target);
        st.execute("INSERT INTO " + target + " (" + cols + ") SELECT " + cols + " FROM " + load);
        st.execute("DROP TABLE " + load);
    }

    /** GRANT statements that give the load table the privileges others hold on the old table. */
    static List<String> grants(Connection con, String schema, String table, String onTable) throws SQLException {
        String sql = """
                SELECT a.privilege_type, a.grantee, CASE WHEN a.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(a.grantee) END,
                       a.is_grantable
                FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace,
                     LATERAL pg_catalog.aclexplode(c.relacl) a
                WHERE n.nspname = ? AND c.relname = ? AND a.grantee <> c.relowner""";
        List<String> grants = new ArrayList<>();
        try (PreparedStatement ps = con.prepareStatement(sql)) {
            ps.setString(1, schema);
            ps.setString(2, table);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String privilege = rs.getString(1);
                    String role = rs.getString(3);
                    grants.add("GRANT " + privilege + " ON " + onTable + " TO " + (role == null ? "PUBLIC" : Sql.ident(role))
                            + (rs.getBoolean(4) ? " WITH GRANT OPTION" : ""));
                }
            }
        }
        return grants;
    }

    /**
     * The old table's indexes other than its primary key: name, definition, the definition's
     * {@code "name" ON schema.table} part to rewrite, and whether it says ONLY.
     */
    static List<String[]> secondaryIndexes(Connection con, String schema, String table) throws SQLException {
        String sql = """
                SELECT ic.relname, pg_catalog.pg_get_indexdef(i.indexrelid),
                       pg_catalog.quote_ident(ic.relname) || ' ON ' || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname),
                       pg_catalog.quote_ident(ic.relname) || ' ON ONLY ' || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname)
                FROM pg_catalog.pg_index i
                JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
                JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
                WHERE n.nspname = ? AND c.relname = ? AND NOT i.indisprimary
                  -- a constraint's own index is re-created with it; a foreign key elsewhere naming this index does not own it
                  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = c.oid)""";
        List<String[]> indexes = new ArrayList<>();
        try (PreparedStatement ps = con.prepareStatement(sql)) {
            ps.setString(1, schema);
            ps.setString(2, table);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String def = rs.getString(2);
                    String only = rs.getString(4);
                    boolean isOnly = def.contains(only);
                    indexes.add(new String[] {rs.getString(1), def, isOnly ? only : rs.getString(3), isOnly ? "only" : null});
                }
            }
        }
        return indexes;
    }
}
