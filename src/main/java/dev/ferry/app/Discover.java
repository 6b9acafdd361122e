package dev.ferry.app;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import dev.ferry.config.ConnectionSettings;
import dev.ferry.config.Sql;
import dev.ferry.config.TableRef;
import dev.ferry.config.TableSelection;
import dev.ferry.connect.Connections;
import dev.ferry.destination.DestinationTypes;
import dev.ferry.source.SourceCatalog;
import dev.ferry.source.SourceColumn;
import dev.ferry.source.SourceTable;
import dev.ferry.source.SourceTableException;
import dev.ferry.source.TableMatch;

/**
 * {@code ferry discover SOURCE [PATTERN]}: the source's tables that match (the same rule as a transfer's {@code tables}
 * patterns, {@link TableMatch}) with their row estimate and size, primary key, candidate cursor columns and the columns
 * Ferry would carry as text, then a ready transfer YAML: one transfer per suggested mode (and cursor), each table with
 * why. Everything it prints is YAML (the listing as comments), so it can be saved into the routes folder as it is.
 * Read-only, on one source session, each statement bounded.
 */
final class Discover {

    /** What a table looks like to a transfer, and the mode it suggests. */
    record Found(TableRef table, String rows, String size, List<String> key, List<String> cursors, List<String> asText,
                 String mode, String cursor, String why) {
    }

    /** The destination the printed transfers name when none was chosen and the properties declare none or several. */
    static final String PLACEHOLDER = "DESTINATION";

    /** Bounds each catalog statement: discovery reads the catalog only, which answers in milliseconds. */
    static final int STATEMENT_TIMEOUT_SECONDS = 30;

    /** Per table: the columns that could serve as a cursor, leading a btree index. */
    private static final String CANDIDATES = """
            SELECT t.i, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
                   a.atttypid IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype) AS time_like
            FROM unnest(?::text[], ?::text[]) WITH ORDINALITY AS t(s, n, i)
            JOIN pg_catalog.pg_namespace ns ON ns.nspname = t.s
            JOIN pg_catalog.pg_class c ON c.relnamespace = ns.oid AND c.relname = t.n
            JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class ic ON ic.oid = x.indexrelid
                          JOIN pg_catalog.pg_am am ON am.oid = ic.relam
                          WHERE x.indrelid = c.oid AND am.amname = 'btree' AND x.indkey[0] = a.attnum AND x.indpred IS NULL)
              AND (a.atttypid IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype)
                   OR a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)
                      AND (a.attidentity <> '' OR EXISTS (SELECT 1 FROM pg_catalog.pg_attrdef d WHERE d.adrelid = c.oid
                           AND d.adnum = a.attnum AND pg_catalog.pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%')))
            ORDER BY t.i, a.attnum""";

    /** Per table: its row estimate (-1: never analyzed) and total size, a partitioned table's summed over its partitions. */
    private static final String SIZES = """
            SELECT t.i,
                   CASE WHEN c.relkind = 'p' THEN (SELECT sum(l.reltuples) FROM pg_catalog.pg_partition_tree(c.oid) p
                        JOIN pg_catalog.pg_class l ON l.oid = p.relid WHERE p.isleaf) ELSE c.reltuples END,
                   pg_catalog.pg_size_pretty(CASE WHEN c.relkind = 'p' THEN (SELECT sum(pg_catalog.pg_total_relation_size(p.relid))
                        FROM pg_catalog.pg_partition_tree(c.oid) p) ELSE pg_catalog.pg_total_relation_size(c.oid) END::bigint),
                   c.relkind
            FROM unnest(?::text[], ?::text[]) WITH ORDINALITY AS t(s, n, i)
            JOIN pg_catalog.pg_namespace ns ON ns.nspname = t.s
            JOIN pg_catalog.pg_class c ON c.relnamespace = ns.oid AND c.relname = t.n
            ORDER BY t.i""";

    private Discover() {
    }

