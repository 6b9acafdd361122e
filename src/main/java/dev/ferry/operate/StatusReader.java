package dev.ferry.operate;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import dev.ferry.config.ConnectionSettings;
import dev.ferry.config.TransferCatalog;
import dev.ferry.config.TransferSpec;
import dev.ferry.connect.Connections;
import dev.ferry.connect.Endpoint;
import dev.ferry.failure.Errors;
import dev.ferry.state.RunHistory;
import dev.ferry.state.RunRecords;

/**
 * Reads the status and run history of transfers from their destinations' {@code _ferry_runs} and {@code _ferry_state}
 * ({@link RunRecords}): one query per destination endpoint and schema for all the transfers writing there, on a
 * session of that endpoint's pool when one is free, else on one fresh session closed after the query
 * ({@link Connections#readSession}). The reads do not reserve from the server's session budget (a run's reservation
 * would make a status page wait behind hours of runs), and each is bounded by {@link #READ_BOUND}. A destination that
 * cannot be read in time marks its transfers unreachable, with the reason, and the others still show.
 */
public final class StatusReader {

    /** Runs per transfer in the status (the console's sparkline). */
    public static final int RECENT_RUNS = 20;

    private final Connections connections;
    private final TransferCatalog catalog;
    private final NextFire nextFire;
    private final java.util.concurrent.ExecutorService threads;

    /** When a transfer fires next: from the running scheduler, or estimated from its schedule. */
    public interface NextFire {
        /**
         * @param lastStart the start of the transfer's last run, null when none
         * @return the time, and whether it is an estimate; null when unknown
         */
        Fire next(TransferSpec spec, Instant lastStart);
    }

    /** A next fire time, and whether it is computed rather than read from the running scheduler. */
    public record Fire(Instant at, boolean estimated) {
    }

    /**
     * @param threads where the destinations are read, all at once (an unreachable one waits its connectTimeout, which
     *                should not add up over several); null: one after another, in the calling thread
     */
    public StatusReader(Connections connections, TransferCatalog catalog, NextFire nextFire,
                        java.util.concurrent.ExecutorService threads) {
        this.connections = connections;
        this.catalog = catalog;
        this.nextFire = nextFire;
        this.threads = threads;
    }

    /**
     * How long one destination schema's read may take: its statement is cancelled after this, its session gives up
     * waiting for the network a little later, and its transfers then show "unreachable: no answer within" it. A
     * destination whose network goes silent mid-read would otherwise hold the read for as long as the server's answers
     * may take (hours).
     */
    public static final java.time.Duration READ_BOUND = java.time.Duration.ofSeconds(5);
    /** What a group whose read did not end within the bound shows. */
    static final String NO_ANSWER = "unreachable: no answer within " + (READ_BOUND.toSeconds() + 1) + " s";

    /** A destination schema's last read, to reuse: when, its transfers, how many of their runs had ended, the result. */
    private record GroupRead(Instant at, java.util.Set<String> names, long ended, Map<String, Object> result) {
    }

    private final Map<Map.Entry<Endpoint, String>, GroupRead> lastReads = new java.util.concurrent.ConcurrentHashMap<>();

    /** Whether a status read now would read anything again, and why. */
    public enum Staleness {
        /** every destination schema's last read may be reused */
        FRESH,
        /** some are older than the reuse time */
        OLD,
        /** a run of a transfer of some ended since their read (or a transfer is new, or none was read yet) */
        CHANGED
    }

    /** Every declared transfer (recipients lists' too), by name, every destination schema read now. */
    public List<TransferStatus> status() {
        return status(null, t -> 0L);
    }

