package dev.ferry.app;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.ferry.config.ConnectionSettings;
import dev.ferry.connect.Connections;
import dev.ferry.connect.Endpoint;
import dev.ferry.config.Mode;
import dev.ferry.config.ReservedNames;
import dev.ferry.config.Sql;
import dev.ferry.config.TableRef;
import dev.ferry.config.TransferCatalog;
import dev.ferry.config.TransferSpec;
import dev.ferry.source.BatchPlanner;
import dev.ferry.source.SourceCatalog;
import dev.ferry.source.SourceTable;
import dev.ferry.source.SourceTableException;
import dev.ferry.failure.Errors;
import dev.ferry.failure.PrivilegeHints;
import org.postgresql.PGConnection;

/**
 * {@code ferry check}: the setup docs' permissions checklist, run against the real databases. For each source and
 * destination the transfers use: reachable, authenticated, a supported PostgreSQL; for a source, USAGE and SELECT
 * on each table and the cursor and key columns present; for a destination, the right to create its schema (or ALL on
 * a pre-created one), TEMPORARY, and a dry run of the write path (a temporary table, one row through COPY, rolled
 * back). Every failed item carries the statement or setting that fixes it.
 */
final class Check {

    /**
     * One line of the report.
     *
     * @param configProblem when the failure is a mistake in the configuration (a missing table or column), the
     *                      message that names its file and line, for the startup report
     */
    record Item(Status status, String subject, String text, String fix, String configProblem) {

        enum Status { PASS, WARN, FAIL }

        Item(Status status, String subject, String text, String fix) {
            this(status, subject, text, fix, null);
        }

        String line() {
            return String.format("%-4s  %s: %s%s", status, subject, text, fix == null ? "" : "\n      fix: " + fix);
        }
    }

    /** The temporary table of the write path's dry run. */
    private static final String DRY_RUN_TABLE = ReservedNames.PREFIX + "check";

    private final Connections connections;
    private final TransferCatalog catalog;
    private final List<Item> items = new ArrayList<>();
    /**
     * One session per endpoint for the whole check: hundreds of destinations that differ only in their schema are
     * checked over one connection, their endpoint's checks (reachable, version, TEMPORARY, the write path) made once.
     * Null for an endpoint that could not be reached (reported once).
     */
    private final Map<Endpoint, Connection> sessions = new LinkedHashMap<>();
    /** Source tables described once per endpoint, however many transfers read them. */
    private final Map<Map.Entry<Endpoint, TableRef>, SourceTable> described = new java.util.HashMap<>();

    private Check(Connections connections, TransferCatalog catalog) {
        this.connections = connections;
        this.catalog = catalog;
    }

    static List<Item> run(Connections connections, TransferCatalog catalog, List<TransferSpec> transfers) {
        Check c = new Check(connections, catalog);
        Map<ConnectionSettings, List<TransferSpec>> sources = new LinkedHashMap<>();
        Map<ConnectionSettings, List<TransferSpec>> destinations = new LinkedHashMap<>();
        for (TransferSpec t : transfers) {
            sources.computeIfAbsent(connections.source(t.source()), k -> new ArrayList<>()).add(t);
            destinations.computeIfAbsent(connections.destination(t.destination()), k -> new ArrayList<>()).add(t);
        }
        try {
            sources.forEach(c::source);
            destinations.forEach(c::destination);
        } finally {
            c.sessions.values().forEach(Check::close);
        }
        return c.items;
    }

    /**
     * The checks of one connection (the console's "Test connection"): reachable, authenticated, a supported server,
     * and what the transfers using it need of it.
     */
    static List<Item> connection(Connections connections, TransferCatalog catalog, ConnectionSettings s) {
        Check c = new Check(connections, catalog);
        boolean source = s.role() == ConnectionSettings.Role.SOURCE;
        List<TransferSpec> using = catalog.all().stream()
                .filter(t -> (source ? t.source() : t.destination()).equals(s.name())).toList();
        try {
            if (source) {
                c.source(s, using);
            } else {
                c.destination(s, using);
            }
        } finally {
            c.sessions.values().forEach(Check::close);
        }
        return c.items;
    }

