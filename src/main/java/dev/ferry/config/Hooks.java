package dev.ferry.config;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.postgresql.core.NativeQuery;
import org.postgresql.core.Parser;

/**
 * A transfer's hooks: SQL the user writes, run as written. {@code afterLoad} runs on the destination for each table,
 * in the table's last transaction (a full refresh's swap, an incremental table's end), or, for the statements that
 * cannot run in a transaction block (VACUUM...), right after it commits. {@code beforeRun} runs on the source once per
 * run, before any table, in a READ ONLY transaction that is rolled back.
 *
 * <p>Several statements are separated by {@code ;}, split by pgjdbc's own parser (quotes, dollar quotes and comments
 * respected), and run one by one, so a failure names its statement. Variables ({@code {table}}...) are substituted
 * in the text before it runs; an unknown one is a configuration problem.
 *
 * @param afterLoad the afterLoad statements, in the order written (none: empty)
 * @param beforeRun the beforeRun statements, in the order written
 */
public record Hooks(List<Statement> afterLoad, List<Statement> beforeRun) {

    public static final Hooks NONE = new Hooks(List.of(), List.of());

    /** afterLoad's variables: the destination's schema and table (quoted identifiers), the rest string literals. */
    public static final Set<String> AFTER_LOAD_VARIABLES = Set.of("schema", "table", "run_id", "source_table", "transfer");
    /** beforeRun's variables: it runs once per run, before any table. */
    public static final Set<String> BEFORE_RUN_VARIABLES = Set.of("run_id", "transfer");

    /** A {@code {{...}}} placeholder, resolved at startup (see {@link Placeholders}). */
    private static final Pattern PLACEHOLDER = Pattern.compile("(?<!\\\\)\\{\\{(.*?)}}");
    /** A backslash and two opening braces (a literal pair, no group), a placeholder (group 1), or a variable (group 2). */
    private static final Pattern TOKEN = Pattern.compile("\\\\\\{\\{|\\{\\{(.*?)}}|\\{([A-Za-z_][A-Za-z0-9_]*)\\}");

    public Hooks {
        afterLoad = List.copyOf(afterLoad);
        beforeRun = List.copyOf(beforeRun);
    }

    /**
     * One statement of a hook, as written (variables not yet substituted, {@code {{...}}} placeholders as written):
     * messages show it so; only {@link #sql} puts the placeholders' values in, to run it, since a placeholder may
     * hold a secret ({@code {{env:NAME}}}).
     *
     * @param hook afterLoad or beforeRun
     * @param number its place in the hook, from 1
     * @param of how many statements the hook has
     * @param text the statement as written, trimmed
     * @param inTransaction false for a statement PostgreSQL refuses inside a transaction block (it runs after the commit)
     * @param placeholders each placeholder written in the text ({@code {{env:NAME}}}) and its value (none: empty)
     */
    public record Statement(String hook, int number, int of, String text, boolean inTransaction, Map<String, String> placeholders) {

        public Statement {
            placeholders = placeholders == null ? Map.of() : Map.copyOf(placeholders);
        }

        public Statement(String hook, int number, int of, String text, boolean inTransaction) {
            this(hook, number, of, text, inTransaction, Map.of());
        }

        /** The statement to run: its variables replaced by their values (already quoted as SQL), placeholders by theirs. */
        public String sql(Map<String, String> values) {
            return substitute(values, true);
        }

        /** The statement as messages show it: variables replaced, placeholders as written (their values may be secret). */
        public String display(Map<String, String> values) {
            return substitute(values, false);
        }

        private String substitute(Map<String, String> values, boolean resolved) {
            Matcher m = TOKEN.matcher(text);
            StringBuilder sb = new StringBuilder();
            while (m.find()) {
                String v;
                if (m.group(2) != null) {
                    v = values.get(m.group(2));
                } else if (m.group(1) != null) {
                    v = resolved ? placeholders.get(m.group()) : null;
                } else {
                    v = resolved ? "{{" : null; // an escaped \{{, a literal {{ as Placeholders reads it
                }
                m.appendReplacement(sb, Matcher.quoteReplacement(v != null ? v : m.group()));
            }
            m.appendTail(sb);
            return sb.toString();
        }

