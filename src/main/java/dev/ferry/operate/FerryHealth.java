package dev.ferry.operate;

import java.sql.Connection;
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
import dev.ferry.observe.FerryMeters;
import dev.ferry.state.RunRecords;
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
 * manager; a destination's check reads the run history of its transfers in the same session, one query per destination
 * schema ({@link RunRecords#health}), and seeds their last-success gauges from it. A server that is full (53300) is UP
 * with a message: its load is not Ferry being unready. The checks follow the connections and transfers as they come
 * and go ({@link #sync}); a transfer replaced (changed) keeps its check.
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
            checkTransfers(c, mine);
            check.set(HealthCheck.State.UP, what + ": reachable and authenticated", details);
        } catch (SQLException | RuntimeException e) {
            if (!isRunAllowed()) {
                return; // stopped while connecting: not the database's fault
            }
            if (serverFull(e)) {
                // the server answered, and refuses sessions only because other clients hold all its max_connections:
                // nothing Ferry could do about it by being taken out of service, and runs wait such a server out
                // (connect.Pool), so readiness does not flap with the server's load; the transfers keep their last result
                check.set(HealthCheck.State.UP, what + ": server full: it refuses new sessions (SQLSTATE 53300, all its"
                        + " max_connections are taken); runs wait for a free one; leave room in max_connections for Ferry's"
                        + " sessions and its health check's", details);
                return;
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

    /** How many records of a transfer's newest runs its check reads, per table: enough to span a few runs. */
    private static final int RUNS_READ = 4;

    /** The transfers' checks of one destination endpoint: one history query per destination schema, for all of them. */
    private void checkTransfers(Connection c, List<TransferSpec> mine) throws SQLException {
        Map<String, Map<String, Integer>> bySchema = new LinkedHashMap<>();
        Map<String, TransferSpec> specs = new LinkedHashMap<>();
        for (TransferSpec spec : mine) {
            if (transfers.containsKey(spec.name())) {
                specs.put(spec.name(), spec);
                bySchema.computeIfAbsent(connections.destination(spec.destination()).schema(), k -> new LinkedHashMap<>())
                        .put(spec.name(), RUNS_READ * (dev.ferry.state.TransferRun.recordsPerRun(spec) + 1));
            }
        }
        c.setAutoCommit(true);
        FerryMeters meters = camel.getRegistry().lookupByNameAndType(FerryMeters.BEAN, FerryMeters.class);
        for (Map.Entry<String, Map<String, Integer>> e : bySchema.entrySet()) {
            Map<String, RunRecords.Health> read;
            Instant readAt = Instant.now();
            try (Statement st = c.createStatement()) {
                // bounds the one statement below as the network timeout bounds a silent network
                st.execute("SET statement_timeout = '" + CONNECT_TIMEOUT_SECONDS + "s'");
                read = RunRecords.health(c, e.getKey(), e.getValue());
            } catch (SQLException ex) {
                if (ex.getSQLState() != null && ex.getSQLState().startsWith("08")) {
                    throw ex; // the session was lost: the endpoint's failure, reported as such
                }
                for (String name : e.getValue().keySet()) {
                    set(name, HealthCheck.State.DOWN, "transfer '" + name + "': cannot read its run history: "
                            + Errors.describe(ex), Map.of("schedule", specs.get(name).scheduleText()));
                }
                continue;
            }
            read.forEach((name, health) -> {
                if (meters != null && health.lastSuccessEnded() != null && transfers.containsKey(name)) {
                    meters.lastSucceeded(name, health.lastSuccessEnded()); // after a restart: the age of the data at once
                }
                checkTransfer(specs.get(name), health, readAt);
            });
        }
    }

    /** A transfer: its last decided run did not fail, and a run started recently enough for its schedule. */
    private void checkTransfer(TransferSpec spec, RunRecords.Health health, Instant readAt) {
        Cached check = transfers.get(spec.name());
        if (check == null) {
            return;
        }
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("schedule", spec.scheduleText());
        details.put("checkedAt", readAt.toString()); // when the history was read: the result is as of then
        Instant lastStart = health.lastStart();
        if (lastStart != null) {
            details.put("lastRunStartedAt", lastStart.toString());
        }
        RunRecords.Decided last = health.lastRun();
        if (last != null && last.failed()) {
            details.put("lastRunFailedAt", String.valueOf(last.ended()));
            check.set(HealthCheck.State.DOWN, "transfer '" + spec.name() + "': its last run failed: " + last.error(), details);
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

    private void set(String transfer, HealthCheck.State state, String message, Map<String, Object> details) {
        Cached t = transfers.get(transfer);
        if (t != null) {
            t.set(state, message, details);
        }
    }

    /** "too many clients already" (or the slots reserved for superusers): SQLSTATE 53300 anywhere in the chain. */
    static boolean serverFull(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLException sql && "53300".equals(sql.getSQLState())) {
                return true;
            }
        }
        return false;
    }

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
