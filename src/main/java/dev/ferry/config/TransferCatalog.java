package dev.ferry.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Pattern;

import org.apache.camel.CamelContext;
import org.apache.camel.model.RouteDefinition;
import org.apache.camel.model.RouteTemplateDefinition;

/**
 * Every transfer declared under routes/, validated as a whole before anything runs.
 *
 * <p>Registered with Camel as the converter of the {@value #TEMPLATE_ID} route template, it sees each
 * {@code templatedRoute} as Camel builds it: it names the route after the transfer and derives the parameters
 * the template's trigger needs. {@link #validate} then checks all transfers against the declared connections and
 * reports every problem at once, each with its file and line.
 */
public final class TransferCatalog implements RouteTemplateDefinition.Converter {

    public static final String TEMPLATE_ID = "ferry-transfer";

    /** Parameters the template derives for itself. */
    static final Set<String> DERIVED = Set.of("everyMillis", "retryDelayMillis", "retryMaxDelayMillis", "tableThreads", "parentRouteId",
            "parentProcessorId");

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,99}");

    private final List<RouteDefinition> declared = new CopyOnWriteArrayList<>();
    private volatile Duration scheduleOverride;
    private RouteFiles files = RouteFiles.none();
    private final Map<String, TransferSpec> transfers = new LinkedHashMap<>();
    private final CamelContext camel;
    /**
     * The loaded template's parameters and their defaults, as the last transfer built saw them: the parameters a
     * transfer may set (anything else is a typo worth reporting).
     */
    private volatile TemplateParameters templateParameters = TemplateParameters.shipped();

    /** @param camel where the transfers' table thread pools are registered (null: none, for reading routes only) */
    public TransferCatalog(CamelContext camel) {
        this.camel = camel;
    }

    @Override
    public RouteDefinition apply(RouteTemplateDefinition template, Map<String, Object> parameters) throws Exception {
        RouteDefinition route = template.asRouteDefinition();
        Object name = parameters.get("name");
        if (name != null && NAME.matcher(name.toString()).matches()) {
            route.setId(name.toString());
        }
        if (scheduleOverride != null) {
            // the demo runs every transfer on one short schedule, whatever the routes say
            parameters.remove("cron");
            parameters.put("every", Durations.format(scheduleOverride));
        }
        try {
            String every = given(parameters.get("every"), null);
            if (every != null) {
                parameters.put("everyMillis", String.valueOf(Durations.parse(every).toMillis()));
            }
        } catch (IllegalArgumentException e) {
            // reported by validate() together with every other problem
        }
        TemplateParameters declares = TemplateParameters.of(template);
        templateParameters = declares;
        Map<String, String> defaults = declares.defaults();
        deriveMillis(parameters, "retryDelay", "retryDelayMillis", defaults);
        deriveMillis(parameters, "retryMaxDelay", "retryMaxDelayMillis", defaults);
        if (camel != null && name != null) {
            parameters.put("tableThreads", tableThreads(name.toString(), parameters.get("parallelTables"), defaults));
        }
        declared.add(route);
        return route;
    }

    /**
     * The thread pool the transfer's tables are split over: {@code parallelTables} threads (the template's default
     * when unset; one when invalid, which validate() reports). Camel shuts it down with the context.
     */
    private String tableThreads(String transfer, Object parallelTables, Map<String, String> defaults) {
        int threads = 1;
        try {
            threads = Math.max(1, Integer.parseInt(given(parallelTables, defaults.get("parallelTables"))));
        } catch (RuntimeException e) {
            // reported by validate()
        }
        String id = "ferry-tables-" + transfer;
        if (camel.getRegistry().lookupByName(id) == null) {
            // threads that end when idle: hundreds of transfers hold threads only while they run
            org.apache.camel.spi.ThreadPoolProfile profile = new org.apache.camel.builder.ThreadPoolProfileBuilder(id)
                    .poolSize(threads).maxPoolSize(threads).keepAliveTime(10L, java.util.concurrent.TimeUnit.SECONDS)
                    .allowCoreThreadTimeOut(true).maxQueueSize(-1).build();
            camel.getRegistry().bind(id, camel.getExecutorServiceManager().newThreadPool(this, id, profile));
        }
        return id;
    }

    /**
     * The template's redelivery policy takes milliseconds; routes are written in durations. An unset or blank one is
     * the template's default; an invalid one, which validate() reports before anything runs, is 0 meanwhile.
     */
    private void deriveMillis(Map<String, Object> parameters, String from, String to, Map<String, String> defaults) {
        long millis = 0;
        try {
            millis = Durations.parse(given(parameters.get(from), defaults.get(from))).toMillis();
        } catch (RuntimeException e) {
            // reported by validate()
        }
        parameters.put(to, String.valueOf(millis));
    }

    /**
     * A parameter's text as validate() reads it: its placeholders resolved (Camel passes them to the template as they
     * are written), or the template's default when it is unset or blank; null when neither.
     */
    private String given(Object value, String dflt) {
        String text = value == null ? null : value.toString();
        if (text != null && text.contains("{{") && camel != null) {
            text = Placeholders.resolve(camel, text, false); // an unresolvable one: reported by validate()
        }
        text = TransferSpec.blankToNull(text);
        return text != null ? text : dflt;
    }

    /**
     * How many transfers the routes declare: every {@code templatedRoute} of the template Camel has built so far, valid or
     * not (known once the routes are loaded, before {@link #validate} runs).
     */
    public int declared() {
        return declared.size();
    }

    /** Makes every transfer run on this interval instead of its own schedule (for the demo). */
    public void overrideSchedule(Duration every) {
        this.scheduleOverride = every;
    }

    /**
     * Checks every declared transfer against the connections.
     *
     * @throws ConfigException listing every problem found
     */
    public synchronized void validate(CamelContext camel, Declared connections, RouteFiles files) {
        this.files = files;
        List<String> problems = new ArrayList<>();
        transfers.clear();
        Map<String, String> destinationTables = new HashMap<>();
        for (RouteDefinition route : declared) {
            Map<String, String> params = new LinkedHashMap<>();
            Map<String, Object> raw = route.getTemplateParameters() == null ? Map.of() : route.getTemplateParameters();
            String name = raw.get("name") == null ? null : raw.get("name").toString();
            RouteFiles.Location loc = name == null ? null : files.locate(name);
            String fallback = route.getId() != null ? "routes (route " + route.getId() + ")" : "routes";
            java.util.function.Function<String, String> where = param -> loc != null ? loc.at(param) : fallback;

            if (name == null || name.isBlank()) {
                problems.add(fallback + ": a ferry-transfer templatedRoute has no 'name' parameter; add one, e.g."
                        + " { name: name, value: orders-export }");
                continue;
            }
            if (!NAME.matcher(name).matches()) {
                problems.add(where.apply("name") + ": transfer name '" + name + "' may hold only letters, digits, '.', '_'"
                        + " and '-', starting with a letter or digit");
                continue;
            }
            String clash = files.routeDeclaring(name);
            if (clash != null) {
                // Camel would replace that route with the transfer's, and every run would then fail
                problems.add(where.apply("name") + ": transfer name '" + name + "' is the id of the route declared at " + clash
                        + ", and a transfer's name is its route id; rename the transfer");
                continue;
            }
            if (transfers.containsKey(name)) {
                problems.add(where.apply("name") + ": transfer name '" + name + "' is used twice; names must be unique");
                continue;
            }
            if (route.getId() != null && !route.getId().equals(name)) {
                problems.add(where.apply(null) + ": transfer '" + name + "' sets routeId '" + route.getId()
                        + "'; remove routeId, the transfer's name is its route id");
            }
            for (Map.Entry<String, Object> e : raw.entrySet()) {
                String key = e.getKey();
                if (key.contains("-") || DERIVED.contains(key)) {
                    continue; // Camel adds kebab-case twins of every key
                }
                if (!templateParameters.names().contains(key) && !key.startsWith("filter.")) {
                    problems.add(where.apply(key) + ": transfer '" + name + "': unknown parameter '" + key + "'; known: "
                            + String.join(", ", new TreeSet<>(templateParameters.names())));
                    continue;
                }
                String value = e.getValue() == null ? null : e.getValue().toString();
                if (value != null && value.contains("{{")) {
                    try {
                        value = Placeholders.resolve(camel, value, key.equals("webhook"));
                    } catch (Placeholders.Unresolved ex) {
                        problems.add(where.apply(key) + ": transfer '" + name + "': parameter '" + key + "': " + ex.getMessage());
                        continue;
                    }
                }
                params.put(key, value);
            }
            String sourceName = TransferSpec.blankToNull(params.get("source"));
            if (sourceName != null && !connections.declaresSource(sourceName)) {
                problems.add(where.apply("source") + ": transfer '" + name + "': no source named '" + sourceName + "'; declare"
                        + " ferry.source." + sourceName + ".hostname (and port, database, user, password) in "
                        + connections.configName() + knownNames(" (declared sources: ", connections.sources().keySet()));
            }
            String destinationName = TransferSpec.blankToNull(params.get("destination"));
            ConnectionSettings dest = destinationName == null ? null : connections.destination(destinationName);
            if (destinationName != null && !connections.declaresDestination(destinationName)) {
                problems.add(where.apply("destination") + ": transfer '" + name + "': no destination named '" + destinationName
                        + "'; declare ferry.destination." + destinationName + ".hostname (and port, database, user,"
                        + " password, schema) in " + connections.configName()
                        + knownNames(" (declared destinations: ", connections.destinations().keySet()));
            }
            TransferSpec spec = TransferSpec.parse(params, templateParameters.defaults(), where, problems);
            if (spec == null) {
                continue;
            }
            String sessions = spec.sessionsProblem(connections.sources().get(spec.source()), dest);
            if (sessions != null) {
                problems.add(where.apply("parallelTables") + ": transfer '" + name + "': " + sessions);
            }
            if (dest != null) {
                for (TableRef t : spec.tables()) {
                    String key = spec.destination() + "/" + t.name();
                    String other = destinationTables.putIfAbsent(key, name + " (" + t.display() + ")");
                    if (other != null) {
                        problems.add(where.apply("tables") + ": transfer '" + name + "': " + t.display() + " would be written to "
                                + dest.schema() + "." + t.name() + " in destination '" + spec.destination()
                                + "', which transfer " + other + " already writes");
                    }
                }
            }
            transfers.put(name, spec);
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
    }

    private static String knownNames(String prefix, Collection<String> names) {
        return names.isEmpty() ? " (none are declared yet)" : prefix + String.join(", ", new TreeSet<>(names)) + ")";
    }

    /** Where a transfer's parameter is written, "file:line", for messages. */
    public synchronized String where(String transfer, String parameter) {
        RouteFiles.Location loc = files.locate(transfer);
        return loc != null ? loc.at(parameter) : "routes (transfer " + transfer + ")";
    }

    public synchronized TransferSpec get(String name) {
        TransferSpec spec = transfers.get(name);
        if (spec == null) {
            throw new IllegalArgumentException("no transfer named '" + name + "'");
        }
        return spec;
    }

    public synchronized boolean contains(String name) {
        return transfers.containsKey(name);
    }

    public synchronized List<TransferSpec> all() {
        return List.copyOf(transfers.values());
    }

    /** The connections declared in the properties, as the catalog checks transfers against them. */
    public interface Declared {
        boolean declaresSource(String name);

        boolean declaresDestination(String name);

        java.util.Map<String, ConnectionSettings> sources();

        java.util.Map<String, ConnectionSettings> destinations();

        ConnectionSettings destination(String name);

        String configName();
    }
}