        /** A server's message about this statement with each placeholder's value replaced by the placeholder as written. */
        public String redact(String message) {
            if (message == null) {
                return null;
            }
            String out = message;
            for (Map.Entry<String, String> p : placeholders.entrySet()) {
                if (!p.getValue().isBlank()) {
                    out = out.replace(p.getValue(), p.getKey());
                }
            }
            return out;
        }

        /** How a message names it: {@code afterLoad statement 2 of 3}. */
        public String label() {
            return hook + " statement " + number + " of " + of;
        }

        /** As written: never a placeholder's value. */
        @Override
        public String toString() {
            return label() + ": " + shown(text);
        }
    }

    /** Whether a statement has {@code {{...}}} placeholders, whose values {@link #resolved} puts in. */
    public boolean hasPlaceholders() {
        return java.util.stream.Stream.concat(afterLoad.stream(), beforeRun.stream()).anyMatch(s -> PLACEHOLDER.matcher(s.text()).find());
    }

    /**
     * These hooks with their placeholders' values, for running them: {@code resolve} gives the value of a placeholder
     * as written ({@code {{env:NAME}}}); the statements' text stays as written, for messages.
     */
    public Hooks resolved(Function<String, String> resolve) {
        return new Hooks(resolved(afterLoad, resolve), resolved(beforeRun, resolve));
    }

    private static List<Statement> resolved(List<Statement> statements, Function<String, String> resolve) {
        List<Statement> out = new ArrayList<>();
        for (Statement s : statements) {
            Map<String, String> values = new java.util.LinkedHashMap<>();
            Matcher m = PLACEHOLDER.matcher(s.text());
            while (m.find()) {
                values.computeIfAbsent(m.group(), resolve);
            }
            out.add(new Statement(s.hook(), s.number(), s.of(), s.text(), s.inTransaction(), values));
        }
        return out;
    }

    /** A string value as an SQL literal ({@code E'...'} when it holds a backslash, whatever standard_conforming_strings says). */
    public static String literal(String value) {
        String quoted = value.replace("'", "''");
        return value.indexOf('\\') >= 0 ? "E'" + quoted.replace("\\", "\\\\") + "'" : "'" + quoted + "'";
    }

    /** A statement shown in a message: on one line, at most 300 characters. */
    public static String shown(String sql) {
        String one = sql.strip().replaceAll("\\s+", " ");
        return one.length() <= 300 ? one : one.substring(0, 297) + "...";
    }

    /** Reads the afterLoad and beforeRun parameters, adding one message per problem (with where it is written). */
    static Hooks parse(Map<String, String> p, String label, Function<String, String> where, List<String> problems) {
        List<Statement> afterLoad = statements(p, "afterLoad", AFTER_LOAD_VARIABLES, label, where, problems);
        List<Statement> beforeRun = statements(p, "beforeRun", BEFORE_RUN_VARIABLES, label, where, problems);
        for (Statement s : beforeRun) {
            if (!s.inTransaction()) {
                problems.add(where.apply("beforeRun") + ": " + label + ": parameter 'beforeRun': " + s.label() + " ("
                        + shown(s.text()) + ") cannot run in a transaction block, and beforeRun runs in a read-only one on the"
                        + " source; remove it (maintenance belongs to the source's owner, or to afterLoad at the destination)");
            }
        }
        return afterLoad.isEmpty() && beforeRun.isEmpty() ? NONE : new Hooks(afterLoad, beforeRun);
    }

