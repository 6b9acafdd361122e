package dev.ferry.destination;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.ferry.config.Sql;
import dev.ferry.source.SourceTable;

/**
 * Puts a fully loaded table in place of the old one, in the load's own transaction, so that readers see either
 * the old table or the new one, never an empty or half-loaded one.
 *
 * <p>The primary key is built after the load (faster than maintaining it row by row). Grants, secondary indexes and
 * everything else users attach to the old table ({@link TableAttachments}) are re-created on the new one; what checks
 * rows is built before the old table is dropped, so that the old table stays readable meanwhile and a row that breaks
 * it fails the run with the old table untouched. Views that depend on the old table are dropped and re-created on the
 * new one ({@link DependentViews}); when Ferry's role may not drop them, or rules of other tables read the table, or it
 * is in a publication, the table is emptied and refilled from the loaded one instead ({@link #refillReason}), which
 * keeps them. The swap locks the old table against writes and DDL before it reads what to carry over, and swaps in one
 * schema take turns.
 */
public final class FullRefreshSwap {

    private FullRefreshSwap() {
    }

    public static void swap(Connection con, String schema, String table, String loadTable, SourceTable source, String swapTag)
            throws SQLException {
        swap(con, schema, table, loadTable, source, swapTag, null);
    }

    /**
     * Swaps the load table in; with {@code softDeletedAt} (hardDeletes: soft), first carries the old table's rows whose
     * key the load lacks into the load table, marked deleted at that time (a row marked before keeps its time): after
     * the old table is locked, in the swap's transaction. Returns how many rows were carried.
     */
    public static long swap(Connection con, String schema, String table, String loadTable, SourceTable source, String swapTag,
                            java.time.OffsetDateTime softDeletedAt) throws SQLException {
        String target = Sql.qualified(schema, table);
        String load = Sql.qualified(schema, loadTable);
        boolean exists = DestinationSchema.tableExists(con, schema, table);
        long carried;
        try (Statement st = con.createStatement()) {
            awaitSwapTurn(con, schema);
            // A reader holding the old table for long makes the swap wait: the session's lock_timeout (the destination's
            // lockTimeout) gives up rather than queue every later reader behind it (see LockWaits).
            if (exists) {
                // no DDL or write on the old table from here on, so that nothing is added to it after it is read below
                // and lost with it; readers go on
                st.execute("LOCK TABLE " + target + " IN SHARE ROW EXCLUSIVE MODE");
            }
            List<DependentViews.View> views = exists ? DependentViews.read(con, schema, table) : List.of();
            if (exists) {
                checkReplaceable(con, schema, table);
            }
            carried = exists && softDeletedAt != null ? carryGoneRows(con, schema, table, loadTable, source, softDeletedAt) : 0;
            String refill = exists ? refillReason(con, schema, table, views) : null;
            if (refill != null) {
                // the table stays, refilled, provided no column changed type (as checked when the load is provisioned)
                checkRefillable(con, schema, table, loadTable, refill);
                refillInPlace(con, st, schema, table, loadTable, source, softDeletedAt != null);
                return carried;
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
        return carried;
    }

    /**
     * Soft deletes on a full refresh: the old table's rows whose key the load table lacks (gone from the source, or out
     * of the filter) into the load table, with the columns both have (but hashed, masked or nullified ones, NULL: the
     * destination cannot tell what rules wrote them), their metadata, and {@code _ferry_deleted_at} (kept when set, else
     * {@code at}). One set-based statement at the destination, matched by key.
     */
    private static long carryGoneRows(Connection con, String schema, String table, String loadTable, SourceTable source,
                                      java.time.OffsetDateTime at) throws SQLException {
        Map<String, SchemaEvolution.Column> old = SchemaEvolution.columns(con, schema, table);
        Map<String, String> casts = new java.util.LinkedHashMap<>();
        Map<String, String> retyped = retyped(con, schema, table, loadTable);
        for (String k : source.key()) { // the key first: the other columns' checks match rows by it
            if (retyped.containsKey(k)) {
                casts.put(k, retyped.get(k));
            }
        }
        casts.putAll(retyped);
        List<String> into = new ArrayList<>();
        List<String> from = new ArrayList<>();
        for (String c : SchemaEvolution.columns(con, schema, loadTable).keySet()) {
            dev.ferry.source.SourceColumn sc = source.column(c);
            if (sc != null && sc.transform() != null && sc.transform().hide() != null) {
                // a hashed, masked or nullified column: the old row may hold what other rules (or none) wrote, in clear
                // maybe; the row is kept without it (NULL)
                continue;
            }
            if (old.containsKey(c)) {
                into.add(Sql.ident(c));
                from.add(carried(c, casts));
            }
        }
        java.util.Set<String> oldMeta = metadataColumns(con, schema, table);
        for (String meta : List.of(DestinationSchema.SYNCED_AT, DestinationSchema.RUN_ID)) {
            if (oldMeta.contains(meta)) {
                into.add(Sql.ident(meta));
                from.add("o." + Sql.ident(meta));
            }
        }
        into.add(Sql.ident(DestinationSchema.DELETED_AT));
        from.add(oldMeta.contains(DestinationSchema.DELETED_AT) ? "coalesce(o." + Sql.ident(DestinationSchema.DELETED_AT)
                + ", CAST(? AS timestamptz))" : "CAST(? AS timestamptz)");
        List<String> match = new ArrayList<>();
        for (String k : source.key()) {
            if (!old.containsKey(k)) {
                return 0; // the old table lacks a key column: none of its rows can be matched to the source's
            }
            match.add("l." + Sql.ident(k) + " = " + carried(k, casts));
        }
        String gone = " FROM " + Sql.qualified(schema, table) + " o WHERE NOT EXISTS (SELECT 1 FROM "
                + Sql.qualified(schema, loadTable) + " l WHERE " + String.join(" AND ", match) + ")";
        checkCasts(con, schema, table, casts, gone);
        try (PreparedStatement ps = con.prepareStatement("INSERT INTO " + Sql.qualified(schema, loadTable) + " (" + String.join(", ", into)
                + ") SELECT " + String.join(", ", from) + gone)) {
            ps.setObject(1, at);
            return ps.executeUpdate();
        }
    }

    /** An old row's column as the load table takes it: cast explicitly where the type changed. */
    private static String carried(String column, Map<String, String> casts) {
        String type = casts.get(column);
        return type == null ? "o." + Sql.ident(column) : "CAST(o." + Sql.ident(column) + " AS " + type + ")";
    }

    /**
     * The columns both tables have whose type the load table changed (a column retyped at the source), each with the
     * load table's type, as {@code format_type} writes it.
     */
    private static Map<String, String> retyped(Connection con, String schema, String table, String loadTable) throws SQLException {
        Map<String, SchemaEvolution.Column> old = SchemaEvolution.columns(con, schema, table);
        Map<String, String> casts = new java.util.LinkedHashMap<>();
        for (SchemaEvolution.Column l : SchemaEvolution.columns(con, schema, loadTable).values()) {
            SchemaEvolution.Column o = old.get(l.name());
            if (o != null && (o.typeOid() != l.typeOid() || o.typmod() != l.typmod())) {
                casts.put(l.name(), l.display());
            }
        }
        return casts;
    }

    /**
     * hardDeletes: soft on a full refresh, before the load: the rows already marked deleted will be carried into the
     * load table, so each column the source retyped must cast to its new type, for them at least; fails now, naming the
     * column, rather than after the table is loaded (the swap checks the rows gone in this run as well).
     */
    public static void checkCarry(Connection con, String schema, String table, String loadTable) throws SQLException {
        Map<String, String> casts = retyped(con, schema, table, loadTable);
        if (!casts.isEmpty()) {
            checkCasts(con, schema, table, casts, " FROM " + Sql.qualified(schema, table) + " o WHERE "
                    + (metadataColumns(con, schema, table).contains(DestinationSchema.DELETED_AT)
                    ? "o." + Sql.ident(DestinationSchema.DELETED_AT) + " IS NOT NULL" : "false"));
        }
    }

    /** Casts each retyped column of the old rows {@code rows} selects (FROM ... WHERE ...), failing on the first that does not. */
    private static void checkCasts(Connection con, String schema, String table, Map<String, String> casts, String rows)
            throws SQLException {
        Map<String, SchemaEvolution.Column> old = casts.isEmpty() ? Map.of() : SchemaEvolution.columns(con, schema, table);
        for (Map.Entry<String, String> c : casts.entrySet()) {
            java.sql.Savepoint before = con.setSavepoint();
            try (Statement st = con.createStatement()) {
                st.execute("SELECT count(" + carried(c.getKey(), casts) + ")" + rows);
                con.releaseSavepoint(before);
            } catch (SQLException e) {
                String state = e.getSQLState() == null ? "" : e.getSQLState();
                // a value that does not convert (class 22), or no cast between the types at all
                if (!state.startsWith("22") && !state.equals("42846") && !state.equals("42883")) {
                    throw e;
                }
                con.rollback(before);
                String display = Sql.displayIdent(schema) + "." + Sql.displayIdent(table);
                String first = e.getMessage() == null ? "" : e.getMessage().split("\n")[0];
                throw new DestinationException("the full refresh of " + display + " cannot keep the rows gone from the source:"
                        + " column " + Sql.displayIdent(c.getKey()) + " is " + old.get(c.getKey()).display() + " in them and "
                        + c.getValue() + " at the source now, and the cast fails (" + first + "). hardDeletes: soft carries those"
                        + " rows, with their old values, into the refreshed table. Nothing was changed: the table keeps its previous"
                        + " contents. Ways out: convert the column at the destination yourself (ALTER TABLE " + Sql.qualified(schema, table)
                        + " ALTER COLUMN " + Sql.ident(c.getKey()) + " TYPE " + c.getValue() + " USING ...); or delete the rows"
                        + " marked deleted there (WHERE " + DestinationSchema.DELETED_AT + " IS NOT NULL); or run once without"
                        + " hardDeletes: soft, which does not keep rows gone from the source");
            }
        }
    }

    /** Which of Ferry's metadata columns a table has. */
    private static java.util.Set<String> metadataColumns(Connection con, String schema, String table) throws SQLException {
        java.util.Set<String> found = new java.util.HashSet<>();
        try (PreparedStatement ps = con.prepareStatement("SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = ?::regclass"
                + " AND attnum > 0 AND NOT attisdropped AND attname = ANY (?)")) {
            ps.setString(1, Sql.qualified(schema, table));
            ps.setArray(2, con.createArrayOf("text", new String[] {DestinationSchema.SYNCED_AT, DestinationSchema.RUN_ID,
                    DestinationSchema.DELETED_AT}));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    found.add(rs.getString(1));
                }
            }
        }
        return found;
    }

