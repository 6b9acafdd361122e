package dev.ferry.pipeline;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.ferry.config.ConnectionSettings;
import dev.ferry.connect.Connections;
import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Values do not depend on the servers' settings: databases and roles carry their own defaults ({@code ALTER DATABASE
 * ... SET}, {@code ALTER ROLE ... SET}), and Ferry's sessions pin every setting that changes how a value is printed,
 * parsed or copied. The kitchen-sink table moves by full refresh and incrementally, on the text and the binary path,
 * with every such setting at an odd value at the source and, separately, at the destination, and arrives value by
 * value as it left.
 */
@Tag("versions")
class ServerSettingsTest {

    /** Odd database defaults: each would change a value, refuse one, or fail a run if Ferry's sessions took it. */
    static Map<String, String> oddDefaults(TestDb db) throws SQLException {
        Map<String, String> odd = new LinkedHashMap<>();
        odd.put("DateStyle", "'SQL, DMY'");
        odd.put("IntervalStyle", "'sql_standard'");
        odd.put("TimeZone", "'Pacific/Chatham'");
        odd.put("bytea_output", "'escape'");
        odd.put("xmloption", "'document'");
        odd.put("array_nulls", "off");
        odd.put("standard_conforming_strings", "off");
        odd.put("timezone_abbreviations", "'India'");
        odd.put("quote_all_identifiers", "on");
        odd.put("statement_timeout", "'1ms'");
        odd.put("idle_in_transaction_session_timeout", "'10ms'");
        odd.put("lock_timeout", "'1ms'");
        odd.put("tcp_keepalives_idle", "7200");
        odd.put("default_transaction_read_only", "on");
        odd.put("client_encoding", "'LATIN1'");
        // not pinned: Ferry's own SQL must not need a search path
        odd.put("search_path", "''");
        String locale = otherLocale(db);
        if (locale != null) {
            odd.put("lc_monetary", "'" + locale + "'");
        }
        return odd;
    }

    /** A locale other than C the server knows (lc_monetary accepts only those), or null. */
    static String otherLocale(TestDb db) throws SQLException {
        try (Connection c = db.admin()) {
            return Dumps.scalar(c, "SELECT min(collcollate) FROM pg_collation WHERE collprovider = 'c'"
                    + " AND collcollate NOT IN ('C', 'POSIX') AND collencoding IN (-1, pg_char_to_encoding(current_setting('server_encoding')))");
        }
    }

    /** Sets the odd defaults on the database, and extra_float_digits 0 on Ferry's role (a role default outranks the database's). */
    static void setOdd(TestDb db) throws SQLException {
        List<String> sql = new ArrayList<>();
        oddDefaults(db).forEach((name, value) -> sql.add("ALTER DATABASE " + q(db.database()) + " SET " + name + " = " + value));
        sql.add("ALTER ROLE " + q(db.user()) + " SET extra_float_digits = 0");
        // from another database: the odd settings would hit the test's own session too
        db.server().execute("postgres", sql.toArray(String[]::new));
    }

    static void resetOdd(TestDb db) throws SQLException {
        db.server().execute("postgres", "ALTER DATABASE " + q(db.database()) + " RESET ALL", "ALTER ROLE " + q(db.user()) + " RESET ALL");
    }

    static String q(String ident) {
        return '"' + ident.replace("\"", "\"\"") + '"';
    }

    @Test
    void oddSourceDefaultsTextPath() throws Exception {
        roundTrip(true, false, "copy text");
    }

    @Test
    void oddSourceDefaultsBinaryPath() throws Exception {
        roundTrip(true, true, "copy binary");
    }

    @Test
    void oddDestinationDefaultsTextPath() throws Exception {
        roundTrip(false, false, "copy text");
    }

    @Test
    void oddDestinationDefaultsBinaryPath() throws Exception {
        roundTrip(false, true, "copy binary");
    }

