package dev.ferry.config;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a transfer does to column values on their way out of the source: {@code hash}, {@code mask.<column>},
 * {@code nullify} and {@code cast.<column>}. Each rule is turned into an SQL expression that the source computes in the
 * read query itself, so the clear value of a hashed, masked or nullified column never leaves the source.
 *
 * @param rules   every rule, in the order written (hash, mask, nullify, then casts)
 * @param hashKey the HMAC key of {@code hash} ({@code hashKey} or {@code hashKeyFile}); empty without hash rules
 */
public record ColumnRules(List<Rule> rules, Secret hashKey) {

    /** No rules: a transfer that copies values as they are. */
    public static final ColumnRules NONE = new ColumnRules(List.of(), Secret.EMPTY);

    /** What a rule does to a value. */
    public enum Kind {
        /** Lowercase hex HMAC-SHA256 of the value's text. */
        HASH,
        /** Every non-NULL value becomes a constant. */
        MASK_CONSTANT,
        /** The value's text with all but its first and last few characters replaced by {@code *}. */
        MASK_PARTIAL,
        /** NULL, of the column's own type. */
        NULLIFY,
        /** The value (hashed or masked first, if it is) cast to another type. */
        CAST
    }

    /**
     * One rule.
     *
     * @param column    the column, optionally qualified by table ({@code email}, {@code orders.email},
     *                  {@code shop.orders.email}), as parsed names
     * @param kind      what it does
     * @param text      the mask's constant, or the cast's type; null otherwise
     * @param keepFirst a partial mask's characters kept in clear at the start
     * @param keepLast  and at the end
     * @param parameter the parameter that declares it ({@code hash}, {@code mask.email}...), to name it in errors
     */
    public record Rule(List<String> column, Kind kind, String text, int keepFirst, int keepLast, String parameter) {

        public Rule {
            column = List.copyOf(column);
        }

        /** The column's own name (its last part). */
        public String columnName() {
            return column.get(column.size() - 1);
        }

        /** Whether the rule applies to this column of this table. */
        public boolean matches(TableRef table, String columnName) {
            if (!columnName().equals(columnName)) {
                return false;
            }
            return switch (column.size()) {
                case 1 -> true;
                case 2 -> column.get(0).equals(table.name());
                default -> column.get(0).equals(table.schema()) && column.get(1).equals(table.name());
            };
        }

        /** The rule for people: {@code parameter 'mask.email'}, or {@code 'email' in parameter 'hash'}. */
        public String display() {
            return parameter.equals("hash") || parameter.equals("nullify") ? "'" + columnText() + "' in parameter '" + parameter + "'"
                    : "parameter '" + parameter + "'";
        }

        /** The column as written, quoted only where needed. */
        public String columnText() {
            return String.join(".", column.stream().map(Sql::displayIdent).toList());
        }

        /** Whether it hides the value (hash, mask or nullify), rather than only casting it. */
        public boolean hides() {
            return kind != Kind.CAST;
        }
    }

    /** A cast's type: a type name, optionally schema-qualified, with optional modifiers and array brackets; nothing else. */
    static final Pattern CAST_TYPE = Pattern.compile(
            "(?:[A-Za-z_][A-Za-z0-9_$]*\\.)?[A-Za-z_][A-Za-z0-9_$]*(?: [A-Za-z_][A-Za-z0-9_$]*){0,3}"
                    + "(?: ?\\( ?[0-9]{1,9}(?: ?, ?-?[0-9]{1,9})? ?\\))?(?: (?:with|without) time zone)?(?:\\[\\])*");

    private static final Pattern PARTIAL = Pattern.compile("partial\\(\\s*([0-9]{1,4})\\s*,\\s*([0-9]{1,4})\\s*\\)");

    public ColumnRules {
        rules = List.copyOf(rules);
        hashKey = hashKey == null ? Secret.EMPTY : hashKey;
    }

    public boolean isEmpty() {
        return rules.isEmpty();
    }

    /** The rules that apply to a column of a table: at most one that hides it, then at most one cast. */
    public List<Rule> forColumn(TableRef table, String column) {
        List<Rule> found = new ArrayList<>();
        for (Rule r : rules) {
            if (r.matches(table, column)) {
                found.add(r);
            }
        }
        found.sort((a, b) -> Boolean.compare(a.kind() == Kind.CAST, b.kind() == Kind.CAST));
        return found;
    }

    /**
     * The rules that no table of a run has a column for: a typo in a rule must stop the run before anything is written,
     * never let a clear value through. Called with the run's tables and each one's columns.
     *
     * @return one message per such rule, naming it; empty when every rule applies somewhere
     */
    public List<String> unmatched(Map<TableRef, ? extends Collection<String>> columnsByTable) {
        return unmatchedRules(columnsByTable).stream().map(r -> unmatchedProblem(r, columnsByTable.keySet())).toList();
    }

