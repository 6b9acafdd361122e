package dev.ferry.config;

import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/** Identifier quoting. Every identifier Ferry puts into SQL goes through {@link #ident(String)}. */
public final class Sql {

    private static final Pattern PLAIN = Pattern.compile("[a-z_][a-z0-9_$]*");

    private Sql() {
    }

    /** Double-quotes an identifier, doubling any quote inside it. */
    public static String ident(String name) {
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    public static String qualified(String schema, String name) {
        return ident(schema) + "." + ident(name);
    }

    /** A comma-separated list of quoted identifiers. */
    public static String idents(List<String> names) {
        return names.stream().map(Sql::ident).collect(Collectors.joining(", "));
    }

    /** An identifier for messages: bare when SQL would read it back the same, quoted otherwise. */
    public static String displayIdent(String name) {
        return PLAIN.matcher(name).matches() ? name : ident(name);
    }
}