    private static List<Statement> statements(Map<String, String> p, String hook, Set<String> variables, String label,
                                              Function<String, String> where, List<String> problems) {
        String text = p.get(hook);
        if (text == null || text.isBlank()) {
            return List.of();
        }
        String at = where.apply(hook) + ": " + label + ": parameter '" + hook + "': ";
        List<String> parts = new ArrayList<>();
        // a one-line hook (a > block keeps a final newline, so it is stripped first) whose -- comment holds a ';': YAML
        // folded a multi-line value (quoted or >), and the comment runs to the end, hiding the statements after it
        boolean oneLine = text.strip().indexOf('\n') < 0;
        try {
            // pgjdbc's own splitting, as it splits a multi-statement string it is given: no parameters, no escapes
            for (NativeQuery q : Parser.parseJdbcSql(text, true, false, true, false, false)) {
                String hiding = oneLine ? hidingComment(q.nativeSql) : null;
                if (hiding != null) {
                    problems.add(at + "a -- comment runs to the end of the hook, which is one line, hiding what follows it ("
                            + shown(hiding) + "); YAML folds the lines of a quoted or > value into one: write the hook"
                            + " as a | block, or use /* */ comments");
                }
                if (!blank(q.nativeSql)) {
                    parts.add(q.nativeSql.strip());
                }
            }
        } catch (SQLException e) {
            problems.add(at + "cannot be split into statements: " + e.getMessage());
            return List.of();
        }
        List<Statement> statements = new ArrayList<>();
        for (int i = 0; i < parts.size(); i++) {
            String s = parts.get(i);
            Statement st = new Statement(hook, i + 1, parts.size(), s, inTransactionBlock(s));
            Matcher m = TOKEN.matcher(s);
            while (m.find()) {
                if (m.group(2) != null && !variables.contains(m.group(2))) {
                    String other = hook.equals("beforeRun") && AFTER_LOAD_VARIABLES.contains(m.group(2))
                            ? " ({" + m.group(2) + "} is afterLoad's: beforeRun runs once per run, before any table)" : "";
                    problems.add(at + st.label() + " uses {" + m.group(2) + "}, which is not a variable" + other + "; "
                            + hook + " knows " + known(variables) + " (a literal such as '{a}' reads as a variable: write"
                            + " ARRAY['a'] or '{\"a\"}')");
                }
            }
            String refused = refused(words(s));
            if (refused != null) {
                problems.add(at + st.label() + " (" + shown(s) + ") " + refused);
            }
            statements.add(st);
        }
        return statements;
    }

    private static String known(Set<String> variables) {
        return variables.stream().sorted().map(v -> "{" + v + "}").reduce((a, b) -> a + ", " + b).orElse("");
    }

    /**
     * Why a statement may not be a hook's: transaction control would commit or end the transaction Ferry commits the
     * load with (and, in beforeRun, its read-only guard), and a session setting would outlive the hook in the pooled
     * session Ferry reuses. Null when it may.
     */
    static String refused(List<String> w) {
        String first = w.isEmpty() ? "" : w.get(0);
        switch (first) {
            case "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE" -> {
                return "controls the transaction, which Ferry opens and commits itself (the hook's statements run in the"
                        + " table's last transaction); remove it";
            }
            case "PREPARE" -> {
                if (w.size() > 1 && w.get(1).equals("TRANSACTION")) {
                    return "controls the transaction, which Ferry opens and commits itself; remove it";
                }
            }
            case "SET" -> {
                if (w.size() < 2 || !w.get(1).equals("LOCAL")) {
                    return "would change the session, which Ferry reuses for other work after the hook; write SET LOCAL,"
                            + " which lasts until the transaction ends";
                }
            }
            case "RESET", "DISCARD" -> {
                return "would change the session, which Ferry reuses for other work after the hook; remove it";
            }
            default -> {
                // allowed
            }
        }
        return null;
    }

    /**
     * Whether PostgreSQL runs the statement inside a transaction block, decided by its leading words, from the
     * PostgreSQL documentation of each command that refuses one: VACUUM; CREATE INDEX CONCURRENTLY and DROP INDEX
     * CONCURRENTLY; REINDEX with CONCURRENTLY, and REINDEX SCHEMA, DATABASE or SYSTEM; CLUSTER without a table name;
     * ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY; CREATE and DROP DATABASE and TABLESPACE; ALTER SYSTEM.
     */
    public static boolean inTransactionBlock(String sql) {
        List<String> w = words(sql);
        if (w.isEmpty()) {
            return true;
        }
        String w0 = w.get(0);
        String w1 = w.size() > 1 ? w.get(1) : "";
        String w2 = w.size() > 2 ? w.get(2) : "";
        String w3 = w.size() > 3 ? w.get(3) : "";
        switch (w0) {
            case "VACUUM" -> {
                return false;
            }
            case "CREATE" -> {
                boolean index = w1.equals("INDEX") && w2.equals("CONCURRENTLY")
                        || w1.equals("UNIQUE") && w2.equals("INDEX") && w3.equals("CONCURRENTLY");
                return !(index || w1.equals("DATABASE") || w1.equals("TABLESPACE"));
            }
            case "DROP" -> {
                return !(w1.equals("INDEX") && w2.equals("CONCURRENTLY") || w1.equals("DATABASE") || w1.equals("TABLESPACE"));
            }
            case "REINDEX" -> {
                // REINDEX [ ( option, ... ) ] { INDEX | TABLE | SCHEMA | DATABASE | SYSTEM } [ CONCURRENTLY ] name
                for (String x : w) {
                    if (x.equals("CONCURRENTLY") || x.equals("SCHEMA") || x.equals("DATABASE") || x.equals("SYSTEM")) {
                        return false;
                    }
                    if (x.equals("INDEX") || x.equals("TABLE")) {
                        return !w.contains("CONCURRENTLY");
                    }
                }
                return true;
            }
            case "CLUSTER" -> {
                // CLUSTER [ VERBOSE ] or CLUSTER ( options ): no table name
                int i = 1;
                if (i < w.size() && w.get(i).equals("(")) {
                    while (i < w.size() && !w.get(i).equals(")")) {
                        i++;
                    }
                    i++;
                } else if (i < w.size() && w.get(i).equals("VERBOSE")) {
                    i++;
                }
                return i < w.size();
            }
            case "ALTER" -> {
                if (w1.equals("SYSTEM")) {
                    return false;
                }
                return !(w1.equals("TABLE") && w.contains("DETACH") && w.get(w.size() - 1).equals("CONCURRENTLY"));
            }
            default -> {
                return true;
            }
        }
    }

