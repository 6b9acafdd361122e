package dev.ferry.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

import dev.ferry.app.FerryRuntime;
import dev.ferry.state.TransferRun;

/**
 * A Ferry installation in a temporary folder, as a user would have it: an application.properties declaring a
 * source {@code src} and a destination {@code dst}, and a routes folder holding only the transfers a test declares (the
 * template and pipeline load from the classpath, as the jar ships them; {@link #copyRepoRoutes} puts the repository's
 * copies in the folder instead, as a user who customises them would). Started with schedules off; {@link #sync} runs
 * a transfer now.
 */
public final class FerryHarness implements AutoCloseable {

    private final Path dir;
    private final FerryRuntime runtime;

    private FerryHarness(Path dir, FerryRuntime runtime) {
        this.dir = dir;
        this.runtime = runtime;
    }

    /** Writes the files and starts Ferry. */
    public static FerryHarness start(TestDb source, TestDb destination, String destinationSchema, String transfersYaml)
            throws Exception {
        return start(source, destination, destinationSchema, transfersYaml, Map.of());
    }

    /** Like {@link #start(TestDb, TestDb, String, String)}, with more properties (more connections, say). */
    public static FerryHarness start(TestDb source, TestDb destination, String destinationSchema, String transfersYaml,
                                     Map<String, String> extraProperties) throws Exception {
        Path dir = write(source, destination, destinationSchema, transfersYaml, extraProperties);
        FerryRuntime runtime = new FerryRuntime(dir.resolve("application.properties"), dir.resolve("routes"),
                FerryRuntime.Trigger.MANUAL, new Properties(), null);
        try {
            runtime.start();
        } catch (Exception e) {
            runtime.close();
            throw e;
        }
        return new FerryHarness(dir, runtime);
    }

    /** Writes a Ferry folder (config and routes) and returns it, without starting anything. */
    public static Path write(TestDb source, TestDb destination, String destinationSchema, String transfersYaml,
                             Map<String, String> extraProperties) throws IOException {
        Path dir = Files.createTempDirectory("ferry-test");
        Path routes = Files.createDirectories(dir.resolve("routes"));
        Files.writeString(routes.resolve("transfers.yaml"), transfersYaml, StandardCharsets.UTF_8);
        Map<String, String> props = new LinkedHashMap<>();
        if (source != null) {
            props.put("ferry.source.src.hostname", source.server().host());
            props.put("ferry.source.src.port", String.valueOf(source.server().port()));
            props.put("ferry.source.src.database", source.database());
            props.put("ferry.source.src.user", source.user());
            props.put("ferry.source.src.password", source.password());
        }
        if (destination != null) {
            props.put("ferry.destination.dst.hostname", destination.server().host());
            props.put("ferry.destination.dst.port", String.valueOf(destination.server().port()));
            props.put("ferry.destination.dst.database", destination.database());
            props.put("ferry.destination.dst.user", destination.user());
            props.put("ferry.destination.dst.password", destination.password());
            props.put("ferry.destination.dst.schema", destinationSchema);
        }
        props.putAll(extraProperties);
        StringBuilder sb = new StringBuilder();
        props.forEach((k, v) -> sb.append(k).append(" = ").append(escape(v)).append('\n'));
        Files.writeString(dir.resolve("application.properties"), sb.toString(), StandardCharsets.ISO_8859_1);
        return dir;
    }

    /** Copies the repository's template and pipeline (routes/ferry-*.yaml) into a routes folder, to replace the shipped ones. */
    public static void copyRepoRoutes(Path routes) throws IOException {
        for (String f : new String[] {"ferry-transfer.yaml", "ferry-pipeline.yaml"}) {
            Files.copy(Path.of("routes").resolve(f), routes.resolve(f));
        }
    }

    private static String escape(String v) {
        StringBuilder sb = new StringBuilder();
        for (char c : v.toCharArray()) {
            if (c == '\\' || c == '#' || c == '!' || c == '=' || c == ':') {
                sb.append('\\');
            }
            if (c > 0x7e) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    /** A one-transfer YAML declaration; {@code extra} adds parameters such as {@code "mode", "incremental"}. */
    /** Properties declaring another destination, on the same database as {@code db} but another schema. */
    public static Map<String, String> destination(String name, TestDb db, String schema) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("ferry.destination." + name + ".hostname", db.server().host());
        p.put("ferry.destination." + name + ".port", String.valueOf(db.server().port()));
        p.put("ferry.destination." + name + ".database", db.database());
        p.put("ferry.destination." + name + ".user", db.user());
        p.put("ferry.destination." + name + ".password", db.password());
        p.put("ferry.destination." + name + ".schema", schema);
        return p;
    }

    public static String transfer(String name, String tables, String... extra) {
        StringBuilder sb = new StringBuilder();
        sb.append("- templatedRoute:\n    routeTemplateRef: ferry-transfer\n    parameters:\n");
        sb.append(param("name", name)).append(param("source", "src"));
        boolean destination = false;
        for (int i = 0; i + 1 < extra.length; i += 2) {
            destination |= extra[i].equals("destination");
        }
        if (!destination) {
            sb.append(param("destination", "dst"));
        }
        sb.append(param("tables", tables));
        boolean schedule = false;
        for (int i = 0; i + 1 < extra.length; i += 2) {
            sb.append(param(extra[i], extra[i + 1]));
            schedule |= extra[i].equals("every") || extra[i].equals("cron");
        }
        if (!schedule) {
            sb.append(param("every", "1h"));
        }
        return sb.toString();
    }

    private static String param(String name, String value) {
        return "      - name: " + name + "\n        value: '" + value.replace("'", "''") + "'\n";
    }

    public TransferRun sync(String transfer) throws Exception {
        return runtime.runOnce(transfer);
    }

    public FerryRuntime runtime() {
        return runtime;
    }

    public Path dir() {
        return dir;
    }

    @Override
    public void close() {
        runtime.close();
    }
}
