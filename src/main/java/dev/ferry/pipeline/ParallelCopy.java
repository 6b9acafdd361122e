package dev.ferry.pipeline;

import dev.ferry.destination.CopyPipe;
import dev.ferry.destination.CopyStreams;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;

import dev.ferry.connect.Connections;
import dev.ferry.config.Sql;
import dev.ferry.source.BatchPlanner;
import dev.ferry.source.SourceTable;
import dev.ferry.state.CrashPoints;

/**
 * A full refresh's table copied in several COPY streams at once, each reading a range of the table's pages.
 *
 * <p>Why: one {@code COPY ... FROM STDIN} keeps one destination backend busy, and that backend (parsing rows,
 * filling pages, writing WAL) is what limits a bulk copy; the source's {@code COPY ... TO} costs a fraction of it.
 * Several streams put several destination backends to work.
 *
 * <p>How it stays exact: the first stream's source transaction exports its snapshot and every other stream imports
 * it, so all read the same table state; the ranges are of page numbers ({@code ctid}), which PostgreSQL 14 and
 * later scan directly, the first open below and the last open above, so that every row falls in exactly one. The
 * load table is committed before the streams start (other sessions cannot write into an uncommitted table); the
 * other streams commit their rows into it, the first stream's rows commit with the swap, and a failure drops the
 * whole load table (see {@link TableLoad#close}), so the destination table itself is never half-written.
 */
final class ParallelCopy {

    private static final Pattern SNAPSHOT_ID = Pattern.compile("[0-9A-Fa-f-]+");
    private static final String REPEATABLE_READ = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ";

    private ParallelCopy() {
    }

    /** A table's split: the number of streams and the table's size in pages. */
    record Plan(int streams, long pages) {
    }

