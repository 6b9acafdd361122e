package dev.ferry.pipeline;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import dev.ferry.config.Mode;
import dev.ferry.config.TransferSpec;
import dev.ferry.connect.Connections;
import dev.ferry.failure.Errors;
import dev.ferry.observe.FerryMeters;
import dev.ferry.source.SourceColumn;
import dev.ferry.state.Watermarks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How far an incremental, append or xmin table's committed watermark is behind its source, measured at the end of
 * each table that succeeded: the source's newest cursor value (with the transfer's filter) against the watermark, in
 * seconds (timestamp and date cursors), values (numeric cursors) or transactions (xmin: the source's next transaction
 * id against the committed horizon). Kept in {@code _ferry_state} (source_newest, lag, lag_unit, lag_at) and in the
 * meters. The source query runs under a short statement timeout: a cursor without an index costs a scan, and a run
 * never waits on it; a timeout skips the measurement and is logged once per table.
 */
public final class WatermarkLag {

    private static final Logger LOG = LoggerFactory.getLogger("dev.ferry.transfer");

    /** The longest the source's newest value may take to read. */
    static final String STATEMENT_TIMEOUT = "3s";

    private final Connections connections;
    private final FerryMeters meters;
    /** transfer/table pairs whose measurement timed out once: told once, then skipped quietly each time. */
    private final Set<String> timedOut = ConcurrentHashMap.newKeySet();
    /** transfer/table pairs measured once without a free session: told once at info. */
    private final Set<String> noSession = ConcurrentHashMap.newKeySet();
    /** The longest a measurement waits for a session of a pool: it is worth taking only when one is free. */
    static final java.time.Duration SESSION_WAIT = java.time.Duration.ofSeconds(1);

    public WatermarkLag(Connections connections, FerryMeters meters) {
        this.connections = connections;
        this.meters = meters;
    }

    /** A table whose lag is to be measured once its sessions are released: what the destination said then. */
    record Pending(TableLoad load, Watermarks.State state) {
    }

    /**
     * Reads the table's committed watermark in the session the table still holds (no wait), for {@link #measure} to
     * run once the table has released it; null when there is nothing to measure. Never fails the table.
     */
    Pending prepare(TableLoad load) {
        if (load.run().spec().mode() == Mode.FULL_REFRESH) {
            return null;
        }
        try {
            Connection dest = load.connection();
            Watermarks.State state = Watermarks.load(dest, load.schema(), load.run().spec().name(), load.source().display());
            dest.rollback();
            return state == null ? null : new Pending(load, state);
        } catch (SQLException | RuntimeException e) {
            LOG.warn("transfer {}: {}: could not measure the watermark's lag: {}", load.run().spec().name(),
                    load.source().display(), Errors.describe(e));
            return null;
        }
    }

    /**
     * Measures and records the lag, after the table released its sessions: it holds none of them while it waits for
     * one, and waits at most {@link #SESSION_WAIT} for each (source, then destination); without one in time the lag
     * is not measured this time. Never fails the table (a measurement that fails is logged and skipped).
     */
    void measure(Pending pending) {
        TableLoad load = pending.load();
        TransferSpec spec = load.run().spec();
        String transfer = spec.name();
        String table = load.source().display();
        try {
            Measured m = spec.mode() == Mode.XMIN ? xmin(load, pending.state()) : cursor(load, spec, pending.state());
            if (m == null) {
                return;
            }
            if (m.lag != null) {
                meters.watermarkLag(transfer, table, m.lag.doubleValue(), m.unit);
            }
            try (Connection dest = connections.tryConnection(load.run().destination(), SESSION_WAIT)) {
                if (dest == null) {
                    noSession(transfer, table, "destination");
                    return;
                }
                boolean autoCommit = dest.getAutoCommit();
                dest.setAutoCommit(false);
                try {
                    Watermarks.recordLag(dest, load.schema(), transfer, table, m.newest, m.lag, m.unit);
                    dest.commit();
                } finally {
                    dest.rollback();
                    dest.setAutoCommit(autoCommit);
                }
            }
        } catch (SQLException | RuntimeException e) {
            SQLException sql = Errors.deepest(e);
            if (sql != null && "57014".equals(sql.getSQLState())) {
                if (timedOut.add(transfer + "/" + table)) {
                    LOG.warn("transfer {}: {}: the watermark's lag is not measured: reading the source's newest cursor value"
                            + " took over {} (an index on the cursor column makes it instant); the runs are not affected",
                            transfer, table, STATEMENT_TIMEOUT);
                }
            } else {
                LOG.warn("transfer {}: {}: could not measure the watermark's lag: {}", transfer, table, Errors.describe(e));
            }
        }
    }