    /**
     * The command: reads the connections only (discovery comes before any transfer is declared, so no routes are read),
     * prints the listing and YAML to stdout; exit status 0, 1 when nothing matches, 2 (a ConfigException) for an unknown
     * source or destination.
     */
    static int run(java.nio.file.Path config, String sourceName, String pattern, String destination, String every) throws Exception {
        if (!java.nio.file.Files.isRegularFile(config)) {
            throw new dev.ferry.config.ConfigException(config + ": no such file; pass --config FILE to name the properties file"
                    + " that declares the connections (default ./" + Ferry.DEFAULT_CONFIG + ")");
        }
        try (org.apache.camel.impl.DefaultCamelContext camel = new org.apache.camel.impl.DefaultCamelContext()) {
            camel.getPropertiesComponent().setLocation("file:" + config.toAbsolutePath());
            String configName = config.getFileName().toString();
            Connections connections = Connections.fromProperties(camel, configName);
            try {
                if (!connections.sources().containsKey(sourceName)) {
                    List<String> problems = new ArrayList<>(connections.problems().stream()
                            .filter(p -> p.contains("ferry.source." + sourceName + ".")).toList());
                    if (problems.isEmpty()) {
                        problems.add("no source named '" + sourceName + "' in " + configName + "; declared sources: "
                                + String.join(", ", new java.util.TreeSet<>(connections.sources().keySet())));
                    }
                    throw new dev.ferry.config.ConfigException(problems);
                }
                String dest = destination;
                if (dest == null) {
                    dest = connections.destinations().size() == 1 ? connections.destinations().keySet().iterator().next() : PLACEHOLDER;
                } else if (!connections.destinations().containsKey(dest)) {
                    throw new dev.ferry.config.ConfigException("no destination named '" + dest + "' in " + configName
                            + "; declared destinations: " + String.join(", ", new java.util.TreeSet<>(connections.destinations().keySet())));
                }
                ConnectionSettings source = connections.sources().get(sourceName);
                List<Found> found = discover(connections, source, pattern);
                if (found.isEmpty()) {
                    System.err.println("ferry discover: no table at source " + sourceName + " (" + source.describe() + ") matches "
                            + (pattern == null ? "*.*" : pattern) + " (patterns match tables and partitioned tables; bare names"
                            + " fold to lower case, quote mixed-case ones)");
                    return Ferry.FAILED;
                }
                System.out.print(render(sourceName, source, pattern, found, dest, every));
                return Ferry.OK;
            } finally {
                connections.close();
            }
        }
    }

    /**
     * Reads the source's tables matching {@code pattern} ({@code *.*} when null: every table outside the system schemas).
     *
     * @throws IllegalArgumentException when the pattern cannot be read
     */
    static List<Found> discover(Connections connections, ConnectionSettings source, String pattern) throws SQLException {
        TableSelection selection = TableSelection.of(pattern == null ? "*.*" : pattern);
        int timeout = Math.min(source.connectTimeoutSeconds(), 15);
        try (Connection c = connections.openDirect(source, timeout)) { // read-only, not auto-committing: one snapshot
            c.setNetworkTimeout(Runnable::run, (timeout + STATEMENT_TIMEOUT_SECONDS + 5) * 1000);
            try (Statement st = c.createStatement()) {
                st.execute("SET statement_timeout = '" + STATEMENT_TIMEOUT_SECONDS + "s'");
            }
            c.commit(); // the setting outlives the rollback after a table the user may not read
            try {
                return read(c, TableMatch.resolve(c, selection));
            } finally {
                c.rollback(); // it wrote nothing
            }
        }
    }

