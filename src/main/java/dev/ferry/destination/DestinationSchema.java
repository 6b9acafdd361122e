package dev.ferry.destination;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;
import java.util.UUID;

import dev.ferry.config.ReservedNames;
import dev.ferry.config.Sql;
import dev.ferry.source.SourceTable;

/**
 * The destination's schema and tables: creates what is missing, from the source table's description.
 *
 * <p>Every destination table carries two metadata columns after the source's: {@value #SYNCED_AT}, when the row was
 * synced, and {@value #RUN_ID}, the run that wrote it (a row of {@code _ferry_runs}).
 */
public final class DestinationSchema {

    public static final String SYNCED_AT = ReservedNames.SYNCED_AT;
    public static final String RUN_ID = ReservedNames.RUN_ID;
    /** Soft deletes' metadata column: only on the tables of {@code hardDeletes: soft} transfers. */
    public static final String DELETED_AT = ReservedNames.DELETED_AT;
    static final int MAX_IDENTIFIER_BYTES = ReservedNames.MAX_NAME_BYTES;

    private DestinationSchema() {
    }

    /**
     * Creates the schema when it is missing. An existing schema is used as it is: checking first means a writer
     * with only {@code ALL} on a pre-created schema needs no CREATE on the database.
     */
    public static void ensureSchema(Connection con, String schema) throws SQLException {
        if (schemaExists(con, schema)) {
            return;
        }
        try (Statement st = con.createStatement()) {
            st.execute("CREATE SCHEMA IF NOT EXISTS " + Sql.ident(schema));
        }
    }

