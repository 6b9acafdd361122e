package dev.ferry.config;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Where a transfer's tables land at the destination: the schema ({@code destinationSchema}, instead of the destination
 * connection's), and each table's name: its {@code rename.<table>}, else the {@code destinationTable} template with
 * {@code {schema}} and {@code {table}} replaced by the source table's schema and name, else the source table's own
 * name. The one place a destination table's name is derived from its source table ({@link #nameOf}).
 *
 * @param schema   the destination schema of this transfer, or null for the destination connection's
 * @param template the destinationTable template, or null for the source table's name
 * @param renames  explicit names, by source table
 */
public record DestinationNames(String schema, String template, Map<TableRef, String> renames) {

    /** Nothing set: each table under its own name, in the destination connection's schema. */
    public static final DestinationNames NONE = new DestinationNames(null, null, Map.of());

    private static final String SCHEMA = "{schema}";
    private static final String TABLE = "{table}";

    public DestinationNames {
        renames = renames == null ? Map.of() : Map.copyOf(renames);
    }

    /** The name {@code source} is written to at the destination (in the destination schema), exactly as PostgreSQL stores it. */
    public String nameOf(TableRef source) {
        String renamed = renames.get(source);
        if (renamed != null) {
            return renamed;
        }
        if (template == null) {
            return source.name();
        }
        // one pass: a source name that itself holds "{table}" is not replaced again
        StringBuilder name = new StringBuilder();
        for (int i = 0; i < template.length(); ) {
            if (template.startsWith(SCHEMA, i)) {
                name.append(source.schema());
                i += SCHEMA.length();
            } else if (template.startsWith(TABLE, i)) {
                name.append(source.name());
                i += TABLE.length();
            } else {
                name.append(template.charAt(i++));
            }
        }
        return name.toString();
    }

    /**
     * What is wrong with the destination names of these tables, one message per problem, each naming the table(s) and
     * the fix: a name longer than PostgreSQL's 63 bytes (it would cut it, and two names could then meet), a name of
     * Ferry's own, or two tables that would land on one name. For tables known only at a run's start (patterns).
     */
    public List<String> problems(List<TableRef> tables) {
        return check(tables).stream().map(Problem::message).toList();
    }

    /** A problem of one table's destination name. */
    private record Problem(TableRef table, String message) {
    }

    private List<Problem> check(List<TableRef> tables) {
        List<Problem> problems = new ArrayList<>();
        Map<String, TableRef> seen = new LinkedHashMap<>();
        for (TableRef t : tables) {
            String name = nameOf(t);
            int bytes = name.getBytes(StandardCharsets.UTF_8).length;
            if (bytes > ReservedNames.MAX_NAME_BYTES) {
                problems.add(new Problem(t, t.display() + " would be written to a destination table named " + Sql.displayIdent(name)
                        + ", which is " + bytes + " bytes long, more than PostgreSQL's " + ReservedNames.MAX_NAME_BYTES + "-byte limit"
                        + " for names (it would cut it); give it a shorter name: { name: " + renameParameter(t) + ", value: ... }"
                        + (template != null && !renames.containsKey(t) ? ", or shorten destinationTable" : "")));
                continue;
            }
            if (ReservedNames.isFerrys(name)) {
                problems.add(new Problem(t, t.display() + " would be written to a destination table named " + Sql.displayIdent(name)
                        + ", but names starting with " + ReservedNames.PREFIX + " are " + ReservedNames.TABLES + "; "
                        + (name.equals(t.name()) ? "to copy it, list a view of it under another name, e.g. CREATE VIEW "
                        + Sql.qualified(t.schema(), t.name().substring(1)) + " AS SELECT * FROM " + t.quoted() + ", or rename it: { name: "
                        + renameParameter(t) + ", value: " + name.substring(1) + " }" : "give it another name")));
                continue;
            }
            TableRef other = seen.putIfAbsent(name, t);
            if (other != null && !other.equals(t)) {
                problems.add(new Problem(renames.containsKey(t) || !renames.containsKey(other) ? t : other, other.display() + " and "
                        + t.display() + " would both be written to the destination table " + Sql.displayIdent(name) + "; give one of"
                        + " them another name, e.g. { name: " + renameParameter(t) + ", value: " + t.schema() + "_" + t.name() + " }"
                        + (template == null || !template.contains(SCHEMA)
                        ? ", or put the source schema in every name: { name: destinationTable, value: \"{schema}_{table}\" }" : "")));
            }
        }
        return problems;
    }

    /** The parameter that renames a table, as a transfer writes it: {@code rename.shop.orders}. */
    static String renameParameter(TableRef t) {
        return "rename." + t.display();
    }

