package dev.ferry.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.api.lowlevel.Compose;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;
import org.snakeyaml.engine.v2.nodes.Tag;

/**
 * Where each transfer and each of its parameters is written in the routes folder, so that a configuration
 * error can say "routes/shop.yaml:14" rather than only a transfer name. Camel's model keeps the values but not
 * their lines, so this reads the same YAML once more, for positions, for the ids of the other routes there, and
 * for the mistakes Camel would stop at without a file and line: a file that is not YAML, a transfer without a
 * parameter the template requires, a parameter without a value.
 */
public final class RouteFiles {

    /** A transfer's file, the line of its {@code templatedRoute}, and the line of each parameter. */
    public record Location(String file, int line, Map<String, Integer> parameterLines) {

        public String at(String parameter) {
            Integer l = parameter == null ? null : parameterLines.get(parameter);
            return file + ":" + (l != null ? l : line);
        }
    }

    /** A {@code templatedRoute} of the template, as written: its name (or null) and the parameters it names. */
    private record Declared(String name, Location location, Set<String> given) {
    }

    private final Map<String, Location> byName;
    private final Map<String, String> routeIds;
    private final List<String> problems;

    private RouteFiles(Map<String, Location> byName, Map<String, String> routeIds, List<String> problems) {
        this.byName = byName;
        this.routeIds = routeIds;
        this.problems = List.copyOf(problems);
    }

    public static RouteFiles none() {
        return new RouteFiles(Map.of(), Map.of(), List.of());
    }

