package dev.ferry.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Which source tables a transfer copies: its {@code tables} parameter, names and patterns, less its {@code excludeTables}.
 *
 * <p>Each entry is {@code schema.table}, each part written as in SQL (a bare part folds to lower case, a double-quoted
 * one is exact, {@code ""} a quote inside it) with two wildcards in its bare chunks: {@code *} any run of characters,
 * {@code ?} one character. Quoted chunks and bare ones may follow each other in one part, so a literal {@code *} or
 * {@code ?} is written quoted: {@code shop."order*"} names the table {@code order*}, {@code "Sales Data"."Q"*} matches
 * the tables of {@code Sales Data} whose names start with {@code Q}. An entry without a wildcard names one table
 * (explicit: any relation, which must exist, as before patterns); an entry with one is a pattern, matched at each run's
 * start against the source's catalog (source.TableMatch) as a SQL {@code LIKE} pattern, kept here ready for it.
 *
 * @param include the {@code tables} entries, in the order written
 * @param exclude the {@code excludeTables} entries (empty when not set)
 * @param text    the {@code tables} parameter as written, for logs and messages
 */
public record TableSelection(List<Entry> include, List<Entry> exclude, String text) {

    public TableSelection {
        include = List.copyOf(include);
        exclude = List.copyOf(exclude);
    }

    /**
     * One entry: each part as a {@code LIKE} pattern (escape {@code \}), and the table it names when it has no wildcard.
     *
     * @param written the entry as written, for messages
     */
    public record Entry(String schemaLike, String nameLike, TableRef exact, String written) {

        /** Whether this entry is a pattern (has a wildcard), rather than one table's name. */
        public boolean pattern() {
            return exact == null;
        }

        /** Whether the table matches this entry: the same rule as the source query's LIKE. */
        public boolean matches(TableRef t) {
            return like(schemaLike, t.schema()) && like(nameLike, t.name());
        }
    }

    /** A selection of these explicit tables only (tests, and code that builds a transfer by hand). */
    public static TableSelection of(List<TableRef> tables) {
        List<Entry> entries = new ArrayList<>();
        for (TableRef t : tables) {
            entries.add(new Entry(escape(t.schema()), escape(t.name()), t, t.display()));
        }
        return new TableSelection(entries, List.of(), String.join(", ", tables.stream().map(TableRef::display).toList()));
    }

    /**
     * A selection of the tables and patterns written in {@code text} (the {@code tables} syntax), nothing excluded.
     *
     * @throws IllegalArgumentException naming what is wrong, and where
     */
    public static TableSelection of(String text) {
        return new TableSelection(parseList(text), List.of(), text.strip());
    }

    /** Whether any {@code tables} entry is a pattern: the run's tables are then found at its start. */
    public boolean hasPatterns() {
        return include.stream().anyMatch(Entry::pattern);
    }

    /** The tables named explicitly in {@code tables} (no wildcard), in the order written, excluded ones left out. */
    public List<TableRef> explicit() {
        List<TableRef> out = new ArrayList<>();
        for (Entry e : include) {
            if (!e.pattern() && !excluded(e.exact()) && !out.contains(e.exact())) {
                out.add(e.exact());
            }
        }
        return out;
    }

    /** Whether {@code excludeTables} leaves this table out. */
    public boolean excluded(TableRef t) {
        return exclude.stream().anyMatch(e -> e.matches(t));
    }

    /** Whether the transfer copies this table (a name it lists, or one its patterns match), excludeTables applied. */
    public boolean selects(TableRef t) {
        return include.stream().anyMatch(e -> e.matches(t)) && !excluded(t);
    }

    /** The patterns, as written, for messages. */
    public List<String> patterns() {
        return include.stream().filter(Entry::pattern).map(Entry::written).toList();
    }

    @Override
    public String toString() {
        return text;
    }

    /**
     * Reads {@code tables} and {@code excludeTables}, adding one message per problem (with file:line) to {@code problems};
     * null when {@code tables} is missing or cannot be read.
     */
    static TableSelection parse(Map<String, String> p, String label, Function<String, String> where, List<String> problems) {
        String tablesText = TransferSpec.blankToNull(p.get("tables"));
        if (tablesText == null) {
            return null; // reported as a missing parameter by TransferSpec
        }
        List<Entry> include = null;
        List<Entry> exclude = List.of();
        try {
            include = parseList(tablesText);
        } catch (IllegalArgumentException e) {
            problems.add(where.apply("tables") + ": " + label + ": parameter 'tables': " + e.getMessage());
        }
        String excludeText = TransferSpec.blankToNull(p.get("excludeTables"));
        if (excludeText != null) {
            try {
                exclude = parseList(excludeText);
            } catch (IllegalArgumentException e) {
                problems.add(where.apply("excludeTables") + ": " + label + ": parameter 'excludeTables': " + e.getMessage());
                return null;
            }
        }
        if (include == null) {
            return null;
        }
        TableSelection s = new TableSelection(include, exclude, tablesText);
        for (Entry e : include) {
            if (!e.pattern() && s.excluded(e.exact())) {
                problems.add(where.apply("excludeTables") + ": " + label + ": " + e.exact().display() + " is named in 'tables'"
                        + " and excluded by 'excludeTables'; remove it from one of them");
            }
        }
        if (!include.isEmpty() && s.explicit().isEmpty() && !s.hasPatterns()) {
            problems.add(where.apply("excludeTables") + ": " + label + ": 'excludeTables' leaves no table to copy");
        }
        return s;
    }

