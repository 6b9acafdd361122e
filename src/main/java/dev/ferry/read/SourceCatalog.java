package dev.ferry.read;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import dev.ferry.config.TableRef;

/** Reads a source table's columns, types and primary key from PostgreSQL's catalog. */
public final class SourceCatalog {

    /** Oids below this belong to built-in types, identical on every PostgreSQL server. */
    static final int FIRST_NORMAL_OID = 16384;

    private static final String TABLE = """
            SELECT c.oid, c.relkind, pg_catalog.has_table_privilege(c.oid, 'SELECT') AS can_select
            FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ? AND c.relname = ? AND c.relkind IN ('r', 'p', 'v', 'm', 'f')""";

    private static final String COLUMNS = """
            SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) AS declared, a.atttypid::int AS type_oid,
                   t.typtype, t.typelem::int AS elem_oid, a.attnotnull,
                   CASE WHEN t.typtype = 'd' THEN t.typbasetype::int END AS base_oid,
                   CASE WHEN t.typtype = 'd' THEN pg_catalog.format_type(t.typbasetype, t.typtypmod) END AS base_declared
            FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
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
     * Describes a table.
     *
     * @throws SourceTableException when the table does not exist or cannot be read, saying which GRANT fixes it
     */
    public static SourceTable describe(Connection con, TableRef ref) throws SQLException {
        long oid;
        try (PreparedStatement ps = con.prepareStatement(TABLE)) {
            ps.setString(1, ref.schema());
            ps.setString(2, ref.name());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new SourceTableException("source table " + ref.display() + " does not exist (or its schema is not"
                            + " visible to " + con.getMetaData().getUserName() + "); check the name in the transfer's"
                            + " 'tables' parameter, and that the user has USAGE on schema " + ref.schema());
                }
                oid = rs.getLong(1);
                if (!rs.getBoolean(3)) {
                    throw new SourceTableException("the source user " + con.getMetaData().getUserName()
                            + " may not read " + ref.display() + "; run on the source: GRANT SELECT ON "
                            + ref.quoted() + " TO " + dev.ferry.config.Sql.ident(con.getMetaData().getUserName()) + ";");
                }
            }
        }
        List<SourceColumn> columns = new ArrayList<>();
        List<String> destinationTypes = new ArrayList<>();
        try (PreparedStatement ps = con.prepareStatement(COLUMNS)) {
            ps.setLong(1, oid);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String name = rs.getString("attname");
                    String declared = rs.getString("declared");
                    int typeOid = rs.getInt("type_oid");
                    String typtype = rs.getString("typtype");
                    int elemOid = rs.getInt("elem_oid");
                    int baseOid = rs.getInt("base_oid");
                    String baseDeclared = rs.getString("base_declared");
                    columns.add(new SourceColumn(name, declared, typeOid, typeOid == 17, rs.getBoolean("attnotnull")));
                    destinationTypes.add(destinationType(declared, typeOid, typtype, elemOid, baseOid, baseDeclared));
                }
            }
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
        return new SourceTable(ref, columns, key, destinationTypes);
    }

    /**
     * The type a destination column gets. Built-in types are kept exactly as declared; a domain becomes its
     * built-in base type; any other user-defined or extension type is carried as text (its text form is exact).
     */
    static String destinationType(String declared, int typeOid, String typtype, int elemOid, int baseOid, String baseDeclared) {
        if (typeOid < FIRST_NORMAL_OID) {
            return declared;
        }
        if ("d".equals(typtype) && baseOid > 0 && baseOid < FIRST_NORMAL_OID) {
            return baseDeclared;
        }
        if (elemOid != 0 && declared.endsWith("[]")) {
            return "text[]";
        }
        return "text";
    }
}
