package dev.ferry.observe;

import java.time.Duration;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;

import dev.ferry.config.Durations;
import io.micrometer.core.instrument.Counter;

/**
 * How far one table's run has got: rows and bytes so far (atomics, added by the copy paths once per chunk or batch,
 * never per row under a lock), when it started, and the source's estimated size when it is known (a plain table,
 * analyzed, read whole). Read by the periodic report, the gauges, the console and the progress bar.
 */
public final class TableProgress {

    /** The estimate when the size is not known: no percent, no ETA. */
    public static final long UNKNOWN = -1;
    /** Percent stays below this until the table ends: an estimate is only an estimate. */
    static final double CAP = 0.99;

    private final String transfer;
    private final String table;
    private final String destination;
    private final UUID runId;
    private final boolean fullRefresh;
    private final long startedNanos = System.nanoTime();
    private final AtomicLong rows = new AtomicLong();
    private final AtomicLong bytes = new AtomicLong();
    private volatile long estimatedRows;
    private volatile long estimatedBytes;
    /** The run's Micrometer counters (ferry_rows_total, ferry_bytes_total), or null without a registry. */
    volatile Counter rowsCounter;
    volatile Counter bytesCounter;
    /** Writes the rows so far where the run records them (null: nothing to write, e.g. batches that record their own). */
    private volatile LongConsumer recorder;

    public TableProgress(String transfer, String table, String destination, UUID runId, boolean fullRefresh,
                         long estimatedRows, long estimatedBytes) {
        this.transfer = transfer;
        this.table = table;
        this.destination = destination;
        this.runId = runId;
        this.fullRefresh = fullRefresh;
        this.estimatedRows = estimatedRows;
        this.estimatedBytes = estimatedBytes;
    }

    /** Counts what a chunk or batch moved: called from the copy paths, a few times per MiB at most. */
    public void add(long rowCount, long byteCount) {
        if (rowCount != 0) {
            rows.addAndGet(rowCount);
            Counter c = rowsCounter;
            if (c != null) {
                c.increment(rowCount);
            }
        }
        if (byteCount != 0) {
            bytes.addAndGet(byteCount);
            Counter c = bytesCounter;
            if (c != null) {
                c.increment(byteCount);
            }
        }
    }

    /** Where each report writes the rows so far (a full refresh's run record, whose rows otherwise commit at the end). */
    public void recordWith(LongConsumer r) {
        this.recorder = r;
    }

    /** Writes the rows so far, if there is somewhere to write them. */
    void record() {
        LongConsumer r = recorder;
        if (r != null) {
            r.accept(rows.get());
        }
    }

    /** Whether a write of the rows so far is under way (a slow destination's is skipped until it ends). */
    private final java.util.concurrent.atomic.AtomicBoolean recording = new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * Writes the rows so far on {@code writers}, unless the previous write has not ended: a destination that stopped
     * answering holds its own write, never the reports of other tables.
     */
    void recordOn(java.util.concurrent.Executor writers) {
        if (recorder == null || !recording.compareAndSet(false, true)) {
            return;
        }
        try {
            writers.execute(() -> {
                try {
                    record();
                } finally {
                    recording.set(false);
                }
            });
        } catch (RuntimeException e) { // rejected: Ferry is stopping
            recording.set(false);
        }
    }

    /** The size is not known after all (an incremental run resuming after its watermark reads only part of the table). */
    public void unknownTotal() {
        estimatedRows = UNKNOWN;
        estimatedBytes = UNKNOWN;
    }

    public String transfer() {
        return transfer;
    }

    /** The source table, as the logs show it. */
    public String table() {
        return table;
    }

    /** The destination table, as the logs show it. */
    public String destination() {
        return destination;
    }

    public UUID runId() {
        return runId;
    }

    /** Whether the table is a full refresh (written whole at the end), rather than batches committed as they go. */
    public boolean fullRefresh() {
        return fullRefresh;
    }

    public long rows() {
        return rows.get();
    }

    public long bytes() {
        return bytes.get();
    }

    /** The source's estimated row count, or {@link #UNKNOWN}. */
    public long estimatedRows() {
        return estimatedRows;
    }

    public long estimatedBytes() {
        return estimatedBytes;
    }

    public Duration elapsed() {
        return Duration.ofNanos(System.nanoTime() - startedNanos);
    }

    /** Rows per second so far. */
    public double rate() {
        double s = (System.nanoTime() - startedNanos) / 1e9;
        return s <= 0 ? 0 : rows.get() / s;
    }

    /** Done as a fraction of the estimate, capped below 1 until the table ends; -1 when unknown. */
    public double ratio() {
        long total = estimatedRows;
        if (total <= 0) {
            return -1;
        }
        return Math.min(CAP, (double) rows.get() / total);
    }

    /** Seconds left at the rate so far; -1 when unknown (no estimate, or nothing moved yet). */
    public double etaSeconds() {
        long total = estimatedRows;
        double rate = rate();
        if (total <= 0 || rate <= 0) {
            return -1;
        }
        return Math.max(0, total - rows.get()) / rate;
    }

    /**
     * The report's line, e.g. {@code shop.orders -> export.orders: 1,234,567 rows, 412 MB in 1m40s (12,345 rows/s),
     * 42% of ~2.9M rows, ETA 2m10s}; without an estimate, no percent and no ETA.
     */
    public String line() {
        StringBuilder sb = new StringBuilder();
        sb.append(table).append(" -> ").append(destination).append(": ")
                .append(String.format(Locale.ROOT, "%,d rows, %s in %s (%,.0f rows/s)", rows(), bytes(bytes()),
                        took(elapsed()), rate()));
        double ratio = ratio();
        if (ratio >= 0) {
            sb.append(String.format(Locale.ROOT, ", %d%% of ~%s rows", (int) (ratio * 100), approx(estimatedRows)));
            double eta = etaSeconds();
            if (eta >= 0) {
                sb.append(", ETA ").append(Durations.format(Duration.ofSeconds((long) Math.ceil(eta))));
            }
        }
        return sb.toString();
    }

    /** How long so far: whole seconds (1m40s), or milliseconds under one. */
    private static String took(Duration d) {
        return Durations.format(d.toSeconds() > 0 ? Duration.ofSeconds(d.toSeconds()) : Duration.ofMillis(d.toMillis()));
    }

    /** Bytes for people: 412 MB, 3.1 GB. */
    public static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        String[] units = {"kB", "MB", "GB", "TB"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return (v < 10 ? String.format(Locale.ROOT, "%.1f", v) : String.format(Locale.ROOT, "%.0f", v)) + " " + units[u];
    }

    /** A count for people: 950, 12k, 2.9M. */
    static String approx(long n) {
        if (n < 1000) {
            return String.valueOf(n);
        }
        String[] units = {"k", "M", "G"};
        double v = n;
        int u = -1;
        while (v >= 1000 && u < units.length - 1) {
            v /= 1000;
            u++;
        }
        return (v < 10 ? String.format(Locale.ROOT, "%.1f", v) : String.format(Locale.ROOT, "%.0f", v)) + units[u];
    }

    @Override
    public String toString() {
        return "transfer " + transfer + ": " + line();
    }
}
