package dev.ferry.config;

import java.nio.file.Files;
import java.nio.file.Path;
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
    /** The route template of a transfer with a recipients list (see {@link #recipientsRoute}). */
    public static final String RECIPIENTS_TEMPLATE_ID = "ferry-recipients";

    /** Parameters the template derives for itself. */
    static final Set<String> DERIVED = Set.of("recipientsRefreshMillis", "everyMillis", "retryDelayMillis", "retryMaxDelayMillis", "tableThreads", "parentRouteId",
            "parentProcessorId");

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,99}");

    private final List<RouteDefinition> declared = new CopyOnWriteArrayList<>();
    private volatile Duration scheduleOverride;
    private volatile boolean manual;
    private RouteFiles files = RouteFiles.none();
    private final Map<String, TransferSpec> transfers = new LinkedHashMap<>();
    private final Map<String, RecipientsList> lists = new LinkedHashMap<>();
    /** Where a recipient's transfer's parameters are written (the recipient's, or the transfer's), by transfer. */
    private final Map<String, java.util.function.Function<String, String>> wheres = new HashMap<>();
    /** Which transfer writes each destination table, "destination/table" to "transfer (source table)". */
    private final Map<String, String> destinationTables = new HashMap<>();
    private Declared connections;
    private Path routesFolder = Path.of(".");
    private final CamelContext camel;
    /** Where hooks' placeholders are resolved when this catalog has no context of its own (a {@link #checked} one). */
    private CamelContext placeholderContext;
    /** The hook parameters: their text keeps its placeholders as written (see {@link Hooks.Statement}). */
    private static final java.util.Set<String> HOOKS = java.util.Set.of("afterLoad", "beforeRun");
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
        Object name = parameters.get("name");
        if (TransferSpec.blankToNull(given(parameters.get("recipients"), null)) != null) {
            return recipientsRoute(name, parameters);
        }
        RouteDefinition route = template.asRouteDefinition();
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
     * A transfer with a recipients list runs no tables itself: its route, from the {@value #RECIPIENTS_TEMPLATE_ID}
     * template, keeps its recipients' transfers in line with the list, read again every {@code recipientsRefresh}.
     */
    private RouteDefinition recipientsRoute(Object name, Map<String, Object> parameters) {
        RouteTemplateDefinition template = camel == null ? null
                : camel.getCamelContextExtension().getContextPlugin(org.apache.camel.model.Model.class)
                        .getRouteTemplateDefinition(RECIPIENTS_TEMPLATE_ID);
        if (template == null) {
            throw new IllegalStateException("the route template '" + RECIPIENTS_TEMPLATE_ID + "' is not loaded; it ships in "
                    + RouteFiles.SHIPPED + TEMPLATE_ID + ".yaml (a copy of that file in the routes folder must keep it)");
        }
        RouteDefinition route = template.asRouteDefinition();
        if (name != null && NAME.matcher(name.toString()).matches()) {
            route.setId(name.toString());
        }
        long millis = DEFAULT_RECIPIENTS_REFRESH.toMillis();
        try {
            String refresh = given(parameters.get("recipientsRefresh"), null);
            millis = refresh == null ? millis : Math.max(1, Durations.parse(refresh).toMillis());
        } catch (IllegalArgumentException e) {
            // reported by validate()
        }
        parameters.put("recipientsRefreshMillis", String.valueOf(millis));
        if (manual) {
            route.setAutoStartup("false"); // sync, check, list: the list is read once, at startup
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
            // threads that end a second after their run: hundreds of transfers hold threads only while they run
            org.apache.camel.spi.ThreadPoolProfile profile = new org.apache.camel.builder.ThreadPoolProfileBuilder(id)
                    .poolSize(threads).maxPoolSize(threads).keepAliveTime(1L, java.util.concurrent.TimeUnit.SECONDS)
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

    /** Transfers run only when asked (sync, check, list): recipients lists are read once, at startup, not again. */
    public void manual() {
        this.manual = true;
    }

    /** The routes folder, where recipients files are (see {@link Recipients#file}). */
    public void routesFolder(Path routes) {
        this.routesFolder = routes.toAbsolutePath().normalize();
    }

    /** Makes every transfer run on this interval instead of its own schedule (for the demo). */
    public void overrideSchedule(Duration every) {
        this.scheduleOverride = every;
    }

    /**
     * Checks every declared transfer against the connections. A transfer that names a {@code recipients} list is kept
     * apart ({@link #lists()}): its recipients' transfers are {@link #admit}ted as the list is read.
     *
     * @throws ConfigException listing every problem found
     */
    public synchronized void validate(CamelContext camel, Declared connections, RouteFiles files) {
        List<Map.Entry<String, Map<String, Object>>> routes = new ArrayList<>();
        for (RouteDefinition route : declared) {
            routes.add(new java.util.AbstractMap.SimpleEntry<>(route.getId(),
                    route.getTemplateParameters() == null ? Map.of() : route.getTemplateParameters()));
        }
        validate(camel, connections, files, routes);
    }

    /** {@link #validate}, of templatedRoutes given as route id (or null) and parameters. */
    private void validate(CamelContext camel, Declared connections, RouteFiles files,
                          List<Map.Entry<String, Map<String, Object>>> routes) {
        this.files = files;
        this.connections = connections;
        this.placeholderContext = camel;
        List<String> problems = new ArrayList<>();
        transfers.clear();
        lists.clear();
        destinationTables.clear();
        for (Map.Entry<String, Map<String, Object>> route : routes) {
            declare(camel, route.getKey(), route.getValue(), problems);
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
    }

    /**
     * Checks the transfers the route files declare now, exactly as {@link #validate} checked them at startup (against
     * the same connections and template), without changing this catalog: a new one holds them.
     *
     * @return a catalog of the transfers as they are declared now (for the preflight checks and messages)
     * @throws ConfigException listing every problem, each with its file and line
     */
    public TransferCatalog checked(CamelContext camel, RouteFiles files) {
        TransferCatalog scratch = new TransferCatalog(null);
        Declared declaredConnections;
        synchronized (this) {
            scratch.routesFolder = routesFolder;
            scratch.templateParameters = templateParameters;
            declaredConnections = connections;
        }
        List<Map.Entry<String, Map<String, Object>>> routes = new ArrayList<>();
        for (RouteFiles.Declared d : files.transfers()) {
            routes.add(new java.util.AbstractMap.SimpleEntry<>(d.routeId(), new LinkedHashMap<>(d.parameters())));
        }
        scratch.validate(camel, declaredConnections, files, routes);
        return scratch;
    }

    /**
     * Makes a transfer declared in the route files while Ferry runs one of the transfers (or of the recipients lists),
     * checked as {@link #validate} checks it; what is wrong is added to {@code problems}. Its route is then added from
     * the template, which this catalog converts as at startup.
     *
     * @return whether it holds
     */
    public synchronized boolean declare(CamelContext camel, RouteFiles.Declared transfer, List<String> problems) {
        return declare(camel, transfer.routeId(), new LinkedHashMap<>(transfer.parameters()), problems);
    }

    /** The route files as last read, for where each transfer is written (file:line in messages). */
    public synchronized void files(RouteFiles files) {
        this.files = files;
    }

    /** Checks one templatedRoute and makes it a transfer or a recipients list; false after problems. */
    private boolean declare(CamelContext camel, String routeId, Map<String, Object> raw, List<String> problems) {
        int before = problems.size();
        String name = raw.get("name") == null ? null : raw.get("name").toString();
        RouteFiles.Location loc = name == null ? null : files.locate(name);
        String fallback = routeId != null ? "routes (route " + routeId + ")" : "routes";
        java.util.function.Function<String, String> where = param -> loc != null ? loc.at(param) : fallback;

        if (name == null || name.isBlank()) {
            problems.add(fallback + ": a ferry-transfer templatedRoute has no 'name' parameter; add one, e.g."
                    + " { name: name, value: orders-export }");
            return false;
        }
        if (!NAME.matcher(name).matches()) {
            problems.add(where.apply("name") + ": transfer name '" + name + "' may hold only letters, digits, '.', '_'"
                    + " and '-', starting with a letter or digit");
            return false;
        }
        String clash = files.routeDeclaring(name);
        if (clash != null) {
            // Camel would replace that route with the transfer's, and every run would then fail
            problems.add(where.apply("name") + ": transfer name '" + name + "' is the id of the route declared at " + clash
                    + ", and a transfer's name is its route id; rename the transfer");
            return false;
        }
        if (transfers.containsKey(name) || lists.containsKey(name)) {
            problems.add(where.apply("name") + ": transfer name '" + name + "' is used twice; names must be unique");
            return false;
        }
        if (routeId != null && !routeId.equals(name)) {
            problems.add(where.apply(null) + ": transfer '" + name + "' sets routeId '" + routeId
                    + "'; remove routeId, the transfer's name is its route id");
        }
        Map<String, String> params = parameters(camel, name, raw, where, problems);
        if (params == null) {
            return false;
        }
        if (TransferSpec.blankToNull(params.get("recipients")) != null) {
            RecipientsList list = recipientsList(name, params, where, problems);
            if (list != null) {
                lists.put(name, list);
            }
            return problems.size() == before;
        }
        for (String p : RECIPIENTS_PARAMETERS) {
            if (TransferSpec.blankToNull(params.get(p)) != null) {
                problems.add(where.apply(p) + ": transfer '" + name + "': parameter '" + p + "' is for a transfer with a"
                        + " 'recipients' list; remove it or add { name: recipients, value: ... }");
            }
        }
        TransferSpec spec = check(name, params, where, problems);
        if (spec != null) {
            transfers.put(name, spec);
        }
        return problems.size() == before;
    }

    /** A transfer's parameters as written, placeholders resolved; null after a problem that leaves nothing to check. */
    private Map<String, String> parameters(CamelContext camel, String name, Map<String, Object> raw,
                                           java.util.function.Function<String, String> where, List<String> problems) {
        Map<String, String> params = new LinkedHashMap<>();
        int before = problems.size();
        RouteFiles.Declared written = files.transfers().stream().filter(d -> name.equals(d.name())).findFirst().orElse(null);
        for (Map.Entry<String, Object> e : raw.entrySet()) {
            String key = e.getKey();
            Object given = e.getValue();
            if (DERIVED.contains(key)) {
                continue;
            }
            if (key.contains("-")) {
                // Camel adds kebab-case twins of every key; a family member's own dash (rename.shop."order-lines") is
                // kept when the file names it, with the value written there (a twin may have taken its place)
                if (!TemplateParameters.inFamily(key) || written == null || !written.parameters().containsKey(key)) {
                    continue;
                }
                given = written.parameters().get(key);
            }
            if (!templateParameters.names().contains(key) && !TemplateParameters.inFamily(key)) {
                problems.add(where.apply(key) + ": transfer '" + name + "': unknown parameter '" + key + "'; known: "
                        + String.join(", ", new TreeSet<>(templateParameters.names())));
                continue;
            }
            String value = given == null ? null : given.toString();
            if (value != null && value.contains("{{")) {
                try {
                    String resolved = Placeholders.resolve(camel, value, key.equals("webhook") || key.equals("hashKey")
                            || HOOKS.contains(key));
                    // a hook's placeholders are resolved into its statements only to run them (see check): its
                    // messages, run records and webhook events show the hook as written
                    value = HOOKS.contains(key) ? value : resolved;
                } catch (Placeholders.Unresolved ex) {
                    problems.add(where.apply(key) + ": transfer '" + name + "': parameter '" + key + "': " + ex.getMessage());
                    continue;
                }
            }
            params.put(key, value);
        }
        return problems.size() > before && params.get("name") == null ? null : params;
    }

    /** Checks one transfer's parameters against the connections and the other transfers; null after problems. */
    private TransferSpec check(String name, Map<String, String> params, java.util.function.Function<String, String> where,
                               List<String> problems) {
        Declared connections = this.connections;
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
        int before = problems.size();
        TransferSpec spec = TransferSpec.parse(params, templateParameters.defaults(), where, problems);
        if (spec == null || problems.size() > before) {
            return null;
        }
        if (spec.hooks().hasPlaceholders()) {
            CamelContext context = camel != null ? camel : placeholderContext;
            spec = spec.withHooks(spec.hooks().resolved(text -> Placeholders.resolve(context, text, true)));
        }
        ConnectionSettings src = connections.sources().get(spec.source());
        String sessions = spec.sessionsProblem(src, src == null ? ConnectionSettings.DEFAULT_MAX_SESSIONS : connections.maxSessions(src),
                dest, dest == null ? ConnectionSettings.DEFAULT_MAX_SESSIONS : connections.maxSessions(dest));
        if (sessions != null) {
            problems.add(where.apply("parallelTables") + ": transfer '" + name + "': " + sessions);
            return null;
        }
        if (dest != null && spec.names().schema() != null) {
            // its own connection to the destination, writing into its schema, as a recipient's: runs, status and health
            // find the schema by the transfer's destination, as for any other
            dest = connections.withSchema(dest, spec.names().schema());
            spec = spec.withDestination(dest.name());
        }
        if (dest != null) {
            List<String> keys = new ArrayList<>();
            for (TableRef t : spec.tables()) {
                // where the rows land, not the destination's name: two names (two recipients) may reach one schema
                String table = spec.names().nameOf(t);
                String key = dest.server() + "/" + dest.database() + "/" + dest.schema() + "/" + table;
                String other = destinationTables.putIfAbsent(key, name + " (" + t.display() + ")");
                if (other != null) {
                    problems.add(where.apply("tables") + ": transfer '" + name + "': " + t.display() + " would be written to "
                            + Sql.displayIdent(dest.schema()) + "." + Sql.displayIdent(table) + " in destination '" + spec.destination()
                            + "', which transfer " + other + " already writes");
                } else {
                    keys.add(key);
                }
            }
            if (problems.size() > before) {
                keys.forEach(destinationTables::remove);
                return null;
            }
        }
        return spec;
    }

    /** The parameters only a transfer with a recipients list takes. */
    static final List<String> RECIPIENTS_PARAMETERS = List.of("recipientsSource", "recipientsRefresh");
    /** How often a recipients list is read again, unless the transfer's {@code recipientsRefresh} says otherwise. */
    public static final Duration DEFAULT_RECIPIENTS_REFRESH = Duration.ofMinutes(1);

    /**
     * A transfer with a recipients list: checked as any transfer is (its filter's values may come from the recipients),
     * and where its list is.
     */
    private RecipientsList recipientsList(String name, Map<String, String> params, java.util.function.Function<String, String> where,
                                          List<String> problems) {
        int before = problems.size();
        String value = params.get("recipients").strip();
        String source = TransferSpec.blankToNull(params.get("recipientsSource"));
        Path file = null;
        if (value.startsWith(Recipients.SQL_PREFIX)) {
            if (source == null) {
                problems.add(where.apply("recipients") + ": transfer '" + name + "': a recipients query needs"
                        + " { name: recipientsSource, value: ... }, the declared source it runs on");
            } else if (!connections.declaresSource(source)) {
                problems.add(where.apply("recipientsSource") + ": transfer '" + name + "': no source named '" + source + "'; declare"
                        + " ferry.source." + source + ".hostname (and port, database, user, password) in " + connections.configName()
                        + knownNames(" (declared sources: ", connections.sources().keySet()));
            }
        } else {
            if (source != null) {
                problems.add(where.apply("recipientsSource") + ": transfer '" + name + "': recipientsSource is for a recipients"
                        + " query (sql:SELECT ...); a recipients file needs none");
            }
            file = Recipients.file(routesFolder, value, where.apply("recipients") + ": transfer '" + name + "'", problems);
            if (file != null && !Files.isRegularFile(file)) {
                problems.add(where.apply("recipients") + ": transfer '" + name + "': no recipients file " + file + "; write one"
                        + " (a YAML list, one '- { name: ..., schema: ..., filter: { ... } }' per recipient)");
            }
        }
        Duration refresh = DEFAULT_RECIPIENTS_REFRESH;
        String refreshText = TransferSpec.blankToNull(params.get("recipientsRefresh"));
        if (refreshText != null) {
            try {
                refresh = Durations.parse(refreshText);
                if (refresh.isZero() || refresh.isNegative()) {
                    throw new IllegalArgumentException("it must be longer than 0");
                }
            } catch (IllegalArgumentException e) {
                problems.add(where.apply("recipientsRefresh") + ": transfer '" + name + "': parameter 'recipientsRefresh': '"
                        + refreshText + "' is not a duration such as 1m (" + e.getMessage() + ")");
            }
        }
        // the transfer as each recipient gets it: the filter's values and the destination's schema come from them
        Map<String, String> template = new LinkedHashMap<>(params);
        template.remove("recipients");
        RECIPIENTS_PARAMETERS.forEach(template::remove);
        Map<String, String> probe = new LinkedHashMap<>(template);
        String filter = TransferSpec.blankToNull(template.get("filter"));
        if (filter != null) {
            try {
                FilterSql.parse(filter).parameters().forEach(p -> probe.putIfAbsent("filter." + p, ""));
            } catch (IllegalArgumentException e) {
                // reported by the check below
            }
        }
        TransferSpec spec = TransferSpec.parse(probe, templateParameters.defaults(), where, problems);
        String destinationName = TransferSpec.blankToNull(params.get("destination"));
        if (destinationName != null && !connections.declaresDestination(destinationName)) {
            problems.add(where.apply("destination") + ": transfer '" + name + "': no destination named '" + destinationName
                    + "'; declare ferry.destination." + destinationName + ".hostname (and port, database, user,"
                    + " password, schema) in " + connections.configName()
                    + knownNames(" (declared destinations: ", connections.destinations().keySet()));
        }
        if (spec == null || problems.size() > before) {
            return null;
        }
        return new RecipientsList(name, spec, template, value, file, source, refresh, where.apply("recipients"));
    }

    /**
     * A transfer with a recipients list.
     *
     * @param spec       the transfer as declared (its destination: where recipients start from)
     * @param parameters its parameters, which each recipient's transfer copies
     * @param file       the recipients file, or null for a query
     * @param query      the {@code sql:} value
     * @param source     the source the query runs on
     * @param where      where the list is named, "file:line"
     */
    public record RecipientsList(String name, TransferSpec spec, Map<String, String> parameters, String query, Path file,
                                 String source, Duration refresh, String where) {

        public RecipientsList {
            parameters = Map.copyOf(parameters);
        }

        /** The query's SQL, or null for a file. */
        public String sql() {
            return file == null ? query.substring(Recipients.SQL_PREFIX.length()).strip() : null;
        }
    }

    /**
     * Checks a recipient's transfer as {@link #validate} checks a declared one and, when it holds, makes it one of the
     * transfers; what is wrong is added to {@code problems}, each naming where it is written.
     *
     * @param where where each parameter is written
     * @return the transfer, or null when it has problems
     */
    public synchronized TransferSpec admit(String name, Map<String, String> params, java.util.function.Function<String, String> where,
                                           List<String> problems) {
        if (transfers.containsKey(name) || lists.containsKey(name) || files.routeDeclaring(name) != null) {
            problems.add(where.apply("name") + ": transfer name '" + name + "' is already taken; rename the recipient");
            return null;
        }
        if (!NAME.matcher(name).matches()) {
            problems.add(where.apply("name") + ": transfer name '" + name + "' is longer than 100 characters; shorten the recipient's"
                    + " or the transfer's name");
            return null;
        }
        TransferSpec spec = check(name, params, where, problems);
        if (spec != null) {
            transfers.put(name, spec);
            wheres.put(name, where);
        }
        return spec;
    }

    /**
     * Forgets a transfer: a recipient's (its recipient left the list, or changed), what {@link #admit} made, or one
     * removed from the route files or changed there (a recipients list's too).
     */
    public synchronized void dismiss(String name) {
        TransferSpec gone = transfers.remove(name);
        if (gone != null && gone.names().schema() != null && connections != null
                && transfers.values().stream().noneMatch(t -> t.destination().equals(gone.destination()))) {
            connections.forget(gone.destination()); // its destinationSchema's connection, which no other transfer uses
        }
        lists.remove(name);
        wheres.remove(name);
        destinationTables.values().removeIf(v -> v.startsWith(name + " ("));
        declared.removeIf(r -> name.equals(r.getId()));
        if (camel != null) {
            String id = "ferry-tables-" + name;
            Object pool = camel.getRegistry().lookupByName(id);
            if (pool instanceof java.util.concurrent.ExecutorService executor) {
                camel.getExecutorServiceManager().shutdown(executor);
            }
            camel.getRegistry().unbind(id);
        }
    }

    /** The transfers with a recipients list, by name. */
    public synchronized Map<String, RecipientsList> lists() {
        return Map.copyOf(lists);
    }

    /** The transfers that hold (validated) and the transfers with a recipients list: what `check` looks at. */
    public synchronized List<TransferSpec> allWithLists() {
        List<TransferSpec> all = new ArrayList<>(transfers.values());
        lists.values().forEach(l -> all.add(l.spec()));
        return all;
    }

    private static String knownNames(String prefix, Collection<String> names) {
        return names.isEmpty() ? " (none are declared yet)" : prefix + String.join(", ", new TreeSet<>(names)) + ")";
    }

    /** Where a transfer's parameter is written, "file:line", for messages. */
    public synchronized String where(String transfer, String parameter) {
        java.util.function.Function<String, String> recipient = wheres.get(transfer);
        if (recipient != null) {
            return recipient.apply(parameter);
        }
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

        /**
         * The connection of a transfer that writes into its own {@code destinationSchema}: the declared destination's,
         * under the name {@code <destination>/<schema>}, writing into that schema, declared so that it is found by that
         * name (as a recipient's with its own schema: the same pool and server budget).
         */
        default ConnectionSettings withSchema(ConnectionSettings declared, String schema) {
            return declared.forRecipient(declared.name() + "/" + schema, schema);
        }

        /** Forgets a connection {@link #withSchema} declared. */
        default void forget(String name) {
        }

        /** The budget of the connection's server that runs reserve from (its own maxSessions unless told better). */
        default int maxSessions(ConnectionSettings connection) {
            return connection.sessions().max();
        }
    }
}
