package dev.ferry.state;

import java.sql.Connection;
import java.sql.SQLException;

import dev.ferry.connect.Connections;
import dev.ferry.config.TableRef;
import dev.ferry.config.TransferCatalog;
import dev.ferry.config.TransferSpec;
import dev.ferry.destination.DestinationSchema;
import dev.ferry.observe.FerryMeters;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import javax.sql.DataSource;

import org.apache.camel.Exchange;
import org.apache.camel.support.SynchronizationAdapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The start and end of a run: what the route's first and last steps call. */
public final class Runs {

    public static final String RUN = "ferryRun";
    private static final Logger LOG = LoggerFactory.getLogger("dev.ferry.transfer");

    /** Exchange property set on runs started by hand ({@code sync}, the demo): they skip the failure backoff. */
    public static final String MANUAL = "ferryManual";

    /**
     * Exchange property set on a one-off full reload ({@code sync --full-refresh}): an incremental, append or xmin
     * transfer's tables are read as a full refresh, and the watermark committed with each swap (see TransferRun#reloadOf).
     */
    public static final String FULL_REFRESH = "ferryFullRefresh";

    private final TransferCatalog catalog;
    private final Connections connections;
    /**
     * Per transfer: this process's own count of consecutive failed runs, and when the last one ended. The backoff
     * reads the run history, which every node writes (so all agree); this count stands in for it only while the
     * destination cannot be reached to read it (its failures then could not be recorded there either).
     */
    private final Map<String, RunHistory.FailedRuns> health = new ConcurrentHashMap<>();
    private final java.util.Set<String> ensured = ConcurrentHashMap.newKeySet();
    /** Transfers whose last failure could not be written to the history: the destination was out of reach. */
    private final java.util.Set<String> unrecorded = ConcurrentHashMap.newKeySet();

    private final Shutdown shutdown;
    private final FerryMeters meters;

    public Runs(TransferCatalog catalog, Connections connections, Shutdown shutdown) {
        this(catalog, connections, shutdown, FerryMeters.none());
    }

    public Runs(TransferCatalog catalog, Connections connections, Shutdown shutdown, FerryMeters meters) {
        this.catalog = catalog;
        this.connections = connections;
        this.shutdown = shutdown;
        this.meters = meters;
    }

