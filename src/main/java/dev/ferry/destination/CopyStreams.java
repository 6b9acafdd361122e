package dev.ferry.destination;

import java.sql.Connection;
import java.time.Duration;
import java.util.Collection;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import dev.ferry.config.ConnectionSettings;

/**
 * The threads Ferry's COPY streams run on, given at wiring time by Camel's ExecutorServiceManager so that Camel's
 * shutdown sees and ends them: a pool for the source readers of {@link CopyPipe}, and one scheduled thread whose
 * periodic tick checks the {@link CopyPipe.Watchdog} of every open COPY (instead of a sleeping thread per COPY).
 *
 * <p>Registering a watchdog is once per COPY; the hot path (a chunk, a row) only writes the watchdog's volatile
 * clocks, as before.
 */
public final class CopyStreams {

    private final ExecutorService readers;
    private final Set<CopyPipe.Watchdog> watched = ConcurrentHashMap.newKeySet();

    /**
     * @param readers  where each COPY's source reader runs (an unbounded pool: every open COPY needs its reader now)
     * @param watchdog the thread that ticks over every open COPY, every {@code tick}
     * @param tick     how often; see {@link #tick(Collection)}
     */
    public CopyStreams(ExecutorService readers, ScheduledExecutorService watchdog, Duration tick) {
        this.readers = readers;
        long millis = Math.max(1, tick.toMillis());
        watchdog.scheduleWithFixedDelay(this::tick, millis, millis, TimeUnit.MILLISECONDS);
    }

    /**
     * The watchdog's tick for these connections: a quarter of the shortest stallTimeout, between 10 ms and 1 s (what
     * each COPY's own watchdog thread slept before), so that every end is checked at least as often as it was.
     */
    public static Duration tick(Collection<ConnectionSettings> connections) {
        long quarter = Long.MAX_VALUE;
        for (ConnectionSettings c : connections) {
            Duration stall = c.timeouts().stall();
            if (!stall.isZero()) {
                quarter = Math.min(quarter, stall.toMillis() / 4);
            }
        }
        return Duration.ofMillis(Math.max(10, Math.min(1000, quarter)));
    }

    /**
     * A watchdog over one COPY's ends (the source's may be null: the query path watches its destination only),
     * checked at every tick from now until {@link CopyPipe.Watchdog#stop()}.
     */
    public CopyPipe.Watchdog watch(Connection source, ConnectionSettings sourceSettings, Connection destination,
                                   ConnectionSettings destinationSettings) {
        CopyPipe.Watchdog w = new CopyPipe.Watchdog(this, source, sourceSettings, destination, destinationSettings);
        watched.add(w);
        return w;
    }

    void unwatch(CopyPipe.Watchdog w) {
        watched.remove(w);
    }

    /** Starts a COPY's source reader. */
    Future<?> read(Runnable reader) {
        return readers.submit(dev.ferry.observe.LogContext.carried(reader));
    }

    private void tick() {
        for (CopyPipe.Watchdog w : watched) {
            try {
                w.check();
            } catch (RuntimeException e) {
                // never thrown out of here: that would end the periodic tick, and with it the watch over every COPY
            }
        }
    }
}