    /**
     * How many streams to copy the table in: {@code copyStreams}, for a plain table on a primary server of
     * version 14 or later (older ones would scan the whole table once per stream), and no more than it has pages.
     * One stream by default: on a server with few cores the streams only compete for them (the benchmark's two-core
     * machine copies faster in one).
     */
    static Plan plan(TableLoad load, Connection source) throws SQLException {
        int wanted = load.run().spec().copyStreams();
        SourceTable t = load.sourceTable();
        // a plain relation, its columns read directly or through expressions (not xml's cast: one stream keeps it simple)
        if (wanted <= 1 || !t.copyable() || t.columns().stream().anyMatch(dev.ferry.source.SourceColumn::xml)) {
            return new Plan(1, 0);
        }
        try (PreparedStatement ps = source.prepareStatement("SELECT pg_catalog.current_setting('server_version_num')::int >= 140000"
                + " AND NOT pg_catalog.pg_is_in_recovery(), pg_catalog.pg_relation_size(CAST(? AS regclass))"
                + " / pg_catalog.current_setting('block_size')::bigint")) {
            ps.setString(1, load.sourceTable().ref().quoted());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                long pages = rs.getLong(2);
                if (!rs.getBoolean(1) || pages < 2) {
                    return new Plan(1, pages);
                }
                return new Plan((int) Math.min(wanted, pages), pages);
            }
        }
    }

    /**
     * Copies the whole table in {@code plan.streams()} streams. The caller's source connection carries the first
     * stream and exports the snapshot; the load's destination connection carries the first stream's rows.
     */
    static CopyPipe.Result run(Connections connections, TableLoad load, Connection source, boolean binary, Plan plan,
                               BooleanSupplier shutdown, ExecutorService threads, CopyStreams streams) throws SQLException {
        Connection destination = load.connection();
        destination.commit();
        load.loadTableCommitted();
        source.commit();
        String snapshot;
        try (Statement st = source.createStatement()) {
            // in SQL rather than through JDBC: the pool then has no isolation level to restore on a connection it may evict
            st.execute(REPEATABLE_READ);
            try (ResultSet rs = st.executeQuery("SELECT pg_catalog.pg_export_snapshot()")) {
                rs.next();
                snapshot = rs.getString(1);
            }
        }
        if (!SNAPSHOT_ID.matcher(snapshot).matches()) {
            throw new SQLException("unexpected snapshot id from the source: " + snapshot);
        }
        SourceTable t = load.sourceTable();
        String format = binary ? "binary" : "text";
        String in = "COPY " + Sql.qualified(load.schema(), load.loadTable()) + " (" + Sql.idents(t.columnNames())
                + ") FROM STDIN (FORMAT " + format + ")";
        AtomicBoolean failed = new AtomicBoolean();
        BooleanSupplier stop = () -> failed.get() || shutdown.getAsBoolean();
        List<Future<CopyPipe.Result>> others = new ArrayList<>();
        try {
            for (int i = 1; i < plan.streams(); i++) {
                List<Object> values = new ArrayList<>();
                String out = copyOut(load, t, format, plan, i, values);
                others.add(threads.submit(dev.ferry.observe.LogContext.carried(() -> {
                    try {
                        return otherStream(connections, streams, load, snapshot, out, values, in, binary, stop);
                    } catch (SQLException | RuntimeException | Error e) {
                        failed.set(true);
                        throw e;
                    }
                })));
            }
            List<CopyPipe.Result> results = new ArrayList<>();
            Throwable first = null;
            try {
                List<Object> values = new ArrayList<>();
                String out = copyOut(load, t, format, plan, 0, values);
                BatchPlanner.bindSettings(source, values);
                results.add(CopyPipe.run(streams, source, load.run().source(), out, destination, load.run().destination(),
                        in, binary, stop, load.progress()));
            } catch (SQLException | RuntimeException | Error e) {
                // whatever ends the first stream stops the others, and is thrown once they have stopped: none goes
                // on copying into a load that is being rolled back
                failed.set(true);
                first = e;
            }
            if (first == null) {
                // the first stream's sessions now wait, in their transactions, for streams that may take much longer:
                // an idle-in-transaction bound sized for one statement would end them while the load is healthy
                for (Connection c : List.of(source, destination)) {
                    try (Statement st = c.createStatement()) {
                        st.execute("SET LOCAL idle_in_transaction_session_timeout = 0");
                    } catch (SQLException e) {
                        failed.set(true);
                        first = e;
                        break;
                    }
                }
            }
            for (Future<CopyPipe.Result> f : others) {
                try {
                    results.add(f.get());
                } catch (ExecutionException e) {
                    if (first == null) {
                        first = e.getCause();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    failed.set(true);
                    throw new SQLException("interrupted while copying", "57014", e);
                }
            }
            if (first instanceof SQLException se) {
                throw se;
            }
            if (first instanceof RuntimeException re) {
                throw re;
            }
            if (first instanceof Error err) {
                throw err;
            }
            if (first != null) {
                throw new SQLException(first.getMessage(), first);
            }
            long rows = results.stream().mapToLong(CopyPipe.Result::rows).sum();
            boolean stopped = results.stream().anyMatch(CopyPipe.Result::stopped);
            return new CopyPipe.Result(rows, null, stopped);
        } catch (RuntimeException | Error e) {
            failed.set(true); // e.g. a stream the pool refused: the ones already started stop, and are waited for
            for (Future<CopyPipe.Result> f : others) {
                try {
                    f.get();
                } catch (ExecutionException | InterruptedException | java.util.concurrent.CancellationException ignored) {
                    // the failure being thrown is the one to report
                }
            }
            throw e;
        }
    }

    /** One stream besides the first: its own connections, the shared snapshot, its rows committed on its own. */
    private static CopyPipe.Result otherStream(Connections connections, CopyStreams streams, TableLoad load, String snapshot,
                                               String out, List<Object> values, String in, boolean binary, BooleanSupplier stop)
            throws SQLException {
        boolean clean = false;
        Connection source = connections.dataSource(load.run().source()).getConnection();
        try (Connection destination = connections.dataSource(load.run().destination()).getConnection()) {
            try (Statement st = source.createStatement()) {
                st.execute(REPEATABLE_READ);
                st.execute("SET TRANSACTION SNAPSHOT '" + snapshot + "'");
            }
            BatchPlanner.bindSettings(source, values); // each stream's own session reads the query's values
            destination.setAutoCommit(false);
            CopyPipe.Result r = CopyPipe.run(streams, source, load.run().source(), out, destination, load.run().destination(), in, binary, stop,
                    load.progress());
            if (r.stopped()) {
                destination.rollback();
                return r;
            }
            destination.commit();
            CrashPoints.reached("after-stream-commit");
            clean = true;
            return r;
        } finally {
            connections.release(load.run().source(), source, clean);
        }
    }

    /** Stream {@code i}'s share of the table: pages from {@code i * pages / streams}, the last one open-ended. */
    private static String copyOut(TableLoad load, SourceTable t, String format, Plan plan, int i, List<Object> values) {
        long from = i * plan.pages() / plan.streams();
        long to = (i + 1) * plan.pages() / plan.streams();
        List<String> where = new ArrayList<>();
        if (i > 0) {
            where.add("ctid >= '(" + from + ",0)'::tid");
        }
        if (i < plan.streams() - 1) {
            where.add("ctid < '(" + to + ",0)'::tid");
        }
        return "COPY (SELECT " + BatchPlanner.copyList(t, load.run().spec(), values) + " FROM " + t.from() + " WHERE " + String.join(" AND ", where)
                + ") TO STDOUT (FORMAT " + format + ")";
    }
}
