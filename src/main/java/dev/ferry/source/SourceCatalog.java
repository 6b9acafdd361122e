package dev.ferry.source;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import dev.ferry.config.TableRef;
import dev.ferry.failure.PrivilegeHints;

/** Reads a source table's columns, types and primary key from PostgreSQL's catalog. */
public final class SourceCatalog {

    /** Oids below this belong to built-in types, identical on every PostgreSQL server. */
    static final int FIRST_NORMAL_OID = 16384;

    private static final String TABLE = """
            SELECT c.oid, c.relkind, pg_catalog.has_table_privilege(c.oid, 'SELECT') AS can_select,
                   pg_catalog.has_schema_privilege(n.oid, 'USAGE') AS can_use_schema
            FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ? AND c.relname = ? AND c.relkind IN ('r', 'p', 'v', 'm', 'f')""";

    private static final String COLUMNS = """
            SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.atttypid::int, a.atttypmod, a.attnotnull,
                   a.attgenerated <> '' AS generated
            FROM pg_catalog.pg_attribute a
            WHERE a.attrelid = ? AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum""";

    private static final String PRIMARY_KEY = """
            SELECT a.attname
            FROM pg_catalog.pg_index i
            CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
            WHERE i.indrelid = ? AND i.indisprimary
            ORDER BY k.ord""";

    private SourceCatalog() {
    }

    /**
     * The column names of many tables, in one catalog query (a pattern's hundreds of tables cost one round trip), in
     * column order; a table that is not there is left out.
     */
    public static java.util.Map<dev.ferry.config.TableRef, List<String>> columnNames(java.sql.Connection c,
                                                                                 List<dev.ferry.config.TableRef> tables)
            throws java.sql.SQLException {
        java.util.Map<dev.ferry.config.TableRef, List<String>> out = new java.util.LinkedHashMap<>();
        try (java.sql.PreparedStatement ps = c.prepareStatement("SELECT n.nspname, c.relname, a.attname"
                + " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                + " JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
                + " WHERE (n.nspname, c.relname) IN (SELECT * FROM unnest(CAST(? AS text[]), CAST(? AS text[])))"
                + " ORDER BY n.nspname, c.relname, a.attnum")) {
            ps.setArray(1, c.createArrayOf("text", tables.stream().map(dev.ferry.config.TableRef::schema).toArray()));
            ps.setArray(2, c.createArrayOf("text", tables.stream().map(dev.ferry.config.TableRef::name).toArray()));
            try (java.sql.ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.computeIfAbsent(new dev.ferry.config.TableRef(rs.getString(1), rs.getString(2)), k -> new java.util.ArrayList<>())
                            .add(rs.getString(3));
                }
            }
        }
        return out;
    }

    /**
     * Describes a table.
     *
     * @throws SourceTableException when the table does not exist or cannot be read, saying which GRANT fixes it
     */
    public static SourceTable describe(Connection con, TableRef ref) throws SQLException {
        long oid;
        String relkind;
        try (PreparedStatement ps = con.prepareStatement(TABLE)) {
            ps.setString(1, ref.schema());
            ps.setString(2, ref.name());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new SourceTableException(SourceTableException.Kind.MISSING, "source table " + ref.display() + " does not exist (or its schema is not"
                            + " visible to " + con.getMetaData().getUserName() + "); check the name in the transfer's"
                            + " 'tables' parameter, and that the user has USAGE on schema " + ref.schema());
                }
                oid = rs.getLong(1);
                relkind = rs.getString(2);
                String user = con.getMetaData().getUserName();
                if (!rs.getBoolean(4)) {
                    throw SourceTableException.missingGrant("the source user " + user + " may not use schema "
                            + dev.ferry.config.Sql.displayIdent(ref.schema()), PrivilegeHints.grantUsageOnSchema(ref.schema(), user));
                }
                if (!rs.getBoolean(3)) {
                    throw SourceTableException.missingGrant("the source user " + user + " may not read " + ref.display(),
                            PrivilegeHints.grantSelect(ref, user));
                }
            }
        }
        List<SourceColumn> columns = new ArrayList<>();
        List<String> declaredTypes = new ArrayList<>();
        List<int[]> types = new ArrayList<>();
        List<String> names = new ArrayList<>();
        List<Boolean> notNull = new ArrayList<>();
        boolean generated = false;
        try (PreparedStatement ps = con.prepareStatement(COLUMNS)) {
            ps.setLong(1, oid);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    names.add(rs.getString(1));
                    declaredTypes.add(rs.getString(2));
                    types.add(new int[] {rs.getInt(3), rs.getInt(4)});
                    notNull.add(rs.getBoolean(5));
                    generated |= rs.getBoolean(6);
                }
            }
        }
        SourceTypes resolver = new SourceTypes(con);
        for (int i = 0; i < names.size(); i++) {
            columns.add(new SourceColumn(names.get(i), declaredTypes.get(i), resolver.resolve(types.get(i)[0], types.get(i)[1], declaredTypes.get(i)),
                    notNull.get(i), types.get(i)[0]));
        }
        List<String> key = new ArrayList<>();
        try (PreparedStatement ps = con.prepareStatement(PRIMARY_KEY)) {
            ps.setLong(1, oid);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    key.add(rs.getString(1));
                }
            }
        }
        // COPY reads a plain table's columns directly, except generated ones: only a query can read those
        return new SourceTable(ref, columns, key, declaredTypes, "r".equals(relkind) && !generated, "r".equals(relkind));
    }

}