    private static List<Found> read(Connection c, List<TableRef> tables) throws SQLException {
        Object[] schemas = tables.stream().map(TableRef::schema).toArray();
        Object[] names = tables.stream().map(TableRef::name).toArray();
        Map<Integer, String[]> sizes = new LinkedHashMap<>();
        try (PreparedStatement ps = c.prepareStatement(SIZES)) {
            ps.setArray(1, c.createArrayOf("text", schemas));
            ps.setArray(2, c.createArrayOf("text", names));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    double rows = rs.getDouble(2);
                    sizes.put(rs.getInt(1) - 1, new String[] {rows < 0 ? "rows unknown (never analyzed)"
                            : String.format(Locale.ROOT, "~%,d rows", (long) rows), rs.getString(3), rs.getString(4)});
                }
            }
        }
        Map<Integer, List<String[]>> candidates = new LinkedHashMap<>();
        try (PreparedStatement ps = c.prepareStatement(CANDIDATES)) {
            ps.setArray(1, c.createArrayOf("text", schemas));
            ps.setArray(2, c.createArrayOf("text", names));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    candidates.computeIfAbsent(rs.getInt(1) - 1, k -> new ArrayList<>())
                            .add(new String[] {rs.getString(2), rs.getString(3), rs.getBoolean(4) ? "time" : "sequence"});
                }
            }
        }
        List<Found> out = new ArrayList<>();
        for (int i = 0; i < tables.size(); i++) {
            TableRef t = tables.get(i);
            String[] size = sizes.getOrDefault(i, new String[] {"rows unknown", "size unknown", "r"});
            SourceTable described;
            try {
                described = SourceCatalog.describe(c, t);
            } catch (SourceTableException e) {
                out.add(new Found(t, size[0], size[1], List.of(), List.of(), List.of(), null, null, e.getMessage()));
                c.rollback(); // a refused read ends the transaction; the next tables need a new one
                continue;
            }
            List<String> asText = new ArrayList<>();
            for (SourceColumn col : described.columns()) {
                String reason = DestinationTypes.textReason(col.type());
                if (reason != null) {
                    asText.add(Sql.displayIdent(col.name()) + " (" + reason + ")");
                }
            }
            List<String[]> cands = candidates.getOrDefault(i, List.of());
            List<String> cursors = cands.stream().map(x -> Sql.displayIdent(x[0]) + " (" + x[1] + (x[2].equals("sequence")
                    ? ", fed by a sequence" : "") + ")").toList();
            out.add(suggest(t, size, described.key(), cands, cursors, asText));
        }
        return out;
    }

    /** The mode a table suggests, and why: incremental on an indexed timestamp, else xmin by key, else full refresh. */
    private static Found suggest(TableRef t, String[] size, List<String> key, List<String[]> cands, List<String> cursors,
                                 List<String> asText) {
        List<String> keyShown = key.stream().map(Sql::displayIdent).toList();
        if (key.isEmpty()) {
            String what = switch (size[2]) {
                case "v" -> "a view, no primary key";
                case "m" -> "a materialized view, no primary key";
                case "f" -> "a foreign table, no primary key";
                default -> "no primary key";
            };
            return new Found(t, size[0], size[1], keyShown, cursors, asText, "full_refresh", null,
                    "full_refresh: " + what + " (incremental modes merge by key; give one with the 'key' parameter)");
        }
        String[] best = null;
        for (String[] x : cands) {
            if (x[2].equals("time") && (best == null || changeLike(x[0]) && !changeLike(best[0]))) {
                best = x;
            }
        }
        if (best != null) {
            return new Found(t, size[0], size[1], keyShown, cursors, asText, "incremental", best[0], "incremental on "
                    + Sql.displayIdent(best[0]) + ": a primary key and an indexed timestamp" + (changeLike(best[0]) ? ""
                    : " (check that it changes whenever a row does; if not, use xmin)"));
        }
        String sequence = cands.stream().filter(x -> x[2].equals("sequence")).map(x -> Sql.displayIdent(x[0])).findFirst().orElse(null);
        return new Found(t, size[0], size[1], keyShown, cursors, asText, "xmin", null, "xmin: a primary key, no indexed"
                + " timestamp to use as a cursor" + (sequence == null ? "" : " (" + sequence + " is fed by a sequence: for rows"
                + " that are only ever inserted, mode append with cursor " + sequence + " reads less)"));
    }

    /** Whether a column's name says it changes when the row does (updated_at, modified, last_changed...). */
    private static boolean changeLike(String column) {
        return column.toLowerCase(Locale.ROOT).matches(".*(updat|modif|chang).*");
    }

    /**
     * The output: the listing as YAML comments, then one transfer per suggested mode and cursor, ready for the routes
     * folder.
     */
    static String render(String sourceName, ConnectionSettings source, String pattern, List<Found> found, String destination,
                         String every) {
        StringBuilder sb = new StringBuilder();
        sb.append("# ferry discover ").append(sourceName).append(pattern == null ? "" : " " + pattern).append(": ")
                .append(found.size()).append(" table(s) at ").append(source.describe()).append('\n');
        if (destination.equals(PLACEHOLDER)) {
            sb.append("# destination: not one declared to take by default; replace ").append(PLACEHOLDER)
                    .append(" below with a declared destination (or pass --destination NAME)\n");
        }
        for (Found f : found) {
            sb.append("#\n# ").append(commented(f.table().display())).append(": ").append(f.rows()).append(", ").append(f.size()).append('\n');
            if (f.mode() == null) {
                sb.append("#   not readable: ").append(f.why()).append('\n');
                continue;
            }
            sb.append("#   primary key: ").append(f.key().isEmpty() ? "none" : String.join(", ", f.key())).append('\n');
            sb.append("#   cursor candidates: ").append(f.cursors().isEmpty() ? "none" : String.join(", ", f.cursors())).append('\n');
            if (!f.asText().isEmpty()) {
                sb.append("#   carried as text: ").append(String.join(", ", f.asText())).append('\n');
            }
            sb.append("#   suggested: ").append(f.why()).append('\n');
        }
        Map<String, List<Found>> groups = new LinkedHashMap<>();
        for (String mode : List.of("incremental", "xmin", "full_refresh")) {
            for (Found f : found) {
                if (mode.equals(f.mode())) {
                    groups.computeIfAbsent(mode + (f.cursor() == null ? "" : "\u0000" + f.cursor()), k -> new ArrayList<>()).add(f);
                }
            }
        }
        // every transfer writes into the destination's schema: two tables of one name (in two schemas) would meet there
        java.util.Set<String> seen = new java.util.HashSet<>();
        boolean sameNames = false;
        for (List<Found> g : groups.values()) {
            for (Found f : g) {
                sameNames |= !seen.add(f.table().name());
            }
        }
        java.util.Set<String> names = new java.util.HashSet<>();
        for (Map.Entry<String, List<Found>> g : groups.entrySet()) {
            Found first = g.getValue().get(0);
            String base = transferName(sourceName + "-" + first.mode().replace('_', '-') + (first.cursor() == null ? "" : "-" + first.cursor()));
            String name = base;
            for (int n = 2; !names.add(name); n++) {
                name = base + "-" + n; // two cursors may read alike once made a name ("a b", "a_b")
            }
            sb.append("\n");
            for (Found f : g.getValue()) {
                sb.append("# ").append(commented(f.table().display())).append(": ").append(commented(f.why())).append('\n');
            }
            sb.append("- templatedRoute:\n    routeTemplateRef: ferry-transfer\n    parameters:\n");
            param(sb, "name", name);
            param(sb, "source", sourceName);
            param(sb, "destination", destination);
            param(sb, "tables", String.join(", ", g.getValue().stream().map(f -> f.table().display()).toList()));
            param(sb, "mode", first.mode());
            if (first.cursor() != null) {
                param(sb, "cursor", Sql.displayIdent(first.cursor()));
            }
            param(sb, "every", every);
            if (sameNames) {
                param(sb, "destinationTable", "{schema}_{table}");
            }
        }
        return sb.toString();
    }

    /** A transfer name Ferry accepts (letters, digits, '.', '_', '-'), from the source, mode and cursor. */
    private static String transferName(String raw) {
        return raw.replaceAll("[^A-Za-z0-9._-]+", "_");
    }

    private static void param(StringBuilder sb, String name, String value) {
        sb.append("      - name: ").append(name).append("\n        value: \"").append(escaped(value)).append("\"\n");
    }

    /** Text for a YAML comment: every control character written as an escape, so that a name with a line break does not end one. */
    static String commented(String text) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            sb.append(c < 0x20 || c == 0x7f ? String.format("\\u%04x", (int) c) : String.valueOf(c));
        }
        return sb.toString();
    }

    /**
     * Text for a YAML double-quoted scalar: backslash and double quote escaped, and every control character written as
     * an escape, so that a name with a line break does not fold into a space.
     */
    static String escaped(String text) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\\' || c == '"') {
                sb.append('\\').append(c);
            } else if (c < 0x20 || c == 0x7f) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