    /**
     * Every declared transfer (recipients lists' too), by name, reusing the last read of a destination schema while it
     * is younger than {@code reuse} and no run of its transfers ended since ({@code runsEnded}: runs ended so far, by
     * transfer).
     *
     * @param reuse null: read every destination schema again
     */
    public synchronized List<TransferStatus> status(java.time.Duration reuse, java.util.function.ToLongFunction<String> runsEnded) {
        List<TransferSpec> specs = new ArrayList<>(catalog.all());
        specs.sort(Comparator.comparing(TransferSpec::name));
        Map<String, Integer> limits = new LinkedHashMap<>();
        for (TransferSpec s : specs) {
            limits.put(s.name(), recordsFor(s, RECENT_RUNS));
        }
        Map<String, Object> read = readAll(specs, limits, reuse, runsEnded);
        List<TransferStatus> out = new ArrayList<>();
        for (TransferSpec s : specs) {
            Object r = read.get(s.name());
            if (r instanceof String reason) {
                out.add(unread(s, reason));
                continue;
            }
            RunRecords.Read rr = (RunRecords.Read) r;
            List<TransferStatus.Run> runs = runs(rr.records(), RECENT_RUNS);
            // a skipped run (another was going) and a reset (ferry reset) moved no data: the last run is the last that ran
            TransferStatus.Run last = runs.stream().filter(StatusReader::ran).findFirst().orElse(null);
            String lastError = runs.stream().filter(x -> !x.errors().isEmpty()).findFirst()
                    .map(x -> String.join("; ", x.errors())).orElse(null);
            List<Long> rows = new ArrayList<>();
            for (int i = runs.size() - 1; i >= 0; i--) {
                if (ran(runs.get(i))) {
                    rows.add(runs.get(i).rows());
                }
            }
            Fire f = fire(s, last == null ? null : last.started());
            out.add(new TransferStatus(s.name(), s.source(), s.destination(), s.mode().key(), s.scheduleText(), f.at(),
                    f.estimated(), last, lastSuccess(runs, rr.newestSucceeded()), rr.lags(), lastError, rows, null));
        }
        return out;
    }

    /** Every declared transfer, by name, unread for this reason (nothing read in time). */
    public List<TransferStatus> unknown(String reason) {
        return catalog.all().stream().sorted(Comparator.comparing(TransferSpec::name)).map(s -> unread(s, reason)).toList();
    }

    private TransferStatus unread(TransferSpec s, String reason) {
        Fire f = fire(s, null);
        return new TransferStatus(s.name(), s.source(), s.destination(), s.mode().key(), s.scheduleText(), f.at(),
                f.estimated(), null, null, List.of(), null, List.of(), reason);
    }

    /**
     * A transfer's runs, newest first, at most {@code limit}.
     *
     * @throws IllegalArgumentException when no transfer has that name
     * @throws SQLException             when its destination cannot be read
     */
    public List<TransferStatus.Run> history(String name, int limit) throws SQLException {
        TransferSpec spec = catalog.contains(name) ? catalog.get(name) : null;
        if (spec == null) {
            throw new IllegalArgumentException("no transfer named '" + name + "'");
        }
        ConnectionSettings d = connections.destination(spec.destination());
        try (Connection c = session(d)) {
            RunRecords.Read r = RunRecords.read(c, d.schema(), Map.of(name, recordsFor(spec, limit)), (int) READ_BOUND.toSeconds()).get(name);
            return runs(r.records(), limit);
        }
    }

    private static boolean ran(TransferStatus.Run r) {
        return !r.status().equals("skipped") && !r.status().equals(RunHistory.RESET);
    }

    /**
     * The start of the newest run that succeeded whole, among the recent runs; when none of them did, the start of the
     * run of the newest record that succeeded (a table of it did), if the history reaches back to one.
     */
    private static Instant lastSuccess(List<TransferStatus.Run> recent, RunRecords.Succeeded newest) {
        for (TransferStatus.Run r : recent) {
            if (r.status().equals("succeeded")) {
                return r.started();
            }
        }
        if (newest == null) {
            return null;
        }
        return recent.stream().filter(r -> r.id().equals(newest.runId())).map(TransferStatus.Run::started).findFirst()
                .orElse(newest.started());
    }

    private Fire fire(TransferSpec s, Instant lastStart) {
        Fire f = nextFire == null ? null : nextFire.next(s, lastStart);
        return f == null ? new Fire(null, true) : f;
    }

    /**
     * Records enough for {@code runs} runs: one per table, one more per run for a failure before any table, and a few
     * skipped runs between (a skip is recorded while a run goes).
     */
    private static int recordsFor(TransferSpec s, int runs) {
        return (runs + 1) * (dev.ferry.state.TransferRun.recordsPerRun(s) + 1) + 4;
    }

    /** Whether {@link #status(java.time.Duration, java.util.function.ToLongFunction)} would read anything again now. */
    public Staleness staleness(java.time.Duration reuse, java.util.function.ToLongFunction<String> runsEnded) {
        Instant now = Instant.now();
        Staleness out = Staleness.FRESH;
        Groups g = groups(new ArrayList<>(catalog.all()));
        for (var e : g.members().entrySet()) {
            GroupRead last = lastReads.get(e.getKey());
            if (last == null || !last.names().equals(names(e.getValue())) || last.ended() != ended(e.getValue(), runsEnded)) {
                return Staleness.CHANGED;
            }
            if (now.isAfter(last.at().plus(reuse))) {
                out = Staleness.OLD;
            }
        }
        return out;
    }

