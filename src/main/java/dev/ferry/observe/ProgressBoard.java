package dev.ferry.observe;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;

/**
 * The tables in flight in this process, each with its {@link TableProgress}: bound in Camel's registry as
 * {@value #BEAN} for whatever shows progress (the periodic report, the console, health, {@code sync}'s bar). Also keeps
 * the Micrometer meters of progress, when a registry is there: the counters {@code ferry_rows_total} and
 * {@code ferry_bytes_total} (transfer, table), added to as rows move, and, while a table is in flight, the gauges
 * {@code ferry_table_rows_done}, {@code ferry_table_progress_ratio} and {@code ferry_table_eta_seconds} (NaN when the
 * size is not known), removed when the table ends.
 */
public final class ProgressBoard {

    public static final String BEAN = "ferryProgress";
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger("dev.ferry.transfer");
    /** How often progress is reported by default ({@value #INTERVAL_PROPERTY}). */
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(10);
    public static final String INTERVAL_PROPERTY = "ferry.progressInterval";

    private final Supplier<MeterRegistry> meters;
    private final Duration interval;
    private final Map<TableProgress, List<Meter>> inFlight = new ConcurrentHashMap<>();

    /**
     * @param meters   the registry to keep the meters in, looked up at each table's start (null or giving null: none)
     * @param interval how often progress is reported
     */
    public ProgressBoard(Supplier<MeterRegistry> meters, Duration interval) {
        this.meters = meters == null ? () -> null : meters;
        this.interval = interval;
    }

    /** How often progress is reported: tables running longer than this are reported, every this often. */
    public Duration interval() {
        return interval;
    }

    /** A table starts: on the board, and with its meters. */
    public void start(TableProgress p) {
        List<Meter> gauges = new ArrayList<>();
        MeterRegistry registry = meters.get();
        if (registry != null) {
            Tags tags = Tags.of("transfer", p.transfer(), "table", p.table());
            p.rowsCounter = registry.counter("ferry.rows", tags);
            p.bytesCounter = registry.counter("ferry.bytes", tags);
            gauges.add(Gauge.builder("ferry.table.rows.done", p, TableProgress::rows).tags(tags)
                    .description("Rows the table's run in flight has moved so far").register(registry));
            gauges.add(Gauge.builder("ferry.table.progress.ratio", p, t -> t.ratio() < 0 ? Double.NaN : t.ratio()).tags(tags)
                    .description("Rows so far over the source's estimated rows (NaN: size not known)").register(registry));
            gauges.add(Gauge.builder("ferry.table.eta.seconds", p, t -> t.etaSeconds() < 0 ? Double.NaN : t.etaSeconds()).tags(tags)
                    .description("Seconds left at the rate so far (NaN: size not known)").register(registry));
        }
        inFlight.put(p, gauges);
    }

    /** A table ends, however: off the board, its gauges removed. Safe to call more than once. */
    /** Where the rows so far are written (set with the reports' thread, before the first report). */
    private volatile java.util.concurrent.ExecutorService writers;

    public void end(TableProgress p) {
        List<Meter> gauges = inFlight.remove(p);
        MeterRegistry registry = meters.get();
        if (gauges != null && registry != null) {
            gauges.forEach(registry::remove);
        }
    }

    /**
     * Reports progress from now on, every {@link #interval()}, on {@code thread} (one of Camel's): see {@link #report()}.
     * The rows so far are written to the run records on {@code writers}, so that one destination that stops answering
     * delays no other table's report.
     */
    public void reportOn(ScheduledExecutorService thread, java.util.concurrent.ExecutorService writers) {
        this.writers = writers;
        long ms = Math.max(1, interval.toMillis());
        thread.scheduleWithFixedDelay(this::report, ms, ms, TimeUnit.MILLISECONDS);
    }

    /**
     * One report: for each table running longer than one interval, a log line (logger {@code dev.ferry.transfer}, like
     * the line at the table's end) and its rows so far written where its run records them.
     */
    void report() {
        for (TableProgress p : inFlight()) {
            try {
                if (p.elapsed().compareTo(interval) < 0) {
                    continue;
                }
                LogContext.table(p.transfer(), p.runId(), p.table()); // the line carries the table's keys, as its own would
                LOG.info("transfer {}: {}", p.transfer(), p.line());
                p.recordOn(writers);
            } catch (RuntimeException e) {
                // never thrown out of the tick: that would end the reports for good
                LOG.debug("progress report of {} failed", p, e);
            } finally {
                LogContext.clear();
            }
        }
    }

    /** The tables in flight now. */
    public List<TableProgress> inFlight() {
        return List.copyOf(inFlight.keySet());
    }
}
