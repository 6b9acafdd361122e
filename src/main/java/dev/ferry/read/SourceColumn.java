package dev.ferry.read;

/**
 * A column of a source table as the catalog describes it.
 *
 * @param name         the column name, exactly as in the catalog
 * @param declaredType the type as {@code format_type} writes it on the source, e.g. {@code numeric(12,2)}
 * @param type         the type, resolved through domains, arrays and user-defined types
 * @param notNull      whether the source column is NOT NULL
 */
public record SourceColumn(String name, String declaredType, SourceType type, boolean notNull) {

    /** Whether the batch query reads this column cast to text (see {@link SourceType#readAsText()}). */
    public boolean readAsText() {
        return type.readAsText();
    }
}