    /** The rules that no table of a run has a column for (see {@link #unmatched}). */
    public List<Rule> unmatchedRules(Map<TableRef, ? extends Collection<String>> columnsByTable) {
        List<Rule> unmatched = new ArrayList<>();
        for (Rule r : rules) {
            boolean found = columnsByTable.entrySet().stream()
                    .anyMatch(e -> e.getValue().stream().anyMatch(c -> r.matches(e.getKey(), c)));
            if (!found) {
                unmatched.add(r);
            }
        }
        return unmatched;
    }

    /** What is wrong with a rule that names no column of the tables. */
    public static String unmatchedProblem(Rule r, Collection<TableRef> tables) {
        return r.display() + " names column " + r.columnText() + ", which no table of the transfer has ("
                + String.join(", ", tables.stream().map(TableRef::display).toList()) + "); correct the name, or remove the rule";
    }

    /**
     * The HMAC inner and outer pads of the key (RFC 2104: the key, or its SHA-256 when longer than the 64-byte block,
     * padded with zeros and XORed with 0x36 and 0x5c), in hex: the source computes {@code sha256(opad || sha256(ipad ||
     * text))} from them, bound as values, so the key itself is never sent.
     */
    public String[] hashPads() {
        byte[] key = hashKey.reveal().getBytes(StandardCharsets.UTF_8);
        if (key.length > 64) {
            try {
                key = java.security.MessageDigest.getInstance("SHA-256").digest(key);
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
        byte[] ipad = new byte[64];
        byte[] opad = new byte[64];
        for (int i = 0; i < 64; i++) {
            byte k = i < key.length ? key[i] : 0;
            ipad[i] = (byte) (k ^ 0x36);
            opad[i] = (byte) (k ^ 0x5c);
        }
        return new String[] {HexFormat.of().formatHex(ipad), HexFormat.of().formatHex(opad)};
    }

    /**
     * Whether two rules' column paths ({@code column}, {@code table.column}, {@code schema.table.column}) can name one
     * column: the same column, and the same table and schema wherever both give one.
     */
    static boolean overlap(List<String> a, List<String> b) {
        for (int i = 1; i <= Math.min(a.size(), b.size()); i++) {
            if (!a.get(a.size() - i).equals(b.get(b.size() - i))) {
                return false;
            }
        }
        return true;
    }

    /**
     * A short name of the hash key that tells keys apart without revealing them: the first 16 hex digits of the key's
     * HMAC of a fixed text; empty without a key. Kept with a table's watermark, so that a changed key is noticed.
     */
    public String keyId() {
        if (hashKey.isEmpty()) {
            return "";
        }
        try {
            javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
            mac.init(new javax.crypto.spec.SecretKeySpec(hashKey.reveal().getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal("ferry hash key id".getBytes(StandardCharsets.UTF_8))).substring(0, 16);
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Reads the rules from a transfer's parameters, adding one message per problem to {@code problems}.
     *
     * @param keyColumns the transfer's {@code key} and {@code cursor} columns (not transformed in incremental modes)
     */
    static ColumnRules parse(Map<String, String> p, Mode mode, List<String> keyColumns, String cursor, String label,
                             Function<String, String> where, List<String> problems) {
        List<Rule> rules = new ArrayList<>();
        for (String list : List.of("hash", "nullify")) {
            String text = TransferSpec.blankToNull(p.get(list));
            if (text == null) {
                continue;
            }
            try {
                for (List<String> column : TableRef.parsePaths(text)) {
                    rules.add(new Rule(column, list.equals("hash") ? Kind.HASH : Kind.NULLIFY, null, 0, 0, list));
                }
            } catch (IllegalArgumentException e) {
                problems.add(where.apply(list) + ": " + label + ": parameter '" + list + "': " + e.getMessage());
            }
        }
        for (Map.Entry<String, String> e : TemplateParameters.family(p, "mask").entrySet()) {
            String param = "mask." + e.getKey();
            List<String> column = columnOf(e.getKey(), param, label, where, problems);
            String value = e.getValue();
            if (column == null) {
                continue;
            }
            if (value.isEmpty()) {
                problems.add(where.apply(param) + ": " + label + ": parameter '" + param + "' has no value; give the constant"
                        + " every value becomes (e.g. \"***\"), or partial(first,last) to keep that many characters in clear");
                continue;
            }
            Matcher m = PARTIAL.matcher(value.trim());
            if (m.matches()) {
                rules.add(new Rule(column, Kind.MASK_PARTIAL, null, Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), param));
            } else {
                rules.add(new Rule(column, Kind.MASK_CONSTANT, value, 0, 0, param));
            }
        }
        for (Map.Entry<String, String> e : TemplateParameters.family(p, "cast").entrySet()) {
            String param = "cast." + e.getKey();
            List<String> column = columnOf(e.getKey(), param, label, where, problems);
            String type = e.getValue().trim().replaceAll("\\s+", " ");
            if (column == null) {
                continue;
            }
            if (!CAST_TYPE.matcher(type).matches()) {
                problems.add(where.apply(param) + ": " + label + ": parameter '" + param + "': '" + e.getValue() + "' is not a"
                        + " type name; write a type as in SQL, e.g. text, numeric(12,2), timestamp(3) with time zone, jsonb, integer[]");
                continue;
            }
            rules.add(new Rule(column, Kind.CAST, type, 0, 0, param));
        }

        // one column, one way of hiding it (and one cast): two would leave which one wins to chance. Rules that can reach
        // one column count, however they name it: email and customers.email both reach customers.email
        for (int i = 0; i < rules.size(); i++) {
            for (int j = 0; j < i; j++) {
                Rule r = rules.get(i);
                Rule other = rules.get(j);
                if (r.hides() == other.hides() && overlap(other.column(), r.column())) {
                    problems.add(where.apply(r.parameter()) + ": " + label + ": column " + r.columnText() + " is given two rules, "
                            + other.display() + " and " + r.display() + "; keep one");
                }
            }
        }
        if (mode != null && mode.incremental()) {
            for (Rule r : rules) {
                String col = r.columnName();
                boolean isCursor = col.equals(cursor);
                if (isCursor || keyColumns.contains(col)) {
                    problems.add(where.apply(r.parameter()) + ": " + label + ": " + r.display() + " would change column "
                            + Sql.displayIdent(col) + ", the transfer's " + (isCursor ? "cursor" : "key") + "; mode " + mode.key()
                            + " reads and matches rows by its clear values (the watermark, the merge), so it is copied as it is;"
                            + " remove the rule, or choose another " + (isCursor ? "cursor" : "key"));
                }
            }
        }
        boolean hashing = rules.stream().anyMatch(r -> r.kind() == Kind.HASH);
        Secret key = hashKey(p, label, where, problems);
        if (hashing && key != null && key.isEmpty()) {
            problems.add(where.apply("hash") + ": " + label + ": parameter 'hash' needs a key; add { name: hashKey, value:"
                    + " \"{{env:FERRY_HASH_KEY}}\" } or { name: hashKeyFile, value: /path/to/key }");
        } else if (!hashing && key != null && !key.isEmpty()) {
            String param = TransferSpec.blankToNull(p.get("hashKey")) != null ? "hashKey" : "hashKeyFile";
            problems.add(where.apply(param) + ": " + label + ": parameter '" + param + "' is set but no column is hashed;"
                    + " add { name: hash, value: \"column, ...\" } or remove it");
        }
        return rules.isEmpty() ? NONE : new ColumnRules(rules, hashing && key != null ? key : Secret.EMPTY);
    }

    private static Secret hashKey(Map<String, String> p, String label, Function<String, String> where, List<String> problems) {
        String inline = p.get("hashKey");
        String file = TransferSpec.blankToNull(p.get("hashKeyFile"));
        if (inline != null && !inline.isEmpty() && file != null) {
            problems.add(where.apply("hashKeyFile") + ": " + label + ": parameters 'hashKey' and 'hashKeyFile' are both set; set one");
            return null;
        }
        if (file == null) {
            return new Secret(inline);
        }
        try {
            return Secret.fromFile(file);
        } catch (java.io.IOException e) {
            problems.add(where.apply("hashKeyFile") + ": " + label + ": parameter 'hashKeyFile': cannot read " + file + " ("
                    + e.getClass().getSimpleName() + ")");
            return null;
        }
    }

    private static List<String> columnOf(String suffix, String param, String label, Function<String, String> where,
                                         List<String> problems) {
        try {
            List<List<String>> paths = TableRef.parsePaths(suffix);
            if (paths.size() == 1) {
                return paths.get(0);
            }
            problems.add(where.apply(param) + ": " + label + ": parameter '" + param + "' names " + paths.size()
                    + " columns; give each its own parameter");
        } catch (IllegalArgumentException e) {
            problems.add(where.apply(param) + ": " + label + ": parameter '" + param + "': " + e.getMessage());
        }
        return null;
    }

    /** Not the record's own: the key's mask is already in Secret, but the rules need no printing either. */
    @Override
    public String toString() {
        return rules.size() + " column rule(s)";
    }
}