    /** Starts a run of the transfer whose route fired: makes sure the destination schema and run history exist. */
    public void begin(Exchange exchange) throws SQLException, InterruptedException {
        TransferSpec spec = catalog.get(exchange.getFromRouteId());
        TransferRun run = exchange.getProperty(RUN, TransferRun.class);
        boolean retry = run != null;
        if (retry) {
            run.release(); // a retry of begin: start over, as the same run
        } else {
            boolean reload = exchange.getProperty(FULL_REFRESH, false, Boolean.class) && spec.mode() != dev.ferry.config.Mode.FULL_REFRESH;
            run = new TransferRun(reload ? spec.withMode(dev.ferry.config.Mode.FULL_REFRESH) : spec,
                    connections.source(spec.source()), connections.destination(spec.destination()), reload ? spec.mode() : null);
        }
        // scheduled runs wait out the backoff after failed runs; sync runs and retries of this one do not
        boolean backoff = !retry && !exchange.getProperty(MANUAL, false, Boolean.class);
        exchange.setProperty(RUN, run);
        dev.ferry.observe.LogContext.run(spec.name(), run.id());
        reserveSessions(run, exchange, retry);
        String schema = run.destination().schema();
        DataSource destination = connections.dataSource(run.destination());
        String ensuredKey = run.destination().name() + "/" + schema;
        if (backoff && unrecorded.contains(spec.name()) && backingOff(exchange, run, health.get(spec.name()))) {
            return; // the history lacks the failures to back off after, and a connection attempt would wait its timeout
        }
        Connection first;
        try {
            first = destination.getConnection();
        } catch (SQLException e) {
            // the history is out of reach: this process's own count of failed runs decides
            if (backoff && backingOff(exchange, run, health.get(spec.name()))) {
                return;
            }
            logStarted(run);
            throw e;
        }
        try (Connection c = first) {
            // the full setup (its ALTERs take locks that frequent runs need not queue on) once per process and schema,
            // and again whenever the catalog says a part is gone: dropped while this process kept running
            if (!ensured.contains(ensuredKey) || !bookkeepingPresent(c, schema)) {
                synchronized (ensured) { // one setup at a time: another transfer's run may be making the same schema
                    boolean before = ensured.contains(ensuredKey);
                    if (!before || !bookkeepingPresent(c, schema)) {
                        if (before) {
                            LOG.warn("transfer {}: the destination schema {} or one of Ferry's tables in it ({}, {}, {}) is"
                                    + " gone (dropped while Ferry was running); creating it again", spec.name(), schema,
                                    RunHistory.TABLE, Watermarks.TABLE, Lease.TABLE);
                        }
                        ensureBookkeeping(c, schema);
                        ensured.add(ensuredKey);
                    }
                }
            }
            unrecorded.remove(spec.name());
            if (backoff && backingOff(exchange, run, RunHistory.failedRuns(c, schema, spec.name(), failuresThatMatter(spec),
                    spec.tables().size()))) {
                return;
            }
        }
        logStarted(run);
        TransferLock lock = TransferLock.tryAcquire(destination, schema, spec.name());
        if (lock == null) {
            run.skip();
            LOG.warn("transfer {}: run {} skipped: the previous run of this transfer is still going (in this process or"
                    + " another Ferry process on the same destination)", spec.name(), run.id());
            try (Connection c = destination.getConnection()) {
                RunHistory.skipped(c, schema, run);
            }
            exchange.setRouteStop(true);
            return;
        }
        run.hold(lock);
        try (Connection c = destination.getConnection()) {
            Connections.checkDestinationSession(c, run.destination());
            Lease.take(c, schema, spec.name(), run.id());
            int stale = RunHistory.abandonStale(c, schema, spec.name());
            if (stale > 0) {
                LOG.warn("transfer {}: {} earlier run record(s) were left 'running' by a process that stopped; marked abandoned"
                        + " (committed batches are kept, the run resumes after them)", spec.name(), stale);
            }
        }
        checkColumnRules(run, run.getTables());
        exchange.getIn().setBody(run.getTables());
    }

    /**
     * Fails the run before any write when a column rule (hash, mask, nullify, cast) names a column that none of its
     * tables has: a typo must never let a clear value through. A table that cannot be described is left to its own
     * step, which says why.
     */
    private void checkColumnRules(TransferRun run, List<TableRef> tables) throws SQLException {
        dev.ferry.config.ColumnRules rules = run.spec().columnRules();
        if (rules.isEmpty()) {
            return;
        }
        Map<TableRef, List<String>> columns = new java.util.LinkedHashMap<>();
        try (Connection c = connections.dataSource(run.source()).getConnection()) {
            for (TableRef t : tables) {
                try {
                    columns.put(t, dev.ferry.source.SourceCatalog.describe(c, t).columnNames());
                } catch (dev.ferry.source.SourceTableException e) {
                    columns.put(t, List.of());
                }
            }
        }
        List<String> problems = rules.unmatched(columns);
        if (!problems.isEmpty()) {
            throw new dev.ferry.source.SourceTableException(dev.ferry.source.SourceTableException.Kind.SHAPE, "transfer '"
                    + run.spec().name() + "': " + String.join("; ", problems));
        }
    }

