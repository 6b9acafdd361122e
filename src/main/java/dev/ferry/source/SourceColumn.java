package dev.ferry.source;

/**
 * A column of a source table as the catalog describes it.
 *
 * @param name         the column name, exactly as in the catalog
 * @param declaredType the type as {@code format_type} writes it on the source, e.g. {@code numeric(12,2)}
 * @param type         the type, resolved through domains, arrays and user-defined types
 * @param notNull      whether the source column is NOT NULL
 * @param typeOid      the column's type oid on the source, as declared (a domain's own oid)
 * @param transform    what the read query does to its values (a hash, a mask, a cast...), or null: then the name,
 *                     types and nullability above are of the result (a hashed column is a text column downstream)
 */
public record SourceColumn(String name, String declaredType, SourceType type, boolean notNull, int typeOid,
                           ColumnTransform transform) {

    /** A column read as it is. */
    public SourceColumn(String name, String declaredType, SourceType type, boolean notNull, int typeOid) {
        this(name, declaredType, type, notNull, typeOid, null);
    }

    /**
     * Whether values of this column have the same binary COPY form on every PostgreSQL server: a built-in type, not
     * a domain over one (a domain array would carry the domain's oid).
     */
    public boolean binarySafe() {
        return typeOid < SourceCatalog.FIRST_NORMAL_OID;
    }

    /** Whether this is an {@code xml} column (read through a cast to text, to keep an XML declaration). */
    public boolean xml() {
        return typeOid == 142;
    }

    /** Whether the batch query reads this column cast to text (see {@link SourceType#readAsText()}). */
    public boolean readAsText() {
        return type.readAsText();
    }
}