    static boolean schemaExists(Connection con, String schema) throws SQLException {
        try (PreparedStatement ps = con.prepareStatement("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = ?")) {
            ps.setString(1, schema);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    public static boolean tableExists(Connection con, String schema, String table) throws SQLException {
        try (PreparedStatement ps = con.prepareStatement("SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
                + " ON n.oid = c.relnamespace WHERE n.nspname = ? AND c.relname = ? AND c.relkind IN ('r', 'p')")) {
            ps.setString(1, schema);
            ps.setString(2, table);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /**
     * The table's identity (see {@link TableIdentity}), or null when there is no such table. Catalog reads
     * only: no lock, no scan.
     */
    public static TableIdentity tableIdentity(Connection con, String schema, String table) throws SQLException {
        try (PreparedStatement ps = con.prepareStatement("SELECT c.oid::bigint, CASE WHEN c.relkind = 'p' THEN"
                + " (SELECT coalesce(string_agg(l.relfilenode::text, ',' ORDER BY l.oid), '')"
                + " FROM pg_catalog.pg_partition_tree(c.oid) t JOIN pg_catalog.pg_class l ON l.oid = t.relid WHERE t.isleaf)"
                + " ELSE c.relfilenode::text END FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
                + " ON n.oid = c.relnamespace WHERE n.nspname = ? AND c.relname = ? AND c.relkind IN ('r', 'p')")) {
            ps.setString(1, schema);
            ps.setString(2, table);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? new TableIdentity(rs.getLong(1), rs.getString(2)) : null;
            }
        }
    }

    /** The name of the table {@code identity} recorded, when it is still in {@code schema}; null otherwise. */
    public static String tableName(Connection con, String schema, TableIdentity identity) throws SQLException {
        try (PreparedStatement ps = con.prepareStatement("SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
                + " ON n.oid = c.relnamespace WHERE n.nspname = ? AND c.oid = ?::oid")) {
            ps.setString(1, schema);
            ps.setLong(2, identity.oid());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    /** Creates a table with the source's columns and types, plus the metadata columns; no constraints yet. */
    public static void createTable(Connection con, String schema, String table, SourceTable source) throws SQLException {
        createTable(con, schema, table, source, List.of());
    }

    /**
     * Creates a table with the source's columns, then {@code kept} (columns the destination had that the source no
     * longer has: they stay, NULL), then the metadata columns.
     */
    public static void createTable(Connection con, String schema, String table, SourceTable source, List<SchemaEvolution.Column> kept)
            throws SQLException {
        createTable(con, schema, table, source, kept, true);
    }

    /** As above; without {@code metadata}, the metadata columns are left for {@link #addRunColumns}. */
    public static void createTable(Connection con, String schema, String table, SourceTable source, List<SchemaEvolution.Column> kept,
                            boolean metadata) throws SQLException {
        StringJoiner cols = columnDefinitions(source);
        for (SchemaEvolution.Column c : kept) {
            cols.add(Sql.ident(c.name()) + " " + c.display());
        }
        if (metadata) {
            cols.add(Sql.ident(SYNCED_AT) + " timestamptz");
            cols.add(Sql.ident(RUN_ID) + " uuid");
        }
        try (Statement st = con.createStatement()) {
            st.execute("CREATE TABLE " + Sql.qualified(schema, table) + " " + cols);
        }
    }

    /**
     * Adds the metadata columns to a loaded table, holding the run's values for every row. Adding a column with a
     * constant default writes no row (PostgreSQL keeps the value in the catalog for the rows already there), so a
     * bulk load neither carries nor stores them row by row; the defaults are dropped at once, and later rows get
     * no value from them. The statement is written by the server's {@code format()} from bound values.
     */
    public static void addRunColumns(Connection con, String schema, String table, java.time.OffsetDateTime syncedAt, java.util.UUID runId)
            throws SQLException {
        DestinationTypes.executeFormatted(con, "SELECT pg_catalog.format('ALTER TABLE %s ADD COLUMN %I timestamptz"
                + " DEFAULT CAST(%L AS timestamptz), ADD COLUMN %I uuid DEFAULT CAST(%L AS uuid)', ?, ?, ?, ?, ?)",
                Sql.qualified(schema, table), SYNCED_AT, syncedAt.toString(), RUN_ID, runId.toString());
        try (Statement st = con.createStatement()) {
            st.execute("ALTER TABLE " + Sql.qualified(schema, table) + " ALTER COLUMN " + Sql.ident(SYNCED_AT) + " DROP DEFAULT,"
                    + " ALTER COLUMN " + Sql.ident(RUN_ID) + " DROP DEFAULT");
        }
    }

    /**
     * Adds the metadata columns a destination table lacks (a table the user created, or from which they were dropped):
     * the merge writes them. Returns a note for each one added. Only when one is missing does this take the table's
     * lock, so a table that has both is never locked for it.
     */
    public static List<String> addMissingMetadataColumns(Connection con, String schema, String table) throws SQLException {
        List<String> missing = new ArrayList<>(List.of(SYNCED_AT, RUN_ID));
        try (PreparedStatement ps = con.prepareStatement("SELECT a.attname FROM pg_catalog.pg_attribute a"
                + " JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                + " WHERE n.nspname = ? AND c.relname = ? AND a.attnum > 0 AND NOT a.attisdropped AND a.attname = ANY (?)")) {
            ps.setString(1, schema);
            ps.setString(2, table);
            ps.setArray(3, con.createArrayOf("text", missing.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    missing.remove(rs.getString(1));
                }
            }
        }
        List<String> notes = new ArrayList<>();
        for (String column : missing) {
            try (Statement st = con.createStatement()) {
                st.execute("ALTER TABLE " + Sql.qualified(schema, table) + " ADD COLUMN " + Sql.ident(column)
                        + (column.equals(SYNCED_AT) ? " timestamptz" : " uuid"));
            }
            notes.add("Ferry's metadata column " + column + " was missing from the destination table: added (NULL in the rows"
                    + " written before)");
        }
        return notes;
    }

    /** Whether the table has soft deletes' metadata column (hardDeletes: soft, now or in an earlier run). */
    public static boolean hasDeletedAt(Connection con, String schema, String table) throws SQLException {
        try (PreparedStatement ps = con.prepareStatement("SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = ?::regclass"
                + " AND attname = ? AND attnum > 0 AND NOT attisdropped")) {
            ps.setString(1, Sql.qualified(schema, table));
            ps.setString(2, DELETED_AT);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /**
     * Adds soft deletes' metadata column when the table lacks it; true when it was added. Like
     * {@link #addMissingMetadataColumns}, it locks the table only when the column is missing.
     */
    public static boolean addDeletedAt(Connection con, String schema, String table) throws SQLException {
        if (hasDeletedAt(con, schema, table)) {
            return false;
        }
        try (Statement st = con.createStatement()) {
            st.execute("ALTER TABLE " + Sql.qualified(schema, table) + " ADD COLUMN " + Sql.ident(DELETED_AT) + " timestamptz");
        }
        return true;
    }

    /**
     * For incremental modes: creates the destination table with its primary key on the transfer's key when missing;
     * when it exists, checks that a unique index covers the key (the merge needs one).
     */
    public static void ensureMergeTable(Connection con, String schema, String table, SourceTable source) throws SQLException {
        if (!tableExists(con, schema, table)) {
            createTable(con, schema, table, source);
            try (Statement st = con.createStatement()) {
                st.execute("ALTER TABLE " + Sql.qualified(schema, table) + " ADD CONSTRAINT " + Sql.ident(primaryKeyName(table))
                        + " PRIMARY KEY (" + Sql.idents(source.key()) + ")");
            }
            return;
        }
        String sql = """
                SELECT 1 FROM pg_catalog.pg_index i
                JOIN pg_catalog.pg_class c ON c.oid = i.indrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = ? AND c.relname = ? AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
                  AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_catalog.pg_attribute a
                       WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)) = ?::text[]""";
        try (PreparedStatement ps = con.prepareStatement(sql)) {
            ps.setString(1, schema);
            ps.setString(2, table);
            ps.setArray(3, con.createArrayOf("text", source.key().stream().sorted().toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new DestinationException("destination table " + Sql.displayIdent(schema) + "." + Sql.displayIdent(table)
                            + " has no primary key or unique index on (" + String.join(", ", source.key()) + "), which the merge"
                            + " matches rows by; add one: ALTER TABLE " + Sql.qualified(schema, table) + " ADD PRIMARY KEY ("
                            + Sql.idents(source.key()) + ");");
                }
            }
        }
    }

    /** The columns COPY writes, in order: the source's, then the metadata columns. */
    public static List<String> copyColumns(SourceTable source) {
        List<String> names = new ArrayList<>(source.columnNames());
        names.add(SYNCED_AT);
        names.add(RUN_ID);
        return names;
    }

    /**
     * A name for the table a full refresh loads into before the swap: unique to the run and the table, and within
     * PostgreSQL's identifier limit, so it never clashes with another table's load table.
     */
    public static String loadTableName(String table, UUID runId) {
        return derivedName(ReservedNames.PREFIX + runId.toString().substring(0, 8) + "_", table, "");
    }

    /**
     * A tag for the temporary names of one table's swap: the run's and a hash of the table's name, so that the tables
     * of one run (parallelTables) swapping at the same time in one schema never reach for the same temporary name.
     */
    public static String swapTag(UUID runId, String table) {
        return runId.toString().substring(0, 8) + "_" + shortHash(table);
    }

    /** The conventional primary key name, {@code <table>_pkey}, within the identifier limit. */
    public static String primaryKeyName(String table) {
        return derivedName("", table, "_pkey");
    }

    /**
     * A name Ferry derives from a user's name: {@code prefix + name + suffix} when that fits PostgreSQL's 63 bytes;
     * otherwise the name is cut (never inside a character) and followed by a short hash of the whole name, so two
     * long names that share their first bytes still derive different names. PostgreSQL would silently truncate an
     * over-long name instead, and two tables could then claim the same load table or primary key name.
     */
    public static String derivedName(String prefix, String name, String suffix) {
        String whole = prefix + name + suffix;
        if (whole.getBytes(StandardCharsets.UTF_8).length <= MAX_IDENTIFIER_BYTES) {
            return whole;
        }
        String hash = "_" + shortHash(name);
        int room = MAX_IDENTIFIER_BYTES - (prefix + hash + suffix).getBytes(StandardCharsets.UTF_8).length;
        return prefix + truncate(name, room) + hash + suffix;
    }

    private static String shortHash(String name) {
        try {
            byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
            return java.util.HexFormat.of().formatHex(digest, 0, 4);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }

    /** Cuts a name to at most {@code maxBytes} bytes of UTF-8 without splitting a character. */
    static String truncate(String name, int maxBytes) {
        if (name.getBytes(StandardCharsets.UTF_8).length <= maxBytes) {
            return name;
        }
        StringBuilder sb = new StringBuilder();
        int bytes = 0;
        for (int i = 0; i < name.length(); ) {
            int cp = name.codePointAt(i);
            int len = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8).length;
            if (bytes + len > maxBytes) {
                break;
            }
            sb.appendCodePoint(cp);
            bytes += len;
            i += Character.charCount(cp);
        }
        return sb.toString();
    }

    /** {@code ("a" type, "b" type, ...)}: the source table's columns with their destination types, open for more. */
    public static StringJoiner columnDefinitions(SourceTable source) {
        StringJoiner cols = new StringJoiner(", ", "(", ")");
        for (int i = 0; i < source.columns().size(); i++) {
            cols.add(Sql.ident(source.columns().get(i).name()) + " " + source.destinationTypes().get(i));
        }
        return cols;
    }
}