    /**
     * Parses a list of entries such as {@code shop.*, "Sales Data".*, public.orders}.
     *
     * @throws IllegalArgumentException naming what is wrong, and where
     */
    static List<Entry> parseList(String text) {
        Parser p = new Parser(text);
        List<Entry> entries = new ArrayList<>();
        p.skipSpace();
        while (!p.atEnd()) {
            int start = p.pos;
            Part schema = p.part();
            p.skipSpace();
            if (!p.consume('.')) {
                throw new IllegalArgumentException("'" + text.substring(start, p.pos).strip() + "' is not schema-qualified; write it as schema.table");
            }
            p.skipSpace();
            Part name = p.part();
            String written = text.substring(start, p.pos).strip();
            TableRef exact = schema.wild || name.wild ? null : new TableRef(schema.literal, name.literal);
            entries.add(new Entry(schema.like, name.like, exact, written));
            p.skipSpace();
            if (p.peek('.')) {
                throw new IllegalArgumentException("'" + text.substring(start, p.pos + 1).strip() + "...' has more than two parts;"
                        + " write schema.table (a name with a dot in it is written in double quotes)");
            }
            if (!p.atEnd() && !p.consume(',')) {
                throw new IllegalArgumentException("expected ',' between tables at position " + (p.pos + 1) + " of '" + text + "'");
            }
            p.skipSpace();
        }
        if (entries.isEmpty()) {
            throw new IllegalArgumentException("no table named");
        }
        return entries;
    }

    /** One part of an entry: its LIKE pattern, whether it has a wildcard, and the name it is when it has none. */
    private record Part(String like, boolean wild, String literal) {
    }

    /** {@code s} as a LIKE pattern that matches only itself. */
    static String escape(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c == '%' || c == '_' || c == '\\') {
                sb.append('\\');
            }
            sb.append(c);
        }
        return sb.toString();
    }

    /** SQL LIKE (escape {@code \}), as PostgreSQL applies it to names: case-sensitive, whole string. */
    static boolean like(String pattern, String s) {
        StringBuilder regex = new StringBuilder();
        for (int i = 0; i < pattern.length(); i++) {
            char c = pattern.charAt(i);
            if (c == '\\' && i + 1 < pattern.length()) {
                regex.append(java.util.regex.Pattern.quote(String.valueOf(pattern.charAt(++i))));
            } else if (c == '%') {
                regex.append("(?s:.*)");
            } else if (c == '_') {
                regex.append("(?s:.)");
            } else {
                regex.append(java.util.regex.Pattern.quote(String.valueOf(c)));
            }
        }
        return s.matches(regex.toString());
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

        boolean peek(char c) {
            return pos < s.length() && s.charAt(pos) == c;
        }

        void skipSpace() {
            while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) {
                pos++;
            }
        }

        boolean consume(char c) {
            if (peek(c)) {
                pos++;
                return true;
            }
            return false;
        }

        /** Quoted and bare chunks, one after another, up to a dot, a comma, a space or the end. */
        Part part() {
            StringBuilder like = new StringBuilder();
            StringBuilder literal = new StringBuilder();
            boolean wild = false;
            int start = pos;
            while (!atEnd()) {
                char c = s.charAt(pos);
                if (c == '"') {
                    pos++;
                    int quoted = 0;
                    while (true) {
                        if (atEnd()) {
                            throw new IllegalArgumentException("unclosed double quote at position " + (start + 1) + " of '" + s + "'");
                        }
                        char q = s.charAt(pos++);
                        if (q == '"') {
                            if (!consume('"')) {
                                break;
                            }
                        }
                        like.append(escape(String.valueOf(q)));
                        literal.append(q);
                        quoted++;
                    }
                    if (quoted == 0) {
                        throw new IllegalArgumentException("empty quoted name at position " + (start + 1) + " of '" + s + "'");
                    }
                } else if (c == '.' || c == ',' || Character.isWhitespace(c)) {
                    break;
                } else {
                    pos++;
                    // bare characters fold to lower case, as in SQL
                    String folded = TableRef.foldBare(String.valueOf(c));
                    if (c == '*') {
                        like.append('%');
                        wild = true;
                    } else if (c == '?') {
                        like.append('_');
                        wild = true;
                    } else {
                        like.append(escape(folded));
                    }
                    literal.append(folded);
                }
            }
            if (start == pos) {
                throw new IllegalArgumentException("expected a name or a pattern at position " + (pos + 1) + " of '" + s + "'");
            }
            if (literal.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length > ReservedNames.MAX_NAME_BYTES && !wild) {
                throw new IllegalArgumentException("'" + s.substring(start, pos) + "' is longer than PostgreSQL's "
                        + ReservedNames.MAX_NAME_BYTES + "-byte limit for names, so no table has it");
            }
            return new Part(like.toString(), wild, literal.toString());
        }
    }
}
