package dev.ferry.operate;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import dev.ferry.config.ConnectionSettings;
import dev.ferry.config.TransferCatalog;
import dev.ferry.config.TransferSpec;
import dev.ferry.connect.Connections;
import dev.ferry.connect.Endpoint;
import dev.ferry.failure.Errors;
import dev.ferry.failure.PrivilegeHints;
import dev.ferry.state.RunHistory;
import org.apache.camel.CamelContext;
import org.apache.camel.health.HealthCheck;
import org.apache.camel.health.HealthCheckRegistry;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ferry's readiness checks in Camel's health check registry ({@code /observe/health/ready}): one per connection
 * endpoint (the connections that share a server, database and user share one: "reachable and authenticated"), and one
 * per transfer (its last run did not fail, and it is not late for its schedule). None is a liveness check: a
 * customer's database being down is nothing a restart fixes; liveness is Camel's own context check.
 *
 * <p>A probe only reads results: the checks run in the background every {@code ferry.health.interval} (default 30s),
 * each endpoint at most once per interval (one fresh session, closed after), on threads of Camel's executor service
 * manager; a destination's check reads the run history of its transfers in the same session. The checks follow the
 * connections and transfers as they come and go ({@link #sync}).
 */
public final class FerryHealth extends ServiceSupport {

    private static final Logger LOG = LoggerFactory.getLogger("dev.ferry");

    /** The registry name of this service. */
    public static final String BEAN = "ferryHealth";
    /** The property that sets how often the checks run, and its default. */
    public static final String INTERVAL = "ferry.health.interval";
    public static final String DEFAULT_INTERVAL = "30s";
    public static final String GROUP = "ferry";
    /** A check's connect timeout is the connection's, at most this. */
    static final int CONNECT_TIMEOUT_SECONDS = 5;
    /** The least a late transfer is given beyond its next fire time (a run that waits for sessions is not late). */
    static final Duration LATE_GRACE = Duration.ofMinutes(1);

    private final CamelContext camel;
    private final Connections connections;
    private final TransferCatalog catalog;
    private final Duration interval;
    private final Map<Endpoint, Cached> endpoints = new ConcurrentHashMap<>();
    private final Map<String, Cached> transfers = new ConcurrentHashMap<>();
    /** Endpoints being checked now: a slow one is never checked twice at once. */
    private final Set<Endpoint> running = ConcurrentHashMap.newKeySet();
    private ScheduledExecutorService timer;
    private ExecutorService workers;

    public FerryHealth(CamelContext camel, Connections connections, TransferCatalog catalog, Duration interval) {
        this.camel = camel;
        this.connections = connections;
        this.catalog = catalog;
        this.interval = interval;
    }

    @Override
    protected void doStart() {
        timer = camel.getExecutorServiceManager().newSingleThreadScheduledExecutor(this, "ferry-health");
        // endpoints are checked side by side, so that unreachable ones (each waiting its connect timeout) do not delay
        // the others'
        workers = camel.getExecutorServiceManager().newFixedThreadPool(this, "ferry-health-check", 4);
        timer.scheduleWithFixedDelay(this::refresh, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    protected void doStop() {
        camel.getExecutorServiceManager().shutdownNow(timer);
        camel.getExecutorServiceManager().shutdownNow(workers);
        HealthCheckRegistry registry = HealthCheckRegistry.get(camel);
        if (registry != null) {
            endpoints.values().forEach(registry::unregister);
            transfers.values().forEach(registry::unregister);
        }
    }

    /** Runs every check whose endpoint is not being checked already; results replace the cached ones as they come. */
    private void refresh() {
        try {
            align();
            byEndpoint().forEach(this::submit);
        } catch (RuntimeException e) {
            LOG.warn("health checks: refresh failed: {}", Errors.describe(e));
        }
    }

    private void submit(Endpoint endpoint, List<ConnectionSettings> named) {
        ExecutorService pool = workers;
        if (pool != null && !pool.isShutdown() && running.add(endpoint)) {
            pool.submit(() -> {
                try {
                    check(endpoint, named);
                } finally {
                    running.remove(endpoint);
                }
            });
        }
    }

    private Map<Endpoint, List<ConnectionSettings>> byEndpoint() {
        Map<Endpoint, List<ConnectionSettings>> all = new LinkedHashMap<>();
        for (ConnectionSettings s : connections.all()) {
            all.computeIfAbsent(Endpoint.of(s), e -> new ArrayList<>()).add(s);
        }
        return all;
    }

    /**
     * Registers a check for each connection endpoint and transfer there is now, and unregisters those of endpoints
     * and transfers that are gone (a recipient removed, a route file changed). Cheap: nothing is connected to.
     */
    public void sync() {
        // an endpoint new since the last refresh is checked now (its first check), not an interval later: until then
        // its check is UNKNOWN, which keeps readiness down
        align().forEach(this::submit);
    }

    /** Registers and unregisters checks as {@link #sync} says; returns the endpoints that are new. */
    private synchronized Map<Endpoint, List<ConnectionSettings>> align() {
        HealthCheckRegistry registry = HealthCheckRegistry.get(camel);
        Map<Endpoint, List<ConnectionSettings>> added = new LinkedHashMap<>();
        if (registry == null || !isStarted() && !isStarting()) {
            return added;
        }
        Map<Endpoint, List<ConnectionSettings>> now = byEndpoint();
        for (Map.Entry<Endpoint, List<ConnectionSettings>> e : now.entrySet()) {
            endpoints.computeIfAbsent(e.getKey(), endpoint -> {
                added.put(endpoint, e.getValue());
                return register(registry, new Cached(endpointId(endpoint), HealthCheck.State.UNKNOWN,
                        "connection " + names(e.getValue()) + ": not checked yet"));
            });
        }
        endpoints.entrySet().removeIf(e -> {
            if (!now.containsKey(e.getKey())) {
                registry.unregister(e.getValue());
                return true;
            }
            return false;
        });
        Set<String> names = new TreeSet<>();
        for (TransferSpec spec : catalog.all()) {
            names.add(spec.name());
            // a transfer just added has neither failed nor missed its schedule: UP until its destination's next check
            // reads its history, so that adding a recipient never turns readiness down
            transfers.computeIfAbsent(spec.name(), name -> register(registry, new Cached("ferry-transfer-" + name,
                    HealthCheck.State.UP, "transfer '" + name + "': added, not checked yet")));
        }
        transfers.entrySet().removeIf(e -> {
            if (!names.contains(e.getKey())) {
                registry.unregister(e.getValue());
                return true;
            }
            return false;
        });
        return added;
    }

    private Cached register(HealthCheckRegistry registry, Cached check) {
        check.setCamelContext(camel);
        registry.register(check);
        return check;
    }

    /** The check's id: the role and where it connects, as whom (never a password); unique among the endpoints. */
    private String endpointId(Endpoint endpoint) {
        String id = "ferry-" + endpoint.role().key() + "-" + endpoint.user() + "@" + endpoint.hostname() + ":" + endpoint.port()
                + "/" + endpoint.database();
        Set<String> taken = new java.util.HashSet<>();
        endpoints.values().forEach(c -> taken.add(c.getId()));
        String unique = id;
        for (int i = 2; taken.contains(unique); i++) {
            unique = id + "#" + i; // the same place with other settings (TLS, timeouts): a pool of its own
        }
        return unique;
    }

    private static String names(List<ConnectionSettings> named) {
        List<String> names = named.stream().map(s -> "'" + s.name() + "'").sorted().toList();
        return String.join(", ", names);
    }

    /** One endpoint: connect, SELECT 1; a destination also reads its transfers' run history in the same session. */
    private void check(Endpoint endpoint, List<ConnectionSettings> named) {
        Cached check = endpoints.get(endpoint);
        if (check == null || !isRunAllowed()) {
            return; // forgotten since, or Ferry is stopping (and closing the connections)
        }
        ConnectionSettings s = named.get(0);
        String what = s.role().key() + " " + names(named) + " (" + endpoint + ")";
        List<TransferSpec> mine = new ArrayList<>();
        if (s.role() == ConnectionSettings.Role.DESTINATION) {
            for (TransferSpec spec : catalog.all()) {
                ConnectionSettings d = connections.destination(spec.destination());
                if (d != null && Endpoint.of(d).equals(endpoint)) {
                    mine.add(spec);
                }
            }
        }
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("connections", named.stream().map(ConnectionSettings::name).sorted().toList().toString());
        details.put("endpoint", endpoint.toString());
        try (Connection c = connections.openDirect(s, Math.max(1, Math.min(s.connectTimeoutSeconds(), CONNECT_TIMEOUT_SECONDS)))) {
            // a network that goes silent once connected (a partition mid-check): every read gives up, so the check
            // ends DOWN rather than hang and leave its last result UP
            c.setNetworkTimeout(Runnable::run, (int) TimeUnit.SECONDS.toMillis(2L * CONNECT_TIMEOUT_SECONDS));
            try (Statement st = c.createStatement()) {
                st.setQueryTimeout(CONNECT_TIMEOUT_SECONDS);
                st.execute("SELECT 1");
            }
            for (TransferSpec spec : mine) {
                checkTransfer(c, spec);
            }
            check.set(HealthCheck.State.UP, what + ": reachable and authenticated", details);
        } catch (SQLException | RuntimeException e) {
            if (!isRunAllowed()) {
                return; // stopped while connecting: not the database's fault
            }
            String hint = e instanceof SQLException sql ? PrivilegeHints.hint(sql,
                    s.role() == ConnectionSettings.Role.SOURCE ? s : null, s.role() == ConnectionSettings.Role.DESTINATION ? s : null)
                    : null;
            check.set(HealthCheck.State.DOWN, what + ": cannot connect: " + Errors.describe(e)
                    + (hint != null ? "; fix: " + hint : "; fix: check that the server is up and reachable from Ferry, and the"
                    + " connection's host, port, database, user and password (ferry " + s.role().key() + " '" + s.name() + "')"),
                    details);
            for (TransferSpec spec : mine) {
                Cached t = transfers.get(spec.name());
                if (t != null) {
                    t.set(HealthCheck.State.DOWN, "transfer '" + spec.name() + "': its destination '" + spec.destination()
                            + "' cannot be reached, so it cannot run (see the check " + check.getId() + ")", Map.of());
                }
            }
        }
    }

    /** A transfer: its last finished run did not fail, and a run started recently enough for its schedule. */
    private void checkTransfer(Connection c, TransferSpec spec) throws SQLException {
        Cached check = transfers.get(spec.name());
        if (check == null) {
            return;
        }
        String schema = connections.destination(spec.destination()).schema();
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("schedule", spec.scheduleText());
        Instant lastStart = null;
        String failed = null;
        try {
            c.setAutoCommit(true);
            try (PreparedStatement ps = c.prepareStatement(HISTORY.replace("$T", RunHistory.qualified(schema)))) {
                ps.setString(1, spec.name());
                ps.setString(2, spec.name());
                ps.setString(3, spec.name());
                ps.setQueryTimeout(CONNECT_TIMEOUT_SECONDS);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    java.sql.Timestamp started = rs.getTimestamp(1);
                    lastStart = started == null ? null : started.toInstant();
                    if (rs.getBoolean(2)) {
                        failed = rs.getString(3);
                        details.put("lastRunFailedAt", String.valueOf(rs.getTimestamp(4).toInstant()));
                    }
                }
            }
        } catch (SQLException e) {
            if (e.getSQLState() != null && e.getSQLState().startsWith("08")) {
                throw e; // the session was lost: the endpoint's failure, reported as such
            }
            if (!"42P01".equals(e.getSQLState()) && !"3F000".equals(e.getSQLState())) { // no history yet: never ran
                check.set(HealthCheck.State.DOWN, "transfer '" + spec.name() + "': cannot read its run history: "
                        + Errors.describe(e), details);
                return;
            }
        }
        if (lastStart != null) {
            details.put("lastRunStartedAt", lastStart.toString());
        }
        if (failed != null) {
            check.set(HealthCheck.State.DOWN, "transfer '" + spec.name() + "': its last run failed: " + failed, details);
            return;
        }
        Instant since = lastStart != null ? lastStart : check.since;
        Instant deadline = deadline(spec.cron(), spec.every(), since);
        if (deadline != null && Instant.now().isAfter(deadline)) {
            check.set(HealthCheck.State.DOWN, "transfer '" + spec.name() + "': late: no run started since " + since
                    + ", and its schedule (" + spec.scheduleText() + ") expected one by " + deadline + "; look for runs"
                    + " waiting for sessions (maxSessions, ferry.maxRunsInFlight) or a stopped scheduler in the log", details);
            return;
        }
        check.set(HealthCheck.State.UP, "transfer '" + spec.name() + "': " + (lastStart == null ? "no run yet"
                : "last run did not fail, on time"), details);
    }

    /** The last run (of all its tables' records) that finished, and whether any of its tables failed; the last start. */
    private static final String HISTORY = """
            SELECT (SELECT max(started_at) FROM $T WHERE transfer = ?), coalesce(l.failed, false), l.error, l.finished
            FROM (SELECT 1) one LEFT JOIN LATERAL (
                SELECT bool_or(r.status = 'failed') AS failed,
                       (array_agg(r.error ORDER BY r.finished_at) FILTER (WHERE r.status = 'failed'))[1] AS error,
                       max(r.finished_at) AS finished
                FROM $T r
                WHERE r.transfer = ? AND r.run_id = (SELECT run_id FROM $T WHERE transfer = ?
                    AND status NOT IN ('running', 'skipped') ORDER BY started_at DESC LIMIT 1)) l ON true""";

    /**
     * When a transfer whose last run started at {@code since} is late: no run started by its next fire time plus one
     * more period (at least {@link #LATE_GRACE}). Null for a schedule that never fires again.
     */
    static Instant deadline(String cronText, Duration every, Instant since) {
        if (every != null) {
            return since.plus(every).plus(every.compareTo(LATE_GRACE) > 0 ? every : LATE_GRACE);
        }
        try {
            org.quartz.CronExpression cron = new org.quartz.CronExpression(cronText);
            java.util.Date next = cron.getNextValidTimeAfter(java.util.Date.from(since));
            if (next == null) {
                return null;
            }
            java.util.Date after = cron.getNextValidTimeAfter(next);
            Duration period = after == null ? LATE_GRACE : Duration.between(next.toInstant(), after.toInstant());
            return next.toInstant().plus(period.compareTo(LATE_GRACE) > 0 ? period : LATE_GRACE);
        } catch (java.text.ParseException e) {
            return null; // refused at startup
        }
    }

    /** A readiness check that answers with the result of the last background check, at once. */
    static final class Cached extends AbstractHealthCheck {

        private record Result(HealthCheck.State state, String message, Map<String, Object> details) {
        }

        final Instant since = Instant.now();
        private volatile Result result;

        Cached(String id, HealthCheck.State initial, String pending) {
            super(GROUP, id);
            this.result = new Result(initial, pending, Map.of());
        }

        void set(HealthCheck.State state, String message, Map<String, Object> details) {
            Result before = result;
            result = new Result(state, message, Map.copyOf(details));
            if (before.state() != state && (state == HealthCheck.State.DOWN || before.state() == HealthCheck.State.DOWN)) {
                if (state == HealthCheck.State.DOWN) {
                    LOG.warn("health: {} is DOWN: {}", getId(), message);
                } else {
                    LOG.info("health: {} is {} again: {}", getId(), state, message);
                }
            }
        }

        @Override
        public boolean isLiveness() {
            return false;
        }

        @Override
        protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
            Result r = result;
            builder.state(r.state()).message(r.message());
            r.details().forEach(builder::detail);
        }
    }
}