    private static void rollback(Connection c) {
        try {
            c.rollback();
        } catch (SQLException e) {
            // a broken session: the next checks on it report it
        }
    }

    private static void close(Connection c) {
        try {
            if (c != null) {
                c.close();
            }
        } catch (SQLException e) {
            // a check's session: nothing more to do with it
        }
    }

    private void pass(String subject, String text) {
        items.add(new Item(Item.Status.PASS, subject, text, null));
    }

    private void warn(String subject, String text, String fix) {
        items.add(new Item(Item.Status.WARN, subject, text, fix));
    }

    private void fail(String subject, String text, String fix) {
        items.add(new Item(Item.Status.FAIL, subject, text, fix));
    }

    private static String subject(ConnectionSettings s) {
        return s.role().key() + " '" + s.name() + "'";
    }

    /** How much longer than its connect timeout a check's statement may go unanswered before the check gives up. */
    static final int NETWORK_SLACK_SECONDS = 10;

    /** Connects and checks the server's version; null when the connection failed (and was reported). */
    private Connection connect(ConnectionSettings s) {
        String subject = subject(s);
        Connection c;
        try {
            int timeout = Math.min(s.connectTimeoutSeconds(), 15);
            c = connections.openDirect(s, timeout);
            try {
                // a network gone silent after the connect would hold the check (and the console's HTTP worker that runs
                // it) for as long as the server's answers may take
                c.setNetworkTimeout(Runnable::run, (timeout + NETWORK_SLACK_SECONDS) * 1000);
            } catch (SQLException e) {
                c.close();
                throw e;
            }
        } catch (SQLException e) {
            fail(subject, "cannot connect to " + s.hostname() + ":" + s.port() + "/" + s.database() + " as " + s.user()
                    + (s.ssh() != null ? " through " + s.ssh() : "") + ": " + Errors.describe(e), fixFor(e, s));
            return null;
        }
        pass(subject, "reachable and authenticated: " + s.user() + "@" + s.hostname() + ":" + s.port() + "/" + s.database()
                + (s.ssh() != null ? " through the SSH tunnel " + s.ssh() : "") + tlsNote(c));
        try {
            int version = c.getMetaData().getDatabaseMajorVersion();
            String full = scalar(c, "SHOW server_version");
            if (version >= 13) {
                pass(subject, "PostgreSQL " + full + " (13 and later are supported)");
            } else if (version == 12) {
                warn(subject, "PostgreSQL " + full + ": 12 is supported on a best-effort basis", "upgrade to PostgreSQL 13 or later");
            } else {
                fail(subject, "PostgreSQL " + full + " is not supported", "Ferry needs PostgreSQL 13 or later (12 best effort)");
            }
        } catch (SQLException e) {
            fail(subject, "cannot read the server version: " + Errors.describe(e), null);
        }
        return c;
    }

