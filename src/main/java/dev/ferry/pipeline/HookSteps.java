package dev.ferry.pipeline;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.List;
import java.util.Map;

import dev.ferry.config.Hooks;
import dev.ferry.connect.Connections;
import dev.ferry.destination.CopyPipe;
import dev.ferry.failure.PermanentFailure;
import dev.ferry.state.Runs;
import dev.ferry.state.TransferRun;
import org.apache.camel.ExchangeProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The route steps that run a transfer's hooks (see {@link Hooks}): {@code beforeRun} on the source before any table,
 * {@code afterLoad} on the destination in the table's last transaction, and afterLoad's statements that cannot run in
 * a transaction block right after it commits. Every statement runs under its session's statementTimeout.
 */
public final class HookSteps {

    private static final Logger LOG = LoggerFactory.getLogger("dev.ferry.transfer");

    private final Connections connections;

    public HookSteps(Connections connections) {
        this.connections = connections;
    }

    /** A hook that failed in a way a retry cannot help: a check that returned false, a statement after the commit. */
    public static final class HookFailure extends PermanentFailure {
        HookFailure(String message, Throwable cause) {
            super(message);
            if (cause != null) {
                addSuppressed(cause); // kept for the trace; the message already names the server's error
            }
        }
    }

    /**
     * beforeRun: the statements on the source, in one READ ONLY transaction, rolled back. A statement that fails, or
     * returns one row of one boolean column that is not true (a check), fails the run before any table.
     */
    public void beforeRun(@ExchangeProperty(Runs.RUN) TransferRun run) throws SQLException {
        if (run.spec().hooks().beforeRun().isEmpty()) {
            return;
        }
        try (Connection c = connections.dataSource(run.source()).getConnection()) {
            beforeRun(c, run.spec(), run.id(), run.source());
        }
    }

    /**
     * Runs a transfer's beforeRun statements on a source session, in a READ ONLY transaction that is rolled back (the
     * session's autocommit is restored); {@code ferry check} runs them so too.
     *
     * @throws SQLException a statement failed (its message names it), with the server's SQLSTATE
     * @throws HookFailure a check returned false or NULL, or a statement outlasted the statementTimeout
     */
    public static void beforeRun(Connection c, dev.ferry.config.TransferSpec spec, java.util.UUID runId,
                                 dev.ferry.config.ConnectionSettings source) throws SQLException {
        Map<String, String> values = Map.of("run_id", Hooks.literal(runId.toString()), "transfer", Hooks.literal(spec.name()));
        boolean autoCommit = c.getAutoCommit();
        if (autoCommit) {
            c.setAutoCommit(false);
        } else {
            c.rollback(); // SET TRANSACTION must come first in its transaction
        }
        try (Statement st = c.createStatement()) {
            st.setEscapeProcessing(false);
            st.execute("SET TRANSACTION READ ONLY");
            // a query takes the transaction's snapshot: from here PostgreSQL refuses a SET TRANSACTION READ WRITE
            st.execute("SELECT 1");
            for (Hooks.Statement s : spec.hooks().beforeRun()) {
                String sql = s.sql(values);
                boolean passed;
                try {
                    passed = check(st, sql);
                } catch (SQLException e) {
                    throw failed(s, values, "on source '" + source.name() + "'", e, "; the run stopped before any table", source,
                            "source");
                }
                if (!passed) {
                    throw new HookFailure(s.label() + " on source '" + source.name() + "', a check, returned"
                            + " false or NULL: " + Hooks.shown(s.display(values)) + "; the run stopped before any table", null);
                }
            }
        } finally {
            c.rollback();
            c.setAutoCommit(autoCommit);
            clean(c);
        }
    }

    /**
     * Takes out of a session whatever a hook's statements left in it that outlives their transaction, before the pool
     * gives it to other work: {@code DISCARD ALL} drops temporary tables, prepared statements (pgjdbc notices and forgets
     * its own), session advisory locks, LISTENs and a changed role, and resets every setting (a
     * {@code set_config(..., false)}) to its session default, which for Ferry's pinned settings (statementTimeout...)
     * is the value its connection started with ({@link dev.ferry.connect.Connections#PINNED}, sent at connect time, not
     * by SET). The session must not be in a transaction; its autocommit is restored. When that fails, its physical
     * connection is closed, and the pool, finding it closed, drops it.
     */
    static void clean(Connection c) {
        try {
            boolean autoCommit = c.getAutoCommit();
            c.setAutoCommit(true);
            try (Statement st = c.createStatement()) {
                st.execute("DISCARD ALL");
            }
            c.setAutoCommit(autoCommit);
        } catch (SQLException e) {
            try {
                c.unwrap(org.postgresql.core.BaseConnection.class).close();
            } catch (SQLException ignored) {
                // closed already
            }
            LOG.debug("a session afterLoad or beforeRun ran on could not be cleaned: {}", e.getMessage());
        }
    }

    /** Runs one statement; false when it returns a single row of a single boolean column that is false or NULL. */
    private static boolean check(Statement st, String sql) throws SQLException {
        if (!st.execute(sql)) {
            return true;
        }
        try (ResultSet rs = st.getResultSet()) {
            if (rs.getMetaData().getColumnCount() != 1 || rs.getMetaData().getColumnType(1) != Types.BIT
                    && rs.getMetaData().getColumnType(1) != Types.BOOLEAN || !rs.next()) {
                return true;
            }
            boolean value = rs.getBoolean(1) && !rs.wasNull();
            return rs.next() || value;
        }
    }