    /** As {@link KitchenSinkTest}, with the odd defaults set on one end while Ferry runs, and reset for the comparisons. */
    private void roundTrip(boolean oddSource, boolean builtInOnly, String readPath) throws Exception {
        TestDb src = TestDb.source("odd");
        TestDb dst = TestDb.destination("odd");
        int version = Math.min(KitchenSinkTest.version(src), KitchenSinkTest.version(dst));
        src.execute(KitchenSinkTest.setup("app", version));
        dst.execute(KitchenSinkTest.setup("ref", version));
        if (builtInOnly) {
            src.execute(KitchenSinkTest.dropUserDefined("app", version));
            dst.execute(KitchenSinkTest.dropUserDefined("ref", version));
        }
        src.grantRead("app");
        TestDb odd = oddSource ? src : dst;
        String yaml = FerryHarness.transfer("full", "app.kitchen", "batchSize", "2")
                + FerryHarness.transfer("incremental", "app.kitchen", "destination", "inc", "mode", "incremental",
                        "cursor", "updated_at", "batchSize", "2")
                // a row filter takes the query path (camel-sql reads each value's text), whatever the columns' types
                + FerryHarness.transfer("filtered", "app.kitchen", "destination", "flt", "mode", "incremental",
                        "cursor", "updated_at", "batchSize", "2", "filter", "id > :min", "filter.min", "0");
        // set before Ferry starts: every session it opens, from its startup checks on, meets the odd defaults
        setOdd(odd);
        java.util.Map<String, String> destinations = new java.util.HashMap<>(FerryHarness.destination("inc", dst, "export_inc"));
        destinations.putAll(FerryHarness.destination("flt", dst, "export_flt"));
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml, destinations)) {
            try {
                assertSucceeded(ferry.sync("full"));
                assertSucceeded(ferry.sync("incremental"));
                assertSucceeded(ferry.sync("filtered"));
            } finally {
                resetOdd(odd);
            }
            KitchenSinkTest.assertEqualColumnByColumn(dst, "export", version, builtInOnly);
            KitchenSinkTest.assertEqualColumnByColumn(dst, "export_inc", version, builtInOnly);
            KitchenSinkTest.assertEqualColumnByColumn(dst, "export_flt", version, builtInOnly);
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                assertThat(Dumps.scalar(d, "SELECT string_agg(DISTINCT read_path, '; ') FROM export._ferry_runs")).isEqualTo(readPath);
                Dumps.assertSameRows(s, "app", "kitchen", d, "export", "kitchen", "id");
                Dumps.assertSameRows(s, "app", "kitchen", d, "export_inc", "kitchen", "id");
                Dumps.assertSameRows(s, "app", "kitchen", d, "export_flt", "kitchen", "id");
                assertThat(Dumps.scalar(d, "SELECT string_agg(DISTINCT read_path, '; ') FROM export_flt._ferry_runs")).isEqualTo("query");
            }

            // incremental again, merging into existing rows, after the edge values move around between rows
            String moved = builtInOnly ? "c_real, c_double, c_xml, c_text_arr, c_bytea" : "c_real, c_double, c_xml, c_text_arr, c_bytea, c_address";
            String from = moved.replaceAll("(c_\\w+)", "o.$1");
            for (String schema : List.of("app", "ref")) {
                (schema.equals("app") ? src : dst).execute("UPDATE " + schema + ".kitchen k SET (" + moved + ", updated_at) = (" + from
                        + ", now()) FROM " + schema + ".kitchen o WHERE o.id = CASE k.id WHEN 4 THEN 1 ELSE k.id + 1 END");
            }
            setOdd(odd);
            TransferRun again;
            try {
                again = ferry.sync("incremental");
            } finally {
                resetOdd(odd);
            }
            assertSucceeded(again);
            assertThat(again.rows()).isEqualTo(4);
            KitchenSinkTest.assertEqualColumnByColumn(dst, "export_inc", version, builtInOnly);
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                Dumps.assertSameRows(s, "app", "kitchen", d, "export_inc", "kitchen", "id");
            }
        }
    }

    /**
     * {@code session_replication_role = replica} (only a superuser may set it, so Ferry cannot pin it) skips the
     * destination's triggers and foreign-key checks: the run is refused before it writes, saying how to fix it.
     */
    @Test
    void aDestinationRoleInReplicaModeIsRefusedBeforeAnyWrite() throws Exception {
        TestDb src = TestDb.source("replica");
        TestDb dst = TestDb.destination("replica");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.t (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL)",
                "INSERT INTO app.t VALUES (1, 'one', now()), (2, 'two', now())");
        src.grantRead("app");
        String yaml = FerryHarness.transfer("inc", "app.t", "mode", "incremental", "cursor", "updated_at");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml)) {
            assertSucceeded(ferry.sync("inc"));
        }
        // the user's trigger on the destination table, which must see every row Ferry writes
        dst.execute("CREATE TABLE public.audit (id int, v text)",
                "CREATE FUNCTION public.audit() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public"
                        + " AS $$BEGIN INSERT INTO audit VALUES (NEW.id, NEW.v); RETURN NEW; END$$",
                "CREATE TRIGGER audit AFTER INSERT OR UPDATE ON export.t FOR EACH ROW EXECUTE FUNCTION public.audit()");
        src.execute("UPDATE app.t SET v = v || '!', updated_at = now()");
        dst.server().execute("postgres", "ALTER ROLE " + q(dst.user()) + " SET session_replication_role = replica");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml)) {
            TransferRun run = ferry.sync("inc");
            assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(run.firstError()).contains("session_replication_role = replica")
                    .contains("run as a superuser on the destination: ALTER ROLE " + q(dst.user()) + " RESET session_replication_role;");
            try (Connection d = dst.admin()) {
                assertThat(Dumps.scalar(d, "SELECT string_agg(v, ',' ORDER BY id) FROM export.t")).isEqualTo("one,two");
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM public.audit")).isEqualTo("0");
            }
        } finally {
            dst.server().execute("postgres", "ALTER ROLE " + q(dst.user()) + " RESET session_replication_role");
        }
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml)) {
            assertSucceeded(ferry.sync("inc"));
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                Dumps.assertSameRows(s, "app", "t", d, "export", "t", "id");
                assertThat(Dumps.scalar(d, "SELECT string_agg(v, ',' ORDER BY id) FROM public.audit")).isEqualTo("one!,two!");
            }
        }
    }

    /**
     * A source role under a row-level security policy would read only the rows the policy shows it: the run fails
     * (row_security is off in Ferry's sessions) and says how to fix it, and the destination gets no partial table.
     */
    @Test
    void aSourceRoleUnderRowLevelSecurityFailsInsteadOfReadingASubset() throws Exception {
        TestDb src = TestDb.source("rls");
        TestDb dst = TestDb.destination("rls");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.t (id int PRIMARY KEY, v text)",
                "INSERT INTO app.t SELECT g, 'row ' || g FROM generate_series(1, 5) g",
                "ALTER TABLE app.t ENABLE ROW LEVEL SECURITY", "CREATE POLICY first_two ON app.t FOR SELECT USING (id < 3)");
        src.grantRead("app");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", FerryHarness.transfer("full", "app.t"))) {
            TransferRun run = ferry.sync("full");
            assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(run.firstError()).contains("row-level security").contains("BYPASSRLS");
            try (Connection d = dst.admin()) {
                assertThat(Dumps.scalar(d, "SELECT to_regclass('export.t')")).isNull();
            }
            src.server().execute("postgres", "ALTER ROLE " + q(src.user()) + " BYPASSRLS");
            assertSucceeded(ferry.sync("full"));
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                Dumps.assertSameRows(s, "app", "t", d, "export", "t", "id");
            }
        }
    }

    private static void assertSucceeded(TransferRun run) {
        assertThat(run.status()).as("run: %s", run.firstError()).isEqualTo(TransferRun.Status.SUCCEEDED);
    }

    /** What {@code SHOW} gives in Ferry's sessions for each pinned setting, whatever the database and role defaults. */
    static final Map<String, String> PINNED = new LinkedHashMap<>();

    static {
        PINNED.put("DateStyle", "ISO, MDY");
        PINNED.put("IntervalStyle", "postgres");
        PINNED.put("extra_float_digits", "3");
        PINNED.put("bytea_output", "hex");
        PINNED.put("standard_conforming_strings", "on");
        PINNED.put("lc_monetary", "C");
        PINNED.put("array_nulls", "on");
        PINNED.put("xmloption", "content");
        PINNED.put("timezone_abbreviations", "Default");
        PINNED.put("quote_all_identifiers", "off");
        PINNED.put("row_security", "off");
        // Ferry's own bounds (the defaults of statementTimeout, lockTimeout, and their sum with stallTimeout)
        PINNED.put("statement_timeout", "30min");
        PINNED.put("lock_timeout", "1min");
        PINNED.put("idle_in_transaction_session_timeout", "35min");
        PINNED.put("tcp_keepalives_idle", "60");
        PINNED.put("tcp_keepalives_interval", "10");
        PINNED.put("tcp_keepalives_count", "6");
        PINNED.put("client_encoding", "UTF8");
    }

    /**
     * Each pinned setting wins over a database default and over a role default, in pooled and in direct
     * connections, at both ends; {@code default_transaction_read_only} is pinned off at the destination only.
     */
    @Test
    void pinnedSettingsWinOverDatabaseAndRoleDefaults() throws Exception {
        TestDb src = TestDb.source("pin");
        TestDb dst = TestDb.destination("pin");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.t (id int PRIMARY KEY)");
        src.grantRead("app");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", FerryHarness.transfer("t", "app.t"))) {
            Connections connections = ferry.runtime().connections();
            for (String level : List.of("DATABASE", "ROLE")) {
                for (TestDb db : List.of(src, dst)) {
                    String target = level.equals("DATABASE") ? "DATABASE " + q(db.database()) : "ROLE " + q(db.user());
                    List<String> sql = new ArrayList<>();
                    oddDefaults(db).forEach((name, value) -> sql.add("ALTER " + target + " SET " + name + " = " + value));
                    sql.add("ALTER " + target + " SET extra_float_digits = 0");
                    sql.add("ALTER " + target + " SET row_security = on");
                    db.server().execute("postgres", sql.toArray(String[]::new));
                }
                try {
                    assertPinned(connections, connections.source("src"), false);
                    assertPinned(connections, connections.destination("dst"), true);
                } finally {
                    resetOdd(src);
                    resetOdd(dst);
                }
            }
        }
    }

    /** The timeouts a connection declares reach its sessions, at each end separately, over odd role defaults. */
    @Test
    void timeoutsComeFromEachConnectionsSettings() throws Exception {
        TestDb src = TestDb.source("pin_timeouts");
        TestDb dst = TestDb.destination("pin_timeouts");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.t (id int PRIMARY KEY)");
        src.grantRead("app");
        Map<String, String> props = Map.of("ferry.source.src.statementTimeout", "45s", "ferry.source.src.lockTimeout", "3s",
                "ferry.source.src.stallTimeout", "15s", "ferry.destination.dst.statementTimeout", "0",
                "ferry.destination.dst.lockTimeout", "250ms");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", FerryHarness.transfer("t", "app.t"), props)) {
            Connections connections = ferry.runtime().connections();
            for (TestDb db : List.of(src, dst)) {
                db.server().execute("postgres", "ALTER ROLE " + q(db.user()) + " SET statement_timeout = '1ms'",
                        "ALTER ROLE " + q(db.user()) + " SET lock_timeout = '1ms'");
            }
            try {
                Map<String, String> source = new LinkedHashMap<>(PINNED);
                source.putAll(Map.of("statement_timeout", "45s", "lock_timeout", "3s", "idle_in_transaction_session_timeout", "1min"));
                Map<String, String> destination = new LinkedHashMap<>(PINNED);
                // no statement bound: then no idle bound either (a statement at the other end may run for as long)
                destination.putAll(Map.of("statement_timeout", "0", "lock_timeout", "250ms", "idle_in_transaction_session_timeout", "0"));
                try (Connection c = connections.openDirect(connections.source("src"), 10)) {
                    check(c, source, Map.of(), "src");
                }
                try (Connection c = connections.openDirect(connections.destination("dst"), 10)) {
                    check(c, destination, Map.of(), "dst");
                }
                assertSucceeded(ferry.sync("t"));
            } finally {
                resetOdd(src);
                resetOdd(dst);
            }
        }
    }

    private static void assertPinned(Connections connections, ConnectionSettings s, boolean destination) throws Exception {
        Map<String, String> expected = new LinkedHashMap<>(PINNED);
        if (destination) {
            expected.put("default_transaction_read_only", "off");
        }
        // every setting Ferry pins is checked here
        assertThat(expected.keySet()).containsAll(Connections.PINNED.stream()
                .filter(p -> destination || p.end() == Connections.End.BOTH).map(Connections.Pinned::name).toList());
        // pgjdbc sends the JVM's zone: a database or role default must not win over it
        Map<String, String> notExpected = Map.of("TimeZone", "Pacific/Chatham");
        try (Connection direct = connections.openDirect(s, 10)) {
            check(direct, expected, notExpected, s.name() + " (direct)");
        }
        // the pool is empty before: the connection is new, and is evicted after so the next check gets a new one too
        Connection pooled = connections.dataSource(s).getConnection();
        try {
            check(pooled, expected, notExpected, s.name() + " (pooled)");
        } finally {
            connections.release(s, pooled, false);
        }
    }

    private static void check(Connection c, Map<String, String> expected, Map<String, String> notExpected, String what) throws Exception {
        Map<String, String> actual = new LinkedHashMap<>();
        for (String name : expected.keySet()) {
            actual.put(name, Dumps.scalar(c, "SHOW " + name));
        }
        assertThat(actual).as("settings in %s", what).isEqualTo(expected);
        for (Map.Entry<String, String> e : notExpected.entrySet()) {
            assertThat(Dumps.scalar(c, "SHOW " + e.getKey())).as("%s in %s", e.getKey(), what).isNotEqualTo(e.getValue());
        }
    }
}