    /**
     * The first {@code --} comment of a statement (outside quotes, dollar quotes and block comments) that holds a
     * {@code ;}, from its {@code --} on; null when none does.
     */
    static String hidingComment(String sql) {
        char[] c = sql.toCharArray();
        for (int i = 0; i < c.length; i++) {
            switch (c[i]) {
                case '\'' -> i = Parser.parseSingleQuotes(c, i, true);
                case '"' -> i = Parser.parseDoubleQuotes(c, i);
                case '$' -> i = Parser.parseDollarQuotes(c, i);
                case '/' -> i = Parser.parseBlockComment(c, i);
                case '-' -> {
                    int end = Parser.parseLineComment(c, i);
                    if (end > i) {
                        String comment = sql.substring(i, Math.min(end + 1, c.length));
                        if (comment.indexOf(';') >= 0) {
                            return comment;
                        }
                        i = end;
                    }
                }
                default -> {
                    // SQL
                }
            }
        }
        return null;
    }

    /** Whether a statement is only whitespace and comments. */
    static boolean blank(String sql) {
        int n = sql.length();
        int i = 0;
        while (i < n) {
            int after = afterComment(sql, i);
            if (after > i) {
                i = after;
            } else if (Character.isWhitespace(sql.charAt(i))) {
                i++;
            } else {
                return false;
            }
        }
        return true;
    }

    /** Where a comment starting at {@code i} ends (the index after it); {@code i} when none starts there. */
    private static int afterComment(String sql, int i) {
        int n = sql.length();
        if (i + 1 < n && sql.charAt(i) == '-' && sql.charAt(i + 1) == '-') {
            int nl = sql.indexOf('\n', i);
            return nl < 0 ? n : nl + 1;
        }
        if (i + 1 < n && sql.charAt(i) == '/' && sql.charAt(i + 1) == '*') {
            return Parser.parseBlockComment(sql.toCharArray(), i) + 1;
        }
        return i;
    }

    /**
     * The statement's words, upper-cased, outside comments: a quoted identifier is {@code "}, a parenthesis itself,
     * other punctuation dropped; the words stop at the first string literal or dollar quote (what follows is values).
     */
    static List<String> words(String sql) {
        List<String> words = new ArrayList<>();
        int n = sql.length();
        int i = 0;
        while (i < n) {
            char c = sql.charAt(i);
            int after = afterComment(sql, i);
            if (after > i) {
                i = after;
            } else if (c == '"') {
                i = Parser.parseDoubleQuotes(sql.toCharArray(), i) + 1;
                words.add("\"");
            } else if (c == '\'' || c == '$') {
                break;
            } else if (Character.isLetter(c) || c == '_') {
                int start = i;
                while (i < n && (Character.isLetterOrDigit(sql.charAt(i)) || sql.charAt(i) == '_' || sql.charAt(i) == '$')) {
                    i++;
                }
                words.add(sql.substring(start, i).toUpperCase(Locale.ROOT));
            } else {
                if (c == '(' || c == ')') {
                    words.add(String.valueOf(c));
                }
                i++;
            }
        }
        return words;
    }
}
