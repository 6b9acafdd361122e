package dev.ferry.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.PropertiesComponent;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The sources and destinations declared in application.properties, and a connection pool for each.
 *
 * <p>Keys: {@code ferry.source.<name>.hostname|port|database|user|password} and the same under
 * {@code ferry.destination.<name>.} plus {@code schema}. Values may use Camel placeholders such as
 * {@code {{env:APP_DB_PASSWORD}}}, so secrets can stay out of the file.
 *
 * <p>Pools are created on first use, so reading the configuration needs no network. Users and passwords
 * reach pgjdbc as connection properties, never inside a URL, so any character works in them.
 */
public final class Connections implements AutoCloseable {

    static final Set<String> SOURCE_KEYS = Set.of("hostname", "port", "database", "user", "password", "connectTimeout");
    static final Set<String> DESTINATION_KEYS = Set.of("hostname", "port", "database", "user", "password", "schema",
            "connectTimeout");

    private final Map<String, ConnectionSettings> sources;
    private final Map<String, ConnectionSettings> destinations;
    private final Map<String, HikariDataSource> pools = new ConcurrentHashMap<>();
    private final String configName;
    private final Set<String> declaredSources;
    private final Set<String> declaredDestinations;
    private final List<String> problems;

    public Connections(Map<String, ConnectionSettings> sources, Map<String, ConnectionSettings> destinations,
                       String configName) {
        this(sources, destinations, configName, sources.keySet(), destinations.keySet(), List.of());
    }

    private Connections(Map<String, ConnectionSettings> sources, Map<String, ConnectionSettings> destinations,
                        String configName, Set<String> declaredSources, Set<String> declaredDestinations, List<String> problems) {
        this.sources = Map.copyOf(sources);
        this.destinations = Map.copyOf(destinations);
        this.configName = configName;
        this.declaredSources = Set.copyOf(declaredSources);
        this.declaredDestinations = Set.copyOf(declaredDestinations);
        this.problems = List.copyOf(problems);
    }

    /**
     * Reads every {@code ferry.source.*} and {@code ferry.destination.*} key. Connections with problems are left out
     * and their problems listed in {@link #problems()}, so that all problems can be reported at once.
     */
    public static Connections fromProperties(CamelContext camel, String configName) {
        PropertiesComponent pc = camel.getPropertiesComponent();
        java.util.function.Predicate<String> ours = k -> k.startsWith("ferry.source.") || k.startsWith("ferry.destination.");
        // keys may come from the file (and its overrides) or from JVM system properties (-Dferry.source.app.port=...)
        Properties raw = pc.loadProperties(ours);
        System.getProperties().stringPropertyNames().stream().filter(ours).forEach(k -> raw.setProperty(k, ""));
        Map<String, Map<String, String>> sourceKeys = new LinkedHashMap<>();
        Map<String, Map<String, String>> destinationKeys = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        for (String key : new TreeSet<>(raw.stringPropertyNames())) {
            boolean source = key.startsWith("ferry.source.");
            String rest = key.substring(source ? "ferry.source.".length() : "ferry.destination.".length());
            int dot = rest.lastIndexOf('.');
            if (dot <= 0) {
                problems.add(configName + ": " + key + ": expected " + (source ? "ferry.source" : "ferry.destination")
                        + ".<name>.<field>");
                continue;
            }
            String name = rest.substring(0, dot);
            String field = rest.substring(dot + 1);
            Set<String> allowed = source ? SOURCE_KEYS : DESTINATION_KEYS;
            if (!allowed.contains(field)) {
                problems.add(configName + ": " + key + ": unknown field '" + field + "'; a " + (source ? "source" : "destination")
                        + " takes " + String.join(", ", new TreeSet<>(allowed)));
                continue;
            }
            String value;
            try {
                value = camel.resolvePropertyPlaceholders("{{" + key + "}}");
            } catch (RuntimeException e) {
                problems.add(configName + ": " + key + ": cannot resolve its value: " + placeholderProblem(e));
                continue;
            }
            (source ? sourceKeys : destinationKeys).computeIfAbsent(name, n -> new LinkedHashMap<>()).put(field, value);
        }
        Map<String, ConnectionSettings> sources = new LinkedHashMap<>();
        Map<String, ConnectionSettings> destinations = new LinkedHashMap<>();
        sourceKeys.forEach((name, fields) -> {
            ConnectionSettings s = build(ConnectionSettings.Role.SOURCE, name, fields, configName, problems);
            if (s != null) {
                sources.put(name, s);
            }
        });
        destinationKeys.forEach((name, fields) -> {
            ConnectionSettings s = build(ConnectionSettings.Role.DESTINATION, name, fields, configName, problems);
            if (s != null) {
                destinations.put(name, s);
            }
        });
        return new Connections(sources, destinations, configName, sourceKeys.keySet(), destinationKeys.keySet(), problems);
    }

    /** What is wrong with the declared connections; empty when all are usable. */
    public List<String> problems() {
        return problems;
    }

    /** Whether a source of that name is declared, usable or not. */
    public boolean declaresSource(String name) {
        return declaredSources.contains(name);
    }

    /** Whether a destination of that name is declared, usable or not. */
    public boolean declaresDestination(String name) {
        return declaredDestinations.contains(name);
    }

    private static String placeholderProblem(RuntimeException e) {
        String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        // Camel says "Property with key [env:X] not found"; say which variable to set instead.
        int env = msg.indexOf("[env:");
        if (env >= 0) {
            int end = msg.indexOf(']', env);
            String var = msg.substring(env + 5, end > 0 ? end : msg.length());
            int colon = var.indexOf(':');
            return "environment variable " + (colon > 0 ? var.substring(0, colon) : var) + " is not set";
        }
        return msg;
    }

