package dev.ferry.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.api.lowlevel.Compose;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;

/**
 * A transfer's recipients list: who gets the transfer's rows, each through its own destination and with its own
 * filter values. Ferry expands a transfer that names one ({@code recipients}) into one transfer per recipient,
 * named {@code <transfer>.<recipient>}.
 *
 * <p>The list is a YAML file in the routes folder's {@value #FOLDER} subfolder (Camel loads only the folder's own
 * {@code *.yaml} files as routes, not its subfolders'), or the rows of a query on a declared source
 * ({@code sql:SELECT ...}). Each recipient is read on its own: one with a problem is reported with where it is
 * written and left out, and the others are kept.
 */
public final class Recipients {

    /** Where recipients files live, under the routes folder. */
    public static final String FOLDER = "recipients";
    /** A recipients value that is a query on the transfer's {@code recipientsSource}. */
    public static final String SQL_PREFIX = "sql:";

    /** Recipient names make the last part of a transfer name: no '.' (it separates the two). */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,62}");
    /** What a recipient names besides its connection's fields. */
    static final Set<String> OWN_KEYS = Set.of("name", "destination", "filter", "webhook");

    /**
     * One recipient.
     *
     * @param destination a declared destination its connection starts from (null: the transfer's own)
     * @param connection  connection fields as in application.properties ({@code schema}, or {@code hostname}... for a
     *                    connection of its own), placeholders unresolved
     * @param filter      the values of the transfer's filter placeholders
     * @param webhook     its own webhook URL, or null for the transfer's
     * @param where       where it is written, for messages: "file:line", or the control query's row
     */
    public record Recipient(String name, String destination, Map<String, String> connection, Map<String, String> filter,
                            String webhook, String where) {

        public Recipient {
            connection = Map.copyOf(connection);
            filter = Map.copyOf(filter);
        }

        @Override
        public String toString() {
            return name; // the connection may hold a password
        }
    }

    private Recipients() {
    }

    /**
     * The file a {@code recipients} value names: a path relative to the routes folder's {@value #FOLDER} subfolder.
     * A file Camel would load as routes (the folder's own YAML) is refused, and so is one outside that subfolder.
     *
     * @return the file, or null after adding a problem
     */
    public static Path file(Path routes, String value, String where, List<String> problems) {
        Path folder = routes.resolve(FOLDER).normalize();
        Path file = folder.resolve(value).normalize();
        if (!file.startsWith(folder)) {
            problems.add(where + ": recipients file '" + value + "' is outside " + routesName(routes) + FOLDER + "/; recipients files"
                    + " live there (Camel would load a YAML file in " + routesName(routes) + " itself as routes)");
            return null;
        }
        return file;
    }

    private static String routesName(Path routes) {
        return routes.getFileName() == null ? "" : routes.getFileName() + "/";
    }

    /**
     * Reads a recipients file: a YAML list of mappings such as
     * {@code - { name: acme, schema: acme, filter: { tenant: "42" } }}.
     *
     * @param problems  what is wrong with single recipients, each with its file and line (they are left out)
     * @return the recipients, or null when the file cannot be read at all (a problem says why)
     */
    public static List<Recipient> read(Path file, String display, List<String> problems) {
        List<Node> docs = new ArrayList<>();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            new Compose(LoadSettings.builder().setLabel(display).build()).composeAllFromReader(r).forEach(docs::add);
        } catch (IOException e) {
            problems.add(display + ": cannot read the recipients file (" + e.getClass().getSimpleName() + ")");
            return null;
        } catch (MarkedYamlEngineException e) {
            int line = e.getProblemMark().map(m -> m.getLine() + 1).orElse(0);
            problems.add(display + ":" + line + ": not valid YAML: " + e.getProblem() + "; fix the syntax");
            return null;
        }
        List<Recipient> recipients = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (Node doc : docs) {
            if (!(doc instanceof SequenceNode seq)) {
                if (!(doc instanceof ScalarNode s && s.getValue().isEmpty())) {
                    problems.add(display + ":" + line(doc) + ": a recipients file is a YAML list, one '- { name: ..., ... }' per recipient");
                }
                continue;
            }
            for (Node item : seq.getValue()) {
                String where = display + ":" + line(item);
                if (!(item instanceof MappingNode map)) {
                    problems.add(where + ": a recipient is a mapping such as { name: acme, schema: acme, filter: { tenant: \"42\" } }");
                    continue;
                }
                Map<String, String> fields = new LinkedHashMap<>();
                Map<String, String> filter = new LinkedHashMap<>();
                boolean ok = true;
                for (NodeTuple t : map.getValue()) {
                    String key = t.getKeyNode() instanceof ScalarNode k ? k.getValue() : null;
                    Node value = t.getValueNode();
                    if ("filter".equals(key) && value instanceof MappingNode fm) {
                        for (NodeTuple ft : fm.getValue()) {
                            if (ft.getKeyNode() instanceof ScalarNode fk && ft.getValueNode() instanceof ScalarNode fv) {
                                filter.put(fk.getValue(), fv.getValue());
                            } else {
                                problems.add(display + ":" + line(ft.getKeyNode()) + ": recipient filter values are scalars,"
                                        + " e.g. filter: { tenant: \"42\" }");
                                ok = false;
                            }
                        }
                    } else if (key != null && value instanceof ScalarNode v) {
                        fields.put(key, v.getValue());
                    } else {
                        problems.add(display + ":" + line(t.getKeyNode()) + ": recipient field '" + key + "' must be a single value"
                                + ("filter".equals(key) ? " mapping, e.g. filter: { tenant: \"42\" }" : ""));
                        ok = false;
                    }
                }
                Recipient r = ok ? recipient(fields, filter, where, problems) : null;
                if (r != null && !names.add(r.name())) {
                    problems.add(where + ": recipient '" + r.name() + "' is listed twice; names must be unique");
                    r = null;
                }
                if (r != null) {
                    recipients.add(r);
                }
            }
        }
        return recipients;
    }

    /**
     * A recipient from its fields (a file's mapping, or a control query's row, whose {@code filter.NAME} columns give
     * filter values): {@code name}, {@code destination}, {@code webhook}, and connection fields.
     *
     * @return the recipient, or null after adding a problem
     */
    public static Recipient recipient(Map<String, String> fields, Map<String, String> filter, String where, List<String> problems) {
        Map<String, String> connection = new LinkedHashMap<>();
        Map<String, String> filterValues = new LinkedHashMap<>(filter);
        String name = null;
        String destination = null;
        String webhook = null;
        for (Map.Entry<String, String> f : fields.entrySet()) {
            String value = f.getValue();
            switch (f.getKey()) {
                case "name" -> name = TransferSpec.blankToNull(value);
                case "destination" -> destination = TransferSpec.blankToNull(value);
                case "webhook" -> webhook = TransferSpec.blankToNull(value);
                default -> {
                    if (f.getKey().startsWith("filter.")) {
                        filterValues.put(f.getKey().substring("filter.".length()), value == null ? "" : value);
                    } else if (value != null) {
                        connection.put(f.getKey(), value);
                    }
                }
            }
        }
        if (name == null) {
            problems.add(where + ": a recipient has no name; add one, e.g. name: acme");
            return null;
        }
        if (!NAME.matcher(name).matches()) {
            problems.add(where + ": recipient name '" + name + "' may hold only letters, digits, '_' and '-' (at most 63),"
                    + " starting with a letter or digit");
            return null;
        }
        return new Recipient(name, destination, connection, filterValues, webhook, where + " (recipient '" + name + "')");
    }

    private static int line(Node node) {
        return node.getStartMark().map(m -> m.getLine() + 1).orElse(0);
    }
}