    /**
     * Waits for the run's turn: the sessions it may hold at once on its servers, reserved of their budgets (released
     * when the run ends, however it ends). The wait, with a scheduled run's wait for a free run slot before it, is
     * logged when it is long enough to notice and kept in the run record ({@code waited_ms}).
     */
    private void reserveSessions(TransferRun run, Exchange exchange, boolean retry) throws InterruptedException {
        TransferSpec spec = run.spec();
        Connections.Reservation sessions;
        AutoCloseable waiting = meters.waitingForSessions();
        try {
            sessions = connections.reserve("transfer " + spec.name(), run.source(), spec.sourceSessions(),
                    run.destination(), spec.destinationSessions(), () -> shutdown.requested() || routeStopping(exchange));
        } finally {
            closeQuietly(waiting);
        }
        if (sessions == null) {
            if (!retry) {
                meters.runCounted(spec.name(), "interrupted", java.time.Duration.ofNanos((long) (run.seconds() * 1e9)), null);
            }
            throw new RunInterrupted(shutdown.requested() ? "not started: Ferry is shutting down; the next run covers it"
                    : "not started: the transfer was removed or changed while the run waited for sessions");
        }
        java.util.Date scheduled = exchange.getIn().getHeader("scheduledFireTime", java.util.Date.class);
        long late = scheduled == null || retry ? 0 : Math.max(0, System.currentTimeMillis() - scheduled.getTime() - sessions.waitedMillis());
        run.hold(sessions, late + sessions.waitedMillis());
        if (!retry) {
            TransferRun held = run;
            meters.runBegan(spec.name(), java.time.Duration.ofMillis(late + sessions.waitedMillis()));
            exchange.getExchangeExtension().addOnCompletion(new SynchronizationAdapter() {
                @Override
                public void onDone(Exchange done) {
                    held.release();
                    counted(held, done);
                }
            });
        }
        if (late + sessions.waitedMillis() >= 1000) {
            LOG.info("transfer {}: run {} waited {}s to start ({}s for a free run slot, ferry.maxRunsInFlight; {}s for"
                            + " sessions of its servers' budgets, maxSessions)", spec.name(), run.id(),
                    String.format("%.1f", (late + sessions.waitedMillis()) / 1000.0), String.format("%.1f", late / 1000.0),
                    String.format("%.1f", sessions.waitedMillis() / 1000.0));
        }
    }

