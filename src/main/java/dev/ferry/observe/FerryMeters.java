package dev.ferry.observe;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * Ferry's own meters, on the Micrometer registry that {@code /observe/metrics} serves beside Camel's route meters
 * (Prometheus names in brackets): runs by outcome ({@code ferry_runs_total}), run duration
 * ({@code ferry_run_duration_seconds}), retries ({@code ferry_retries_total}), the last success
 * ({@code ferry_last_success_timestamp_seconds}), runs in flight and runs waiting for sessions, the wait before a run
 * begins ({@code ferry_run_wait_seconds}), and the watermark's lag behind the source
 * ({@code ferry_watermark_lag_seconds}, {@code ferry_watermark_lag_values}). Labelled by {@code transfer}, and
 * {@code table} where one applies. A removed transfer's series go with it ({@link #forget}).
 */
public final class FerryMeters {

    /** The registry name Ferry binds these meters under. */
    public static final String BEAN = "ferryMeters";

    static final String PREFIX = "ferry.";

    private final MeterRegistry registry;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger waiting = new AtomicInteger();
    /** Per series (name and tags): the value a gauge reads; kept here so that the gauge keeps reading it. */
    private final Map<String, AtomicReference<Double>> gauges = new ConcurrentHashMap<>();

    /** Per transfer: its runs ended in this process (the console reads again only the destinations they wrote to). */
    private final Map<String, java.util.concurrent.atomic.AtomicLong> endedBy = new ConcurrentHashMap<>();

    /** How many runs of this transfer have ended (or been counted without beginning) in this process. */
    public long runsEnded(String transfer) {
        var n = endedBy.get(transfer);
        return n == null ? 0 : n.get();
    }

    public FerryMeters(MeterRegistry registry) {
        this.registry = registry;
        Gauge.builder("ferry.runs.in.flight", inFlight, AtomicInteger::get)
                .description("Runs going now in this process (holding their sessions)").register(registry);
        Gauge.builder("ferry.runs.waiting.sessions", waiting, AtomicInteger::get)
                .description("Runs waiting for sessions of their servers' budgets (maxSessions)").register(registry);
    }

    /** Meters nobody reads: for code run without a Ferry process around it. */
    public static FerryMeters none() {
        return new FerryMeters(new SimpleMeterRegistry());
    }

    public MeterRegistry registry() {
        return registry;
    }

    /** A run starts waiting for its sessions; close the result when the wait ends, however it ends. */
    public AutoCloseable waitingForSessions() {
        waiting.incrementAndGet();
        AtomicInteger once = new AtomicInteger();
        return () -> {
            if (once.getAndIncrement() == 0) {
                waiting.decrementAndGet();
            }
        };
    }

    /** A run got its sessions after waiting this long (for a run slot and for sessions) and begins. */
    public void runBegan(String transfer, Duration waited) {
        inFlight.incrementAndGet();
        Timer.builder("ferry.run.wait").description("How long runs waited to begin: for a free run slot and for sessions")
                .tag("transfer", transfer).register(registry).record(waited);
    }

    /**
     * A run that {@link #runBegan} ended.
     *
     * @param outcome succeeded, failed, interrupted, skipped
     */
    public void runEnded(String transfer, String outcome, Duration took, Instant succeededAt) {
        inFlight.decrementAndGet();
        runCounted(transfer, outcome, took, succeededAt);
    }

    /** A run that ended before it began (skipped, or stopped while it waited): counted, not in flight. */
    public void runCounted(String transfer, String outcome, Duration took, Instant succeededAt) {
        endedBy.computeIfAbsent(transfer, t -> new java.util.concurrent.atomic.AtomicLong()).incrementAndGet();
        Counter.builder("ferry.runs").description("Runs by how they ended").tags("transfer", transfer, "outcome", outcome)
                .register(registry).increment();
        Timer.builder("ferry.run.duration").description("How long runs took, from their start (their wait for sessions included) to their end")
                .tag("transfer", transfer).register(registry).record(took);
        if (succeededAt != null) {
            lastSucceeded(transfer, succeededAt);
        }
    }

    /**
     * A successful run of the transfer ended then (in this process, or read from its run history: the age of the
     * data is known from startup on, not only after the next success); an older time than the one known is ignored.
     */
    public void lastSucceeded(String transfer, Instant at) {
        double seconds = at.toEpochMilli() / 1000.0;
        gauge("ferry.last.success.timestamp", "seconds", "When the transfer's last successful run ended (Unix time)",
                Tags.of("transfer", transfer)).accumulateAndGet(seconds, (known, now) -> known.isNaN() || now > known ? now : known);
    }

    /** A table (or the run, {@code table} empty) is tried again after a transient failure. */
    public void retried(String transfer, String table) {
        Counter.builder("ferry.retries").description("Retries after transient failures")
                .tags("transfer", transfer, "table", table == null ? "" : table).register(registry).increment();
    }

    /**
     * How far the committed watermark of a table is behind the source's newest cursor value.
     *
     * @param unit seconds (timestamp and date cursors), values (numeric cursors) or transactions (xmin)
     */
    public void watermarkLag(String transfer, String table, double lag, String unit) {
        Tags tags = Tags.of("transfer", transfer, "table", table);
        if ("seconds".equals(unit)) {
            gauge("ferry.watermark.lag", "seconds", "How far the watermark is behind the source's newest cursor value", tags)
                    .set(lag);
        } else {
            gauge("ferry.watermark.lag.values", null, "How far the watermark is behind the source's newest cursor value, in"
                    + " cursor values (numeric cursors) or transaction ids (xmin)", tags).set(lag);
        }
    }

    /** Removes every series of a transfer that is gone (a recipient removed, a route file changed). */
    public void forget(String transfer) {
        List<Meter> gone = registry.getMeters().stream()
                .filter(m -> m.getId().getName().startsWith(PREFIX) && transfer.equals(m.getId().getTag("transfer"))).toList();
        for (Meter m : gone) {
            registry.remove(m);
        }
        gauges.keySet().removeIf(key -> key.contains("tag(transfer=" + transfer + ")"));
        endedBy.remove(transfer); // hundreds of recipients come and go: no count is kept for one gone
    }

    private AtomicReference<Double> gauge(String name, String unit, String description, Tags tags) {
        // one gauge per series, registered once: it reads the value kept for it here
        return gauges.computeIfAbsent(name + tags, key -> {
            AtomicReference<Double> value = new AtomicReference<>(Double.NaN);
            Gauge.builder(name, value, AtomicReference::get).baseUnit(unit).description(description).tags(tags)
                    .strongReference(true).register(registry);
            return value;
        });
    }
}
