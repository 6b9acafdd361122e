package dev.ferry.operate;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;

import dev.ferry.state.RunRecords;
import org.apache.camel.util.json.JsonArray;
import org.apache.camel.util.json.JsonObject;

/**
 * Status and history as JSON (for scripts, and the console's API) and as text tables (for {@code ferry status} and
 * {@code ferry history}). Times in JSON are ISO-8601 instants, durations in milliseconds.
 */
public final class StatusViews {

    private static final DateTimeFormatter LOCAL = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneId.systemDefault());

    private StatusViews() {
    }

    public static JsonArray json(List<TransferStatus> statuses, Instant now) {
        JsonArray a = new JsonArray();
        for (TransferStatus s : statuses) {
            JsonObject o = new JsonObject();
            o.put("name", s.name());
            o.put("source", s.source());
            o.put("destination", s.destination());
            o.put("mode", s.mode());
            o.put("schedule", s.schedule());
            o.put("nextFire", text(s.nextFire()));
            o.put("nextFireEstimated", s.nextFireEstimated());
            o.put("lastRun", s.lastRun() == null ? null : json(s.lastRun(), now));
            o.put("lastSuccess", text(s.lastSuccess()));
            Duration age = s.age(now);
            o.put("ageMillis", age == null ? null : age.toMillis());
            JsonArray lags = new JsonArray();
            for (RunRecords.Lag l : s.lags()) {
                JsonObject lo = new JsonObject();
                lo.put("table", l.sourceTable());
                lo.put("lag", l.lag());
                lo.put("unit", l.unit());
                lo.put("sourceNewest", l.sourceNewest());
                lo.put("at", text(l.at()));
                lags.add(lo);
            }
            o.put("lag", lags);
            o.put("lastError", s.lastError());
            o.put("recentRows", new JsonArray(s.recentRows()));
            o.put("unreachable", s.unreachable());
            a.add(o);
        }
        return a;
    }

    public static JsonArray runs(List<TransferStatus.Run> runs, Instant now) {
        JsonArray a = new JsonArray();
        runs.forEach(r -> a.add(json(r, now)));
        return a;
    }

    static JsonObject json(TransferStatus.Run r, Instant now) {
        JsonObject o = new JsonObject();
        o.put("runId", r.id().toString());
        o.put("started", text(r.started()));
        o.put("finished", text(r.finished()));
        o.put("durationMillis", r.duration(now).toMillis());
        o.put("status", r.status());
        o.put("rows", r.rows());
        o.put("tables", r.tables());
        o.put("attempts", r.attempts());
        o.put("errors", new JsonArray(r.errors()));
        return o;
    }

    /** {@code ferry status}: one line per transfer. */
    public static String table(List<TransferStatus> statuses, Instant now) {
        StringBuilder sb = new StringBuilder(String.format("%-24s %-16s %-20s %-19s %-10s %10s %9s %-14s %9s  %s%n",
                "TRANSFER", "SCHEDULE", "NEXT", "LAST RUN", "STATUS", "ROWS", "DURATION", "LAG", "AGE", "LAST ERROR"));
        for (TransferStatus s : statuses) {
            String next = s.nextFire() == null ? "-" : (s.nextFireEstimated() ? "~" : "") + LOCAL.format(s.nextFire());
            if (s.unreachable() != null) {
                sb.append(String.format("%-24s %-16s %-20s %s%n", s.name(), s.schedule(), next, s.unreachable()));
                continue;
            }
            TransferStatus.Run r = s.lastRun();
            sb.append(String.format("%-24s %-16s %-20s %-19s %-10s %10s %9s %-14s %9s  %s%n", s.name(), s.schedule(), next,
                    r == null ? "never" : LOCAL.format(r.started()), r == null ? "-" : r.status(), r == null ? "-" : r.rows(),
                    r == null ? "-" : duration(r.duration(now)), lag(s.lags()), duration(s.age(now)),
                    s.lastError() == null ? "" : oneLine(s.lastError())));
        }
        return sb.toString();
    }

    /** {@code ferry history}: one line per run, newest first, each error on a line of its own below. */
    public static String history(List<TransferStatus.Run> runs, Instant now) {
        StringBuilder sb = new StringBuilder(String.format("%-36s %-19s %9s %-10s %10s %6s %8s%n", "RUN", "STARTED", "DURATION",
                "STATUS", "ROWS", "TABLES", "ATTEMPTS"));
        for (TransferStatus.Run r : runs) {
            sb.append(String.format("%-36s %-19s %9s %-10s %10d %6d %8d%n", r.id(), LOCAL.format(r.started()),
                    duration(r.duration(now)), r.status(), r.rows(), r.tables(), r.attempts()));
            r.errors().forEach(e -> sb.append("    error: ").append(oneLine(e)).append('\n'));
        }
        return sb.toString();
    }

    /** The largest lag of the transfer's tables, with its unit; "-" when none is recorded. */
    static String lag(List<RunRecords.Lag> lags) {
        RunRecords.Lag worst = null;
        for (RunRecords.Lag l : lags) {
            if (l.lag() != null && (worst == null || new java.math.BigDecimal(l.lag()).compareTo(new java.math.BigDecimal(worst.lag())) > 0)) {
                worst = l;
            }
        }
        if (worst == null) {
            return "-";
        }
        if ("seconds".equals(worst.unit())) {
            return duration(Duration.ofMillis(new java.math.BigDecimal(worst.lag()).movePointRight(3).longValue()));
        }
        return worst.lag() + (worst.unit() == null ? "" : " " + worst.unit());
    }

    /** A short human duration: 850ms, 12.3s, 4m05s, 2h10m, 3d04h. */
    public static String duration(Duration d) {
        if (d == null) {
            return "-";
        }
        long ms = d.toMillis();
        if (ms < 1000) {
            return ms + "ms";
        }
        if (ms < 60_000) {
            return String.format("%.1fs", ms / 1000.0);
        }
        long s = ms / 1000;
        if (s < 3600) {
            return String.format("%dm%02ds", s / 60, s % 60);
        }
        if (s < 86400) {
            return String.format("%dh%02dm", s / 3600, s % 3600 / 60);
        }
        return String.format("%dd%02dh", s / 86400, s % 86400 / 3600);
    }

    private static String text(Instant t) {
        return t == null ? null : t.toString();
    }

    private static String oneLine(String s) {
        return s.replaceAll("\\s*\\R\\s*", " ");
    }
}
