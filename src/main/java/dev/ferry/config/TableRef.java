package dev.ferry.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A schema-qualified table name as written in a transfer's {@code tables} parameter.
 *
 * <p>Names follow SQL rules: a bare name is folded to lower case, a double-quoted one is kept exactly
 * (write {@code ""} for a quote inside it). So {@code shop.orders}, {@code "Shop"."Order Lines"} and
 * {@code public."a,b"} all work; a comma outside quotes separates tables.
 */
public record TableRef(String schema, String name) {

    public TableRef {
        Objects.requireNonNull(schema);
        Objects.requireNonNull(name);
    }

    /** {@code "schema"."name"}, ready for SQL. */
    public String quoted() {
        return Sql.ident(schema) + "." + Sql.ident(name);
    }

    /** For people: {@code schema.name}, with quotes only where SQL would need them. */
    public String display() {
        return Sql.displayIdent(schema) + "." + Sql.displayIdent(name);
    }

    @Override
    public String toString() {
        return display();
    }

    /**
     * Parses a list such as {@code shop.orders, "Shop"."Order Lines"}.
     *
     * @throws IllegalArgumentException naming what is wrong
     */
    public static List<TableRef> parseList(String text) {
        Parser p = new Parser(text == null ? "" : text);
        List<TableRef> tables = new ArrayList<>();
        p.skipSpace();
        while (!p.atEnd()) {
            String first = p.ident();
            p.skipSpace();
            if (!p.consume('.')) {
                throw new IllegalArgumentException("'" + first + "' is not schema-qualified; write it as schema.table");
            }
            p.skipSpace();
            String second = p.ident();
            tables.add(new TableRef(first, second));
            p.skipSpace();
            if (!p.atEnd() && !p.consume(',')) {
                throw new IllegalArgumentException("expected ',' between tables at position " + (p.pos + 1) + " of '" + text + "'");
            }
            p.skipSpace();
        }
        if (tables.isEmpty()) {
            throw new IllegalArgumentException("no table named");
        }
        return tables;
    }

    /** Parses a list of column names, {@code id, "Full Name", email}, with the same rules as table names. */
    public static List<String> parseNames(String text) {
        Parser p = new Parser(text == null ? "" : text);
        List<String> names = new ArrayList<>();
        p.skipSpace();
        while (!p.atEnd()) {
            names.add(p.ident());
            p.skipSpace();
            if (!p.atEnd() && !p.consume(',')) {
                throw new IllegalArgumentException("expected ',' between names at position " + (p.pos + 1) + " of '" + text + "'");
            }
            p.skipSpace();
        }
        if (names.isEmpty()) {
            throw new IllegalArgumentException("no name given");
        }
        return names;
    }

    /**
     * Parses a list of possibly qualified names, {@code email, orders.email, "Shop"."Orders".email}, each into its
     * parts (one to three), with the same rules as table names.
     */
    public static List<List<String>> parsePaths(String text) {
        Parser p = new Parser(text == null ? "" : text);
        List<List<String>> paths = new ArrayList<>();
        p.skipSpace();
        while (!p.atEnd()) {
            List<String> parts = new ArrayList<>();
            parts.add(p.ident());
            p.skipSpace();
            while (p.consume('.')) {
                p.skipSpace();
                parts.add(p.ident());
                p.skipSpace();
            }
            if (parts.size() > 3) {
                throw new IllegalArgumentException("'" + String.join(".", parts) + "' has more than three parts; write column,"
                        + " table.column or schema.table.column");
            }
            paths.add(List.copyOf(parts));
            if (!p.atEnd() && !p.consume(',')) {
                throw new IllegalArgumentException("expected ',' between names at position " + (p.pos + 1) + " of '" + text + "'");
            }
            p.skipSpace();
        }
        if (paths.isEmpty()) {
            throw new IllegalArgumentException("no name given");
        }
        return paths;
    }

    private static final class Parser {
        private final String s;
        private int pos;

        Parser(String s) {
            this.s = s;
        }

        boolean atEnd() {
            return pos >= s.length();
        }

        void skipSpace() {
            while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) {
                pos++;
            }
        }

        boolean consume(char c) {
            if (pos < s.length() && s.charAt(pos) == c) {
                pos++;
                return true;
            }
            return false;
        }

        String ident() {
            if (consume('"')) {
                StringBuilder sb = new StringBuilder();
                while (true) {
                    if (atEnd()) {
                        throw new IllegalArgumentException("unclosed double quote in '" + s + "'");
                    }
                    char c = s.charAt(pos++);
                    if (c == '"') {
                        if (consume('"')) {
                            sb.append('"');
                            continue;
                        }
                        break;
                    }
                    sb.append(c);
                }
                if (sb.length() == 0) {
                    throw new IllegalArgumentException("empty quoted name in '" + s + "'");
                }
                return sb.toString();
            }
            int start = pos;
            while (pos < s.length()) {
                char c = s.charAt(pos);
                if (c == '.' || c == ',' || c == '"' || Character.isWhitespace(c)) {
                    break;
                }
                pos++;
            }
            if (start == pos) {
                throw new IllegalArgumentException("expected a name at position " + (pos + 1) + " of '" + s + "'");
            }
            // unquoted names fold to lower case, as in SQL
            return foldBare(s.substring(start, pos));
        }
    }

    /**
     * A bare (unquoted) name as PostgreSQL folds it: ASCII letters to lower case, every other character as written (its
     * downcasing leaves multibyte characters alone, so a bare {@code É} stays {@code É}).
     */
    public static String foldBare(String name) {
        StringBuilder sb = new StringBuilder(name.length());
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            sb.append(c >= 'A' && c <= 'Z' ? (char) (c + ('a' - 'A')) : c);
        }
        return sb.toString();
    }
}
