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

    /** The run's tables, once its start found them (a transfer with patterns); until then, the ones named. */
    private volatile List<TableRef> tables;
    /** Notes for a table's run record (e.g. new at the source), written when its record is created. */
    private final Map<TableRef, List<String>> tableNotes = new ConcurrentHashMap<>();
    /** Notes about the run as a whole (e.g. a table gone from the source), written into its first table's record. */
    private final java.util.concurrent.atomic.AtomicReference<List<String>> runNotes = new java.util.concurrent.atomic.AtomicReference<>(List.of());

    /** The tables to move, for the route's split: the ones its start found ({@link #tables(List)}), else the ones named. */
    public List<TableRef> getTables() {
        List<TableRef> t = tables;
        return t != null ? t : spec.tables();
    }

    /**
     * Sets the run's tables: its {@code tables} patterns matched against the source at its start. Also remembered, by
     * transfer, as the number of tables its runs have ({@link #recordsPerRun}).
     */
    public void tables(List<TableRef> resolved) {
        tables = List.copyOf(resolved);
        TABLES_PER_RUN.put(spec.name(), resolved.size());
    }

    /** Adds notes for a table's run record (written when the table starts) and, for the run, for its first table's. */
    public void note(TableRef table, String note) {
        if (table == null) {
            runNotes.updateAndGet(l -> java.util.stream.Stream.concat(l.stream(), java.util.stream.Stream.of(note)).toList());
        } else {
            tableNotes.merge(table, List.of(note), (a, b) -> java.util.stream.Stream.concat(a.stream(), b.stream()).toList());
        }
    }

    /** The notes for this table's record, taken (with the run's own, for whichever table's record is created first). */
    public List<String> takeNotes(TableRef table) {
        List<String> out = new java.util.ArrayList<>(runNotes.getAndSet(List.of()));
        List<String> mine = tableNotes.remove(table);
        if (mine != null) {
            out.addAll(mine);
        }
        return out;
    }

    /** The tables per run of transfers with patterns, as their last run in this process found them. */
    private static final Map<String, Integer> TABLES_PER_RUN = new ConcurrentHashMap<>();
    /** Records per run assumed for a transfer with patterns until a run of it in this process has found its tables. */
    static final int PATTERN_RECORDS_GUESS = 32;

    /**
     * How many run records (one per table) a run of this transfer writes, for readers of the history that read a
     * number of records: the tables it names; with patterns, as many as its last run in this process found (or a
     * guess before one has). A guess short of the truth only makes such a read reach back fewer runs.
     */
    public static int recordsPerRun(TransferSpec spec) {
        if (!spec.tableSelection().hasPatterns()) {
            return spec.tables().size();
        }
        return Math.max(spec.tables().size(), TABLES_PER_RUN.getOrDefault(spec.name(), PATTERN_RECORDS_GUESS));
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
        if (tables == null && spec.tableSelection().hasPatterns()) {
            return Status.RUNNING; // its tables are not known yet: nothing has succeeded
        }
        return outcomes.size() == getTables().size() ? Status.SUCCEEDED : Status.RUNNING;
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
        int tables = getTables().size();
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
        return run == null ? Errors.describe(error) : Errors.describe(error, run.source(), run.destination(), run.getTables());
    }
}
