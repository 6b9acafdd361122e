package dev.ferry.source;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Resolves source column types through domains, arrays, enums, composites and extensions, from the catalog. */
final class SourceTypes {

    private static final String TYPE = """
            SELECT t.typtype, t.typelem::int, t.typbasetype::int, t.typtypmod, t.typrelid::int, t.typcategory,
                   n.nspname, t.typname, pg_catalog.format_type(t.oid, ?), e.extname
            FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
            LEFT JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e'
            LEFT JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
            WHERE t.oid = ?""";

    private final Connection con;
    private final Map<String, SourceType> cache = new HashMap<>();

    SourceTypes(Connection con) {
        this.con = con;
    }

    /**
     * Resolves a column's type. Built-in scalar and array types need no lookup: {@code declared} is how
     * {@code format_type} wrote the column's type, and built-in types are the same on every server.
     */
    SourceType resolve(int oid, int typmod, String declared) throws SQLException {
        if (oid < SourceCatalog.FIRST_NORMAL_OID) {
            return new SourceType.BuiltIn(oid, declared);
        }
        return resolve(oid, typmod);
    }

    SourceType resolve(int oid, int typmod) throws SQLException {
        String cacheKey = oid + "/" + typmod;
        SourceType cached = cache.get(cacheKey);
        if (cached != null) {
            return cached;
        }
        SourceType t = lookup(oid, typmod, 0);
        cache.put(cacheKey, t);
        return t;
    }

    private SourceType lookup(int oid, int typmod, int depth) throws SQLException {
        if (depth > 20) {
            throw new SQLException("type " + oid + " nests more than 20 levels deep");
        }
        String typtype;
        int elem;
        int base;
        int baseTypmod;
        int relid;
        String category;
        String schema;
        String name;
        String declared;
        String extension;
        try (PreparedStatement ps = con.prepareStatement(TYPE)) {
            ps.setInt(1, typmod);
            ps.setInt(2, oid);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new SQLException("type " + oid + " not found in the source catalog");
                }
                typtype = rs.getString(1);
                elem = rs.getInt(2);
                base = rs.getInt(3);
                baseTypmod = rs.getInt(4);
                relid = rs.getInt(5);
                category = rs.getString(6);
                schema = rs.getString(7);
                name = rs.getString(8);
                declared = rs.getString(9);
                extension = rs.getString(10);
            }
        }
        if ("d".equals(typtype)) {
            return lookup(base, baseTypmod, depth + 1);
        }
        if ("A".equals(category) && elem != 0) {
            SourceType element = lookup(elem, typmod, depth + 1);
            return element instanceof SourceType.BuiltIn && oid < SourceCatalog.FIRST_NORMAL_OID
                    ? new SourceType.BuiltIn(oid, declared) : new SourceType.ArrayOf(element);
        }
        if (oid < SourceCatalog.FIRST_NORMAL_OID) {
            return new SourceType.BuiltIn(oid, declared);
        }
        if (extension != null) {
            int paren = declared.indexOf('(');
            String modifiers = paren >= 0 && declared.endsWith(")") ? declared.substring(paren) : "";
            return new SourceType.Extension(extension, name, modifiers, declared);
        }
        if ("e".equals(typtype)) {
            List<String> labels = new ArrayList<>();
            try (PreparedStatement ps = con.prepareStatement(
                    "SELECT enumlabel FROM pg_catalog.pg_enum WHERE enumtypid = ? ORDER BY enumsortorder")) {
                ps.setInt(1, oid);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        labels.add(rs.getString(1));
                    }
                }
            }
            return new SourceType.Enum(schema, name, labels);
        }
        if ("c".equals(typtype)) {
            List<int[]> attrTypes = new ArrayList<>();
            List<String> names = new ArrayList<>();
            try (PreparedStatement ps = con.prepareStatement("SELECT attname, atttypid::int, atttypmod FROM pg_catalog.pg_attribute"
                    + " WHERE attrelid = ? AND attnum > 0 AND NOT attisdropped ORDER BY attnum")) {
                ps.setInt(1, relid);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        names.add(rs.getString(1));
                        attrTypes.add(new int[] {rs.getInt(2), rs.getInt(3)});
                    }
                }
            }
            List<SourceType.Attribute> attrs = new ArrayList<>();
            for (int i = 0; i < names.size(); i++) {
                attrs.add(new SourceType.Attribute(names.get(i), lookup(attrTypes.get(i)[0], attrTypes.get(i)[1], depth + 1)));
            }
            return new SourceType.Composite(schema, name, attrs);
        }
        return new SourceType.Other(declared, switch (typtype) {
            case "r" -> "range type";
            case "m" -> "multirange type";
            case "p" -> "pseudo-type";
            default -> "base type";
        });
    }
}
