package dev.ferry.state;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import dev.ferry.config.ConnectionSettings;
import dev.ferry.config.TableRef;
import dev.ferry.config.TransferSpec;
import dev.ferry.failure.Errors;

/** One run of one transfer: its id, what it covers, and how each table ended. Lives on the exchange as {@code ferryRun}. */
public final class TransferRun {

    public enum Status { RUNNING, SUCCEEDED, FAILED, INTERRUPTED, SKIPPED }

    /** How one table of the run ended. */
    public record TableOutcome(TableRef table, Status status, long rows, String error) {
    }

    private final UUID id = UUID.randomUUID();
    private final TransferSpec spec;
    private final ConnectionSettings source;
    private final ConnectionSettings destination;
    private final Instant startedAt = Instant.now();
    private final long startedNanos = System.nanoTime();
    private final Map<TableRef, TableOutcome> outcomes = new ConcurrentHashMap<>();
    /** The tables in the order they ended (tables may run in parallel): the first failure is the first one here. */
    private final java.util.Queue<TableRef> ended = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final AtomicLong rows = new AtomicLong();
    private volatile String runError;
    private volatile boolean skipped;
    private volatile TransferLock lock;
    private volatile dev.ferry.connect.Connections.Reservation sessions;
    private volatile long waitedMillis;

    /** A one-off full reload ({@code sync --full-refresh}): the transfer's own mode, whose watermark the run commits. */
    private final dev.ferry.config.Mode reloadOf;

    public TransferRun(TransferSpec spec, ConnectionSettings source, ConnectionSettings destination) {
        this(spec, source, destination, null);
    }

    /**
     * A run of {@code spec}; with {@code reloadOf}, a full reload of a transfer of that mode: {@code spec} is then the
     * transfer read as a full refresh, and each table's swap commits the watermark its next run of that mode resumes from.
     */
    public TransferRun(TransferSpec spec, ConnectionSettings source, ConnectionSettings destination, dev.ferry.config.Mode reloadOf) {
        this.spec = spec;
        this.source = source;
        this.destination = destination;
        this.reloadOf = reloadOf;
    }

    /** The transfer's own mode when this run is a one-off full reload of it ({@code sync --full-refresh}); else null. */
    public dev.ferry.config.Mode reloadOf() {
        return reloadOf;
    }

    public UUID id() {
        return id;
    }

    public TransferSpec spec() {
        return spec;
    }

    public ConnectionSettings source() {
        return source;
    }

    public ConnectionSettings destination() {
        return destination;
    }

    public Instant startedAt() {
        return startedAt;
    }

    /** The run's start time, as the {@code _ferry_synced_at} value of every row it writes. */
    public OffsetDateTime syncedAt() {
        return OffsetDateTime.ofInstant(startedAt, ZoneOffset.UTC);
    }

    public double seconds() {
        return (System.nanoTime() - startedNanos) / 1e9;
    }

    /** The tables to move, for the route's split. */
    public List<TableRef> getTables() {
        return spec.tables();
    }

    public void tableDone(TableRef table, long tableRows) {
        rows.addAndGet(tableRows);
        ended(new TableOutcome(table, Status.SUCCEEDED, tableRows, null));
    }

    public void tableFailed(TableRef table, long tableRows, String error) {
        ended(new TableOutcome(table, Status.FAILED, tableRows, error));
    }

    /** A table stopped at a batch boundary for shutdown; its committed batches count, except a full refresh's. */
    public void tableInterrupted(TableRef table, long tableRows, String error) {
        if (spec.mode() != dev.ferry.config.Mode.FULL_REFRESH) {
            rows.addAndGet(tableRows);
        }
        ended(new TableOutcome(table, Status.INTERRUPTED, tableRows, error));
    }

    private void ended(TableOutcome outcome) {
        if (outcomes.put(outcome.table(), outcome) == null) {
            ended.add(outcome.table());
        }
    }

    /** A failure before or outside any table, such as an unreachable destination. */
    public void runFailed(String error) {
        this.runError = error;
    }

    /** The run did not start because another run of the transfer holds its lock. */
    public void skip() {
        this.skipped = true;
    }

    void hold(TransferLock lock) {
        this.lock = lock;
    }

    void hold(dev.ferry.connect.Connections.Reservation sessions, long waitedMillis) {
        this.sessions = sessions;
        this.waitedMillis = waitedMillis;
    }

    /**
     * How long the run waited before it began: for a free run slot (a scheduled run, after its fire time) and for its
     * sessions of the servers' budgets.
     */
    public long waitedMillis() {
        return waitedMillis;
    }

    /** Releases the transfer's lock, if this run holds it, and the sessions it reserved. */
    public void release() {
        TransferLock l = lock;
        lock = null;
        if (l != null) {
            l.close();
        }
        dev.ferry.connect.Connections.Reservation r = sessions;
        sessions = null;
        if (r != null) {
            r.close();
        }
    }

    public long rows() {
        return rows.get();
    }

    public Map<TableRef, TableOutcome> outcomes() {
        return Map.copyOf(outcomes);
    }

    public Status status() {
        if (skipped) {
            return Status.SKIPPED;
        }
        if (runError != null) {
            return Status.FAILED;
        }
        if (outcomes.values().stream().anyMatch(o -> o.status() == Status.FAILED)) {
            return Status.FAILED;
        }
        if (outcomes.values().stream().anyMatch(o -> o.status() == Status.INTERRUPTED)) {
            return Status.INTERRUPTED;
        }
        return outcomes.size() == spec.tables().size() ? Status.SUCCEEDED : Status.RUNNING;
    }

    /** The run's first error: a failure outside any table, or the table that failed first, named. */
    public String firstError() {
        if (runError != null) {
            return runError;
        }
        return inOrder().filter(o -> o.error() != null).map(TransferRun::described).findFirst().orElse(null);
    }

    /**
     * How the run failed, for its last log line and its notification: a failure outside any table, or how many of
     * its tables failed and each one with its own error, in the order they failed. Not one table's error, which
     * would read as the cause of all of them. An interrupted run: the first table's reason.
     */
    public String error() {
        if (runError != null) {
            return runError;
        }
        List<TableOutcome> failed = inOrder().filter(o -> o.status() == Status.FAILED).toList();
        if (failed.isEmpty()) {
            return firstError();
        }
        int tables = spec.tables().size();
        if (tables == 1) {
            return described(failed.get(0));
        }
        StringBuilder sb = new StringBuilder().append(failed.size()).append(" of ").append(tables).append(" tables failed");
        if (failed.size() > 1) {
            sb.append(", in this order");
        }
        sb.append(":");
        for (int i = 0; i < failed.size(); i++) {
            // numbered: errors end with SQL and semicolons of their own, so no punctuation would separate them
            sb.append(failed.size() > 1 ? " (" + (i + 1) + ") " : " ").append(described(failed.get(i)));
        }
        return sb.toString();
    }

    private java.util.stream.Stream<TableOutcome> inOrder() {
        return ended.stream().map(outcomes::get);
    }

    private static String described(TableOutcome o) {
        return o.table().display() + ": " + o.error();
    }

    @Override
    public String toString() {
        return "run " + id + " of transfer " + spec.name();
    }

    /** What failed, in one line that names the cause, with the fix when it is a known permission or connection error. */
    public static String describe(Throwable error, TransferRun run) {
        return run == null ? Errors.describe(error) : Errors.describe(error, run.source(), run.destination(), run.spec().tables());
    }
}