    /** The run's end in the meters: its outcome, its duration, and the time of a success. */
    private void counted(TransferRun run, Exchange done) {
        TransferRun.Status status = run.status();
        String outcome;
        if (status == TransferRun.Status.RUNNING) {
            // ended before its tables did: stopped for shutdown, or failed outside any table
            outcome = done.getException() instanceof RunInterrupted || shutdown.requested() ? "interrupted" : "failed";
        } else {
            outcome = status.name().toLowerCase(java.util.Locale.ROOT);
        }
        meters.runEnded(run.spec().name(), outcome, java.time.Duration.ofNanos((long) (run.seconds() * 1e9)),
                status == TransferRun.Status.SUCCEEDED ? Instant.now() : null);
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            // a gauge's count: nothing to fail
        }
    }

    /**
     * Whether a scheduled run waits out the backoff after {@code failed} consecutive failed runs (the run is then
     * marked skipped and the route stops): until the last one ended plus {@link TransferSpec#backoffAfter}.
     */
    private static boolean backingOff(Exchange exchange, TransferRun run, RunHistory.FailedRuns failed) {
        if (failed == null) {
            return false;
        }
        TransferSpec spec = run.spec();
        Instant next = failed.lastEnded().plus(spec.backoffAfter(failed.count()));
        if (!Instant.now().isBefore(next)) {
            return false;
        }
        LOG.info("transfer {}: not running now: backing off after {} consecutive failed run(s); next attempt at or"
                + " after {}", spec.name(), failed.count(), next);
        run.skip();
        exchange.setRouteStop(true);
        return true;
    }

    /**
     * How many consecutive failures the backoff tells apart: past the count where the delay reaches retryMaxDelay
     * more make no difference (and no fewer than 10, for the log's count).
     */
    static int failuresThatMatter(TransferSpec spec) {
        int f = 1;
        while (f < 100 && spec.backoffAfter(f + 1).compareTo(spec.backoffAfter(f)) > 0) {
            f++;
        }
        return Math.max(f, 10);
    }

    private static void logStarted(TransferRun run) {
        TransferSpec spec = run.spec();
        LOG.info("transfer {}: run {} started ({}, {} table(s), {} -> {})", spec.name(), run.id(),
                run.reloadOf() == null ? spec.mode().key() : "full reload of mode " + run.reloadOf().key() + ", sync --full-refresh",
                spec.tables().size(), run.source().describe(), run.destination().describe());
    }

    /**
     * Whether the transfer's route is being stopped (a recipient or a transfer removed while running): a run still
     * waiting for its sessions then gives up rather than hold up the route's graceful stop, or start after it.
     */
    private static boolean routeStopping(Exchange exchange) {
        String id = exchange.getFromRouteId();
        if (id == null) {
            return false;
        }
        org.apache.camel.Route route = exchange.getContext().getRoute(id);
        // a graceful stop stops the route's trigger (its consumer) first, then waits for the runs in flight
        return route == null || route.getConsumer() instanceof org.apache.camel.StatefulService consumer && !consumer.isStarted();
    }

    /** Creates the destination schema and Ferry's tables in it, whichever are missing, and brings them up to date. */
    public static void ensureBookkeeping(Connection c, String schema) throws SQLException {
        DestinationSchema.ensureSchema(c, schema);
        RunHistory.ensure(c, schema);
        Watermarks.ensure(c, schema);
        Lease.ensure(c, schema);
    }

    /** Whether the schema and all of Ferry's tables in it exist: a catalog read, no lock taken. */
    static boolean bookkeepingPresent(Connection c, String schema) throws SQLException {
        try (java.sql.PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM pg_catalog.pg_class t"
                + " JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = ? AND t.relkind = 'r'"
                + " AND t.relname = ANY (?)")) {
            ps.setString(1, schema);
            ps.setArray(2, c.createArrayOf("text", new String[] {RunHistory.TABLE, Watermarks.TABLE, Lease.TABLE}));
            try (java.sql.ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1) == 3;
            }
        }
    }

    /** Logs how the run ended. Tables that failed were recorded by the error route as they failed. */
    public void finish(Exchange exchange) {
        TransferRun run = exchange.getProperty(RUN, TransferRun.class);
        if (run == null) {
            return;
        }
        double secs = run.seconds();
        dev.ferry.observe.LogContext.run(run.spec().name(), run.id()); // the tables are done: lines from here are the run's
        if (run.status() == TransferRun.Status.SKIPPED) {
            return;
        }
        if (run.status() == TransferRun.Status.SUCCEEDED) {
            health.remove(run.spec().name());
        } else if (run.status() == TransferRun.Status.FAILED) {
            failed(run);
        }
        if (run.status() == TransferRun.Status.SUCCEEDED) {
            LOG.info("transfer {}: run {} succeeded: {} rows in {}s ({} rows/s)", run.spec().name(), run.id(), run.rows(),
                    String.format("%.2f", secs), String.format("%.0f", run.rows() / Math.max(secs, 1e-3)));
        } else if (run.status() == TransferRun.Status.INTERRUPTED) {
            LOG.warn("transfer {}: run {} stopped for shutdown after {}s, {} rows committed; the next run resumes", run.spec().name(),
                    run.id(), String.format("%.2f", secs), run.rows());
        } else {
            LOG.error("transfer {}: run {} failed after {}s: {}", run.spec().name(), run.id(), String.format("%.2f", secs),
                    run.error());
        }
    }

    /** A failure of the run that could not be written to its history: the backoff counts it from memory. */
    public void unrecorded(TransferRun run) {
        unrecorded.add(run.spec().name());
    }

    /** Counts a failed run, for the backoff between scheduled runs while the history cannot be read. */
    public void failed(TransferRun run) {
        health.merge(run.spec().name(), new RunHistory.FailedRuns(1, Instant.now()),
                (old, one) -> new RunHistory.FailedRuns(old.count() + 1, Instant.now()));
    }
}
