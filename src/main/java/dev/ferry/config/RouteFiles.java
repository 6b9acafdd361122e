package dev.ferry.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.api.lowlevel.Compose;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;

/**
 * Where each transfer and each of its parameters is written in the routes folder, so that a configuration
 * error can say "routes/shop.yaml:14" rather than only a transfer name. Camel's model keeps the values but not
 * their lines, so this reads the same YAML once more, for positions only.
 */
public final class RouteFiles {

    /** A transfer's file, the line of its {@code templatedRoute}, and the line of each parameter. */
    public record Location(String file, int line, Map<String, Integer> parameterLines) {

        public String at(String parameter) {
            Integer l = parameter == null ? null : parameterLines.get(parameter);
            return file + ":" + (l != null ? l : line);
        }
    }

    private final Map<String, Location> byName;

    private RouteFiles(Map<String, Location> byName) {
        this.byName = byName;
    }

    public static RouteFiles none() {
        return new RouteFiles(Map.of());
    }

    /** Scans {@code *.yaml} and {@code *.yml} files in a folder; files Camel cannot parse are left to Camel to report. */
    public static RouteFiles scan(Path routesDir, String templateId) {
        Map<String, Location> found = new LinkedHashMap<>();
        if (routesDir == null || !Files.isDirectory(routesDir)) {
            return new RouteFiles(found);
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(routesDir)) {
            files = s.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().toList();
        } catch (IOException e) {
            return new RouteFiles(found);
        }
        for (Path file : files) {
            String display = displayName(routesDir, file);
            try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                for (Node doc : new Compose(LoadSettings.builder().setLabel(display).build()).composeAllFromReader(r)) {
                    collect(doc, display, templateId, found);
                }
            } catch (IOException | RuntimeException e) {
                // a broken file is reported by Camel's loader with its own position
            }
        }
        return new RouteFiles(found);
    }

    private static String displayName(Path dir, Path file) {
        Path name = dir.getFileName();
        return (name != null ? name + "/" : "") + file.getFileName();
    }

    private static void collect(Node doc, String file, String templateId, Map<String, Location> found) {
        if (!(doc instanceof SequenceNode seq)) {
            return;
        }
        for (Node item : seq.getValue()) {
            Node tr = child(item, "templatedRoute");
            if (!(tr instanceof MappingNode trMap)) {
                continue;
            }
            if (!templateId.equals(scalar(child(trMap, "routeTemplateRef")))) {
                continue;
            }
            Map<String, Integer> lines = new HashMap<>();
            String name = null;
            Node params = child(trMap, "parameters");
            if (params instanceof SequenceNode ps) {
                for (Node p : ps.getValue()) {
                    String pName = scalar(child(p, "name"));
                    if (pName == null) {
                        continue;
                    }
                    lines.put(pName, line(p));
                    if ("name".equals(pName)) {
                        name = scalar(child(p, "value"));
                    }
                }
            }
            if (name != null) {
                found.putIfAbsent(name, new Location(file, line(item), lines));
            }
        }
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
}
