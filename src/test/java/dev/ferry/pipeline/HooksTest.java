package dev.ferry.pipeline;

import java.sql.Connection;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hooks end to end on real servers: afterLoad (ANALYZE, GRANT, REFRESH MATERIALIZED VIEW, an INSERT of {run_id}, a
 * VACUUM after the commit) in full refresh and incremental transfers, with a mixed-case 63-byte table name; afterLoad
 * failures (the old table kept row by row, the batches committed before it kept); beforeRun checks, failures and a
 * write refused by READ ONLY, none of which touches the destination.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class HooksTest {

    /** 63 bytes, mixed case, with a space and both quote characters: every variable must quote it right. */
    static final String LONG = pad("Hook's \"Mixed\" Case");
    static final String ROLE = "ferry_reporting_" + ProcessHandle.current().pid();

    /** Set by the build (pom.xml, surefire's environmentVariables): a hook reads it with {{env:...}}. */
    static final String SECRET_ENV = "FERRY_TEST_HOOK_SECRET";

    static final int SOURCE_LOCK = 4243001;
    static final int DESTINATION_LOCK = 4242001;

    /** The advisory lock the test holds to keep transfer turna in its afterLoad, in its swap's transaction. */
    static final int TURN_GATE = 4244001;

    static TestDb src;
    static TestDb dst;
    static FerryHarness ferry;
    /** The webhook's events, as the failing transfers post them. */
    static final List<org.apache.camel.util.json.JsonObject> EVENTS = new java.util.concurrent.CopyOnWriteArrayList<>();
    static com.sun.net.httpserver.HttpServer webhook;

    static String pad(String s) {
        StringBuilder sb = new StringBuilder(s);
        while (sb.length() < 63) {
            sb.append(sb.length() % 2 == 0 ? 'X' : 'y');
        }
        return sb.toString();
    }

    static String q(String ident) {
        return '"' + ident.replace("\"", "\"\"") + '"';
    }

    @BeforeAll
    static void setUp() throws Exception {
        webhook = com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        webhook.createContext("/hook", exchange -> {
            try {
                EVENTS.add((org.apache.camel.util.json.JsonObject) org.apache.camel.util.json.Jsoner.deserialize(
                        new String(exchange.getRequestBody().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)));
                exchange.sendResponseHeaders(204, -1);
            } catch (Exception e) {
                exchange.sendResponseHeaders(400, -1);
            }
            exchange.close();
        });
        webhook.start();
        String url = "http://127.0.0.1:" + webhook.getAddress().getPort() + "/hook";
        src = TestDb.source("hooks");
        dst = TestDb.destination("hooks");
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.orders (id int PRIMARY KEY, day date, amount numeric(10,2))",
                "INSERT INTO app.orders SELECT g, date '2026-01-01' + g % 7, g * 1.5 FROM generate_series(1, 200) g",
                "CREATE TABLE app." + q(LONG) + " (id int PRIMARY KEY, note text)",
                "INSERT INTO app." + q(LONG) + " SELECT g, 'n' || g FROM generate_series(1, 30) g",
                "CREATE TABLE app.items (id int PRIMARY KEY, qty int, updated_at timestamptz NOT NULL)",
                "INSERT INTO app.items SELECT g, g, now() - interval '1 day' FROM generate_series(1, 50) g",
                "CREATE TABLE app.items2 (id int PRIMARY KEY, qty int, updated_at timestamptz NOT NULL)",
                "INSERT INTO app.items2 SELECT g, g, now() - interval '1 day' + g * interval '1 second' FROM generate_series(1, 40) g",
                "CREATE TABLE app.fail_src (id int PRIMARY KEY, v text)",
                "INSERT INTO app.fail_src SELECT g, 'old ' || g FROM generate_series(1, 60) g",
                "CREATE TABLE app.guard (ok boolean)",
                "INSERT INTO app.guard VALUES (false)",
                "CREATE TABLE app.vac (id int PRIMARY KEY, v text)",
                "INSERT INTO app.vac SELECT g, 'v' || g FROM generate_series(1, 25) g",
                "CREATE TABLE app.bf_table (id int PRIMARY KEY)",
                "INSERT INTO app.bf_table VALUES (1)",
                "CREATE TABLE app.sec1 (id int PRIMARY KEY)", "CREATE TABLE app.sec2 (id int PRIMARY KEY)",
                "CREATE TABLE app.turn_a (id int PRIMARY KEY)", "INSERT INTO app.turn_a SELECT generate_series(1, 10)",
                "CREATE TABLE app.turn_b (id int PRIMARY KEY)", "INSERT INTO app.turn_b SELECT generate_series(1, 10)",
                "CREATE TABLE app.sess (id int PRIMARY KEY, v text)", "INSERT INTO app.sess SELECT g, 's' || g FROM generate_series(1, 20) g");
        src.grantRead("app");
        dst.server().execute("postgres", "DO $$ BEGIN CREATE ROLE " + ROLE + "; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
        dst.execute("CREATE SCHEMA audit",
                "CREATE TABLE audit.hook_runs (run_id text, source_table text, n bigint)",
                "GRANT USAGE ON SCHEMA audit TO " + q(dst.user()),
                "GRANT INSERT ON audit.hook_runs TO " + q(dst.user()),
                "CREATE TABLE audit.hook_sessions (pid int)", "GRANT INSERT ON audit.hook_sessions TO " + q(dst.user()));

        // a first deployment without hooks: the tables the hooks below refresh a view of, or must keep, exist
        try (FerryHarness seed = FerryHarness.start(src, dst, "export",
                transfer("inc", "app.items", "mode", "incremental", "cursor", "updated_at", "lookback", "0")
                        + transfer("ff", "app.fail_src"))) {
            assertThat(seed.sync("inc").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(seed.sync("ff").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
        }
        dst.execute("CREATE MATERIALIZED VIEW export.item_totals AS SELECT count(*) AS n, sum(qty) AS total FROM export.items",
                "ALTER MATERIALIZED VIEW export.item_totals OWNER TO " + q(dst.user()));

        String audit = "INSERT INTO audit.hook_runs SELECT {run_id}, {source_table}, count(*) FROM {schema}.{table}";
        ferry = FerryHarness.start(src, dst, "export",
                transfer("full", "app.orders, app." + q(LONG),
                        "beforeRun", "SELECT count(*) > 0 FROM app.orders",
                        "afterLoad", "ANALYZE {schema}.{table};\n"
                                + "/* a comment; with a semicolon */\n"
                                + "GRANT SELECT ON {schema}.{table} TO " + ROLE + ";\n"
                                + audit + ";\n"
                                + "VACUUM (ANALYZE) {schema}.{table}")
                        + transfer("inc", "app.items", "mode", "incremental", "cursor", "updated_at", "lookback", "0",
                        "batchSize", "20",
                        "afterLoad", "ANALYZE {schema}.{table}; REFRESH MATERIALIZED VIEW {schema}.item_totals; " + audit)
                        + transfer("ff", "app.fail_src", "webhook", url,
                        "afterLoad", "ANALYZE {schema}.{table}; GRANT SELECT ON {schema}.{table} TO no_such_role_for_hooks")
                        + transfer("incfail", "app.items2", "mode", "incremental", "cursor", "updated_at", "lookback", "0",
                        "batchSize", "15", "afterLoad", "INSERT INTO audit.missing VALUES ({run_id})")
                        + transfer("vacfail", "app.vac", "afterLoad", "ANALYZE {schema}.{table}; VACUUM {schema}.no_such_table_for_hooks")
                        + transfer("slow", "app.bf_table", "destination", "dst5", "afterLoad", "ANALYZE {schema}.{table}; SELECT pg_sleep(30)")
                        + transfer("bf", "app.bf_table", "webhook", url, "beforeRun", "SELECT count(*) FROM app.guard; SELECT * FROM app.no_such_table")
                        // the server quotes the secret back in its error: Ferry must not pass it on
                        + transfer("secret", "app.sec1", "webhook", url,
                        "afterLoad", "ANALYZE {schema}.{table}; SELECT '{{env:" + SECRET_ENV + "}}'::int")
                        + transfer("secretvac", "app.sec2", "webhook", url,
                        "afterLoad", "VACUUM {schema}.\"{{env:" + SECRET_ENV + "}}\"")
                        // session state that outlives the hooks' transactions, in the sessions Ferry's pools reuse
                        + transfer("session", "app.sess", "destination", "dst6",
                        "beforeRun", "SELECT pg_advisory_lock(" + SOURCE_LOCK + "); PREPARE hook_prep_src AS SELECT 1;"
                                + " SELECT set_config('statement_timeout', '0', false)",
                        "afterLoad", "SELECT set_config('statement_timeout', '0', false); CREATE TEMP TABLE hook_tmp (a int);"
                                + " PREPARE hook_prep AS SELECT 1; SELECT pg_advisory_lock(" + DESTINATION_LOCK + ");"
                                + " INSERT INTO audit.hook_sessions SELECT pg_backend_pid()")
                        // two full refreshes into one schema (two connections to it): a swaps with an afterLoad that waits
                        + transfer("turna", "app.turn_a", "destination", "dst7a", "afterLoad", "SELECT pg_advisory_xact_lock(" + TURN_GATE + ")")
                        + transfer("turnb", "app.turn_b", "destination", "dst7b")
                        + transfer("bcheck", "app.bf_table", "destination", "dst2", "beforeRun", "SELECT ok FROM app.guard")
                        + transfer("bwrite", "app.bf_table", "destination", "dst3", "beforeRun", "INSERT INTO app.guard VALUES (true)")
                        + transfer("bwrite2", "app.bf_table", "destination", "dst4",
                        "beforeRun", "SET LOCAL transaction_read_only = off; INSERT INTO app.guard VALUES (true)"),
                merge(FerryHarness.destination("dst2", dst, "export2"), FerryHarness.destination("dst3", dst, "export3"),
                        FerryHarness.destination("dst4", dst, "export4"), FerryHarness.destination("dst5", dst, "export5"),
                        FerryHarness.destination("dst6", dst, "export6"), FerryHarness.destination("dst7a", dst, "export7"),
                        FerryHarness.destination("dst7b", dst, "export7"),
                        java.util.Map.of("ferry.destination.dst5.statementTimeout", "1s", "ferry.destination.dst6.statementTimeout", "1s",
                                "ferry.destination.dst7a.lockTimeout", "60s", "ferry.destination.dst7b.lockTimeout", "1s")));
    }

    @SafeVarargs
    static java.util.Map<String, String> merge(java.util.Map<String, String>... maps) {
        java.util.Map<String, String> all = new java.util.LinkedHashMap<>();
        for (java.util.Map<String, String> m : maps) {
            all.putAll(m);
        }
        return all;
    }

    @AfterAll
    static void tearDown() {
        if (ferry != null) {
            ferry.close();
        }
        if (webhook != null) {
            webhook.stop(0);
        }
    }

    /** The webhook's event of a run: a transfer_error whose error is the run's. */
    static void assertNotifiedError(TransferRun run) {
        assertThat(EVENTS).filteredOn(e -> run.id().toString().equals(e.getString("run_id"))).singleElement()
                .satisfies(e -> {
                    assertThat(e.getString("type")).isEqualTo("transfer_error");
                    assertThat(e.getString("error")).isEqualTo(run.error());
                });
    }

    /** The run's record for one table: status, error, attempts. */
    static List<String> record(Connection d, String schema, TransferRun run, String sourceTable) throws Exception {
        return Dumps.rows(d, "SELECT status || ' | ' || coalesce(error, '') || ' | ' || attempts FROM " + schema
                + "._ferry_runs WHERE run_id = ? AND source_table IS NOT DISTINCT FROM ?::text", run.id(), sourceTable);
    }

    /** A cumulative statistic is flushed by the server within a second or so: polled, up to a bound. */
    static void eventually(Connection d, String sql, Object... params) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!"t".equals(Dumps.scalar(d, sql, params))) {
            assertThat(System.nanoTime()).as("within 20s: %s", sql).isLessThan(deadline);
            Thread.sleep(20); // the poll's pace: the outcome is awaited by the loop, up to the bound
        }
    }

    @Test
    void fullRefreshAnalyzesGrantsRecordsTheRunAndVacuumsAfterTheCommit() throws Exception {
        TransferRun run = ferry.sync("full");

        assertThat(run.status()).as("%s", run.error()).isEqualTo(TransferRun.Status.SUCCEEDED);
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "orders", d, "export", "orders", "id");
            Dumps.assertSameRows(s, "app", LONG, d, "export", LONG, "id");
            for (String table : List.of("orders", LONG)) {
                // ANALYZE ran in the swap's transaction on the table swapped in: its statistics exist
                assertThat(Dumps.scalar(d, "SELECT count(*) > 0 FROM pg_stats WHERE schemaname = 'export' AND tablename = ?", table))
                        .as("pg_stats of %s", table).isEqualTo("t");
                assertThat(Dumps.scalar(d, "SELECT has_table_privilege(?, c.oid, 'SELECT') FROM pg_class c"
                        + " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'export' AND c.relname = ?", ROLE, table))
                        .isEqualTo("t");
                // VACUUM cannot run in a transaction block: it ran after the commit, on the table swapped in
                eventually(d, "SELECT last_vacuum IS NOT NULL AND last_analyze IS NOT NULL FROM pg_stat_user_tables"
                        + " WHERE schemaname = 'export' AND relname = ?", table);
            }
            // {run_id} and {source_table} as literals, {schema}.{table} the loaded table, seen before the commit
            assertThat(Dumps.rows(d, "SELECT run_id || ' ' || source_table || ' ' || n FROM audit.hook_runs h"
                    + " WHERE run_id = ?", run.id().toString())).containsExactlyInAnyOrder(
                    run.id() + " app.orders 200", run.id() + " app." + q(LONG) + " 30");
            assertThat(Dumps.rows(d, "SELECT DISTINCT run_id::text FROM export._ferry_runs WHERE transfer = 'full'"))
                    .containsExactly(run.id().toString());
            assertThat(record(d, "export", run, "app.orders")).containsExactly("succeeded |  | 1");
        }
    }

    @Test
    void incrementalRefreshesAMaterializedViewInTheLastTransaction() throws Exception {
        src.execute("INSERT INTO app.items SELECT g, g * 10, now() FROM generate_series(51, 75) g",
                "UPDATE app.items SET qty = qty + 1000, updated_at = now() WHERE id <= 5");

        TransferRun run = ferry.sync("inc");

        assertThat(run.status()).as("%s", run.error()).isEqualTo(TransferRun.Status.SUCCEEDED);
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "items", d, "export", "items", "id");
            assertThat(Dumps.scalar(d, "SELECT n || ' ' || total FROM export.item_totals"))
                    .isEqualTo(Dumps.scalar(s, "SELECT count(*) || ' ' || sum(qty) FROM app.items"));
            assertThat(Dumps.scalar(d, "SELECT count(*) > 0 FROM pg_stats WHERE schemaname = 'export' AND tablename = 'items'"))
                    .isEqualTo("t");
            eventually(d, "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE schemaname = 'export' AND relname = 'items'");
            assertThat(Dumps.rows(d, "SELECT h.run_id || ' ' || h.n FROM audit.hook_runs h JOIN export._ferry_runs r"
                    + " ON r.run_id::text = h.run_id WHERE r.transfer = 'inc'")).containsExactly(run.id() + " 75");
        }
    }

    @Test
    void aFailingAfterLoadKeepsTheOldTableOfAFullRefresh() throws Exception {
        List<String> before;
        try (Connection d = dst.admin()) {
            before = Dumps.dump(d, "export.fail_src", "*", "id");
        }
        src.execute("UPDATE app.fail_src SET v = 'new ' || id", "INSERT INTO app.fail_src VALUES (61, 'added')");

        TransferRun run = ferry.sync("ff");

        assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
        try (Connection d = dst.admin()) {
            assertThat(Dumps.dump(d, "export.fail_src", "*", "id")).containsExactlyElementsOf(before);
            List<String> rec = record(d, "export", run, "app.fail_src");
            assertThat(rec).hasSize(1);
            assertThat(rec.get(0)).startsWith("failed | afterLoad statement 2 of 2 on export.fail_src failed:"
                            + " GRANT SELECT ON \"export\".\"fail_src\" TO no_such_role_for_hooks: ERROR: role"
                            + " \"no_such_role_for_hooks\" does not exist; nothing was swapped: the table keeps its previous contents")
                    .contains("(SQLSTATE 42704)")
                    .endsWith(" | 1"); // a missing role is not retried
            assertThat(run.error()).contains("afterLoad statement 2 of 2");
            assertNotifiedError(run);
        }
    }

    @Test
    void aFailingAfterLoadInAnIncrementalTableKeepsItsCommittedBatches() throws Exception {
        TransferRun run = ferry.sync("incfail");

        assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            // every batch committed with its watermark before the table's last transaction, which the hook rolled back
            Dumps.assertSameRows(s, "app", "items2", d, "export", "items2", "id");
            assertThat(Dumps.scalar(d, "SELECT count(*) FROM export._ferry_state WHERE transfer = 'incfail'")).isEqualTo("1");
            List<String> rec = record(d, "export", run, "app.items2");
            assertThat(rec).hasSize(1);
            assertThat(rec.get(0)).startsWith("failed | afterLoad statement 1 of 1 on export.items2 failed: INSERT INTO"
                    + " audit.missing VALUES ('" + run.id() + "'): ERROR: relation \"audit.missing\" does not exist")
                    .contains("its batches committed before it are kept").endsWith(" | 1");
        }
    }

    @Test
    void aStatementAfterTheCommitThatFailsFailsTheTableWithItsLoadCommitted() throws Exception {
        TransferRun run = ferry.sync("vacfail");

        assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            // the load committed before VACUUM ran (it cannot run in a transaction block): the rows are in
            Dumps.assertSameRows(s, "app", "vac", d, "export", "vac", "id");
            List<String> rec = record(d, "export", run, "app.vac");
            assertThat(rec).hasSize(1);
            assertThat(rec.get(0)).startsWith("failed | afterLoad statement 2 of 2 on export.vac failed after the table's load"
                    + " committed (it cannot run in a transaction block, so it runs after the commit): VACUUM"
                    + " \"export\".no_such_table_for_hooks: ERROR: relation \"export.no_such_table_for_hooks\" does not exist;"
                    + " the load itself is committed (25 rows), not retried").endsWith(" | 1");
        }
    }

    /** The leading-words rule agrees with the server: what it runs after the commit is what PostgreSQL refuses in a block. */
    @Test
    void whatRunsAfterTheCommitIsWhatPostgresqlRefusesInATransactionBlock() throws Exception {
        dst.execute("CREATE SCHEMA IF NOT EXISTS cls", "CREATE TABLE cls.t (a int)", "CREATE INDEX i ON cls.t (a)",
                "CREATE TABLE cls.p (a int) PARTITION BY RANGE (a)", "CREATE TABLE cls.c PARTITION OF cls.p FOR VALUES FROM (0) TO (10)",
                "CREATE MATERIALIZED VIEW cls.m AS SELECT 1 AS a", "CREATE UNIQUE INDEX mi ON cls.m (a)");
        List<String> statements = List.of("VACUUM cls.t", "VACUUM (ANALYZE) cls.t", "/* c */ vacuum", "ANALYZE cls.t",
                "CREATE INDEX CONCURRENTLY ci ON cls.t (a)", "CREATE UNIQUE INDEX CONCURRENTLY cu ON cls.t (a)", "CREATE INDEX ti ON cls.t (a)",
                "DROP INDEX CONCURRENTLY cls.i", "DROP INDEX cls.i", "REINDEX TABLE cls.t", "REINDEX TABLE CONCURRENTLY cls.t",
                "REINDEX (VERBOSE) INDEX cls.i", "REINDEX SCHEMA cls", "CLUSTER cls.t USING i", "CLUSTER", "CLUSTER VERBOSE",
                "REFRESH MATERIALIZED VIEW cls.m", "REFRESH MATERIALIZED VIEW CONCURRENTLY cls.m", "GRANT SELECT ON cls.t TO " + ROLE,
                "ALTER TABLE cls.p DETACH PARTITION cls.c CONCURRENTLY", "ALTER TABLE cls.p DETACH PARTITION cls.c",
                "CREATE DATABASE never_made_by_hooks_test", "ALTER SYSTEM SET work_mem = '4MB'");
        try (Connection d = dst.admin()) {
            d.setAutoCommit(false);
            for (String sql : statements) {
                boolean ranInBlock;
                try (java.sql.Statement st = d.createStatement()) {
                    st.execute(sql);
                    ranInBlock = true;
                } catch (java.sql.SQLException e) {
                    assertThat(e.getSQLState()).as("%s: %s", sql, e.getMessage()).isEqualTo("25001");
                    ranInBlock = false;
                } finally {
                    d.rollback();
                }
                assertThat(dev.ferry.config.Hooks.inTransactionBlock(sql)).as(sql).isEqualTo(ranInBlock);
            }
        }
    }

    @Test
    void aHookThatOutlastsTheStatementTimeoutFailsTheTableWithoutRetries() throws Exception {
        TransferRun run = ferry.sync("slow");

        assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
        try (Connection d = dst.admin()) {
            assertThat(Dumps.scalar(d, "SELECT to_regclass('export5.bf_table') IS NULL")).isEqualTo("t");
            assertThat(record(d, "export5", run, "app.bf_table")).singleElement().asString()
                    .startsWith("failed | afterLoad statement 2 of 2 on export5.bf_table ran longer than the destination's"
                            + " statementTimeout (PT1S): SELECT pg_sleep(30); nothing was swapped")
                    .contains("raise ferry.destination.dst5.statementTimeout").endsWith(" | 1");
        }
    }

    /** A hook's {{env:...}} secret runs, but reaches no log line, run record or webhook event, even when the server quotes it. */
    @Test
    void aSecretAHookReadsFromTheEnvironmentIsShownOnlyAsItsPlaceholder() throws Exception {
        String secret = System.getenv(SECRET_ENV);
        assertThat(secret).as("set by surefire (pom.xml)").isNotBlank();
        TransferRun run;
        TransferRun vac;
        String logs;
        try (dev.ferry.testing.LogCapture log = dev.ferry.testing.LogCapture.of("")) {
            run = ferry.sync("secret");
            vac = ferry.sync("secretvac");
            logs = log.text();
        }

        assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
        // the server got the value (and quoted it back): the message shows the placeholder in its place
        assertThat(run.error()).startsWith("app.sec1: afterLoad statement 2 of 2 on export.sec1 failed: SELECT '{{env:" + SECRET_ENV
                + "}}'::int: ERROR: invalid input syntax for type integer: \"{{env:" + SECRET_ENV + "}}\"");
        assertThat(vac.status()).isEqualTo(TransferRun.Status.FAILED);
        assertThat(vac.error()).contains("VACUUM \"export\".\"{{env:" + SECRET_ENV + "}}\": ERROR: relation \"export.{{env:"
                + SECRET_ENV + "}}\" does not exist");
        assertThat(logs).contains(run.error()).doesNotContain(secret);
        try (Connection d = dst.admin()) {
            List<String> records = Dumps.rows(d, "SELECT r::text FROM export._ferry_runs r WHERE run_id IN (?, ?)", run.id(), vac.id());
            assertThat(records).isNotEmpty().allSatisfy(r -> assertThat(r).doesNotContain(secret));
            assertThat(records).anySatisfy(r -> assertThat(r).contains("{{env:" + SECRET_ENV + "}}"));
        }
        assertNotifiedError(run);
        assertNotifiedError(vac);
        assertThat(EVENTS).allSatisfy(e -> assertThat(e.toJson()).doesNotContain(secret));
        assertThat(run.spec().toString() + vac.spec()).doesNotContain(secret);
    }

    /**
     * What hooks leave in a session beyond their transaction (a session setting, a temporary table, a prepared
     * statement, an advisory lock) is gone when the session goes back to Ferry's pool: its next statements run bounded.
     */
    @Test
    void sessionStateHooksLeaveDoesNotOutliveThem() throws Exception {
        TransferRun run = ferry.sync("session");

        assertThat(run.status()).as("%s", run.error()).isEqualTo(TransferRun.Status.SUCCEEDED);
        String pid;
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "sess", d, "export6", "sess", "id");
            assertThat(Dumps.scalar(s, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = ?", SOURCE_LOCK)).isEqualTo("0");
            assertThat(Dumps.scalar(d, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = ?", DESTINATION_LOCK)).isEqualTo("0");
            pid = Dumps.scalar(d, "SELECT max(pid)::text FROM audit.hook_sessions");
            assertThat(pid).isNotNull();
        }
        // the session afterLoad ran on, from Ferry's own pool: as Ferry set it up, its statements bounded by statementTimeout
        dev.ferry.connect.Connections connections = ferry.runtime().connections();
        dev.ferry.config.ConnectionSettings settings = connections.destination("dst6");
        List<Connection> taken = new java.util.ArrayList<>();
        Connection hooked = null;
        try {
            while (hooked == null) {
                Connection c = connections.tryConnection(settings, java.time.Duration.ofMillis(300));
                if (c == null) {
                    break;
                }
                taken.add(c);
                if (pid.equals(Dumps.scalar(c, "SELECT pg_backend_pid()::text"))) {
                    hooked = c;
                }
            }
            if (hooked == null) {
                try (Connection d = dst.admin()) { // not in the pool: it must be gone
                    assertThat(Dumps.scalar(d, "SELECT count(*) FROM pg_stat_activity WHERE pid = ?::int", pid)).isEqualTo("0");
                }
                return;
            }
            assertThat(Dumps.scalar(hooked, "SELECT current_setting('statement_timeout') || ' ' || (SELECT count(*) FROM pg_class"
                    + " WHERE relnamespace = pg_my_temp_schema()) || ' ' || (SELECT count(*) FROM pg_prepared_statements"
                    + " WHERE name = 'hook_prep')")).isEqualTo("1s 0 0");
            long start = System.nanoTime();
            try (java.sql.Statement st = hooked.createStatement()) {
                st.execute("SELECT pg_sleep(10)");
                org.assertj.core.api.Assertions.fail("pg_sleep(10) ran unbounded");
            } catch (java.sql.SQLException e) {
                assertThat(e.getSQLState()).as(e.getMessage()).isEqualTo("57014");
            }
            assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(5));
        } finally {
            for (Connection c : taken) {
                c.close();
            }
        }
    }

    /**
     * A swap waits for its schema's turn no longer than the destination's lockTimeout, then fails naming the transfer
     * (and session) that holds the turn. A full refresh holds it through its afterLoad, under an application name
     * that names it; here first a real one held up in its afterLoad, then (since a second run into that schema could
     * not even start meanwhile: the first one's transaction holds its run record) the turn held as it held it.
     */
    @Test
    void aSwapWaitsForTheSchemasTurnAtMostLockTimeoutAndNamesWhoHoldsIt() throws Exception {
        java.util.concurrent.ExecutorService runs = java.util.concurrent.Executors.newSingleThreadExecutor();
        try {
            java.util.concurrent.Future<TransferRun> a;
            try (Connection gate = dst.admin()) {
                try (java.sql.Statement st = gate.createStatement()) {
                    st.execute("SELECT pg_advisory_lock(" + TURN_GATE + ")");
                }
                a = runs.submit(() -> ferry.sync("turna"));
                // turna's afterLoad waits at the gate, in its swap's transaction: it holds export7's turn, named
                eventually(gate, "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid"
                        + " WHERE l.locktype = 'advisory' AND NOT l.granted AND l.objid = ? AND s.application_name = 'ferry swap: turna')",
                        TURN_GATE);
                assertThat(Dumps.scalar(gate, "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid"
                        + " WHERE l.locktype = 'advisory' AND l.granted AND l.objid = 0 AND l.objsubid = 2"
                        + " AND s.application_name = 'ferry swap: turna'")).isEqualTo("1");
            }
            TransferRun ranA = a.get(30, TimeUnit.SECONDS);
            assertThat(ranA.status()).as("%s", ranA.error()).isEqualTo(TransferRun.Status.SUCCEEDED);

            TransferRun b;
            long tookNanos;
            String holder;
            try (Connection turn = dst.admin()) {
                turn.setAutoCommit(false);
                try (java.sql.Statement st = turn.createStatement()) {
                    st.execute("SELECT set_config('application_name', 'ferry swap: turna', true),"
                            + " pg_advisory_xact_lock(hashtext('ferry swap:' || 'export7'), 0)");
                }
                holder = Dumps.scalar(turn, "SELECT pg_backend_pid()::text");
                long start = System.nanoTime();
                b = runs.submit(() -> ferry.sync("turnb")).get(15, TimeUnit.SECONDS); // unbounded, it would wait for the turn
                tookNanos = System.nanoTime() - start;
                turn.rollback();
            }
            assertThat(b.status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(b.error()).contains("the swap of export7.turn_b waited 1s (the destination's lockTimeout) for its turn to"
                            + " swap in schema export7 and gave up: transfer 'turna' (pid " + holder)
                    .contains("Nothing was swapped: export7.turn_b keeps its previous contents")
                    .contains("raise ferry.destination.dst7b.lockTimeout");
            assertThat(tookNanos).isLessThan(TimeUnit.SECONDS.toNanos(15));
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                Dumps.assertSameRows(s, "app", "turn_a", d, "export7", "turn_a", "id");
                assertThat(Dumps.scalar(d, "SELECT to_regclass('export7.turn_b') IS NULL")).isEqualTo("t");
                assertThat(record(d, "export7", b, "app.turn_b")).singleElement().asString().startsWith("failed |").endsWith(" | 1");
            }
        } finally {
            runs.shutdownNow();
        }
    }

    @Test
    void aFailingBeforeRunStopsTheRunBeforeAnyTable() throws Exception {
        TransferRun run = ferry.sync("bf");

        assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
        assertThat(run.error()).startsWith("beforeRun statement 2 of 2 on source 'src' failed: SELECT * FROM app.no_such_table:"
                + " ERROR: relation \"app.no_such_table\" does not exist");
        try (Connection d = dst.admin()) {
            assertThat(Dumps.scalar(d, "SELECT to_regclass('export.bf_table') IS NULL")).isEqualTo("t");
            assertThat(record(d, "export", run, null)).singleElement().asString()
                    .startsWith("failed | beforeRun statement 2 of 2").endsWith(" | 1");
        }
        assertNotifiedError(run);
        try (Connection d = dst.admin()) {
            assertThat(Dumps.scalar(d, "SELECT count(*) FROM export._ferry_runs WHERE run_id = ?", run.id())).isEqualTo("1");
        }
    }

    @Test
    void aBeforeRunCheckThatIsFalseStopsTheRunAndOneThatIsTrueLetsItGo() throws Exception {
        TransferRun run = ferry.sync("bcheck");

        assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
        assertThat(run.error()).isEqualTo("beforeRun statement 1 of 1 on source 'src', a check, returned false or NULL:"
                + " SELECT ok FROM app.guard; the run stopped before any table");
        try (Connection d = dst.admin()) {
            assertThat(Dumps.scalar(d, "SELECT to_regclass('export2.bf_table') IS NULL")).isEqualTo("t");
        }

        src.execute("UPDATE app.guard SET ok = true");
        try {
            assertThat(ferry.sync("bcheck").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                Dumps.assertSameRows(s, "app", "bf_table", d, "export2", "bf_table", "id");
            }
        } finally {
            src.execute("UPDATE app.guard SET ok = false");
        }
    }

    @Test
    void aBeforeRunThatWritesIsRefusedByReadOnly() throws Exception {
        for (String name : List.of("bwrite", "bwrite2")) {
            TransferRun run = ferry.sync(name);

            assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(run.error()).as(name).containsAnyOf("cannot execute INSERT in a read-only transaction",
                    "transaction read-write mode must be set before any query");
        }
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            assertThat(Dumps.rows(s, "SELECT ok::text FROM app.guard")).containsExactly("false");
            assertThat(Dumps.scalar(d, "SELECT to_regclass('export3.bf_table') IS NULL AND to_regclass('export4.bf_table') IS NULL"))
                    .isEqualTo("t");
        }
    }
}