    /**
     * Before the load, when the table exists: fails when the table cannot be refreshed at all (a partition, a partitioned
     * or inheritance table), or when the path it takes could not carry over what is attached to it (replaced: a foreign
     * key Ferry's role may not change; refilled in place: a column type change), so that such a run fails before reading
     * a row rather than after loading them all (the swap checks again). Gives the load table the defaults (and
     * generation expressions) of the columns only the destination has, so that loaded rows get them, as they did in the
     * old table. And makes the load table unlogged when the old one is, which costs nothing while it is empty.
     */
    public static void prepareLoad(Connection con, String schema, String table, String loadTable, SourceTable source) throws SQLException {
        checkReplaceable(con, schema, table);
        String refill = refillReason(con, schema, table, DependentViews.read(con, schema, table));
        if (refill != null) {
            checkRefillable(con, schema, table, loadTable, refill);
        } else {
            TableAttachments.read(con, schema, table, loadTable, !source.hasKey(), "", source.key());
            destinationOnlyColumns(con, schema, table, loadTable, source);
        }
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
     * Columns only the destination has are created in the load table as plain columns (see LoadMode#provision); before any
     * row is loaded, this gives them the old table's default (so that a NOT NULL one holds) or generation expression.
     * An identity column cannot be carried over (its sequence would start again): the run fails, naming it.
     */
    private static void destinationOnlyColumns(Connection con, String schema, String table, String loadTable, SourceTable source)
            throws SQLException {
        String sql = """
                SELECT a.attname, a.attidentity::text, a.attgenerated::text, pg_catalog.pg_get_expr(d.adbin, d.adrelid),
                       pg_catalog.format_type(a.atttypid, a.atttypmod)
                FROM pg_catalog.pg_attribute a
                LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                WHERE a.attrelid = ?::regclass AND a.attnum > 0 AND NOT a.attisdropped AND NOT a.attname = ANY (?::text[])
                  AND (d.adbin IS NOT NULL OR a.attidentity <> '')
                ORDER BY a.attnum""";
        String load = Sql.qualified(schema, loadTable);
        String display = Sql.displayIdent(schema) + "." + Sql.displayIdent(table);
        List<String> steps = new ArrayList<>();
        try (PreparedStatement ps = con.prepareStatement(sql)) {
            ps.setString(1, Sql.qualified(schema, table));
            ps.setArray(2, con.createArrayOf("text", DestinationSchema.copyColumns(source).toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String column = Sql.ident(rs.getString(1));
                    if (!rs.getString(2).isEmpty()) {
                        throw new DestinationException("destination table " + display + " has identity column " + Sql.displayIdent(rs.getString(1))
                                + ", which the source does not have; a full refresh replaces the table and cannot carry the identity over"
                                + " (its sequence would start again). Nothing was written. Fix: drop the identity (ALTER TABLE "
                                + Sql.qualified(schema, table) + " ALTER COLUMN " + column + " DROP IDENTITY) or the column,"
                                + " or use an incremental mode for " + display);
                    }
                    if (!rs.getString(3).isEmpty()) {
                        steps.add("ALTER TABLE " + load + " DROP COLUMN " + column);
                        steps.add("ALTER TABLE " + load + " ADD COLUMN " + column + " " + rs.getString(5) + " GENERATED ALWAYS AS ("
                                + rs.getString(4) + ") STORED");
                    } else {
                        steps.add("ALTER TABLE " + load + " ALTER COLUMN " + column + " SET DEFAULT " + rs.getString(4));
                    }
                }
            }
        }
        try (Statement st = con.createStatement()) {
            for (String step : steps) {
                st.execute(step);
            }
        }
    }

    /**
     * A partition, a partitioned table or one in an inheritance tree would leave its tree when replaced (and a refill
     * in place of a whole tree is not the refresh of one table): such a table fails the run before anything is written.
     */
    private static void checkReplaceable(Connection con, String schema, String table) throws SQLException {
        String sql = """
                SELECT CASE WHEN c.relkind = 'p' THEN 'is partitioned' WHEN c.relispartition THEN 'is a partition'
                            WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid) THEN 'inherits from another table'
                            WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhparent = c.oid) THEN 'has tables inheriting from it'
                       END
                FROM pg_catalog.pg_class c WHERE c.oid = ?::regclass""";
        try (PreparedStatement ps = con.prepareStatement(sql)) {
            ps.setString(1, Sql.qualified(schema, table));
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next() && rs.getString(1) != null) {
                    String display = Sql.displayIdent(schema) + "." + Sql.displayIdent(table);
                    throw new DestinationException("destination table " + display + " " + rs.getString(1) + "; a full refresh replaces the"
                            + " table, which would take it out of its partition or inheritance tree. Nothing was written. Fix: use an"
                            + " incremental mode for " + display + ", or detach it from the tree (ALTER TABLE ... DETACH PARTITION, or"
                            + " NO INHERIT)");
                }
            }
        }
    }