    /**
     * Scans {@code *.yaml} and {@code *.yml} files in a folder, as Camel loads them. What Camel could not build routes
     * from is collected in {@link #problems()}, each with its file and line.
     */
    public static RouteFiles scan(Path routesDir, String templateId) {
        Map<String, Location> found = new LinkedHashMap<>();
        Map<String, String> routeIds = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        if (routesDir == null || !Files.isDirectory(routesDir)) {
            return new RouteFiles(found, routeIds, problems);
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(routesDir)) {
            files = s.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().toList();
        } catch (IOException e) {
            return new RouteFiles(found, routeIds, problems);
        }
        List<Declared> declared = new ArrayList<>();
        Map<String, String> required = null; // the template's parameters without a default, with their descriptions
        for (Path file : files) {
            String display = displayName(routesDir, file);
            try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                for (Node doc : new Compose(LoadSettings.builder().setLabel(display).build()).composeAllFromReader(r)) {
                    Map<String, String> t = collect(doc, display, templateId, declared, routeIds, problems);
                    required = t != null ? t : required;
                }
            } catch (MarkedYamlEngineException e) {
                problems.add(yamlProblem(display, e));
            } catch (IOException | RuntimeException e) {
                problems.add(display + ": cannot read it as YAML: " + e.getMessage());
            }
        }
        for (Declared d : declared) {
            if (d.name() != null) {
                found.putIfAbsent(d.name(), d.location());
            }
            if (required == null) {
                continue; // no template in the folder: Camel says so
            }
            String label = d.name() != null ? "transfer '" + d.name() + "'" : "a " + templateId + " templatedRoute";
            required.forEach((param, description) -> {
                if (!d.given().contains(param)) {
                    problems.add(d.location().at(null) + ": " + label + ": parameter '" + param + "' is missing; add"
                            + " { name: " + param + ", value: ... }" + (description == null ? "" : " (" + description + ")"));
                }
            });
        }
        return new RouteFiles(found, routeIds, problems);
    }

    /** "file:line: not valid YAML: ..." from the parser's marks (the problem's line, and where its context starts). */
    private static String yamlProblem(String file, MarkedYamlEngineException e) {
        int line = e.getProblemMark().map(m -> m.getLine() + 1).orElse(e.getContextMark().map(m -> m.getLine() + 1).orElse(0));
        String context = e.getContext() == null ? "" : " (" + e.getContext() + e.getContextMark()
                .map(m -> " that starts at line " + (m.getLine() + 1)).orElse("") + ")";
        return file + ":" + line + ": not valid YAML: " + e.getProblem() + context + "; fix the syntax (quote values that"
                + " hold ': ', '#', '{' or '[')";
    }

    private static String displayName(Path dir, Path file) {
        Path name = dir.getFileName();
        return (name != null ? name + "/" : "") + file.getFileName();
    }

    /**
     * Collects a document's templated routes and route ids, and reports parameters without a value.
     *
     * @return the required parameters of the template (name to description), when the document declares it
     */
    private static Map<String, String> collect(Node doc, String file, String templateId, List<Declared> declared,
                                               Map<String, String> routeIds, List<String> problems) {
        if (!(doc instanceof SequenceNode seq)) {
            return null;
        }
        Map<String, String> required = null;
        for (Node item : seq.getValue()) {
            String routeId = scalar(child(child(item, "route"), "id"));
            if (routeId != null) {
                routeIds.putIfAbsent(routeId, file + ":" + line(item));
            }
            Node template = child(item, "routeTemplate");
            if (templateId.equals(scalar(child(template, "id"))) && child(template, "parameters") instanceof SequenceNode ps) {
                required = new LinkedHashMap<>();
                for (Node p : ps.getValue()) {
                    String pName = scalar(child(p, "name"));
                    if (pName != null && child(p, "defaultValue") == null && !"false".equals(scalar(child(p, "required")))) {
                        required.put(pName, scalar(child(p, "description")));
                    }
                }
            }
            Node tr = child(item, "templatedRoute");
            if (!(tr instanceof MappingNode trMap)) {
                continue;
            }
            if (!templateId.equals(scalar(child(trMap, "routeTemplateRef")))) {
                continue;
            }
            Map<String, Integer> lines = new HashMap<>();
            Set<String> given = new HashSet<>();
            List<String> valueless = new ArrayList<>();
            String name = null;
            Node params = child(trMap, "parameters");
            if (params instanceof SequenceNode ps) {
                for (Node p : ps.getValue()) {
                    String pName = scalar(child(p, "name"));
                    if (pName == null) {
                        continue;
                    }
                    lines.put(pName, line(p));
                    given.add(pName);
                    Node value = child(p, "value");
                    if (value == null || value instanceof ScalarNode v && v.getTag().equals(Tag.NULL)) {
                        valueless.add(pName);
                    }
                    if ("name".equals(pName)) {
                        name = scalar(value);
                    }
                }
            }
            Location location = new Location(file, line(item), lines);
            String label = name != null ? "transfer '" + name + "'" : "a " + templateId + " templatedRoute";
            for (String p : valueless) {
                // Camel would stop at it with a NullPointerException
                problems.add(location.at(p) + ": " + label + ": parameter '" + p + "' has no value; write { name: " + p
                        + ", value: ... }, or remove the line to use the default");
            }
            declared.add(new Declared(name, location, given));
        }
        return required;
    }

    private static Node child(Node node, String key) {
        if (node instanceof MappingNode m) {
            for (NodeTuple t : m.getValue()) {
                if (key.equals(scalar(t.getKeyNode()))) {
                    return t.getValueNode();
                }
            }
        }
        return null;
    }

    private static String scalar(Node node) {
        return node instanceof ScalarNode s ? s.getValue() : null;
    }

    private static int line(Node node) {
        return node.getStartMark().map(m -> m.getLine() + 1).orElse(0);
    }

    public Location locate(String transfer) {
        return byName.get(transfer);
    }

    /** Where a route (not a templated one) with this id is declared, "file:line", or null. */
    public String routeDeclaring(String id) {
        return routeIds.get(id);
    }

    /** What Camel could not build routes from, each with its file and line; empty when nothing. */
    public List<String> problems() {
        return problems;
    }
}