    /** No session came in time: said once per table at info (the pool is busy with the runs), then at debug. */
    private void noSession(String transfer, String table, String end) {
        String message = "transfer {}: {}: the watermark's lag is not measured this time: no {} session was free within {}"
                + " (all in use by runs); it is measured when a table ends with one free";
        if (noSession.add(transfer + "/" + table)) {
            LOG.info(message, transfer, table, end, dev.ferry.config.Durations.format(SESSION_WAIT));
        } else {
            LOG.debug(message, transfer, table, end, dev.ferry.config.Durations.format(SESSION_WAIT));
        }
    }

    private record Measured(String newest, BigDecimal lag, String unit) {
    }

    private Measured cursor(TableLoad load, TransferSpec spec, Watermarks.State state) throws SQLException {
        SourceColumn column = load.sourceTable().column(spec.cursor());
        if (column == null) {
            return null;
        }
        String unit = unit(column);
        String c = "max(" + dev.ferry.config.Sql.ident(column.name()) + ")";
        String lag;
        if (unit == null || state.cursorValue() == null) {
            lag = "CAST(NULL AS numeric)"; // a cursor that is neither a time nor a number: its newest value alone
        } else if ("seconds".equals(unit)) {
            lag = "CAST(EXTRACT(EPOCH FROM (CAST(" + c + " AS timestamptz) - CAST(CAST(? AS " + column.declaredType()
                    + ") AS timestamptz))) AS numeric)";
        } else {
            lag = "CAST(" + c + " - CAST(? AS " + column.declaredType() + ") AS numeric)";
        }
        String sql = "SELECT CAST(" + c + " AS text), " + lag + " FROM " + load.sourceTable().from()
                + (spec.filter() != null ? " WHERE (" + spec.filter().sql() + ")" : "");
        return onSource(load, sql, lag.contains("?") ? state.cursorValue() : null, unit);
    }

    private Measured xmin(TableLoad load, Watermarks.State state) throws SQLException {
        if (state.xminHorizon() == null) {
            return null;
        }
        String sql = "SELECT CAST(x AS text), CAST(x - ? AS numeric) FROM"
                + " (SELECT pg_catalog.txid_snapshot_xmax(pg_catalog.txid_current_snapshot()) AS x) s";
        return onSource(load, sql, state.xminHorizon(), "transactions");
    }

    private Measured onSource(TableLoad load, String sql, Object watermark, String unit) throws SQLException {
        TransferSpec spec = load.run().spec();
        try (Connection src = connections.tryConnection(load.run().source(), SESSION_WAIT)) {
            if (src == null) {
                noSession(spec.name(), load.source().display(), "source");
                return null;
            }
            boolean autoCommit = src.getAutoCommit();
            src.setAutoCommit(false);
            try {
                try (Statement st = src.createStatement()) {
                    st.execute("SET LOCAL statement_timeout = '" + STATEMENT_TIMEOUT + "'");
                }
                try (PreparedStatement ps = src.prepareStatement(sql)) {
                    int i = 1;
                    if (watermark instanceof Long l) {
                        ps.setLong(i++, l);
                    } else if (watermark != null) {
                        ps.setString(i++, watermark.toString());
                    }
                    if (spec.filter() != null && !"transactions".equals(unit)) {
                        for (String name : spec.filter().parameters()) {
                            ps.setString(i++, spec.filterValues().get(name));
                        }
                    }
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        String newest = rs.getString(1);
                        BigDecimal lag = rs.getBigDecimal(2);
                        // behind by nothing when the source's newest is at or before the watermark (rows deleted since)
                        return new Measured(newest, lag == null ? null : lag.max(BigDecimal.ZERO), unit);
                    }
                }
            } finally {
                src.rollback();
                src.setAutoCommit(autoCommit);
            }
        }
    }

    /** seconds for timestamp and date cursors, values for numeric ones, null for others (text, uuid...). */
    static String unit(SourceColumn column) {
        String t = column.declaredType().toLowerCase(java.util.Locale.ROOT);
        if (t.startsWith("timestamp") || t.equals("date")) {
            return "seconds";
        }
        if (t.equals("smallint") || t.equals("integer") || t.equals("bigint") || t.startsWith("numeric") || t.equals("real")
                || t.equals("double precision")) {
            return "values";
        }
        return null;
    }
}
