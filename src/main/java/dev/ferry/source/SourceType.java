package dev.ferry.source;

import java.util.List;

/**
 * A source column's type, resolved far enough to give the destination an equivalent one. Domains are resolved to
 * their base type (a destination copy does not re-check domain constraints).
 */
public sealed interface SourceType {

    /** A type built into PostgreSQL (oid below 16384): the same on every server. */
    record BuiltIn(int oid, String declared) implements SourceType {
    }

    /** A user-defined enum, recreated in the destination schema with the same labels in the same order. */
    record Enum(String schema, String name, List<String> labels) implements SourceType {
    }

    /** A user-defined composite type, recreated in the destination schema attribute by attribute. */
    record Composite(String schema, String name, List<Attribute> attributes) implements SourceType {
    }

    /** An attribute of a composite type. */
    record Attribute(String name, SourceType type) {
    }

    /** An array of another type. */
    record ArrayOf(SourceType element) implements SourceType {
    }

    /**
     * A type that belongs to an extension (citext, hstore, ltree, PostGIS...): kept when the destination has the
     * extension, carried as text otherwise.
     *
     * @param modifiers the type modifiers as declared, e.g. {@code (Point,4326)}, or empty
     */
    record Extension(String extension, String name, String modifiers, String declared) implements SourceType {
    }

    /** Any other type (a user-defined base or range type): carried in its exact text form. */
    record Other(String declared, String kind) implements SourceType {
    }

    /**
     * Whether the batch query reads values of this type through a cast to text rather than through the type's output
     * function: {@code bytea}, which pgjdbc would otherwise decode, and {@code xml}, whose output drops an XML
     * declaration the stored value has.
     */
    default boolean readAsText() {
        return this instanceof BuiltIn b && (b.oid() == 17 || b.oid() == 142);
    }
}
