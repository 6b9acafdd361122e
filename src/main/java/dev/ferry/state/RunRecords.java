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

    private static Instant instant(ResultSet rs, int column) throws SQLException {
        OffsetDateTime t = rs.getObject(column, OffsetDateTime.class);
        return t == null ? null : t.toInstant();
    }
}