    /** The transfers grouped by the endpoint and schema they write to, and each group's connection. */
    private record Groups(Map<Map.Entry<Endpoint, String>, List<TransferSpec>> members,
                          Map<Map.Entry<Endpoint, String>, ConnectionSettings> settings) {
    }

    private Groups groups(List<TransferSpec> specs) {
        Map<Map.Entry<Endpoint, String>, List<TransferSpec>> groups = new LinkedHashMap<>();
        Map<Map.Entry<Endpoint, String>, ConnectionSettings> settings = new LinkedHashMap<>();
        for (TransferSpec s : specs) {
            ConnectionSettings d = connections.destination(s.destination());
            var key = Map.entry(Endpoint.of(d), d.schema());
            groups.computeIfAbsent(key, k -> new ArrayList<>()).add(s);
            settings.putIfAbsent(key, d);
        }
        return new Groups(groups, settings);
    }

    private static java.util.Set<String> names(List<TransferSpec> group) {
        return group.stream().map(TransferSpec::name).collect(java.util.stream.Collectors.toSet());
    }

    private static long ended(List<TransferSpec> group, java.util.function.ToLongFunction<String> runsEnded) {
        return group.stream().mapToLong(s -> runsEnded.applyAsLong(s.name())).sum();
    }

    /**
     * Each group of transfers writing to one endpoint and schema read with one query, unless its last read may be
     * reused; a failed read, or one that did not end within {@link #READ_BOUND}: its reason.
     */
    private Map<String, Object> readAll(List<TransferSpec> specs, Map<String, Integer> limits, java.time.Duration reuse,
                                        java.util.function.ToLongFunction<String> runsEnded) {
        Groups g = groups(specs);
        lastReads.keySet().retainAll(g.members().keySet());
        Instant now = Instant.now();
        Map<String, Object> out = new LinkedHashMap<>();
        Map<Map.Entry<Endpoint, String>, java.util.concurrent.Future<Map<String, Object>>> reads = new LinkedHashMap<>();
        Map<Map.Entry<Endpoint, String>, Long> endedBefore = new LinkedHashMap<>();
        Map<Map.Entry<Endpoint, String>, java.util.concurrent.atomic.AtomicLong> started = new LinkedHashMap<>();
        g.members().forEach((key, group) -> {
            GroupRead last = lastReads.get(key);
            // counted before the read: a run that ends while it goes is read again next time
            long ended = ended(group, runsEnded);
            if (reuse != null && last != null && last.names().equals(names(group)) && last.ended() == ended
                    && !now.isAfter(last.at().plus(reuse))) {
                out.putAll(last.result());
                return;
            }
            endedBefore.put(key, ended);
            java.util.concurrent.atomic.AtomicLong began = new java.util.concurrent.atomic.AtomicLong();
            started.put(key, began);
            java.util.concurrent.Callable<Map<String, Object>> read = () -> {
                began.set(System.nanoTime());
                return readGroup(g.settings().get(key), key.getValue(), group, limits);
            };
            reads.put(key, threads == null ? java.util.concurrent.CompletableFuture.completedFuture(call(read)) : threads.submit(read));
        });
        reads.forEach((key, f) -> {
            Map<String, Object> result = new LinkedHashMap<>();
            try {
                result.putAll(await(f, started.get(key), reads.size()));
            } catch (java.util.concurrent.TimeoutException e) {
                f.cancel(true);
                g.members().get(key).forEach(s -> result.put(s.name(), NO_ANSWER));
            } catch (java.util.concurrent.ExecutionException | InterruptedException e) {
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                }
                String reason = "unreachable: " + Errors.describe(e.getCause() == null ? e : e.getCause());
                g.members().get(key).forEach(s -> result.put(s.name(), reason));
            }
            lastReads.put(key, new GroupRead(now, names(g.members().get(key)), endedBefore.get(key), result));
            out.putAll(result);
        });
        return out;
    }

    /**
     * A group's read, given {@link #READ_BOUND} (and a second for its session) from when it started, not from when it
     * was queued: with many destination schemas, those queued behind others are not cut short for the others' time. A
     * read that has not started is waited for as threads free up (every read ends within its bound), up to as many
     * bounds as it could queue behind.
     */
    private static Map<String, Object> await(java.util.concurrent.Future<Map<String, Object>> f,
                                             java.util.concurrent.atomic.AtomicLong began, int reads)
            throws java.util.concurrent.TimeoutException, java.util.concurrent.ExecutionException, InterruptedException {
        long bound = READ_BOUND.plusSeconds(1).toNanos();
        long queuedUntil = System.nanoTime() + bound * (2 + reads);
        while (true) {
            long start = began.get();
            long deadline = start != 0 ? start + bound : queuedUntil;
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new java.util.concurrent.TimeoutException();
            }
            try {
                return f.get(start != 0 ? left : Math.min(left, 100_000_000L), java.util.concurrent.TimeUnit.NANOSECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                if (began.get() != 0 && System.nanoTime() - began.get() >= bound) {
                    throw e;
                }
            }
        }
    }

    private static <T> T call(java.util.concurrent.Callable<T> c) {
        try {
            return c.call();
        } catch (Exception e) {
            throw new IllegalStateException(e); // readGroup reports its failures in its result
        }
    }

    /**
     * A session for one read, bounded: a free one of the pool, or a fresh one when runs hold them all
     * ({@link Connections#readSession}); it gives up on a silent network soon after the statement's own timeout.
     */
    private Connection session(ConnectionSettings d) throws SQLException {
        Connection c = connections.readSession(d, (int) Math.min(d.connectTimeoutSeconds(), READ_BOUND.toSeconds()));
        try {
            c.setNetworkTimeout(Runnable::run, (int) READ_BOUND.plusSeconds(1).toMillis());
        } catch (SQLException | RuntimeException e) {
            c.close();
            throw e;
        }
        return c;
    }

    /** One destination schema's transfers, with one query; on failure each maps to its reason. */
    private Map<String, Object> readGroup(ConnectionSettings d, String schema, List<TransferSpec> group, Map<String, Integer> limits) {
        Map<String, Integer> own = new LinkedHashMap<>();
        group.forEach(s -> own.put(s.name(), limits.get(s.name())));
        Map<String, Object> out = new LinkedHashMap<>();
        try (Connection c = session(d)) {
            out.putAll(RunRecords.read(c, schema, own, (int) READ_BOUND.toSeconds()));
        } catch (SQLException | RuntimeException e) {
            String reason = "unreachable: " + Errors.describe(e);
            group.forEach(s -> out.put(s.name(), reason));
        }
        return out;
    }

    /** Records (newest first) grouped into runs, newest first, at most {@code limit}. */
    static List<TransferStatus.Run> runs(List<RunRecords.Record> records, int limit) {
        Map<UUID, List<RunRecords.Record>> byRun = new LinkedHashMap<>();
        for (RunRecords.Record r : records) {
            byRun.computeIfAbsent(r.runId(), k -> new ArrayList<>()).add(r);
        }
        List<TransferStatus.Run> runs = new ArrayList<>();
        for (var e : byRun.entrySet()) {
            List<RunRecords.Record> rs = e.getValue();
            Instant started = rs.stream().map(RunRecords.Record::started).min(Comparator.naturalOrder()).orElseThrow();
            boolean running = rs.stream().anyMatch(r -> r.status().equals("running"));
            Instant finished = running ? null : rs.stream().map(RunRecords.Record::finished)
                    .filter(java.util.Objects::nonNull).max(Comparator.naturalOrder()).orElse(started);
            String status = running ? "running" : rs.stream().anyMatch(r -> r.status().equals("failed")) ? "failed"
                    : rs.stream().map(RunRecords.Record::status).filter(x -> !x.equals("succeeded")).findFirst().orElse("succeeded");
            long rows = rs.stream().mapToLong(RunRecords.Record::rows).sum();
            int tables = (int) rs.stream().filter(r -> r.sourceTable() != null).count();
            int attempts = rs.stream().mapToInt(RunRecords.Record::attempts).max().orElse(1);
            List<String> errors = new ArrayList<>();
            for (int i = rs.size() - 1; i >= 0; i--) { // in the order the tables started
                RunRecords.Record r = rs.get(i);
                if (r.error() != null) {
                    errors.add(r.sourceTable() == null ? r.error() : r.sourceTable() + ": " + r.error());
                }
            }
            runs.add(new TransferStatus.Run(e.getKey(), started, finished, status, rows, tables, attempts, errors));
        }
        runs.sort(Comparator.comparing(TransferStatus.Run::started).reversed());
        return runs.size() > limit ? runs.subList(0, limit) : runs;
    }
}