    private static ConnectionSettings build(ConnectionSettings.Role role, String name, Map<String, String> fields,
                                            String configName, List<String> problems) {
        String prefix = "ferry." + role.key() + "." + name + ".";
        int before = problems.size();
        List<String> required = new ArrayList<>(List.of("hostname", "database", "user"));
        if (role == ConnectionSettings.Role.DESTINATION) {
            required.add("schema");
        }
        for (String r : required) {
            String v = fields.get(r);
            if (v == null || v.isBlank()) {
                problems.add(configName + ": " + prefix + r + " is missing; the " + role.key() + " '" + name + "' needs it");
            }
        }
        int port = 5432;
        String portText = fields.get("port");
        if (portText != null && !portText.isBlank()) {
            try {
                port = Integer.parseInt(portText.trim());
                if (port < 1 || port > 65535) {
                    throw new NumberFormatException();
                }
            } catch (NumberFormatException e) {
                problems.add(configName + ": " + prefix + "port: '" + portText + "' is not a TCP port (1-65535)");
            }
        }
        int connectTimeout = 10;
        String timeoutText = fields.get("connectTimeout");
        if (timeoutText != null && !timeoutText.isBlank()) {
            try {
                connectTimeout = (int) Math.max(1, Durations.parse(timeoutText.matches("\\d+") ? timeoutText + "s" : timeoutText).toSeconds());
            } catch (IllegalArgumentException e) {
                problems.add(configName + ": " + prefix + "connectTimeout: '" + timeoutText + "' is not a duration such as 10s");
            }
        }
        if (problems.size() > before) {
            return null;
        }
        return new ConnectionSettings(role, name, fields.get("hostname").trim(), port, fields.get("database"),
                fields.get("user"), new Secret(fields.get("password")), fields.get("schema"), connectTimeout);
    }

    public ConnectionSettings source(String name) {
        return sources.get(name);
    }

    public ConnectionSettings destination(String name) {
        return destinations.get(name);
    }

    public Map<String, ConnectionSettings> sources() {
        return sources;
    }

    public Map<String, ConnectionSettings> destinations() {
        return destinations;
    }

    public String configName() {
        return configName;
    }

    /** The registry name a connection's pool is bound under, e.g. {@code ferry-source-app}, for camel-sql endpoints. */
    public static String beanName(ConnectionSettings settings) {
        return "ferry-" + settings.role().key() + "-" + settings.name();
    }

    /** The pool for a declared connection, created on first use. */
    public DataSource dataSource(ConnectionSettings settings) {
        String key = settings.role().key() + ":" + settings.name();
        return pools.computeIfAbsent(key, k -> createPool(settings));
    }

    private static HikariDataSource createPool(ConnectionSettings s) {
        HikariConfig config = new HikariConfig();
        config.setPoolName("ferry-" + s.role().key() + "-" + s.name());
        PGSimpleDataSource pg = pgDataSource(s);
        config.setDataSource(pg);
        if (s.role() == ConnectionSettings.Role.SOURCE) {
            // pgjdbc streams a result set with a fetch size only outside autocommit; reads never write.
            config.setAutoCommit(false);
            config.setReadOnly(true);
        }
        config.setMaximumPoolSize(8);
        config.setMinimumIdle(0);
        // how long a run waits for a connection: a refused password or an unreachable server fails the run after this
        config.setConnectionTimeout(s.connectTimeoutSeconds() * 1000L);
        // Do not connect while reading the configuration: an unreachable database is reported by the run.
        config.setInitializationFailTimeout(-1);
        return new HikariDataSource(config);
    }

    /** pgjdbc's settings for a connection: where, who, and the session settings both ends pin. */
    static PGSimpleDataSource pgDataSource(ConnectionSettings s) {
        PGSimpleDataSource pg = new PGSimpleDataSource();
        pg.setServerNames(new String[] {s.hostname()});
        pg.setPortNumbers(new int[] {s.port()});
        pg.setDatabaseName(s.database());
        pg.setUser(s.user());
        pg.setPassword(s.password().reveal());
        pg.setApplicationName("ferry");
        // Rows are read as text and written with COPY as text: exact for every type, no client-side parsing.
        pg.setBinaryTransfer(false);
        // Both ends print and parse values the same way, whatever the servers' defaults: money in the C locale,
        // intervals in PostgreSQL style, bytea in hex (pgjdbc itself pins DateStyle ISO and extra_float_digits 3).
        pg.setOptions("-c lc_monetary=C -c IntervalStyle=postgres -c bytea_output=hex -c standard_conforming_strings=on");
        pg.setConnectTimeout(s.connectTimeoutSeconds());
        pg.setTcpKeepAlive(true);
        if (s.role() == ConnectionSettings.Role.SOURCE) {
            // strings bind as untyped values: the server reads a filter's '42' as whatever its column needs
            pg.setStringType("unspecified");
        }
        return pg;
    }

    /**
     * A connection outside the pool, giving up after {@code timeoutSeconds}: for checks at startup, which should not
     * wait on an unreachable database for as long as a run would.
     */
    public java.sql.Connection openDirect(ConnectionSettings s, int timeoutSeconds) throws java.sql.SQLException {
        PGSimpleDataSource pg = pgDataSource(s);
        pg.setConnectTimeout(timeoutSeconds);
        pg.setLoginTimeout(timeoutSeconds);
        java.sql.Connection c = pg.getConnection();
        if (s.role() == ConnectionSettings.Role.SOURCE) {
            c.setReadOnly(true);
            c.setAutoCommit(false);
        }
        return c;
    }

    @Override
    public void close() {
        pools.values().forEach(HikariDataSource::close);
        pools.clear();
    }
}
