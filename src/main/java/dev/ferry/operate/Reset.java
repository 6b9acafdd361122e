package dev.ferry.operate;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import javax.sql.DataSource;

import dev.ferry.config.ConfigException;
import dev.ferry.config.ConnectionSettings;
import dev.ferry.config.Mode;
import dev.ferry.config.TableRef;
import dev.ferry.config.TransferSpec;
import dev.ferry.connect.Connections;
import dev.ferry.state.RunHistory;
import dev.ferry.state.Runs;
import dev.ferry.state.TransferLock;
import dev.ferry.state.Watermarks;

/**
 * {@code ferry reset}: makes the next run of a transfer's table (or of all its tables) start over, a backfill, by
 * deleting their watermarks in the destination's {@code _ferry_state}. Done while holding the transfer's lock, so that no
 * run is writing a watermark meanwhile, and recorded in {@code _ferry_runs} with status {@code reset}.
 */
public final class Reset {

    /** What a reset did, for the command's output. */
    public record Result(UUID id, List<String> tables, List<String> withWatermark) {
    }

    /** A reset refused because a run of the transfer holds its lock (the message says since when, and where). */
    public static final class Busy extends Exception {
        public Busy(String message) {
            super(message);
        }
    }

    private Reset() {
    }

    /** The tables a reset of {@code table} (null: all) covers; a table the transfer does not copy is a usage error. */
    public static List<TableRef> tables(TransferSpec spec, String table) {
        if (table == null) {
            // with patterns, every table the transfer keeps a watermark of (its tables may change from run to run)
            return spec.tableSelection().hasPatterns() ? List.of() : spec.tables();
        }
        if (spec.tableSelection().hasPatterns()) {
            List<TableRef> named;
            try {
                named = TableRef.parseList(table);
            } catch (IllegalArgumentException e) {
                throw new ConfigException("ferry reset: TABLE '" + table + "': " + e.getMessage());
            }
            if (named.size() == 1 && spec.tableSelection().selects(named.get(0))) {
                return named;
            }
            throw new ConfigException("transfer " + spec.name() + " copies no table named " + table + ": its tables ("
                    + spec.tableSelection() + ") do not select it; name the table schema-qualified, e.g. shop.orders");
        }
        // the source's name first (schema-qualified, then bare), then the destination's: a bare name may be both one
        // table's source name and another's destination name, so more than one match is refused, naming them
        for (java.util.function.Predicate<TableRef> named : List.<java.util.function.Predicate<TableRef>>of(
                t -> t.display().equals(table), t -> t.name().equals(table), t -> spec.names().nameOf(t).equals(table))) {
            List<TableRef> found = spec.tables().stream().filter(named).toList();
            if (found.size() == 1) {
                return found;
            }
            if (found.size() > 1) {
                throw new ConfigException("ferry reset: TABLE '" + table + "' names " + found.size() + " of transfer " + spec.name()
                        + "'s tables (" + String.join(", ", found.stream().map(TableRef::display).toList()) + "); name one"
                        + " schema-qualified, e.g. " + found.get(0).display());
            }
        }
        throw new ConfigException("transfer " + spec.name() + " copies no table named " + table + "; its tables: "
                + String.join(", ", spec.tables().stream().map(TableRef::display).toList()));
    }

    /**
     * Deletes the watermarks of {@code tables} while holding the transfer's lock (waiting at most {@code wait} for a run
     * that holds it), and records the reset.
     *
     * @throws Busy when a run of the transfer still held the lock after {@code wait}
     */
    public static Result reset(Connections connections, TransferSpec spec, List<TableRef> tables, Duration wait)
            throws SQLException, Busy {
        if (spec.mode() == Mode.FULL_REFRESH) {
            throw new IllegalStateException("full_refresh transfers keep no watermark");
        }
        ConnectionSettings destination = connections.destination(spec.destination());
        String schema = destination.schema();
        DataSource ds = connections.dataSource(destination);
        try (Connection c = ds.getConnection()) {
            Runs.ensureBookkeeping(c, schema);
        }
        try (TransferLock lock = TransferLock.acquire(ds, schema, spec.name(), wait)) {
            if (lock == null) {
                String[] running;
                try (Connection c = ds.getConnection()) {
                    running = RunHistory.running(c, schema, spec.name());
                }
                throw new Busy("a run of " + spec.name() + " is going ("
                        + (running == null ? "in another session" : "since " + running[0] + ", node " + running[1])
                        + "): try again when it ends");
            }
            UUID id = UUID.randomUUID();
            List<String> names = tables.stream().map(TableRef::display).toList();
            List<String> had = new ArrayList<>();
            try (Connection c = ds.getConnection()) {
                c.setAutoCommit(false);
                try {
                    // no tables given: all of the transfer's (a transfer with patterns)
                    try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + Watermarks.qualified(schema)
                            + " WHERE transfer = ? AND (cardinality(?::text[]) = 0 OR source_table = ANY (?)) RETURNING source_table")) {
                        ps.setString(1, spec.name());
                        ps.setArray(2, c.createArrayOf("text", names.toArray()));
                        ps.setArray(3, c.createArrayOf("text", names.toArray()));
                        try (ResultSet rs = ps.executeQuery()) {
                            while (rs.next()) {
                                had.add(rs.getString(1));
                            }
                        }
                    }
                    for (String t : names.isEmpty() ? had : names) {
                        RunHistory.reset(c, schema, id, spec.name(), spec.mode().key(), t, "reset by ferry reset: "
                                + (had.contains(t) ? "watermark deleted" : "no watermark was recorded")
                                + "; the next run reads the table from the start");
                    }
                    c.commit();
                } catch (SQLException | RuntimeException e) {
                    c.rollback();
                    throw e;
                } finally {
                    c.setAutoCommit(true);
                }
            }
            return new Result(id, names, had);
        }
    }
}