    /**
     * Reads {@code destinationSchema}, {@code destinationTable} and the {@code rename.*} family, checked against the
     * transfer's tables, adding one message per problem (with where it is written) to {@code problems}.
     */
    static DestinationNames parse(Map<String, String> p, TableSelection selection, String label, Function<String, String> where,
                                  List<String> problems) {
        List<TableRef> tables = selection.explicit();
        int before = problems.size();
        String schema = TransferSpec.blankToNull(p.get("destinationSchema"));
        if (schema != null) {
            String reserved = ReservedNames.schemaProblem(schema);
            if (reserved != null) {
                problems.add(where.apply("destinationSchema") + ": " + label + ": parameter 'destinationSchema': " + reserved);
            }
        }
        String template = TransferSpec.blankToNull(p.get("destinationTable"));
        if (template != null) {
            // tables matched by patterns are known only at a run's start: as many as may come
            String problem = templateProblem(template, selection.hasPatterns() ? Integer.MAX_VALUE : tables.size());
            if (problem != null) {
                problems.add(where.apply("destinationTable") + ": " + label + ": parameter 'destinationTable': " + problem);
            }
        }
        Map<TableRef, String> renames = new LinkedHashMap<>();
        Map<TableRef, String> renamedBy = new LinkedHashMap<>();
        TemplateParameters.family(p, "rename").forEach((suffix, value) -> {
            String param = "rename." + suffix;
            String at = where.apply(param) + ": " + label + ": parameter '" + param + "': ";
            TableRef table;
            try {
                List<TableRef> named = TableRef.parseList(suffix);
                if (named.size() != 1) {
                    problems.add(at + "names " + named.size() + " tables; a rename names one, e.g. rename.shop.orders");
                    return;
                }
                table = named.get(0);
            } catch (IllegalArgumentException e) {
                problems.add(at + e.getMessage());
                return;
            }
            if (!selection.include().isEmpty() && !selection.selects(table)) { // (no tables: 'tables' is reported)
                problems.add(at + "the transfer copies no table " + table.display() + " (its tables: " + selection
                        + "); remove the rename, or correct it");
                return;
            }
            String other = renamedBy.put(table, param);
            if (other != null) {
                problems.add(at + table.display() + " is renamed twice, here and by '" + other + "'; keep one");
                return;
            }
            String v = value.strip();
            String problem = v.isEmpty() ? "gives no name; give the destination table's name, e.g. " + table.name() + "_v2"
                    : literalProblem(v);
            if (problem != null) {
                problems.add(at + problem);
                return;
            }
            renames.put(table, v);
        });
        if (problems.size() > before) {
            return null;
        }
        DestinationNames names = new DestinationNames(schema, template, renames);
        for (Problem problem : names.check(tables)) {
            String param = renamedBy.containsKey(problem.table()) ? renamedBy.get(problem.table())
                    : template != null ? "destinationTable" : "tables";
            problems.add(where.apply(param) + ": " + label + ": parameter '" + param + "': " + problem.message());
        }
        return problems.size() > before ? null : names;
    }

    /** Why a destinationTable template cannot be used for {@code tableCount} tables, or null. */
    private static String templateProblem(String template, int tableCount) {
        StringBuilder literal = new StringBuilder();
        int i = 0;
        while (i < template.length()) {
            char c = template.charAt(i);
            if (c == '{') {
                int end = template.indexOf('}', i);
                String placeholder = end < 0 ? template.substring(i) : template.substring(i, end + 1);
                if (!placeholder.equals(SCHEMA) && !placeholder.equals(TABLE)) {
                    return "unknown placeholder '" + placeholder + "' in '" + template + "'; the placeholders are {schema} and"
                            + " {table} (the source table's schema and name), e.g. \"{schema}_{table}\" or \"raw_{table}\"";
                }
                i += placeholder.length();
            } else if (c == '}') {
                return "'}' without its '{' in '" + template + "'; the placeholders are {schema} and {table}";
            } else {
                literal.append(c);
                i++;
            }
        }
        String problem = literalProblem(literal.toString());
        if (problem != null) {
            return problem;
        }
        if (tableCount > 1 && !template.contains(TABLE)) {
            return "'" + template + "' has no {table}, so the transfer's " + tableCount + " tables would all be written to one"
                    + " table; add {table}, e.g. \"" + template + "_{table}\"";
        }
        return null;
    }

    /** Why text a user writes into a destination table name cannot be in it, or null. */
    private static String literalProblem(String text) {
        if (text.indexOf('.') >= 0) {
            return "a destination table name holds no schema (no '.'); the schema is the destination's, or destinationSchema";
        }
        if (text.indexOf('"') >= 0) {
            return "write the name without double quotes: it is used exactly as written, capitals and spaces kept";
        }
        return null;
    }
}
