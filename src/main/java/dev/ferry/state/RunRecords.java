package dev.ferry.state;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * What {@code ferry status}, {@code ferry history} and the console read from a destination schema's
 * {@code _ferry_runs} and {@code _ferry_state}: the newest run records of many transfers, their tables' lag, and the
 * start of each one's last successful run, in ONE statement per destination schema, however many transfers write
 * there (hundreds of recipients on one server cost one query, not hundreds). Each transfer's records, and its newest
 * succeeded one, are read newest first through the (transfer, started_at) index, so a long history costs no more
 * than the runs asked for.
 *
 * <p>The lag columns of {@code _ferry_state} ({@code source_newest}, {@code lag}, {@code lag_unit}, {@code lag_at})
 * are read through {@code to_jsonb}, so a schema whose state table lacks them (an older Ferry) reads as "no lag
 * known" instead of failing.
 */
public final class RunRecords {

    private RunRecords() {
    }

    /** One row of {@code _ferry_runs}: one table of one run (or a run that failed before any table, or was skipped). */
    public record Record(UUID runId, String sourceTable, String status, Instant started, Instant finished, long rows,
                         String error, int attempts) {
    }

    /** A table's lag as the destination's {@code _ferry_state} last recorded it; fields null when not recorded. */
    public record Lag(String sourceTable, String sourceNewest, String lag, String unit, Instant at, Instant updated) {
    }

    /**
     * A transfer's records, newest first, its tables' lag, and its newest record that succeeded (null when none): the
     * records asked for may not reach back to it.
     */
    public record Read(List<Record> records, List<Lag> lags, Succeeded newestSucceeded) {
    }

    /** A record that succeeded: its run, and when the record (its table) started. */
    public record Succeeded(UUID runId, Instant started) {
    }

    /**
     * Reads, for each transfer named, up to {@code recordLimits.get(name)} of its newest run records, its tables' lag,
     * and its newest record that succeeded. A transfer with no record reads as empty. When the schema has no
     * {@code _ferry_runs} yet (nothing ran), every transfer reads as empty.
     */
    public static Map<String, Read> read(Connection con, String schema, Map<String, Integer> recordLimits) throws SQLException {
        return read(con, schema, recordLimits, 0);
    }