    /**
     * afterLoad, the statements that can run in a transaction: on the table's load session, in its last transaction,
     * before the table end step commits it (with the swap, for a full refresh). A failure rolls it all back.
     */
    public void afterLoad(@ExchangeProperty(TableLoad.TABLE) TableLoad load) throws SQLException {
        List<Hooks.Statement> statements = load.run().spec().hooks().afterLoad().stream().filter(Hooks.Statement::inTransaction).toList();
        if (statements.isEmpty()) {
            return;
        }
        Connection con = load.connection();
        load.hooksRunOnConnection(); // what the statements leave in the session goes when the load closes
        CopyPipe.bounded(con); // whatever ran before, the hooks are bounded by statementTimeout
        Map<String, String> values = values(load);
        try (Statement st = con.createStatement()) {
            st.setEscapeProcessing(false);
            for (Hooks.Statement s : statements) {
                String sql = s.sql(values);
                try {
                    st.execute(sql);
                } catch (SQLException e) {
                    throw failed(s, values, "on " + load.destinationDisplay(), e, "; " + (load.isFullRefresh()
                            ? "nothing was swapped: the table keeps its previous contents"
                            : "the table's last transaction was rolled back: its batches committed before it are kept"),
                            load.run().destination(), "destination");
                }
            }
        }
    }

    /**
     * afterLoad, the statements that cannot run in a transaction block (VACUUM...): once the table's last transaction
     * committed, each on its own in a destination session. The load is then in: a failure fails the table without a
     * retry (which would load it again), and its run record turns from succeeded to failed, saying so.
     */
    public void afterCommit(@ExchangeProperty(TableLoad.TABLE) TableLoad load) throws SQLException {
        List<Hooks.Statement> statements = load.run().spec().hooks().afterLoad().stream().filter(s -> !s.inTransaction()).toList();
        if (statements.isEmpty()) {
            return;
        }
        Map<String, String> values = values(load);
        try (Connection c = load.destinationPool().getConnection(); Statement st = c.createStatement()) {
            c.setAutoCommit(true);
            st.setEscapeProcessing(false);
            for (Hooks.Statement s : statements) {
                String sql = s.sql(values);
                try {
                    st.execute(sql);
                } catch (SQLException e) {
                    String server = s.redact(server(e));
                    throw new HookFailure(s.label() + " on " + load.destinationDisplay() + " failed after the table's load"
                            + " committed (it cannot run in a transaction block, so it runs after the commit): "
                            + Hooks.shown(s.display(values)) + ": " + server + "; the load itself is committed (" + load.rows()
                            + " rows), not retried; the next run runs afterLoad again", kept(s, e));
                }
            }
        } catch (SQLException e) {
            throw new HookFailure("afterLoad on " + load.destinationDisplay() + " could not get a destination session after"
                    + " the table's load committed: " + server(e) + "; the load itself is committed (" + load.rows() + " rows)", e);
        }
        LOG.debug("transfer {}: {}: afterLoad ran {} statement(s) after the commit", load.run().spec().name(),
                load.destinationDisplay(), statements.size());
    }

    /** afterLoad's variables for one table: identifiers quoted, everything else a string literal. */
    private static Map<String, String> values(TableLoad load) {
        return Map.of("schema", dev.ferry.config.Sql.ident(load.schema()), "table", dev.ferry.config.Sql.ident(load.table()),
                "run_id", Hooks.literal(load.run().id().toString()), "source_table", Hooks.literal(load.source().display()),
                "transfer", Hooks.literal(load.run().spec().name()));
    }

    /**
     * A statement's failure, naming it and the server's message: an SQLException with the server's SQLSTATE, so that
     * the retry rule reads it (a syntax error, a missing object or privilege is not retried; a lost connection is).
     * One that hit the statementTimeout is thrown as a {@link HookFailure}, never retried.
     */
    private static SQLException failed(Hooks.Statement s, Map<String, String> values, String where, SQLException e, String outcome,
                                       dev.ferry.config.ConnectionSettings on, String end) {
        String shown = Hooks.shown(s.display(values)); // placeholders as written: their values may be secret
        if (Swap.statementTimedOut(e)) {
            // it would outlast the bound again: not retried (a full refresh's retry would copy the table again first)
            throw new HookFailure(s.label() + " " + where + " ran longer than the " + end + "'s statementTimeout ("
                    + on.timeouts().statement() + "): " + shown + outcome + ". Make it faster, or raise "
                    + on.propertyPrefix() + "statementTimeout", kept(s, e));
        }
        SQLException named = new SQLException(s.label() + " " + where + " failed: " + shown + ": " + s.redact(server(e))
                + outcome, e.getSQLState(), e.getErrorCode());
        SQLException original = kept(s, e);
        if (original != null) {
            named.addSuppressed(original); // not its cause: the report names the innermost SQLException, which must be this one
        }
        return named;
    }

    /**
     * The server's exception, kept for the trace, unless it quotes a placeholder's value (a secret the statement put in,
     * in its message, detail or context): then only the redacted message is kept, in the failure's own message.
     */
    private static SQLException kept(Hooks.Statement s, SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = String.valueOf(t.getMessage());
            if (!s.redact(m).equals(m)) {
                return null;
            }
        }
        return e;
    }

    /** The server's message, on one line, with its detail when it gives one. */
    private static String server(SQLException e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        int nl = m.indexOf('\n');
        m = nl < 0 ? m : m.substring(0, nl);
        String detail = dev.ferry.failure.Errors.serverDetail(e);
        return detail != null ? m + " (" + detail + ")" : m;
    }
}