    private static String tlsNote(Connection c) {
        try {
            String ssl = scalar(c, "SELECT CASE WHEN ssl THEN 'TLS ' || version ELSE 'no TLS' END FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
            return ssl == null ? "" : " (" + ssl + ")";
        } catch (SQLException e) {
            return "";
        }
    }

    private String fixFor(SQLException e, ConnectionSettings s) {
        if (Errors.describe(e).startsWith("SSH tunnel")) {
            return null; // the message says what to do
        }
        return PrivilegeHints.hint(e, s.role() == ConnectionSettings.Role.SOURCE ? s : null,
                s.role() == ConnectionSettings.Role.DESTINATION ? s : null);
    }

    private void source(ConnectionSettings s, List<TransferSpec> transfers) {
        Connection c = session(s);
        if (c == null) {
            return;
        }
        {
            for (TransferSpec t : transfers) {
                for (TableRef table : tables(c, s, t)) {
                    String subject = subject(s) + ", transfer '" + t.name() + "'";
                    try {
                        Map.Entry<Endpoint, TableRef> key = Map.entry(Endpoint.of(s), table);
                        SourceTable all = described.get(key);
                        if (all == null) {
                            all = SourceCatalog.describe(c, table);
                            described.put(key, all);
                        }
                        SourceTable st = all.select(t);
                        List<String> needed = st.neededColumns(t);
                        if (t.mode().incremental() && !st.hasKey()) {
                            items.add(new Item(Item.Status.FAIL, subject, table.display() + " has no primary key, and mode "
                                    + t.mode().key() + " merges by key", "set the transfer's 'key' parameter to columns that identify a row",
                                    catalog.where(t.name(), "tables") + ": transfer '" + t.name() + "': " + table.display()
                                            + " has no primary key, and mode " + t.mode().key() + " merges rows by key; set the 'key'"
                                            + " parameter to columns that identify a row"));
                        } else {
                            pass(subject, "can read " + table.display() + " (USAGE on its schema, SELECT on it"
                                    + (needed.isEmpty() ? "" : "; columns " + String.join(", ", needed.stream().map(Sql::displayIdent).toList())
                                    + " present") + ")");
                        }
                        columnRules(c, subject, t, st);
                    } catch (SourceTableException e) {
                        String config = null;
                        if (e.kind() != SourceTableException.Kind.PRIVILEGE) {
                            String param = e.kind() == SourceTableException.Kind.MISSING ? "tables" : e.parameter();
                            config = catalog.where(t.name(), param) + ": " + (e.getMessage().startsWith("transfer '")
                                    ? e.getMessage() : "transfer '" + t.name() + "': " + e.getMessage());
                        }
                        items.add(new Item(Item.Status.FAIL, subject, e.problem(), e.fix(), config));
                        rollback(c); // a refused read ends the session's transaction: the next tables need a new one
                    } catch (SQLException e) {
                        fail(subject, "cannot inspect " + table.display() + ": " + Errors.describe(e), fixFor(e, s));
                        rollback(c); // the session checks the next tables
                    }
                }
                beforeRun(c, s, t);
                unmatchedRules(s, t);
            }
        }
    }

    /** A transfer's beforeRun, run as a run runs it (read-only, rolled back): its statements run and its checks pass. */
    private void beforeRun(Connection c, ConnectionSettings s, TransferSpec t) {
        if (t.hooks().beforeRun().isEmpty()) {
            return;
        }
        String subject = subject(s) + ", transfer '" + t.name() + "'";
        try {
            dev.ferry.pipeline.HookSteps.beforeRun(c, t, java.util.UUID.randomUUID(), s);
            pass(subject, "beforeRun runs (" + t.hooks().beforeRun().size() + " statement(s), read-only) and its checks pass");
        } catch (SQLException | dev.ferry.pipeline.HookSteps.HookFailure e) {
            fail(subject, Errors.describe(e), e instanceof SQLException sql ? fixFor(sql, s) : null);
            rollback(c);
        }
    }

    /** Per transfer with patterns: its tables as the source check found them, for the destination's checks. */
    private final Map<String, List<TableRef>> resolved = new java.util.HashMap<>();

    /**
     * A transfer's tables to check: the ones it names, or with patterns the ones they match on the source now (as its
     * next run would find them, TableMatch), reported; none is a failure, as it fails the run.
     */
    private List<TableRef> tables(Connection c, ConnectionSettings s, TransferSpec t) {
        if (!t.tableSelection().hasPatterns()) {
            return t.tables();
        }
        String subject = subject(s) + ", transfer '" + t.name() + "'";
        try {
            List<TableRef> found = dev.ferry.source.TableMatch.resolve(c, t.tableSelection());
            resolved.put(t.name(), found);
            if (found.isEmpty()) {
                items.add(new Item(Item.Status.FAIL, subject, "'tables' (" + t.tableSelection() + ") matches no table",
                        "check the patterns (bare names fold to lower case; quote mixed-case ones), or run ferry discover "
                                + t.source() + " to see the source's tables",
                        catalog.where(t.name(), "tables") + ": transfer '" + t.name() + "': parameter 'tables' (" + t.tableSelection()
                                + ") matches no table at source " + t.source()));
            } else {
                pass(subject, "'tables' (" + t.tableSelection() + ") matches " + found.size() + " table(s) now");
            }
            return found;
        } catch (SQLException e) {
            fail(subject, "cannot match 'tables' (" + t.tableSelection() + ") against the source: " + Errors.describe(e), fixFor(e, s));
            rollback(c);
            return List.of();
        }
    }

    /**
     * A transfer's column rules on one table: cast types resolve, no rule changes a key the mode needs in clear, and the
     * read query with every expression runs on the source (LIMIT 0). A failure names the rule; its config line, where.
     */
    private void columnRules(Connection c, String subject, TransferSpec t, SourceTable selected) throws SQLException {
        if (t.columnRules().isEmpty()) {
            return;
        }
        SourceTable transformed = dev.ferry.source.ColumnTransform.apply(c, selected, t);
        List<String> changed = transformed.columns().stream().filter(col -> col.transform() != null)
                .map(col -> Sql.displayIdent(col.name())).toList();
        if (changed.isEmpty()) {
            return; // the rules name other tables' columns; a rule that names none at all is reported once per transfer
        }
        BatchPlanner.Query probe = BatchPlanner.probe(transformed, t);
        try (java.sql.PreparedStatement ps = c.prepareStatement(probe.sql())) {
            for (int i = 0; i < probe.params().size(); i++) {
                ps.setString(i + 1, String.valueOf(probe.params().get(i)));
            }
            ps.executeQuery().close();
            pass(subject, transformed.ref().display() + ": the source computes the column rules on " + String.join(", ", changed));
        } catch (SQLException e) {
            items.add(new Item(Item.Status.FAIL, subject, transformed.ref().display() + ": the read query with the column rules"
                    + " fails on the source: " + Errors.describe(e), "correct the rule on " + String.join(", ", changed), null));
            rollback(c);
        }
    }

    /** Rules that name a column none of a transfer's tables has: a typo that must not let a clear value through. */
    private void unmatchedRules(ConnectionSettings s, TransferSpec t) {
        if (t.columnRules().isEmpty()) {
            return;
        }
        Map<TableRef, List<String>> columns = new java.util.LinkedHashMap<>();
        for (TableRef table : resolved.getOrDefault(t.name(), t.tables())) {
            SourceTable all = described.get(Map.entry(Endpoint.of(s), table));
            if (all == null) {
                return; // a table that could not be described is reported already; the rule may be for it
            }
            columns.put(table, all.columnNames());
        }
        String subject = subject(s) + ", transfer '" + t.name() + "'";
        List<dev.ferry.config.ColumnRules.Rule> unmatched = t.columnRules().unmatchedRules(columns);
        for (dev.ferry.config.ColumnRules.Rule r : unmatched) {
            String problem = dev.ferry.config.ColumnRules.unmatchedProblem(r, columns.keySet());
            items.add(new Item(Item.Status.FAIL, subject, problem, null, catalog.where(t.name(), r.parameter()) + ": transfer '"
                    + t.name() + "': " + problem));
        }
        if (unmatched.isEmpty()) {
            pass(subject, "every column rule names a column of its tables");
        }
    }

    /**
     * The check's session to a connection's endpoint, opened (and its endpoint checked) on first use; null when it
     * cannot be reached (reported the first time).
     */
    private Connection session(ConnectionSettings s) {
        Endpoint endpoint = Endpoint.of(s);
        if (sessions.containsKey(endpoint)) {
            return sessions.get(endpoint);
        }
        Connection c = connect(s);
        sessions.put(endpoint, c);
        if (c != null && s.role() == ConnectionSettings.Role.DESTINATION) {
            try {
                if ("t".equals(scalar(c, "SELECT has_database_privilege(current_database(), 'TEMPORARY')"))) {
                    pass(subject(s), "TEMPORARY on database " + s.database() + " (incremental transfers stage rows in temporary tables)");
                } else {
                    fail(subject(s), s.user() + " may not create temporary tables", PrivilegeHints.grantTemporary(s.database(), s.user()));
                }
            } catch (SQLException e) {
                fail(subject(s), "checking failed: " + Errors.describe(e), fixFor(e, s));
            }
            dryRun(c, s);
        }
        return c;
    }

    private void destination(ConnectionSettings s, List<TransferSpec> transfers) {
        String subject = subject(s);
        Connection c = session(s);
        if (c == null) {
            return;
        }
        try {
            String schema = s.schema();
            boolean schemaExists = "1".equals(scalar(c, "SELECT 1 FROM pg_namespace WHERE nspname = ?", schema));
            if (schemaExists) {
                boolean all = "t".equals(scalar(c, "SELECT has_schema_privilege(?, 'CREATE') AND has_schema_privilege(?, 'USAGE')",
                        schema, schema));
                if (all) {
                    pass(subject, "schema " + Sql.displayIdent(schema) + " exists, and " + s.user() + " may create tables in it");
                } else {
                    fail(subject, "schema " + Sql.displayIdent(schema) + " exists, but " + s.user() + " may not create tables in it",
                            PrivilegeHints.grantAllOnSchema(schema, s.user()));
                }
            } else if ("t".equals(scalar(c, "SELECT has_database_privilege(current_database(), 'CREATE')"))) {
                pass(subject, "CREATE on database " + s.database() + ": Ferry can create schema " + Sql.displayIdent(schema));
            } else {
                fail(subject, "schema " + Sql.displayIdent(schema) + " does not exist and " + s.user() + " may not create it",
                        PrivilegeHints.grantCreateOnDatabase(s));
            }
            if (schemaExists) {
                for (TransferSpec t : transfers) {
                    for (TableRef table : resolved.getOrDefault(t.name(), t.tables())) {
                        String target = t.names().nameOf(table);
                        String owner = scalar(c, "SELECT pg_get_userbyid(c.relowner) FROM pg_class c JOIN pg_namespace n"
                                + " ON n.oid = c.relnamespace WHERE n.nspname = ? AND c.relname = ?", schema, target);
                        if (owner != null && !owner.equals(s.user()) && t.mode() == Mode.FULL_REFRESH) {
                            fail(subject + ", transfer '" + t.name() + "'", "destination table " + Sql.displayIdent(schema) + "."
                                    + Sql.displayIdent(target) + " belongs to " + owner + "; a full refresh replaces it, which"
                                    + " only its owner may do", PrivilegeHints.ownTable(schema, target, s.user()));
                        }
                    }
                }
            }
        } catch (SQLException e) {
            fail(subject, "checking failed: " + Errors.describe(e), fixFor(e, s));
        }
    }

    /** The write path without writing: a temporary table, one row through COPY, rolled back. */
    private void dryRun(Connection c, ConnectionSettings s) {
        String subject = subject(s);
        try {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.execute("CREATE TEMP TABLE " + DRY_RUN_TABLE + " (id int, note text) ON COMMIT DROP");
                long rows = c.unwrap(PGConnection.class).getCopyAPI().copyIn("COPY pg_temp." + DRY_RUN_TABLE + " FROM STDIN",
                        new ByteArrayInputStream("1\tferry check\n".getBytes(StandardCharsets.UTF_8)));
                if (rows != 1) {
                    throw new SQLException("COPY wrote " + rows + " rows instead of 1");
                }
            } finally {
                c.rollback();
                c.setAutoCommit(true); // the session checks the endpoint's other destinations next
            }
            pass(subject, "write path works: a temporary table and COPY (dry run, rolled back)");
        } catch (SQLException | java.io.IOException e) {
            fail(subject, "the write path failed in a dry run: " + Errors.describe(e),
                    e instanceof SQLException sql ? fixFor(sql, s) : null);
        }
    }

    private static String scalar(Connection c, String sql, String... params) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                ps.setString(i + 1, params[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }
}