    /**
     * Like {@link #read(Connection, String, Map)}, the statement cancelled after {@code timeoutSeconds} (0: none): a
     * status page must not wait on a destination that does not answer.
     */
    public static Map<String, Read> read(Connection con, String schema, Map<String, Integer> recordLimits, int timeoutSeconds)
            throws SQLException {
        Map<String, Read> out = new LinkedHashMap<>();
        for (String name : recordLimits.keySet()) {
            out.put(name, new Read(new ArrayList<>(), new ArrayList<>(), null));
        }
        if (recordLimits.isEmpty()) {
            return out;
        }
        String runs = RunHistory.qualified(schema);
        String state = Watermarks.qualified(schema);
        // kind 1: run records; kind 2: a table's lag; kind 3: the newest record that succeeded (the age of the data when
        // no recent run succeeded whole)
        String sql = "SELECT 1 AS kind, t.name, r.run_id::text, r.source_table, r.status, r.started_at, r.finished_at,"
                + " r.rows, r.error, r.attempts, NULL::text, NULL::text, NULL::text, NULL::text"
                + " FROM unnest(?::text[], ?::int[]) AS t(name, n)"
                + " CROSS JOIN LATERAL (SELECT * FROM " + runs + " x WHERE x.transfer = t.name"
                + " ORDER BY x.started_at DESC LIMIT t.n) r"
                + " UNION ALL"
                + " SELECT 2, s.transfer, NULL, s.source_table, NULL, NULL, s.updated_at, NULL, NULL, NULL,"
                + " j->>'source_newest', j->>'lag', j->>'lag_unit', j->>'lag_at'"
                + " FROM " + state + " s CROSS JOIN LATERAL to_jsonb(s) j WHERE s.transfer = ANY(?::text[])"
                + " UNION ALL"
                + " SELECT 3, t.name, ok.run_id::text, NULL, NULL, ok.started_at, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL"
                + " FROM unnest(?::text[]) AS t(name) CROSS JOIN LATERAL (SELECT o.run_id, o.started_at FROM " + runs + " o"
                + " WHERE o.transfer = t.name AND o.status = 'succeeded' ORDER BY o.started_at DESC LIMIT 1) ok";
        String[] names = recordLimits.keySet().toArray(String[]::new);
        Integer[] limits = recordLimits.values().toArray(Integer[]::new);
        try (PreparedStatement ps = con.prepareStatement(sql)) {
            ps.setQueryTimeout(timeoutSeconds);
            ps.setArray(1, con.createArrayOf("text", names));
            ps.setArray(2, con.createArrayOf("int4", limits));
            ps.setArray(3, con.createArrayOf("text", names));
            ps.setArray(4, con.createArrayOf("text", names));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Read read = out.get(rs.getString(2));
                    if (read == null) {
                        continue;
                    }
                    switch (rs.getInt(1)) {
                        case 1 -> read.records().add(new Record(UUID.fromString(rs.getString(3)), rs.getString(4),
                                rs.getString(5), instant(rs, 6), instant(rs, 7), rs.getLong(8), rs.getString(9), rs.getInt(10)));
                        case 2 -> read.lags().add(new Lag(rs.getString(4), rs.getString(11), rs.getString(12),
                                rs.getString(13), rs.getString(14) == null ? null : OffsetDateTime.parse(rs.getString(14)).toInstant(),
                                instant(rs, 7)));
                        default -> out.put(rs.getString(2), new Read(read.records(), read.lags(),
                                new Succeeded(UUID.fromString(rs.getString(3)), instant(rs, 6))));
                    }
                }
            }
        } catch (SQLException e) {
            if ("42P01".equals(e.getSQLState())) { // undefined_table: no run has written to this schema yet
                if (!con.getAutoCommit()) {
                    con.rollback();
                }
                return out;
            }
            throw e;
        }
        return out;
    }

    /**
     * What a transfer's health check needs: its newest start of a run ({@code null}: none; {@code reset} records are
     * not runs, skipped ones are: a skip is a scheduled fire that found a run of it going, or its backoff after
     * failures), its last decided run (one that failed, or succeeded whole; null when none in the records read), and
     * when the newest run that succeeded whole ended.
     */
    public record Health(Instant lastStart, Decided lastRun, Instant lastSuccessEnded) {
    }

    /** A run that failed (any record failed: {@code error} is its first failed table's) or succeeded whole. */
    public record Decided(UUID runId, boolean failed, String error, Instant ended) {
    }

    /**
     * Reads {@link Health} for each transfer named, in ONE statement for the schema: its newest start, and up to
     * {@code recordLimits.get(name)} of its newest records of runs that ended (succeeded, failed, interrupted,
     * abandoned), newest first through the (transfer, started_at) index. A run failed when any of its records did and
     * succeeded when all did; interrupted and abandoned ones (a restart, a shutdown) decide nothing, so a failing
     * transfer stays failing until a run succeeds, whatever was reset or interrupted since. A schema without
     * {@code _ferry_runs} reads as no history.
     */
    public static Map<String, Health> health(Connection con, String schema, Map<String, Integer> recordLimits) throws SQLException {
        Map<String, Health> out = new LinkedHashMap<>();
        for (String name : recordLimits.keySet()) {
            out.put(name, new Health(null, null, null));
        }
        if (recordLimits.isEmpty()) {
            return out;
        }
        String runs = RunHistory.qualified(schema);
        String sql = "SELECT 1 AS kind, t.name, NULL::text, NULL::text, s.started_at, NULL::timestamptz, NULL::text"
                + " FROM unnest(?::text[]) AS t(name) CROSS JOIN LATERAL (SELECT x.started_at FROM " + runs + " x"
                + " WHERE x.transfer = t.name AND x.status <> '" + RunHistory.RESET + "' ORDER BY x.started_at DESC LIMIT 1) s"
                + " UNION ALL"
                + " SELECT 2, t.name, r.run_id::text, r.status, r.started_at, coalesce(r.finished_at, r.started_at), r.error"
                + " FROM unnest(?::text[], ?::int[]) AS t(name, n) CROSS JOIN LATERAL (SELECT * FROM " + runs + " y"
                + " WHERE y.transfer = t.name AND y.status IN ('succeeded', 'failed', 'interrupted', 'abandoned')"
                + " ORDER BY y.started_at DESC LIMIT t.n) r"
                + " ORDER BY 1, 2, 5 DESC";
        String[] names = recordLimits.keySet().toArray(String[]::new);
        Map<String, Instant> starts = new java.util.HashMap<>();
        // per transfer, its runs newest first: {failed, all succeeded}, first failed table's error, when it ended
        Map<String, Map<UUID, Object[]>> byRun = new java.util.HashMap<>();
        Map<String, Integer> records = new java.util.HashMap<>();
        try (PreparedStatement ps = con.prepareStatement(sql)) {
            ps.setArray(1, con.createArrayOf("text", names));
            ps.setArray(2, con.createArrayOf("text", names));
            ps.setArray(3, con.createArrayOf("int4", recordLimits.values().toArray(Integer[]::new)));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String name = rs.getString(2);
                    if (rs.getInt(1) == 1) {
                        starts.put(name, instant(rs, 5));
                        continue;
                    }
                    records.merge(name, 1, Integer::sum);
                    Object[] run = byRun.computeIfAbsent(name, k -> new LinkedHashMap<>()).computeIfAbsent(
                            UUID.fromString(rs.getString(3)), k -> new Object[] {false, true, null, null});
                    String status = rs.getString(4);
                    if ("failed".equals(status)) {
                        run[0] = true;
                        run[2] = rs.getString(7); // newest first: the run's earliest failed table wins
                    }
                    run[1] = (Boolean) run[1] && "succeeded".equals(status);
                    Instant ended = instant(rs, 6);
                    run[3] = run[3] == null || ended.isAfter((Instant) run[3]) ? ended : run[3];
                }
            }
        } catch (SQLException e) {
            if ("42P01".equals(e.getSQLState()) || "3F000".equals(e.getSQLState())) { // nothing ran into this schema yet
                if (!con.getAutoCommit()) {
                    con.rollback();
                }
                return out;
            }
            throw e;
        }
        for (String name : names) {
            Map<UUID, Object[]> runsOf = byRun.get(name);
            if (runsOf != null && runsOf.size() > 1 && records.get(name).equals(recordLimits.get(name))) {
                // the read stopped at its limit: the oldest run in it may lack its first tables (a failed one among them)
                UUID oldest = null;
                for (UUID id : runsOf.keySet()) {
                    oldest = id;
                }
                runsOf.remove(oldest);
            }
            Decided last = null;
            Instant success = null;
            for (Map.Entry<UUID, Object[]> e : byRun.getOrDefault(name, Map.of()).entrySet()) {
                Object[] r = e.getValue();
                boolean failed = (Boolean) r[0];
                boolean ok = !failed && (Boolean) r[1];
                if (last == null && (failed || ok)) {
                    last = new Decided(e.getKey(), failed, (String) r[2], (Instant) r[3]);
                }
                if (ok) {
                    success = (Instant) r[3];
                    break;
                }
            }
            out.put(name, new Health(starts.get(name), last, success));
        }
        return out;
    }

    private static Instant instant(ResultSet rs, int column) throws SQLException {
        OffsetDateTime t = rs.getObject(column, OffsetDateTime.class);
        return t == null ? null : t.toInstant();
    }
}
