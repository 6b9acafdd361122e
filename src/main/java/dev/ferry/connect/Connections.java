package dev.ferry.connect;

import dev.ferry.config.ConfigException;
import dev.ferry.config.Durations;
import dev.ferry.config.Placeholders;
import dev.ferry.config.Sql;
import dev.ferry.config.ConnectionSettings;
import dev.ferry.config.Secret;
import dev.ferry.config.TransferCatalog;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import java.util.regex.Pattern;

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
 * {@code ferry.destination.<name>.} plus {@code schema}; optionally {@code passwordFile}, {@code connectTimeout},
 * {@code statementTimeout}, {@code lockTimeout}, {@code stallTimeout} (see {@link ConnectionSettings.Timeouts}), {@code sslmode}, {@code sslrootcert}, and {@code ssh.*} for a tunnel through a bastion host. Values may use
 * placeholders such as {@code {{env:APP_DB_PASSWORD}}}, so secrets can stay out of the file; they are resolved once
 * ({@link Placeholders}), so what a variable or file holds is used as it is.
 *
 * <p>Pools are created on first use, so reading the configuration needs no network. Users and passwords reach
 * pgjdbc as connection properties, never inside a URL, so any character works in them.
 */
public final class Connections implements AutoCloseable, TransferCatalog.Declared {


    static final Set<String> SOURCE_KEYS = Set.of("hostname", "port", "database", "user", "password", "passwordFile",
            "connectTimeout", "statementTimeout", "lockTimeout", "stallTimeout", "maxSessions", "idleTimeout", "sslmode", "sslrootcert", "ssh.host", "ssh.port", "ssh.user", "ssh.privateKey",
            "ssh.privateKeyFile", "ssh.passphrase", "ssh.passphraseFile", "ssh.knownHosts", "ssh.hostKeyFingerprint",
            "ssh.acceptAnyHostKey");
    static final Set<String> DESTINATION_KEYS;
    /** Fields whose values are never hinted at in a problem. */
    static final Set<String> SECRET_KEYS = Set.of("password", "ssh.privateKey", "ssh.passphrase");

    static {
        Set<String> d = new HashSet<>(SOURCE_KEYS);
        d.add("schema");
        DESTINATION_KEYS = Set.copyOf(d);
    }

    static {
        // HikariCP closes idle sessions when its housekeeper passes (every 30 s by default): every 5 s, an idle session
        // lives at most idleTimeout + 5 s. Read by each pool as it is created; a value set on the command line wins.
        if (System.getProperty("com.zaxxer.hikari.housekeeping.periodMs") == null) {
            System.setProperty("com.zaxxer.hikari.housekeeping.periodMs", "5000");
        }
    }

