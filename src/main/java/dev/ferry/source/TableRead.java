package dev.ferry.source;

import java.util.ArrayList;
import java.util.List;

import dev.ferry.config.TransferSpec;

/**
 * The reading side of one table in one run: what to read, from where, and how far it has got. How batches are ordered
 * and bounded depends on the mode: see {@link ReadOrder}.
 */
public final class TableRead {

    /** Which rows the next batch reads. */
    public enum Phase {
        /** Rows in cursor order (incremental, append), or in key order (full refresh, xmin). */
        MAIN,
        /** Incremental modes: rows whose cursor is NULL, in key order. */
        NULLS,
        DONE
    }

    private SourceTable table;
    private final TransferSpec spec;
    private final String sourceBean;
    private final ReadOrder order;
    private Phase phase = Phase.MAIN;
    private String lastCursor;
    private List<String> lastKey;
    /** Incremental: where this run starts, from the committed watermark (null: a backfill from the start). */
    private String startCursor;
    private List<String> startKey;
    /** xmin mode: re-read rows written by transactions at or after this one (null: read everything). */
    private Long xminFrom;
    /** xmin mode: the horizon this pass commits when it completes. */
    private Long xminTo;
    private long batches;
    private boolean endOfTimeWarned;
    /** The source's clock at the table's start, as a cursor value (null: not a timestamp or date cursor). */
    private String sourceClock;
    private long sourceClockRead;
    private boolean aheadOfClockWarned;
    /** The source's oldest running transaction and next transaction id at the table's start (xmin mode). */
    private long[] sourceHorizon;

    /** A one-off full reload: where the next run of the transfer's own mode resumes (null: not a reload). */
    private ResumeMark resumeMark;

    /**
     * Where an incremental, append or xmin transfer's next run resumes after a full reload of the table, read from the
     * source before the reload's copy began (see {@link BatchPlanner#resumeMark}).
     *
     * @param cursor      cursor modes: the greatest cursor value then (text form; null: no row had one)
     * @param xminHorizon xmin: the oldest transaction then still running
     */
    public record ResumeMark(String cursor, Long xminHorizon) {
    }

    public ResumeMark resumeMark() {
        return resumeMark;
    }

    public void resumeMark(ResumeMark mark) {
        this.resumeMark = mark;
    }

    /** True once Ferry is shutting down: the read then ends at the next batch boundary. */
    private final java.util.function.BooleanSupplier stopping;

    public TableRead(SourceTable table, TransferSpec spec, String sourceBean, java.util.function.BooleanSupplier stopping) {
        this.table = table;
        this.spec = spec;
        this.sourceBean = sourceBean;
        this.order = ReadOrder.of(spec.mode());
        this.stopping = stopping;
    }

    public SourceTable table() {
        return table;
    }

    /** The table as provisioned: the same columns, with the types the destination gives them. */
    public void table(SourceTable provisioned) {
        this.table = provisioned;
    }

    public TransferSpec spec() {
        return spec;
    }

    /** The registry name of the source's DataSource, for the camel-sql endpoint. */
    public String getSourceBean() {
        return sourceBean;
    }

    public int getFetchSize() {
        return spec.fetchSize();
    }

    public int batchSize() {
        return spec.batchSize();
    }

    /**
     * Whether the table is read in keyset pages, each a batch of {@link #batchSize()} rows: incremental modes, for a
     * table with a key. A full refresh is one stream in one snapshot, whatever the path.
     */
    public boolean paged() {
        return order.paged(this);
    }

    /**
     * Whether to read another batch; the route's loop runs while this is true. False once the table is drained, or
     * as soon as Ferry is shutting down: the loop then ends at this batch boundary.
     */
    public boolean isMore() {
        return phase != Phase.DONE && !stopping.getAsBoolean();
    }

    /**
     * Whether the next batch takes the bulk path (COPY at both ends) rather than camel-sql: full refreshes and the
     * cursor-ordered batches of incremental and append transfers, unless the transfer filters rows (a filter's
     * values are bound parameters, which only a query can take).
     */
    public boolean isBulkCopy() {
        return order.bulk(this);
    }

    /** How this read's mode orders and bounds its batches. */
    ReadOrder order() {
        return order;
    }

    /** Records a whole table read in one stream (a bulk full refresh). */
    public void drainedInOne(long rows) {
        batches++;
        phase = Phase.DONE;
    }

    /** Whether Ferry is shutting down (a long bulk copy checks it as it goes). */
    public boolean stopRequested() {
        return stopping.getAsBoolean();
    }

    /** Whether the table was read to the end (rather than stopped for shutdown). */
    public boolean drained() {
        return phase == Phase.DONE;
    }

    public Phase phase() {
        return phase;
    }

    public String lastCursor() {
        return lastCursor;
    }

    public List<String> lastKey() {
        return lastKey;
    }

    public String startCursor() {
        return startCursor;
    }

    public List<String> startKey() {
        return startKey;
    }

    public Long xminFrom() {
        return xminFrom;
    }

    public Long xminTo() {
        return xminTo;
    }

    public long batches() {
        return batches;
    }

    /** Whether a watermark at the end of time (see Watermarks#endOfTimeWarning) is this run's first: warned once. */
    public boolean firstEndOfTime() {
        boolean first = !endOfTimeWarned;
        endOfTimeWarned = true;
        return first;
    }

    public String sourceClock() {
        return sourceClock;
    }

    public void sourceClock(String clock) {
        this.sourceClock = clock;
        this.sourceClockRead = System.nanoTime();
    }

    /** How long ago the source's clock was read. */
    public java.time.Duration sinceSourceClock() {
        return java.time.Duration.ofNanos(System.nanoTime() - sourceClockRead);
    }

    /** Whether a watermark ahead of the source's clock (see Watermarks#aheadOfClockWarning) is this run's first: warned once. */
    public boolean firstAheadOfClock() {
        boolean first = !aheadOfClockWarned;
        aheadOfClockWarned = true;
        return first;
    }

    public long[] sourceHorizon() {
        return sourceHorizon;
    }

    public void sourceHorizon(long[] horizon) {
        this.sourceHorizon = horizon;
    }

    /**
     * Checks that the mode can read this table and notes what it needs of the source at the start (its clock, its
     * transaction horizon), in the read's order (see {@link ReadOrder#start}).
     */
    public void start(java.sql.Connection source) throws java.sql.SQLException {
        order.start(this, source);
    }

    /** Resumes an incremental read after a committed watermark. */
    public void startAfter(String cursor, List<String> key) {
        this.startCursor = cursor;
        this.startKey = key == null ? null : List.copyOf(key);
    }

    /** Sets an xmin pass: rows from transactions at or after {@code from} (null: all), resuming after {@code key}. */
    public void xminPass(Long from, long to, List<String> resumeKey) {
        this.xminFrom = from;
        this.xminTo = to;
        this.lastKey = resumeKey == null ? null : List.copyOf(resumeKey);
    }

    /**
     * Records a batch as written.
     *
     * @param rows      rows the batch held
     * @param cursor    the last row's cursor value (text form), or null
     * @param key       the last row's key values (text form), or null when the batch was empty
     */
    public void advance(long rows, String cursor, List<String> key) {
        batches++;
        if (key != null) {
            lastKey = new ArrayList<>(key);
            if (phase == Phase.MAIN && cursor != null) {
                lastCursor = cursor;
            }
        }
        boolean drained = !paged() || rows < spec.batchSize();
        if (!drained) {
            return;
        }
        phase = order.afterDrained(this);
        lastKey = null;
    }
}