    /**
     * Why the table must be emptied and refilled in place rather than replaced, or null when it may be replaced: views
     * (or rules of other tables) depending on it that Ferry's role may not re-create, or a publication it is in (a
     * replaced table would leave its subscribers silently behind: the rows loaded while it was unpublished and the old
     * table's drop are not replicated, while TRUNCATE and INSERT are). Says what would let Ferry replace it.
     */
    static String refillReason(Connection con, String schema, String table, List<DependentViews.View> views) throws SQLException {
        if (!DependentViews.recreatable(views)) {
            return DependentViews.refillReason(con, views);
        }
        List<String> publications = new ArrayList<>();
        try (PreparedStatement ps = con.prepareStatement(
                "SELECT pubname FROM pg_catalog.pg_publication_tables WHERE schemaname = ? AND tablename = ? ORDER BY 1")) {
            ps.setString(1, schema);
            ps.setString(2, table);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    publications.add(Sql.displayIdent(rs.getString(1)));
                }
            }
        }
        return publications.isEmpty() ? null : "it is in publication " + String.join(", ", publications)
                + ", whose subscribers must see the refresh, so it is refilled in place (to replace it, take it out of the publication)";
    }

    /**
     * For a table refilled in place ({@code why}, from {@link #refillReason}): fails before anything is written when a
     * column's type at the source differs from the table's, since refilling would cast the values.
     */
    static void checkRefillable(Connection con, String schema, String table, String loadTable, String why) throws SQLException {
        Map<String, SchemaEvolution.Column> have = SchemaEvolution.columns(con, schema, table);
        Map<String, SchemaEvolution.Column> want = SchemaEvolution.columns(con, schema, loadTable);
        List<String> changed = new ArrayList<>();
        for (SchemaEvolution.Column w : want.values()) {
            SchemaEvolution.Column h = have.get(w.name());
            if (h != null && (h.typeOid() != w.typeOid() || h.typmod() != w.typmod())) {
                changed.add(Sql.displayIdent(w.name()) + " is " + h.display() + " there and " + w.display() + " at the source");
            }
        }
        String display = Sql.displayIdent(schema) + "." + Sql.displayIdent(table);
        if (!changed.isEmpty()) {
            throw new DestinationException("destination table " + display + " is not replaced by a full refresh but refilled in place: "
                    + why + ". But column " + String.join("; column ", changed) + ", and refilling would cast the values. Nothing was"
                    + " written. Fix: let Ferry replace the table, as said above");
        }
        List<String> acting = new ArrayList<>();
        for (String[] fk : referencingKeys(con, schema, table)) {
            if (!fk[3].equals("a")) {
                acting.add(Sql.displayIdent(fk[0]) + " of table " + Sql.displayIdent(fk[1]) + "." + Sql.displayIdent(fk[2]));
            }
        }
        if (!acting.isEmpty()) {
            throw new DestinationException("destination table " + display + " is not replaced by a full refresh but refilled in place: "
                    + why + ". But foreign key " + String.join(", foreign key ", acting) + " references it with an ON DELETE action"
                    + " (or RESTRICT), which emptying the table would apply to the referencing rows. Nothing was written. Fix: let"
                    + " Ferry replace the table, as said above, or make the foreign key ON DELETE NO ACTION");
        }
    }

    /**
     * The foreign keys of other tables that reference {@code schema.table}: name, the other table's schema and name, and
     * the ON DELETE action ({@code a}: NO ACTION).
     */
    private static List<String[]> referencingKeys(Connection con, String schema, String table) throws SQLException {
        String sql = """
                SELECT k.conname, n.nspname, c.relname, k.confdeltype::text
                FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
                JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                WHERE k.contype = 'f' AND k.confrelid = ?::regclass AND k.conrelid <> k.confrelid AND k.conparentid = 0
                ORDER BY 2, 3, 1""";
        List<String[]> keys = new ArrayList<>();
        try (PreparedStatement ps = con.prepareStatement(sql)) {
            ps.setString(1, Sql.qualified(schema, table));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    keys.add(new String[] {rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4)});
                }
            }
        }
        return keys;
    }

    /**
     * One swap at a time per schema: tables of one run linked by a foreign key would otherwise each lock the other's
     * table in their foreign key steps, and deadlock. The turn is held until the swap's transaction ends, so through
     * the afterLoad hooks that run in it. It is awaited in short polls (one long lock wait would meet the session's
     * statement_timeout and socket timeout), for at most the session's lock_timeout (the destination's lockTimeout;
     * 0: no limit), as any other lock a swap waits for.
     *
     * @throws SwapTurnTimeout the turn was not free within lock_timeout, naming the session that holds it
     */
    private static void awaitSwapTurn(Connection con, String schema) throws SQLException {
        long limitMillis;
        try (Statement st = con.createStatement();
             ResultSet rs = st.executeQuery("SELECT setting::bigint FROM pg_catalog.pg_settings WHERE name = 'lock_timeout'")) {
            limitMillis = rs.next() ? rs.getLong(1) : 0; // in milliseconds
        }
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(limitMillis);
        try (PreparedStatement ps = con.prepareStatement(
                "SELECT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('ferry swap:' || ?), 0)")) {
            ps.setString(1, schema);
            while (true) {
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    if (rs.getBoolean(1)) {
                        return;
                    }
                }
                if (limitMillis > 0 && System.nanoTime() - deadline >= 0) {
                    throw new SwapTurnTimeout(java.time.Duration.ofMillis(limitMillis), swapTurnHolder(con, schema));
                }
                try {
                    Thread.sleep(limitMillis > 0 ? Math.min(200, limitMillis) : 200);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new SQLException("interrupted while waiting for the schema's turn to swap", "57014", e);
                }
            }
        }
    }

    /**
     * Who holds a schema's swap turn: its session's pid, application name (a Ferry swap's names its transfer, see
     * {@link #SWAP_APPLICATION}), state and how long its transaction has run; null when it is gone meanwhile. Never its
     * query, which may be a user's hook with a secret in it.
     */
    private static String swapTurnHolder(Connection con, String schema) throws SQLException {
        try (PreparedStatement ps = con.prepareStatement("""
                SELECT a.pid, a.application_name, a.state, extract(epoch FROM now() - a.xact_start)::bigint
                FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.objid = 0
                  AND l.classid::bigint = (pg_catalog.hashtext('ferry swap:' || ?)::bigint & 4294967295)
                  AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())""")) {
            ps.setString(1, schema);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                String app = rs.getString(2);
                List<String> about = new ArrayList<>();
                String who;
                if (app != null && app.startsWith(SWAP_APPLICATION)) {
                    who = "transfer '" + app.substring(SWAP_APPLICATION.length()) + "'";
                    about.add("pid " + rs.getInt(1));
                } else {
                    who = "pid " + rs.getInt(1);
                    if (app != null && !app.isEmpty()) {
                        about.add("application '" + app + "'");
                    }
                }
                if (rs.getString(3) != null) {
                    about.add(rs.getString(3));
                }
                long age = rs.getLong(4);
                if (!rs.wasNull()) {
                    about.add("in a transaction for " + dev.ferry.config.Durations.format(java.time.Duration.ofSeconds(age)));
                }
                return about.isEmpty() ? who : who + " (" + String.join(", ", about) + ")";
            }
        }
    }

    /**
     * The application name a full refresh's swap shows (in pg_stat_activity) for its transaction, followed by its
     * transfer's name: another swap waiting for the schema's turn names the transfer that holds it.
     */
    public static final String SWAP_APPLICATION = "ferry swap: ";

    /** The schema's turn to swap was not free within the destination's lockTimeout (SQLSTATE 55P03, as a lock wait). */
    public static final class SwapTurnTimeout extends SQLException {
        private final java.time.Duration waited;
        private final String holder;

        SwapTurnTimeout(java.time.Duration waited, String holder) {
            super("the schema's turn to swap was not free within lock_timeout (" + waited.toMillis() + "ms)", "55P03");
            this.waited = waited;
            this.holder = holder;
        }

        /** How long the swap waited. */
        public java.time.Duration waited() {
            return waited;
        }

        /** The session holding the turn (its transfer and pid), or null when it ended meanwhile. */
        public String holder() {
            return holder;
        }
    }

    /**
     * A name for an object of the load table until the swap gives it its real name: unique to the run and the table
     * ({@code swapTag}, see {@link DestinationSchema#swapTag}: tables of one run swap at the same time in the same
     * schema) and to the object ({@code kind}, {@code n}; n below 0 for the only one of its kind), within the limit.
     */
    static String tempName(String swapTag, String kind, int n) {
        return DestinationSchema.truncate(dev.ferry.config.ReservedNames.PREFIX + swapTag + "_" + kind
                + (n < 0 ? "" : String.valueOf(n)), DestinationSchema.MAX_IDENTIFIER_BYTES);
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
        String detail = dev.ferry.failure.Errors.serverDetail(e);
        return (detail != null ? detail : e.getMessage()).replace('\n', ' ');
    }

    /** The server's DETAIL line of an error, or null. */
    private static void refillInPlace(Connection con, Statement st, String schema, String table, String loadTable, SourceTable source,
                                      boolean softDeletes) throws SQLException {
        String target = Sql.qualified(schema, table);
        String load = Sql.qualified(schema, loadTable);
        // a column new at the source is added; views keep working, as they name the columns they read
        Map<String, SchemaEvolution.Column> have = SchemaEvolution.columns(con, schema, table);
        for (SchemaEvolution.Column c : SchemaEvolution.columns(con, schema, loadTable).values()) {
            if (!have.containsKey(c.name())) {
                st.execute("ALTER TABLE " + target + " ADD COLUMN " + Sql.ident(c.name()) + " " + c.display());
            }
        }
        List<String> copied = new ArrayList<>(DestinationSchema.copyColumns(source));
        if (softDeletes) {
            DestinationSchema.addDeletedAt(con, schema, table);
            copied.add(DestinationSchema.DELETED_AT);
        }
        String cols = Sql.idents(copied);
        if (referencingKeys(con, schema, table).isEmpty()) {
            st.execute("TRUNCATE " + target);
            st.execute("INSERT INTO " + target + " (" + cols + ") SELECT " + cols + " FROM " + load);
        } else {
            // a table other tables reference cannot be truncated; deleting and inserting in one statement lets their
            // (NO ACTION, see checkRefillable) foreign keys be checked once, against the new rows. The inserted rows are
            // read after the delete has run to its end (the count), so that a key deleted and inserted again is no duplicate.
            st.execute("WITH gone AS (DELETE FROM " + target + " RETURNING 1) INSERT INTO " + target + " (" + cols + ") SELECT " + cols
                    + " FROM " + load + " WHERE (SELECT count(*) FROM gone) >= 0");
        }
        st.execute("DROP TABLE " + load);
    }

    /**
     * The statements that make the privileges on {@code onTable} (a relation Ferry's role creates) those others hold on
     * the old {@code schema.table}: first every grant it got on creation (from default privileges) or already has is
     * revoked, since the user may have revoked it on the old table; then the old table's grants are given.
     */
    static List<String> grants(Connection con, String schema, String table, String onTable) throws SQLException {
        String revokes = """
                SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END
                FROM (SELECT c.relacl AS acl, c.relowner AS owner FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass(?)
                      UNION ALL
                      SELECT d.defaclacl, d.defaclrole FROM pg_catalog.pg_default_acl d
                      WHERE d.defaclrole = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user) AND d.defaclobjtype = 'r'
                        AND d.defaclnamespace IN (0, (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = ?))) s,
                     LATERAL pg_catalog.aclexplode(s.acl) a
                WHERE a.grantee <> s.owner ORDER BY 1""";
        String sql = """
                SELECT a.privilege_type, a.grantee, CASE WHEN a.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(a.grantee) END,
                       a.is_grantable
                FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace,
                     LATERAL pg_catalog.aclexplode(c.relacl) a
                WHERE n.nspname = ? AND c.relname = ? AND a.grantee <> c.relowner""";
        List<String> grants = new ArrayList<>();
        try (PreparedStatement ps = con.prepareStatement(revokes)) {
            ps.setString(1, onTable);
            ps.setString(2, schema);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    grants.add("REVOKE ALL ON " + onTable + " FROM " + rs.getString(1));
                }
            }
        }
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
