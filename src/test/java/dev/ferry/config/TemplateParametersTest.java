package dev.ferry.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.function.Function;

import dev.ferry.app.FerryRuntime;
import dev.ferry.testing.FerryHarness;
import org.apache.camel.model.ModelCamelContext;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A transfer's parameters and their defaults are written once, in the ferry-transfer template: Ferry reads them from
 * there (the loaded template, a user's copy included), and the README states the same defaults.
 */
class TemplateParametersTest {

    /** Connections that are declared but never reached: these tests start Ferry without its preflight check. */
    static final Map<String, String> UNREACHED = Map.of(
            "ferry.source.src.hostname", "localhost", "ferry.source.src.database", "s", "ferry.source.src.user", "u",
            "ferry.destination.dst.hostname", "localhost", "ferry.destination.dst.database", "d",
            "ferry.destination.dst.user", "u", "ferry.destination.dst.schema", "export");

    static FerryRuntime start(Path dir) throws Exception {
        Properties props = new Properties();
        props.setProperty("ferry.preflight", "false");
        FerryRuntime ferry = new FerryRuntime(dir.resolve("application.properties"), dir.resolve("routes"),
                FerryRuntime.Trigger.MANUAL, props, null);
        try {
            ferry.start();
        } catch (Exception e) {
            ferry.close();
            throw e;
        }
        return ferry;
    }

    static Map<String, Object> routeParameters(FerryRuntime ferry, String transfer) {
        return ((ModelCamelContext) ferry.camel()).getRouteDefinition(transfer).getTemplateParameters();
    }

    @Test
    void theReadmeStatesTheTemplatesDefaults() throws Exception {
        Map<String, String> defaults = TemplateParameters.shipped().defaults();
        // each default, as the README's parameter table words it
        Map<String, Function<String, String>> worded = new LinkedHashMap<>();
        worded.put("mode", d -> "| `" + d + "` (default)");
        worded.put("batchSize", d -> "default " + d + ".");
        worded.put("fetchSize", d -> "default " + d + ".");
        worded.put("parallelTables", d -> "default " + d + ".");
        worded.put("copyStreams", d -> "default " + d + ".");
        worded.put("onSchemaChange", d -> "`" + d + "` (the default)");
        worded.put("retryAttempts", d -> "(default " + d + ";");
        worded.put("retryDelay", d -> "the first after `" + d + "`");
        worded.put("retryMultiplier", d -> "each next one " + Map.of("2", "twice", "3", "three times").getOrDefault(d, d + " times")
                + " as long");
        worded.put("retryMaxDelay", d -> "at most `" + d + "` apart");
        assertThat(worded.keySet()).as("every parameter the template gives a default").containsExactlyInAnyOrderElementsOf(defaults.keySet());

        String readme = Files.readString(Path.of("README.md"));
        for (Map.Entry<String, Function<String, String>> w : worded.entrySet()) {
            assertThat(row(readme, w.getKey())).as("README's row of " + w.getKey()).contains(w.getValue().apply(defaults.get(w.getKey())));
        }
        // lookback's default depends on the cursor's type, so no template default can hold it: Java does, and says so
        String lookback = TransferSpec.Lookback.DEFAULT.text();
        assertThat(row(readme, "lookback")).contains("default `" + lookback + "`");
        assertThat(Files.readString(Path.of("routes/ferry-transfer.yaml"))).contains("(default " + lookback + " for");
    }

    /** The README table's row whose first cell names the parameter. */
    static String row(String readme, String parameter) {
        return readme.lines().filter(l -> l.startsWith("| ") && l.split("\\|")[1].contains("`" + parameter + "`")).findFirst()
                .orElseThrow(() -> new AssertionError("README has no row for " + parameter));
    }

    @Test
    void aTransferThatSetsNothingGetsTheTemplatesDefaults() {
        List<String> problems = new ArrayList<>();
        TransferSpec spec = TransferSpec.parse(Map.of("name", "t", "source", "s", "destination", "d", "tables", "a.b", "every", "1h"),
                p -> "routes", problems);
        assertThat(problems).isEmpty();
        Map<String, String> d = TemplateParameters.shipped().defaults();
        assertThat(spec.mode().key()).isEqualTo(d.get("mode"));
        assertThat(spec.batchSize()).isEqualTo(Integer.parseInt(d.get("batchSize")));
        assertThat(spec.fetchSize()).isEqualTo(Integer.parseInt(d.get("fetchSize")));
        assertThat(spec.parallelTables()).isEqualTo(Integer.parseInt(d.get("parallelTables")));
        assertThat(spec.copyStreams()).isEqualTo(Integer.parseInt(d.get("copyStreams")));
        assertThat(spec.retryAttempts()).isEqualTo(Integer.parseInt(d.get("retryAttempts")));
        assertThat(spec.retryDelay()).isEqualTo(Durations.parse(d.get("retryDelay")));
        assertThat(spec.retryMultiplier()).isEqualTo(Double.parseDouble(d.get("retryMultiplier")));
        assertThat(spec.retryMaxDelay()).isEqualTo(Durations.parse(d.get("retryMaxDelay")));
        assertThat(spec.lookback()).isSameAs(TransferSpec.Lookback.DEFAULT);
    }

    /** Before, a blank value took a default written in Java (100000 rows, 1s), whatever the template said. */
    @Test
    void aBlankValueTakesTheLoadedTemplatesDefault() throws Exception {
        Path dir = FerryHarness.write(null, null, null, FerryHarness.transfer("t", "app.t", "batchSize", "", "retryDelay", ""), UNREACHED);
        String template = Files.readString(Path.of("routes/ferry-transfer.yaml"));
        String batch = "      - name: batchSize\n";
        String delay = "      - name: retryDelay\n";
        assertThat(template).contains(batch, delay);
        // a user's copy of the template, with its own defaults
        Files.writeString(dir.resolve("routes/ferry-transfer.yaml"), template
                .replaceFirst("(" + batch + "(?:        [^\\n]*\\n)*?)        defaultValue: [^\\n]*\\n", "$1        defaultValue: \"7\"\n")
                .replaceFirst("(" + delay + "(?:        [^\\n]*\\n)*?)        defaultValue: [^\\n]*\\n", "$1        defaultValue: 3s\n"));
        try (FerryRuntime ferry = start(dir)) {
            TransferSpec spec = ferry.catalog().get("t");
            assertThat(spec.batchSize()).isEqualTo(7);
            assertThat(spec.retryDelay()).isEqualTo(Duration.ofSeconds(3));
            assertThat(routeParameters(ferry, "t")).containsEntry("retryDelayMillis", "3000");
        }
    }

    /**
     * Camel hands the template the parameters as written; the route's thread pool, retry delays and interval are derived
     * from them as the transfer itself reads them, placeholders resolved. Before, a placeholder there was ignored: one
     * thread, the default delay, and no interval.
     */
    @Test
    void theRouteGetsWhatPlaceholdersResolveTo() throws Exception {
        Map<String, String> props = new LinkedHashMap<>(UNREACHED);
        props.put("test.threads", "3");
        props.put("test.delay", "7s");
        props.put("test.every", "90s");
        Path dir = FerryHarness.write(null, null, null, FerryHarness.transfer("t", "app.t", "parallelTables", "{{test.threads}}",
                "retryDelay", "{{test.delay}}", "retryMaxDelay", "{{test.delay}}", "every", "{{test.every}}"), props);
        try (FerryRuntime ferry = start(dir)) {
            TransferSpec spec = ferry.catalog().get("t");
            assertThat(spec.parallelTables()).isEqualTo(3);
            assertThat(spec.every()).isEqualTo(Duration.ofSeconds(90));
            assertThat(ferry.camel().getRegistry().lookupByNameAndType("ferry-tables-t", ThreadPoolExecutor.class).getCorePoolSize())
                    .isEqualTo(3);
            assertThat(routeParameters(ferry, "t")).containsEntry("retryDelayMillis", "7000").containsEntry("retryMaxDelayMillis", "7000")
                    .containsEntry("everyMillis", "90000");
        }
    }

    /**
     * The parameters a transfer may set are the template's: a customised copy that declares one more (with a default,
     * which Camel gives every transfer) starts. Before, Java's own list called it unknown in every transfer.
     */
    @Test
    void aParameterTheLoadedTemplateDeclaresIsKnown() throws Exception {
        Path dir = FerryHarness.write(null, null, null, FerryHarness.transfer("t", "app.t", "team", "billing"), UNREACHED);
        String template = Files.readString(Path.of("routes/ferry-transfer.yaml"));
        String webhook = "      - name: webhook\n";
        assertThat(template).contains(webhook);
        Files.writeString(dir.resolve("routes/ferry-transfer.yaml"), template.replace(webhook,
                "      - name: team\n        description: Who owns the transfer (a label of our own).\n        defaultValue: data\n" + webhook));
        try (FerryRuntime ferry = start(dir)) {
            assertThat(ferry.catalog().get("t").name()).isEqualTo("t");
        }
        // a name no template declares is still a typo
        Path typo = FerryHarness.write(null, null, null, FerryHarness.transfer("t", "app.t", "team", "billing"), UNREACHED);
        ConfigException e = org.assertj.core.api.Assertions.catchThrowableOfType(ConfigException.class, () -> start(typo).close());
        assertThat(e.problems()).singleElement().asString().contains("transfer 't': unknown parameter 'team'; known: ").contains(" batchSize,");
    }
}