    static final Set<String> SSLMODES = Set.of("disable", "allow", "prefer", "require", "verify-ca", "verify-full");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]+");

    private final Map<String, ConnectionSettings> sources;
    private final Map<String, ConnectionSettings> destinations;
    /** Destinations declared while running (recipients lists' connections), by name: see {@link #declare}. */
    private final Map<String, ConnectionSettings> declaredLater = new ConcurrentHashMap<>();
    /** One pool per endpoint: every connection name and destination schema reaching it as the same user shares it. */
    private final Map<Endpoint, Pool> pools = new ConcurrentHashMap<>();
    /** One budget per server, shared by every endpoint on it. */
    private final Map<String, SessionBudget> budgets = new ConcurrentHashMap<>();
    private final Map<Endpoint, SshTunnel> tunnels = new ConcurrentHashMap<>();
    private final String configName;
    /** The pools' housekeeping (closing idle sessions): one shared thread instead of one per pool, when set. */
    private volatile java.util.concurrent.ScheduledExecutorService housekeeping;
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
        Predicate<String> ours = k -> k.startsWith("ferry.source.") || k.startsWith("ferry.destination.");
        // keys may come from the file (and its overrides) or from JVM system properties (-Dferry.source.app.port=...)
        Properties raw = pc.loadProperties(ours);
        System.getProperties().stringPropertyNames().stream().filter(ours).forEach(k -> raw.setProperty(k, ""));
        Map<String, Map<String, String>> sourceKeys = new LinkedHashMap<>();
        Map<String, Map<String, String>> destinationKeys = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        for (String key : new TreeSet<>(raw.stringPropertyNames())) {
            boolean source = key.startsWith("ferry.source.");
            String rest = key.substring(source ? "ferry.source.".length() : "ferry.destination.".length());
            int dot = rest.indexOf('.');
            if (dot <= 0 || !NAME.matcher(rest.substring(0, dot)).matches()) {
                problems.add(configName + ": " + key + ": expected " + (source ? "ferry.source" : "ferry.destination")
                        + ".<name>.<field>, the name made of letters, digits, '_' and '-'");
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
                value = Placeholders.value(camel, key, SECRET_KEYS.contains(field));
            } catch (Placeholders.Unresolved e) {
                problems.add(configName + ": " + key + ": cannot resolve its value: " + e.getMessage());
                continue;
            }
            if (value == null) {
                value = ""; // listed (a system property Camel's lookup skips), so set
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

    /**
     * The cluster database, from the {@code ferry.cluster.*} keys: the fields of a source, plus the cluster's own
     * ({@code ownFields}, which the caller reads). Null when no such key is set (no cluster), or when a field has a
     * problem, added to {@code problems}.
     */
    public static ConnectionSettings cluster(CamelContext camel, String configName, Set<String> ownFields, List<String> problems) {
        String prefix = "ferry.cluster.";
        Properties raw = camel.getPropertiesComponent().loadProperties(k -> k.startsWith(prefix));
        System.getProperties().stringPropertyNames().stream().filter(k -> k.startsWith(prefix)).forEach(k -> raw.setProperty(k, ""));
        if (raw.isEmpty()) {
            return null;
        }
        Map<String, String> fields = new LinkedHashMap<>();
        int before = problems.size();
        for (String key : new TreeSet<>(raw.stringPropertyNames())) {
            String field = key.substring(prefix.length());
            if (ownFields.contains(field)) {
                continue;
            }
            if (!SOURCE_KEYS.contains(field)) {
                Set<String> allowed = new TreeSet<>(SOURCE_KEYS);
                allowed.addAll(ownFields);
                problems.add(configName + ": " + key + ": unknown field '" + field + "'; the cluster takes " + String.join(", ", allowed));
                continue;
            }
            try {
                String value = Placeholders.value(camel, key, SECRET_KEYS.contains(field));
                fields.put(field, value == null ? "" : value);
            } catch (Placeholders.Unresolved e) {
                problems.add(configName + ": " + key + ": cannot resolve its value: " + e.getMessage());
            }
        }
        ConnectionSettings s = build(ConnectionSettings.Role.CLUSTER, "cluster", fields, configName, problems);
        return problems.size() > before ? null : s;
    }

    private static ConnectionSettings build(ConnectionSettings.Role role, String name, Map<String, String> fields,
                                            String configName, List<String> problems) {
        return build(role, name, fields, configName, role == ConnectionSettings.Role.CLUSTER ? "ferry.cluster."
                : "ferry." + role.key() + "." + name + ".", problems);
    }

    /** Checks a connection's fields; each problem is {@code configName: prefix + field ...}. */
    private static ConnectionSettings build(ConnectionSettings.Role role, String name, Map<String, String> fields,
                                            String configName, String prefix, List<String> problems) {
        int before = problems.size();
        List<String> required = new ArrayList<>(List.of("hostname", "database", "user"));
        if (role == ConnectionSettings.Role.DESTINATION) {
            required.add("schema");
        }
        for (String r : required) {
            String v = fields.get(r);
            if (v == null || v.isBlank()) {
                problems.add(configName + ": " + prefix + r + " is missing; the " + role.key()
                        + (role == ConnectionSettings.Role.CLUSTER ? "" : " '" + name + "'") + " needs it");
            }
        }
        int port = port(fields.get("port"), 5432, configName, prefix + "port", problems);
        int connectTimeout = (int) Math.max(1, duration(fields, "connectTimeout", Duration.ofSeconds(10), configName, prefix, problems)
                .toSeconds());
        ConnectionSettings.Timeouts timeouts = new ConnectionSettings.Timeouts(
                duration(fields, "statementTimeout", ConnectionSettings.DEFAULT_STATEMENT_TIMEOUT, configName, prefix, problems),
                duration(fields, "lockTimeout", ConnectionSettings.DEFAULT_LOCK_TIMEOUT, configName, prefix, problems),
                duration(fields, "stallTimeout", ConnectionSettings.DEFAULT_STALL_TIMEOUT, configName, prefix, problems));
        Secret password = secret(fields, "password", "passwordFile", configName, prefix, problems);
        int maxSessions = ConnectionSettings.DEFAULT_MAX_SESSIONS;
        String maxText = blank(fields.get("maxSessions"));
        if (maxText != null) {
            try {
                maxSessions = Integer.parseInt(maxText);
            } catch (NumberFormatException e) {
                maxSessions = 0;
            }
            if (maxSessions < 3) {
                problems.add(configName + ": " + prefix + "maxSessions: '" + maxText + "' is not a whole number of at least 3"
                        + " (a run holds its lock, its run records and a session per table it copies)");
            }
        }
        Duration idle = duration(fields, "idleTimeout", ConnectionSettings.DEFAULT_IDLE_TIMEOUT, configName, prefix, problems);
        if (idle.compareTo(ConnectionSettings.DEFAULT_IDLE_TIMEOUT) < 0) {
            problems.add(configName + ": " + prefix + "idleTimeout: " + Durations.format(idle) + " is shorter than "
                    + Durations.format(ConnectionSettings.DEFAULT_IDLE_TIMEOUT) + ", the least the connection pool (HikariCP) keeps a session");
        }

        ConnectionSettings.Tls tls = null;
        String sslmode = blank(fields.get("sslmode"));
        String rootCert = blank(fields.get("sslrootcert"));
        if (sslmode != null && !SSLMODES.contains(sslmode)) {
            problems.add(configName + ": " + prefix + "sslmode: '" + sslmode + "' is not one of "
                    + String.join(", ", new TreeSet<>(SSLMODES)));
        }
        if (rootCert != null && !Files.isReadable(Path.of(rootCert))) {
            problems.add(configName + ": " + prefix + "sslrootcert: cannot read " + rootCert);
        }
        if (sslmode != null || rootCert != null) {
            tls = new ConnectionSettings.Tls(sslmode, rootCert == null ? null : Path.of(rootCert));
        }

        ConnectionSettings.Ssh ssh = null;
        if (fields.keySet().stream().anyMatch(k -> k.startsWith("ssh."))) {
            String host = blank(fields.get("ssh.host"));
            String user = blank(fields.get("ssh.user"));
            if (host == null) {
                problems.add(configName + ": " + prefix + "ssh.host is missing; an SSH tunnel needs the bastion's address");
            }
            if (user == null) {
                problems.add(configName + ": " + prefix + "ssh.user is missing; an SSH tunnel needs the bastion user");
            }
            int sshPort = port(fields.get("ssh.port"), 22, configName, prefix + "ssh.port", problems);
            Secret key = secret(fields, "ssh.privateKey", "ssh.privateKeyFile", configName, prefix, problems);
            if (key.isEmpty()) {
                problems.add(configName + ": " + prefix + "ssh.privateKeyFile (or ssh.privateKey) is missing; the tunnel"
                        + " authenticates with a private key");
            }
            Secret passphrase = secret(fields, "ssh.passphrase", "ssh.passphraseFile", configName, prefix, problems);
            String knownHosts = blank(fields.get("ssh.knownHosts"));
            String fingerprint = blank(fields.get("ssh.hostKeyFingerprint"));
            String acceptAny = blank(fields.get("ssh.acceptAnyHostKey"));
            boolean accept = "true".equalsIgnoreCase(acceptAny);
            if (acceptAny != null && !accept && !"false".equalsIgnoreCase(acceptAny)) {
                problems.add(configName + ": " + prefix + "ssh.acceptAnyHostKey: '" + acceptAny + "' is not true or false");
            }
            if (knownHosts != null && !Files.isReadable(Path.of(knownHosts))) {
                problems.add(configName + ": " + prefix + "ssh.knownHosts: cannot read " + knownHosts);
            }
            if (knownHosts == null && fingerprint == null && !accept) {
                problems.add(configName + ": " + prefix + "the bastion's host key cannot be verified: set ssh.knownHosts (a"
                        + " known_hosts file listing it) or ssh.hostKeyFingerprint (e.g. SHA256:...), or, knowingly,"
                        + " ssh.acceptAnyHostKey = true");
            }
            ssh = new ConnectionSettings.Ssh(host, sshPort, user, key, passphrase,
                    knownHosts == null ? null : Path.of(knownHosts), fingerprint, accept);
        }
        if (problems.size() > before) {
            return null;
        }
        return new ConnectionSettings(role, name, fields.get("hostname").trim(), port, fields.get("database"),
                fields.get("user"), password, fields.get("schema"), connectTimeout, tls, ssh, timeouts,
                new ConnectionSettings.Sessions(maxSessions, idle));
    }

    /** A duration field (a bare number is seconds; {@code 0} means no bound), or its default when not set. */
    private static Duration duration(Map<String, String> fields, String field, Duration dflt, String configName, String prefix,
                                     List<String> problems) {
        String text = blank(fields.get(field));
        if (text == null) {
            return dflt;
        }
        try {
            return text.matches("[0-9]+") ? Duration.ofSeconds(Long.parseLong(text)) : Durations.parse(text);
        } catch (IllegalArgumentException e) {
            problems.add(configName + ": " + prefix + field + ": '" + text + "' is not a duration such as " + Durations.format(dflt));
            return dflt;
        }
    }

    private static int port(String text, int dflt, String configName, String key, List<String> problems) {
        if (text == null || text.isBlank()) {
            return dflt;
        }
        try {
            int port = Integer.parseInt(text.trim());
            if (port >= 1 && port <= 65535) {
                return port;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        problems.add(configName + ": " + key + ": '" + text + "' is not a TCP port (1-65535)");
        return dflt;
    }

    /** A secret given inline (often as {{env:NAME}}) or in a file; a file's trailing newline is not part of it. */
    private static Secret secret(Map<String, String> fields, String inline, String file, String configName, String prefix,
                                 List<String> problems) {
        String value = fields.get(inline);
        String path = blank(fields.get(file));
        if (value != null && path != null) {
            problems.add(configName + ": " + prefix + inline + " and " + prefix + file + " are both set; set one");
            return Secret.EMPTY;
        }
        if (path == null) {
            return new Secret(value);
        }
        try {
            return Secret.fromFile(path);
        } catch (IOException e) {
            problems.add(configName + ": " + prefix + file + ": cannot read " + path + " (" + e.getClass().getSimpleName() + ")");
            return Secret.EMPTY;
        }
    }

    private static String blank(String s) {
        return s == null || s.isBlank() ? null : s.trim();
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
        return declaredDestinations.contains(name) || declaredLater.containsKey(name);
    }

    public ConnectionSettings source(String name) {
        return sources.get(name);
    }

    public ConnectionSettings destination(String name) {
        ConnectionSettings s = destinations.get(name);
        return s != null ? s : declaredLater.get(name);
    }

    /**
     * Declares a destination while running, from fields as application.properties gives them (placeholders such as
     * {@code {{env:X}}} resolved here, once), checked as the properties' are: a recipient's own connection.
     *
     * @param where    where the fields are written, for problems ("file:line (recipient 'acme')")
     * @return the connection, or null after adding what is wrong to {@code problems}
     */
    public ConnectionSettings declare(CamelContext camel, String name, Map<String, String> fields, String where,
                                      List<String> problems) {
        int before = problems.size();
        Map<String, String> resolved = new LinkedHashMap<>();
        fields.forEach((field, value) -> {
            if (!DESTINATION_KEYS.contains(field)) {
                problems.add(where + ": unknown field '" + field + "'; a recipient takes name, destination, filter, webhook and a"
                        + " destination's fields: " + String.join(", ", new TreeSet<>(DESTINATION_KEYS)));
                return;
            }
            try {
                resolved.put(field, value == null || !value.contains("{{") ? value
                        : Placeholders.resolve(camel, value, SECRET_KEYS.contains(field)));
            } catch (Placeholders.Unresolved e) {
                problems.add(where + ": " + field + ": cannot resolve its value: " + e.getMessage());
            }
        });
        if (problems.size() > before) {
            return null;
        }
        ConnectionSettings s = build(ConnectionSettings.Role.DESTINATION, name, resolved, where, "", problems);
        if (s != null) {
            declare(s);
        }
        return s;
    }

    /** The fields a destination takes, as {@code ferry.destination.<name>.<field>}. */
    public static Set<String> destinationFields() {
        return DESTINATION_KEYS;
    }

    /** Declares (or replaces) a destination while running; a replaced one's pool is closed. */
    public void declare(ConnectionSettings settings) {
        if (destinations.containsKey(settings.name())) {
            throw new IllegalArgumentException("destination '" + settings.name() + "' is declared in " + configName);
        }
        ConnectionSettings old = declaredLater.put(settings.name(), settings);
        if (old != null && old != settings) {
            closePool(old);
        }
    }

    /**
     * A transfer's {@code destinationSchema}: the declared destination's connection under another name and schema,
     * declared here (once: every transfer writing there shares it), as a recipient's with its own schema is.
     */
    @Override
    public ConnectionSettings withSchema(ConnectionSettings declared, String schema) {
        ConnectionSettings s = TransferCatalog.Declared.super.withSchema(declared, schema);
        ConnectionSettings had = declaredLater.putIfAbsent(s.name(), s);
        return had != null ? had : s;
    }

    /** Forgets a destination {@link #declare}d while running, closing its pool. */
    @Override
    public void forget(String name) {
        ConnectionSettings old = declaredLater.remove(name);
        if (old != null) {
            closePool(old);
        }
    }

    /**
     * Closes the pool (and tunnel) a connection no longer declared used, unless another connection shares its
     * endpoint; a shared pool's idle sessions close on their own (idleTimeout).
     */
    private void closePool(ConnectionSettings s) {
        Endpoint endpoint = Endpoint.of(s);
        boolean shared = java.util.stream.Stream.of(sources.values(), destinations.values(), declaredLater.values())
                .flatMap(java.util.Collection::stream).anyMatch(other -> Endpoint.of(other).equals(endpoint));
        if (shared) {
            return;
        }
        Pool pool = pools.remove(endpoint);
        if (pool != null) {
            budget(s).remove(pool.hikari());
            pool.hikari().close();
        }
        SshTunnel tunnel = tunnels.remove(endpoint);
        if (tunnel != null) {
            tunnel.close();
        }
    }

    /** Every connection declared now: the properties' sources and destinations, and those declared while running. */
    public List<ConnectionSettings> all() {
        List<ConnectionSettings> all = new java.util.ArrayList<>(sources.values());
        all.addAll(destinations.values());
        all.addAll(declaredLater.values());
        return all;
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

    /**
     * Runs every pool's housekeeping on this executor (Camel's, so that its shutdown sees the thread) rather than a
     * thread per pool; set before the first pool is created.
     */
    public void useHousekeeping(java.util.concurrent.ScheduledExecutorService executor) {
        if (executor instanceof java.util.concurrent.ScheduledThreadPoolExecutor stpe) {
            // each session schedules its end of life and cancels it when it closes: drop cancelled tasks at once, as
            // HikariCP asks, or they pile up for maxLifetime
            stpe.setRemoveOnCancelPolicy(true);
        }
        this.housekeeping = executor;
    }

    /** The registry name a connection's pool is bound under, e.g. {@code ferry-source-app}, for camel-sql endpoints. */
    public static String beanName(ConnectionSettings settings) {
        return "ferry-" + settings.role().key() + "-" + settings.name();
    }

    /**
     * The sessions for a declared connection: its endpoint's pool (created on first use), shared with every other
     * connection that reaches the same database as the same user with the same settings.
     */
    public DataSource dataSource(ConnectionSettings settings) {
        return pool(settings);
    }

    /**
     * A session of the connection's pool if one comes within {@code wait}, else null (never waits the connect timeout
     * a run waits): for optional work that must not hold up the runs' own sessions.
     */
    public Connection tryConnection(ConnectionSettings settings, java.time.Duration wait) throws SQLException {
        return pool(settings).tryConnection(wait);
    }

    private Pool pool(ConnectionSettings settings) {
        return pools.computeIfAbsent(Endpoint.of(settings), e -> {
            SessionBudget budget = budget(settings);
            HikariDataSource hikari = createPool(settings, e, budget.max());
            budget.add(hikari);
            return new Pool(hikari, settings.server());
        });
    }

    /** The budget of the connection's server: the smallest maxSessions declared among the connections to it. */
    public SessionBudget budget(ConnectionSettings settings) {
        return budgets.computeIfAbsent(settings.server(), server -> new SessionBudget(server, java.util.stream.Stream.of(
                        sources.values(), destinations.values(), declaredLater.values()).flatMap(java.util.Collection::stream)
                .filter(s -> s.server().equals(server)).mapToInt(s -> s.sessions().max())
                .min().orElse(settings.sessions().max())));
    }

    /** The budget runs to this connection's server reserve from: the one the startup check holds transfers to. */
    @Override
    public int maxSessions(ConnectionSettings connection) {
        return budget(connection).max();
    }

    /**
     * Waits, in turn with every other run, until the budgets of the servers a run reaches grant the sessions it may hold
     * at once: {@code sourceSessions} on the source's server and {@code destinationSessions} on the destination's (their
     * sum when both are one server). Servers are taken in one order, so that two runs never wait on each other.
     *
     * @return the reservation, to close when the run ends; null when {@code stopping} ended the wait
     */
    public Reservation reserve(String who, ConnectionSettings source, int sourceSessions, ConnectionSettings destination,
                               int destinationSessions, java.util.function.BooleanSupplier stopping) throws InterruptedException {
        Map<SessionBudget, Integer> need = new java.util.TreeMap<>(java.util.Comparator.comparing(SessionBudget::server));
        need.merge(budget(source), sourceSessions, Integer::sum);
        need.merge(budget(destination), destinationSessions, Integer::sum);
        List<HikariDataSource> mine = List.of(pool(source).hikari(), pool(destination).hikari());
        long start = System.nanoTime();
        Reservation held = new Reservation(new LinkedHashMap<>(), 0);
        try {
            for (Map.Entry<SessionBudget, Integer> e : need.entrySet()) {
                if (!e.getKey().acquire(e.getValue(), who, mine, stopping)) {
                    held.close();
                    return null;
                }
                held.taken().put(e.getKey(), e.getValue());
            }
        } catch (InterruptedException | RuntimeException e) {
            held.close(); // what the first servers granted goes back when a later one's wait is cut short
            throw e;
        }
        return new Reservation(held.taken(), (System.nanoTime() - start) / 1_000_000);
    }

    /** Sessions a run reserved of its servers' budgets, and how long it waited for them. */
    public record Reservation(Map<SessionBudget, Integer> taken, long waitedMillis) implements AutoCloseable {
        @Override
        public void close() {
            taken.forEach(SessionBudget::release);
            taken.clear();
        }
    }

    /**
     * Takes a connection of {@link #dataSource} out of its pool for good: for one left in an unknown state, such as a
     * COPY abandoned midway, whose cancellation may still be on its way to the server.
     */
    private void evict(ConnectionSettings settings, Connection connection) {
        Pool pool = pools.get(Endpoint.of(settings));
        if (pool != null) {
            pool.hikari().evictConnection(connection);
        }
    }

    /**
     * Returns a source connection that ran a COPY: its read transaction is ended first (a COPY goes around the pool's
     * statement tracking, so the pool would not roll it back, and the open transaction would keep its snapshot and
     * its lock on the table, blocking the source's DDL for as long as the connection idles in the pool). A
     * connection left in an unknown state ({@code clean} false) is evicted instead.
     */
    public void release(ConnectionSettings settings, Connection connection, boolean clean) {
        try {
            if (clean) {
                connection.rollback();
            }
        } catch (SQLException e) {
            clean = false;
        }
        if (!clean) {
            evict(settings, connection);
        }
        try {
            connection.close();
        } catch (SQLException e) {
            // evicted or broken: nothing more to release
        }
    }

    private HikariDataSource createPool(ConnectionSettings s, Endpoint endpoint, int maxSessions) {
        HikariConfig config = new HikariConfig();
        config.setPoolName("ferry " + endpoint);
        config.setDataSource(endpoint(s, endpoint));
        if (s.role() == ConnectionSettings.Role.SOURCE) {
            // pgjdbc streams a result set with a fetch size only outside autocommit; reads never write.
            config.setAutoCommit(false);
            config.setReadOnly(true);
        }
        // never more than the server's budget, even if every run reaching it used this endpoint
        config.setMaximumPoolSize(maxSessions);
        config.setMinimumIdle(0);
        config.setIdleTimeout(s.sessions().idleTimeout().toMillis());
        // how long a run waits for a connection: a refused password or an unreachable server fails the run after this
        config.setConnectionTimeout(s.connectTimeoutSeconds() * 1000L);
        // Do not connect while reading the configuration: an unreachable database is reported by the run.
        config.setInitializationFailTimeout(-1);
        if (housekeeping != null) {
            config.setScheduledExecutor(housekeeping);
        }
        return new HikariDataSource(config);
    }

    /** Where pgjdbc connects: the database itself, or the local end of its SSH tunnel. */
    private DataSource endpoint(ConnectionSettings s, Endpoint key) {
        PGSimpleDataSource pg = pgDataSource(s);
        if (s.ssh() == null) {
            return pg;
        }
        SshTunnel tunnel = tunnels.computeIfAbsent(key, k -> SshTunnel.open(s));
        pg.setServerNames(new String[] {"127.0.0.1"});
        pg.setPortNumbers(new int[] {tunnel.localPort()});
        return new SshTunnel.TunnelledDataSource(pg, tunnel);
    }

    /** Which end of a transfer a pinned setting applies to. */
    public enum End { BOTH, DESTINATION }

    /** A session setting Ferry pins, and why: a fixed value, or one a connection's settings give. */
    public record Pinned(String name, java.util.function.Function<ConnectionSettings, String> value, End end, String why) {
        Pinned(String name, String value, End end, String why) {
            this(name, s -> value, end, why);
        }

        /** The value for this connection. */
        public String value(ConnectionSettings s) {
            return value.apply(s);
        }
    }

    /** A duration as PostgreSQL reads a timeout setting: milliseconds, 0 for none. */
    static String millis(Duration d) {
        return String.valueOf(d.toMillis());
    }

    /**
     * The session settings Ferry's connections pin, as pg_dump and pg_restore do for an exact copy. They travel in
     * the startup packet's {@code options}, which outrank {@code ALTER DATABASE/ROLE ... SET} defaults and
     * postgresql.conf, so no server's configuration can change how a value is printed, parsed or copied.
     *
     * <p>pgjdbc itself sends {@code client_encoding=UTF8}, {@code DateStyle=ISO} and {@code TimeZone} (the JVM's zone)
     * in the same packet, after these: timestamptz text always carries its UTC offset, so any zone gives the same
     * values. Deliberately not pinned: {@code search_path} (a filter's functions and operators, such as an
     * extension's, resolve as for the source role in psql; Ferry's own SQL names only pg_catalog objects, which
     * come first unless a path lists pg_catalog later, and schema-qualifies everything else), {@code lc_numeric} and
     * {@code lc_time} (only to_char reads them), {@code transaction_timeout} (PostgreSQL 17+ only, and an unknown name in the startup packet refuses the
     * connection on older servers), {@code session_replication_role} (only a superuser may set it: see
     * {@link #checkDestinationSession}).
     *
     * <p>The timeouts are Ferry's own bounds, from the connection's settings ({@link ConnectionSettings.Timeouts}), so
     * that a role's small default cannot cancel a long merge run after run, nor a missing one let a statement or a lock
     * wait run forever. COPY streams run with no statement_timeout (see {@link dev.ferry.destination.CopyPipe}'s stall bound).
     */
    public static final List<Pinned> PINNED = List.of(
            new Pinned("DateStyle", "ISO,MDY", End.BOTH, "dates print in ISO form; ambiguous input (a filter's 01/02/2024) reads month first"),
            new Pinned("IntervalStyle", "postgres", End.BOTH, "intervals print and parse alike (in sql_standard a leading minus applies to every field)"),
            new Pinned("extra_float_digits", "3", End.BOTH, "real and double print exactly (shortest exact form); below 1 they round"),
            new Pinned("bytea_output", "hex", End.BOTH, "bytea text is hex whatever the server's default"),
            new Pinned("standard_conforming_strings", "on", End.BOTH, "backslashes in Ferry's and filters' string literals are literal"),
            new Pinned("lc_monetary", "C", End.BOTH, "money prints and parses with the same symbol and separators at both ends"),
            new Pinned("array_nulls", "on", End.BOTH, "an unquoted NULL array element is a NULL, not the string \"NULL\""),
            new Pinned("xmloption", "content", End.BOTH, "xml content that is not a document is accepted (text and binary input)"),
            new Pinned("timezone_abbreviations", "Default", End.BOTH, "time zone abbreviations in a filter's timestamps mean the usual zones"),
            new Pinned("quote_all_identifiers", "off", End.BOTH, "format_type and pg_get_indexdef print names as Ferry compares and re-runs them"),
            new Pinned("row_security", "off", End.BOTH, "a role under row-level security fails loudly instead of reading or merging a subset of rows"),
            new Pinned("statement_timeout", s -> millis(s.timeouts().statement()), End.BOTH,
                    "statementTimeout bounds every statement but COPY streams; a role's small default cannot cancel a long merge"),
            new Pinned("lock_timeout", s -> millis(s.timeouts().lock()), End.BOTH,
                    "lockTimeout bounds a lock wait, so Ferry's DDL never queues the table's readers behind it for long"),
            new Pinned("idle_in_transaction_session_timeout", s -> millis(s.timeouts().answer()), End.BOTH,
                    "a session left in a transaction by a client that vanished (a dead network) ends, releasing its locks;"
                            + " longer than any wait on the other end's statements, so a live run is never cut"),
            // a server notices a client behind a dead network path only by TCP keepalive (idle + interval x count,
            // 2 minutes here, 2 hours by the usual operating system default); until then a session reading COPY data
            // from it stays, holding its transaction; the server ignores these on Unix-domain sockets
            new Pinned("tcp_keepalives_idle", "60", End.BOTH, "a server probes a silent client after a minute"),
            new Pinned("tcp_keepalives_interval", "10", End.BOTH, "and every 10 seconds after that"),
            new Pinned("tcp_keepalives_count", "6", End.BOTH, "and drops it after 6 unanswered probes"),
            new Pinned("default_transaction_read_only", "off", End.DESTINATION, "a database or role default of read-only does not block writes"
                    + " (as pg_dumpall's scripts do; a standby still refuses them)"));

    /** The {@code options} startup parameter for one end: {@code -c name=value} for each setting it pins. */
    static String startupOptions(ConnectionSettings s) {
        StringBuilder sb = new StringBuilder();
        for (Pinned p : PINNED) {
            if (p.end() == End.BOTH || s.role() != ConnectionSettings.Role.SOURCE) { // the cluster's Quartz tables are written too
                sb.append(sb.isEmpty() ? "" : " ").append("-c ").append(p.name()).append('=').append(p.value(s));
            }
        }
        return sb.toString();
    }

    /**
     * Refuses a destination session whose settings Ferry cannot pin and under which a run would not write as
     * promised: {@code session_replication_role = replica} (set for the role or database by a superuser) skips the
     * destination's triggers and foreign-key checks, and only a superuser may override it.
     */
    public static void checkDestinationSession(Connection c, ConnectionSettings s) throws SQLException {
        try (var st = c.createStatement(); var rs = st.executeQuery(
                "SELECT setting, source FROM pg_catalog.pg_settings WHERE name = 'session_replication_role'")) {
            if (!rs.next() || !rs.getString(1).equals("replica")) {
                return;
            }
            String setting = rs.getString(1);
            String fix = switch (rs.getString(2)) {
                case "user" -> "run as a superuser on the destination: ALTER ROLE " + Sql.ident(s.user()) + " RESET session_replication_role;";
                case "database" -> "run as a superuser on the destination: ALTER DATABASE " + Sql.ident(s.database())
                        + " RESET session_replication_role;";
                case "database user" -> "run as a superuser on the destination: ALTER ROLE " + Sql.ident(s.user()) + " IN DATABASE "
                        + Sql.ident(s.database()) + " RESET session_replication_role;";
                default -> "remove session_replication_role from the destination server's configuration (postgresql.conf or"
                        + " ALTER SYSTEM)";
            };
            throw new ConfigException("the destination " + s.name() + " runs its sessions with session_replication_role = " + setting
                    + ", under which its triggers and foreign-key checks do not fire, and only a superuser may change that; " + fix);
        }
    }

    /** pgjdbc's settings for a connection: where, who, TLS, and the session settings both ends pin. */
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
        pg.setOptions(startupOptions(s));
        pg.setConnectTimeout(s.connectTimeoutSeconds());
        // a read that waits longer than any statement's answer is due is a dead connection (COPY streams have their
        // own, shorter stall bound); the cancel of a timed-out statement travels on its own connection, bounded alike
        pg.setSocketTimeout((int) Math.min(Integer.MAX_VALUE, (s.timeouts().answer().toMillis() + 999) / 1000));
        pg.setCancelSignalTimeout(s.connectTimeoutSeconds());
        pg.setTcpKeepAlive(true);
        if (s.tls() != null) {
            if (s.tls().sslmode() != null) {
                pg.setSslMode(s.tls().sslmode());
            }
            if (s.tls().rootCert() != null) {
                pg.setSslRootCert(s.tls().rootCert().toString());
            }
        }
        if (s.role() == ConnectionSettings.Role.SOURCE) {
            // strings bind as untyped values: the server reads a filter's '42' as whatever its column needs
            pg.setStringType("unspecified");
        }
        return pg;
    }

    /**
     * A session for a short read beside the runs (the console's status): one of the endpoint's pool when one is idle or
     * the pool may open another, else (runs hold every session of the pool) a fresh one outside it, as
     * {@link #openDirect}, which the caller closes after its read. A read never waits for a run to give a session back.
     */
    public Connection readSession(ConnectionSettings s, int timeoutSeconds) throws SQLException {
        Pool pool = pool(s);
        if (pool.hikari().getHikariPoolMXBean() == null) {
            return pool.hikari().getConnection(); // the pool's first session: it starts the pool
        }
        // a session the pool gives at once (checking first for an idle one, then taking it, left a gap a run could take
        // it in, and the read then waited the pool's whole connectTimeout)
        Connection c = pool.tryConnection(java.time.Duration.ofSeconds(1));
        return c != null ? c : openDirect(s, timeoutSeconds);
    }

    /**
     * A connection outside the pool, giving up after {@code timeoutSeconds}: for checks, which should not wait on an
     * unreachable database for as long as a run would.
     */
    public Connection openDirect(ConnectionSettings s, int timeoutSeconds) throws SQLException {
        DataSource ds = endpoint(s, Endpoint.of(s));
        PGSimpleDataSource pg = ds instanceof SshTunnel.TunnelledDataSource t ? t.pg() : (PGSimpleDataSource) ds;
        pg.setConnectTimeout(timeoutSeconds);
        pg.setLoginTimeout(timeoutSeconds);
        Connection c = ds.getConnection();
        if (s.role() == ConnectionSettings.Role.SOURCE) {
            c.setReadOnly(true);
            c.setAutoCommit(false);
        }
        return c;
    }

    @Override
    public void close() {
        pools.values().forEach(p -> p.hikari().close());
        pools.clear();
        tunnels.values().forEach(SshTunnel::close);
        tunnels.clear();
    }
}
