package dev.ferry.config;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
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
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
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
 *
 * <p>It also decides which files Camel loads: the route files that ship in the jar ({@value #SHIPPED}, built from the
 * repository's routes/: the {@code ferry-transfer} template and the table pipeline), then the user's folder. A shipped
 * file is left out when a file in the folder declares a route, route template or route configuration with one of its
 * ids: the user's copy replaces it. What the loaded files refer to must be there (every {@code direct:} endpoint a
 * route sends to has a route consuming it, every {@code routeTemplateRef} and {@code routeConfigurationId} names one
 * declared): otherwise a run would wait for a consumer that never comes, so it is a problem at startup.
 */
public final class RouteFiles {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger("dev.ferry");

    /** A transfer's file, the line of its {@code templatedRoute}, and the line of each parameter. */
    public record Location(String file, int line, Map<String, Integer> parameterLines) {

        public String at(String parameter) {
            Integer l = parameter == null ? null : parameterLines.get(parameter);
            return file + ":" + (l != null ? l : line);
        }
    }

    /**
     * A {@code templatedRoute} of the template, as written: its name (or null), where it is, the parameters it names
     * with their values as written (placeholders unresolved; null for one without a value), and its {@code routeId}.
     */
    public record Declared(String name, Location location, Map<String, String> parameters, String routeId) {

        public Declared {
            parameters = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
        }

        Set<String> given() {
            return parameters.keySet();
        }
    }

    /** Where the shipped route files are on the classpath (the pom copies routes/ferry-*.yaml there). */
    public static final String SHIPPED = "ferry/routes/";

    /** A route file: how messages name it, where Camel loads it from, and its YAML documents (null: unreadable). */
    private record Source(String display, String location, List<Node> docs) {
    }

    private final Map<String, Location> byName;
    private final Map<String, String> routeIds;
    private final List<String> problems;
    private final List<String> includes;
    private final List<Declared> transfers;

    private RouteFiles(Map<String, Location> byName, Map<String, String> routeIds, List<String> problems, List<String> includes,
                       List<Declared> transfers) {
        this.byName = byName;
        this.routeIds = routeIds;
        this.problems = List.copyOf(problems);
        this.includes = List.copyOf(includes);
        this.transfers = List.copyOf(transfers);
    }

    public static RouteFiles none() {
        return new RouteFiles(Map.of(), Map.of(), List.of(), List.of(), List.of());
    }

    /**
     * Scans {@code *.yaml} and {@code *.yml} files in a folder, as Camel loads them, with the shipped route files the
     * folder does not replace. What Camel could not build routes from, or what would leave a run waiting, is collected
     * in {@link #problems()}, each with its file and line.
     */
    public static RouteFiles scan(Path routesDir, String templateId) {
        return scan(routesDir, templateId, true);
    }

    /**
     * Scans the folder again while Ferry runs (see {@link #scan(Path, String)}): the same, but a shipped file the folder
     * replaces, said at startup, is not said again.
     */
    public static RouteFiles rescan(Path routesDir, String templateId) {
        return scan(routesDir, templateId, false);
    }

    private static RouteFiles scan(Path routesDir, String templateId, boolean logReplaced) {
        Map<String, Location> found = new LinkedHashMap<>();
        Map<String, String> routeIds = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        if (routesDir == null || !Files.isDirectory(routesDir)) {
            return new RouteFiles(found, routeIds, problems, List.of(), List.of());
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(routesDir)) {
            files = s.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().toList();
        } catch (IOException e) {
            problems.add(routesDir + ": cannot list it: " + e.getMessage());
            return new RouteFiles(found, routeIds, problems, List.of(), List.of());
        }
        List<Source> user = new ArrayList<>();
        for (Path file : files) {
            String display = displayName(routesDir, file);
            try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                user.add(parse(display, "file:" + file.toAbsolutePath(), r, problems));
            } catch (IOException e) {
                problems.add(display + ": cannot read it: " + e.getMessage());
            }
        }
        // the folder's ids, and the shipped files they replace
        Map<String, String> userIds = new LinkedHashMap<>();
        user.forEach(u -> ids(u).forEach(userIds::putIfAbsent));
        Map<String, Source> userById = new LinkedHashMap<>();
        user.forEach(u -> ids(u).keySet().forEach(id -> userById.putIfAbsent(id, u)));
        List<Source> loaded = new ArrayList<>();
        Map<String, String> replaced = new LinkedHashMap<>(); // a replaced shipped file to the user's file replacing it
        for (Source shipped : shipped(problems)) {
            String by = ids(shipped).keySet().stream().filter(userIds::containsKey).findFirst()
                    .map(id -> userIds.get(id) + " declares its id '" + id + "'").orElse(null);
            if (by == null) {
                loaded.add(shipped);
            } else {
                replaced.put(shipped.display(), by);
                Source copy = ids(shipped).keySet().stream().filter(userById::containsKey).findFirst().map(userById::get).orElse(null);
                if (!logReplaced || (copy != null && sameText(copy, shipped))) {
                    continue; // the same text (the repository's routes folder, say): which copy runs makes no difference
                }
                // an installation from before the templates shipped in the jar holds old copies: say which one runs
                LOG.warn("routes: the shipped {} is not loaded because {}: that copy runs instead. If it is an unchanged copy"
                        + " from an older Ferry, delete it to run the shipped one, which carries later fixes", shipped.display(), by);
            }
        }
        loaded.addAll(user);

        List<Declared> declared = new ArrayList<>();
        Map<String, String> required = null; // the template's parameters without a default, with their descriptions
        for (Source source : loaded) {
            for (Node doc : source.docs() == null ? List.<Node>of() : source.docs()) {
                Map<String, String> t = collect(doc, source.display(), templateId, declared, routeIds, problems);
                required = t != null ? t : required;
            }
        }
        for (Declared d : declared) {
            if (d.name() != null) {
                found.putIfAbsent(d.name(), d.location());
            }
            if (required == null) {
                continue; // no template loaded: reported as a missing routeTemplateRef
            }
            String label = d.name() != null ? "transfer '" + d.name() + "'" : "a " + templateId + " templatedRoute";
            required.forEach((param, description) -> {
                if (!d.given().contains(param)) {
                    problems.add(d.location().at(null) + ": " + label + ": parameter '" + param + "' is missing; add"
                            + " { name: " + param + ", value: ... }" + (description == null ? "" : " (" + description + ")"));
                }
            });
        }
        if (loaded.stream().allMatch(l -> l.docs() != null)) {
            references(loaded, replaced, routesDir, problems); // (an unreadable file's references cannot be told)
        }
        List<String> includes = new ArrayList<>();
        loaded.stream().filter(l -> l.location().startsWith("classpath:")).forEach(l -> includes.add(l.location()));
        includes.add("file:" + routesDir.toAbsolutePath() + "/*.yaml");
        includes.add("file:" + routesDir.toAbsolutePath() + "/*.yml");
        return new RouteFiles(found, routeIds, problems, includes, declared);
    }

    /** Whether a route file in the folder holds exactly the text of a shipped one. */
    private static boolean sameText(Source file, Source shipped) {
        try {
            byte[] own = Files.readAllBytes(Path.of(file.location().substring("file:".length())));
            try (java.io.InputStream in = RouteFiles.class.getClassLoader()
                    .getResourceAsStream(shipped.location().substring("classpath:".length()))) {
                return in != null && java.util.Arrays.equals(own, in.readAllBytes());
            }
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static Source parse(String display, String location, Reader r, List<String> problems) {
        try {
            List<Node> docs = new ArrayList<>();
            new Compose(LoadSettings.builder().setLabel(display).build()).composeAllFromReader(r).forEach(docs::add);
            return new Source(display, location, docs);
        } catch (MarkedYamlEngineException e) {
            problems.add(yamlProblem(display, e));
        } catch (RuntimeException e) {
            problems.add(display + ": cannot read it as YAML: " + e.getMessage());
        }
        return new Source(display, location, null);
    }

    /** The route files shipped in the jar, by name; none when they are not on the classpath. */
    private static List<Source> shipped(List<String> problems) {
        ClassLoader loader = RouteFiles.class.getClassLoader();
        TreeSet<String> names = new TreeSet<>();
        try {
            for (URL dir : java.util.Collections.list(loader.getResources(SHIPPED))) {
                if ("file".equals(dir.getProtocol())) {
                    try (Stream<Path> s = Files.list(Path.of(dir.toURI()))) {
                        s.map(p -> p.getFileName().toString()).forEach(names::add);
                    }
                } else if (dir.openConnection() instanceof JarURLConnection jar) {
                    jar.setUseCaches(false);
                    try (JarFile jf = jar.getJarFile()) {
                        for (JarEntry e : java.util.Collections.list(jf.entries())) {
                            String n = e.getName();
                            if (n.startsWith(SHIPPED) && n.indexOf('/', SHIPPED.length()) < 0) {
                                names.add(n.substring(SHIPPED.length()));
                            }
                        }
                    }
                }
            }
        } catch (IOException | URISyntaxException e) {
            problems.add("classpath:" + SHIPPED + ": cannot list Ferry's shipped route files: " + e.getMessage());
        }
        List<Source> sources = new ArrayList<>();
        for (String name : names) {
            if (!(name.endsWith(".yaml") || name.endsWith(".yml"))) {
                continue;
            }
            String location = "classpath:" + SHIPPED + name;
            try (InputStream in = loader.getResourceAsStream(SHIPPED + name)) {
                if (in != null) {
                    sources.add(parse(location, location, new InputStreamReader(in, StandardCharsets.UTF_8), problems));
                }
            } catch (IOException e) {
                problems.add(location + ": cannot read it: " + e.getMessage());
            }
        }
        return sources;
    }

    /** The ids a file declares (routes, route templates, route configurations), each with its "file:line". */
    private static Map<String, String> ids(Source source) {
        Map<String, String> ids = new LinkedHashMap<>();
        for (Node doc : source.docs() == null ? List.<Node>of() : source.docs()) {
            if (doc instanceof SequenceNode seq) {
                for (Node item : seq.getValue()) {
                    for (String kind : List.of("route", "routeTemplate", "routeConfiguration")) {
                        String id = scalar(child(child(item, kind), "id"));
                        if (id != null) {
                            ids.putIfAbsent(id, source.display() + ":" + line(item));
                        }
                    }
                }
            }
        }
        return ids;
    }

    /** What a route file refers to and what it declares, for {@link #references}. */
    private static final class Refs {
        final Set<String> consumed = new HashSet<>();
        final Set<String> templates = new TreeSet<>();
        final Set<String> configurations = new TreeSet<>();
        /** "file:line" to what it refers to: "direct:x", "template:x" or "configuration:x". */
        final List<String[]> uses = new ArrayList<>();
    }

    /**
     * Every {@code direct:} endpoint sent to must have a route consuming it, and every routeTemplateRef and
     * routeConfigurationId must name one that is loaded: otherwise a run waits for a consumer that never comes (Camel's
     * "No consumers available on endpoint", retried) or Camel stops at startup without a file and line.
     */
    private static void references(List<Source> loaded, Map<String, String> replaced, Path routesDir, List<String> problems) {
        Refs refs = new Refs();
        for (Source source : loaded) {
            for (Node doc : source.docs()) {
                if (doc instanceof SequenceNode seq) {
                    for (Node item : seq.getValue()) {
                        String id = scalar(child(child(item, "routeTemplate"), "id"));
                        if (id != null) {
                            refs.templates.add(id);
                        }
                        id = scalar(child(child(item, "routeConfiguration"), "id"));
                        if (id != null) {
                            refs.configurations.add(id);
                        }
                        String ref = scalar(child(child(item, "templatedRoute"), "routeTemplateRef"));
                        if (ref != null) {
                            refs.uses.add(new String[] {source.display() + ":" + line(item), "template", ref});
                        }
                        walk(item, source.display(), refs);
                    }
                }
            }
        }
        String folder = routesDir.getFileName() == null ? routesDir.toString() : routesDir.getFileName().toString();
        String why = replaced.isEmpty() ? "" : "; the shipped " + String.join(", ", replaced.keySet().stream()
                .map(f -> f.substring(f.lastIndexOf('/') + 1) + " is not loaded because " + replaced.get(f)).toList())
                + " (a file in " + folder + " that declares one of a shipped file's ids replaces the whole file: copy all of it)";
        Set<String> reported = new HashSet<>();
        for (String[] use : refs.uses) {
            String at = use[0];
            String name = use[2];
            String problem = switch (use[1]) {
                case "direct" -> refs.consumed.contains(name) ? null : at + ": sends to direct:" + name + ", but no route"
                        + " consumes it (from: direct:" + name + ") in " + folder + "/ or in the routes shipped with Ferry, so"
                        + " a run would wait for it forever; add that route or fix the name" + why;
                case "template" -> refs.templates.contains(name) ? null : at + ": routeTemplateRef '" + name + "' names no"
                        + " route template in " + folder + "/ or in the routes shipped with Ferry (known: "
                        + String.join(", ", refs.templates) + "); fix the name" + why;
                default -> java.util.Arrays.stream(name.split(",")).map(String::strip).allMatch(refs.configurations::contains)
                        ? null : at + ": routeConfigurationId '" + name + "' names no route configuration in " + folder + "/ or in"
                        + " the routes shipped with Ferry (known: " + String.join(", ", refs.configurations) + "); fix the name" + why;
            };
            if (problem != null && reported.add(at + " " + use[1] + " " + name)) {
                problems.add(problem);
            }
        }
    }

    /** Collects the direct: endpoints a route consumes and sends to, and its routeConfigurationId, with their lines. */
    private static void walk(Node node, String file, Refs refs) {
        if (node instanceof SequenceNode seq) {
            seq.getValue().forEach(n -> walk(n, file, refs));
            return;
        }
        if (!(node instanceof MappingNode map)) {
            String name = direct(scalar(node));
            if (name != null) {
                refs.uses.add(new String[] {file + ":" + line(node), "direct", name});
            }
            return;
        }
        for (NodeTuple t : map.getValue()) {
            String key = scalar(t.getKeyNode());
            Node value = t.getValueNode();
            if ("from".equals(key)) {
                String consumed = direct(value instanceof ScalarNode ? scalar(value) : scalar(child(value, "uri")));
                if (consumed != null) {
                    refs.consumed.add(consumed);
                }
                if (value instanceof MappingNode from) {
                    from.getValue().stream().filter(ft -> !"uri".equals(scalar(ft.getKeyNode())))
                            .forEach(ft -> walk(ft.getValueNode(), file, refs));
                }
            } else if ("routeConfigurationId".equals(key) && scalar(value) != null) {
                refs.uses.add(new String[] {file + ":" + line(value), "configuration", scalar(value)});
            } else if (!"description".equals(key)) {
                walk(value, file, refs);
            }
        }
    }

    /** The name of a {@code direct:} endpoint uri ({@code direct:x}, {@code direct://x?options}), or null. */
    private static String direct(String uri) {
        if (uri == null || !uri.startsWith("direct:") || uri.contains("{{") || uri.contains("${")) {
            return null; // another component, or a name only known when the route runs
        }
        String name = uri.substring("direct:".length());
        name = name.startsWith("//") ? name.substring(2) : name;
        int q = name.indexOf('?');
        return q < 0 ? name : name.substring(0, q);
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
            Map<String, String> given = new LinkedHashMap<>();
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
                    Node value = child(p, "value");
                    given.put(pName, scalar(value));
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
            declared.add(new Declared(name, location, given, scalar(child(trMap, "routeId"))));
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

    /** Every {@code templatedRoute} of the template, in the order Camel loads them. */
    public List<Declared> transfers() {
        return transfers;
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

    /** Camel's routesIncludePattern: the shipped files the folder does not replace, then the folder's YAML files. */
    public String includePattern() {
        return String.join(",", includes);
    }
}
