package dev.ferry.read;

/**
 * A column of a source table as the catalog describes it.
 *
 * @param name         the column name, exactly as in the catalog
 * @param declaredType the type as {@code format_type} writes it on the source, e.g. {@code numeric(12,2)}
 * @param typeOid      the type's oid on the source
 * @param bytea        whether values are {@code bytea}, which pgjdbc hands over decoded
 * @param notNull      whether the source column is NOT NULL
 */
public record SourceColumn(String name, String declaredType, int typeOid, boolean bytea, boolean notNull) {
}
