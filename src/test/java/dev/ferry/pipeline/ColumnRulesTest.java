package dev.ferry.pipeline;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TimeZone;
import java.util.concurrent.TimeUnit;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.LogCapture;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * hash, mask, nullify and cast, in every mode (full refresh in one and in two streams, incremental on the bulk path
 * with a retry, filtered through camel-sql, xmin, append, a full reload): the destination holds what the rules compute
 * from the source (hashes computed here with javax.crypto.Mac), the other columns exactly, and no clear value of a
 * hidden column anywhere in the destination database, nor the key in logs or run records.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ColumnRulesTest {

    static final String LONG = "hashed_column_with_a_name_exactly_sixty_three_bytes_long_012345";
    static final String KEY = "ferry-test-key-ü-" + Long.toHexString(System.nanoTime());
    static final int ROWS = 240;

    static TestDb src;
    static TestDb dst;
    static FerryHarness ferry;
    static LogCapture log;
    static LogCapture camelLog;
    static Path keyFile;
    /** Each destination schema's hashes of app."Customer Records", by id, after the first runs. */
    static final Map<String, Map<Long, String>> firstHashes = new LinkedHashMap<>();

    static final String[] SCHEMAS = {"export", "export2", "export3", "export4", "export5", "export6"};

    static String rules(String... extra) {
        List<String> all = new ArrayList<>(List.of(
                "hash", "email, born, " + LONG,
                "mask.\"Customer Records\".\"Phone Number\"", "partial(0,4)",
                "mask.ssn", "***",
                "cast.ssn", "varchar(3)",
                "nullify", "notes",
                "cast.amount", "NUMERIC(12, 2)"));
        all.addAll(List.of(extra));
        return String.join("\u0001", all);
    }

    static String t(String name, String mode, String destination, String... extra) {
        List<String> params = new ArrayList<>(List.of("mode", mode, "destination", destination, "retryDelay", "100ms"));
        params.addAll(List.of(rules().split("\u0001")));
        params.addAll(List.of(extra));
        return transfer(name, "app.\"Customer Records\", app.orders", params.toArray(String[]::new));
    }

    @BeforeAll
    static void setUp() throws Exception {
        src = TestDb.source("cols");
        dst = TestDb.destination("cols");
        // born is of a domain over timestamptz: hashed in UTC like the base type, whatever the session's zone
        src.execute("CREATE SCHEMA app", "CREATE DOMAIN app.moment AS timestamptz",
                "CREATE TABLE app.\"Customer Records\" (id bigint PRIMARY KEY, email text, \"Phone Number\" varchar(30), ssn text,"
                        + " notes text NOT NULL, amount numeric, born app.moment, updated_at timestamptz NOT NULL, label text, "
                        + LONG + " text)",
                "INSERT INTO app.\"Customer Records\" SELECT g,"
                        + " CASE WHEN g % 10 = 0 THEN NULL ELSE 'person' || g || '@clear.example' END,"
                        + " CASE WHEN g % 7 = 0 THEN 'x' || g % 100 ELSE '+1 555 ' || lpad(g::text, 7, '0') END,"
                        + " CASE WHEN g % 9 = 0 THEN NULL ELSE 'SSN' || lpad(g::text, 9, '0') END,"
                        + " 'secret note ' || g, g * 1.005,"
                        + " CASE WHEN g = 3 THEN 'infinity' WHEN g % 11 = 0 THEN NULL"
                        + "      ELSE timestamptz '1980-01-01 00:00:00.5+02' + g * interval '1 day 1 second' END,"
                        + " timestamptz '2025-01-01 00:00:00+00' + g * interval '1 second', 'label ' || g,"
                        + " 'long secret ' || g || ' ünï'"
                        + " FROM generate_series(1, " + ROWS + ") g",
                "CREATE TABLE app.orders (id bigint PRIMARY KEY, email text, total numeric(10,2), updated_at timestamptz NOT NULL)",
                "INSERT INTO app.orders SELECT g, 'buyer' || g || '@clear.example', g, timestamptz '2025-01-01' + g * interval '1 minute'"
                        + " FROM generate_series(1, 50) g");
        src.grantRead("app");
        // incremental: the user's table, whose trigger fails the first insert of row 77 as a deadlock would (transient)
        dst.execute("CREATE SCHEMA export3",
                "CREATE TABLE export3.\"Customer Records\" (id bigint PRIMARY KEY, email text, \"Phone Number\" text, ssn varchar(3),"
                        + " notes text, amount numeric(12,2), born text, updated_at timestamptz NOT NULL, label text, " + LONG + " text,"
                        + " _ferry_synced_at timestamptz, _ferry_run_id uuid)",
                "CREATE SEQUENCE export3.failures",
                "CREATE FUNCTION export3.fail_once() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                        + " IF NEW.id = 77 AND nextval('export3.failures') = 1 THEN"
                        + " RAISE EXCEPTION 'simulated deadlock' USING ERRCODE = '40P01'; END IF; RETURN NEW; END $$",
                "CREATE TRIGGER fail_once BEFORE INSERT ON export3.\"Customer Records\" FOR EACH ROW EXECUTE FUNCTION export3.fail_once()",
                "ALTER SCHEMA export3 OWNER TO \"" + dst.user() + "\"",
                "ALTER TABLE export3.\"Customer Records\" OWNER TO \"" + dst.user() + "\"",
                "ALTER SEQUENCE export3.failures OWNER TO \"" + dst.user() + "\"");
        keyFile = Files.createTempFile("ferry-hash-key", ".txt");
        Files.writeString(keyFile, KEY + "\n", StandardCharsets.UTF_8);
        Map<String, String> props = new LinkedHashMap<>();
        for (int i = 1; i < SCHEMAS.length; i++) {
            props.putAll(FerryHarness.destination("d" + (i + 1), dst, SCHEMAS[i]));
        }
        log = LogCapture.of("dev.ferry");
        camelLog = LogCapture.of("org.apache.camel");
        ferry = FerryHarness.start(src, dst, "export", routes(), props);
    }

    static String routes() {
        return t("full", "full_refresh", "dst", "hashKey", KEY)
                + t("full2", "full_refresh", "d2", "hashKeyFile", keyFile.toString(), "copyStreams", "2")
                + t("inc", "incremental", "d3", "hashKey", KEY, "cursor", "updated_at", "batchSize", "50", "lookback", "0")
                + t("filt", "incremental", "d4", "hashKey", KEY, "cursor", "updated_at", "batchSize", "60", "filter", "id > :min",
                "filter.min", "0")
                + t("xm", "xmin", "d5", "hashKey", KEY, "batchSize", "70")
                + t("app", "append", "d6", "hashKey", KEY, "cursor", "updated_at");
    }

    @AfterAll
    static void tearDown() {
        if (ferry != null) {
            ferry.close();
        }
        if (log != null) {
            log.close();
            camelLog.close();
        }
    }

    @Test
    @Order(1)
    void everyModeCopiesTheRulesResults() throws Exception {
        for (String name : List.of("full", "full2", "inc", "filt", "xm", "app")) {
            TransferRun run = ferry.sync(name);
            assertThat(run.status()).as(name + ": " + run.outcomes()).isEqualTo(TransferRun.Status.SUCCEEDED);
        }
        for (String schema : SCHEMAS) {
            firstHashes.put(schema, assertDestination(schema));
        }
        try (Connection d = dst.admin()) {
            assertThat(Dumps.rows(d, "SELECT status, attempts FROM export3._ferry_runs WHERE source_table = 'app.\"Customer Records\"'"))
                    .as("the incremental run was retried once after the simulated deadlock").containsExactly("succeeded|2");
            // each reader took the path it is meant to test: COPY in one and in two streams, COPY batches, the filtered query
            String path = "SELECT read_path FROM %s._ferry_runs WHERE source_table = 'app.\"Customer Records\"'";
            assertThat(Dumps.rows(d, String.format(path, "export"))).containsExactly("copy binary");
            assertThat(Dumps.rows(d, String.format(path, "export2"))).containsExactly("copy binary in 2 streams");
            assertThat(Dumps.rows(d, String.format(path, "export3"))).containsExactly("copy binary");
            assertThat(Dumps.rows(d, String.format(path, "export4"))).containsExactly("query");
            // a hashed column is a text column downstream; the cast's type as the source writes it
            assertThat(Dumps.rows(d, "SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"
                    + " WHERE a.attrelid = 'export.\"Customer Records\"'::regclass AND a.attnum > 0 ORDER BY a.attnum"))
                    .startsWith("id bigint", "email text", "Phone Number text", "ssn character varying(3)", "notes text",
                            "amount numeric(12,2)", "born text");
        }
    }

    @Test
    @Order(2)
    void changesAreCopiedTheSameWayAndAFullReloadToo() throws Exception {
        src.execute("UPDATE app.\"Customer Records\" SET email = 'changed' || id || '@clear.example', \"Phone Number\" = '+44 20 ' || id,"
                        + " updated_at = updated_at + interval '1 day' WHERE id % 5 = 0",
                "INSERT INTO app.\"Customer Records\" VALUES (1000, 'new1000@clear.example', '+33 1 0000 1000', 'SSN000001000', 'secret note 1000',"
                        + " 1.235, '2001-02-03 04:05:06+07', '2025-06-01', 'label 1000', 'long secret 1000')");
        for (String name : List.of("full", "full2", "inc", "filt", "xm", "app")) {
            TransferRun run = ferry.sync(name);
            assertThat(run.status()).as(name + ": " + run.outcomes()).isEqualTo(TransferRun.Status.SUCCEEDED);
        }
        for (String schema : List.of("export", "export2", "export3", "export4", "export5")) {
            assertDestination(schema);
        }
        // sync --full-refresh of an incremental transfer
        assertThat(ferry.runtime().runAll(List.of("inc"), true).get("inc").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
        assertDestination("export3");
    }

    @Test
    @Order(3)
    void noClearValueOfAHiddenColumnAnywhereAtTheDestinationNorTheKey() throws Exception {
        List<String> clear = new ArrayList<>();
        try (Connection s = src.admin()) {
            clear.addAll(Dumps.rows(s, "SELECT email FROM app.\"Customer Records\" WHERE email IS NOT NULL"));
            clear.addAll(Dumps.rows(s, "SELECT email FROM app.orders"));
            clear.addAll(Dumps.rows(s, "SELECT ssn FROM app.\"Customer Records\" WHERE ssn IS NOT NULL"));
            clear.addAll(Dumps.rows(s, "SELECT notes FROM app.\"Customer Records\""));
            clear.addAll(Dumps.rows(s, "SELECT " + LONG + " FROM app.\"Customer Records\""));
            clear.addAll(Dumps.rows(s, "SELECT \"Phone Number\" FROM app.\"Customer Records\" WHERE length(\"Phone Number\") > 4"));
        }
        clear.add(KEY);
        clear.addAll(List.of(pads()));
        assertThat(clear).hasSizeGreaterThan(1000);
        try (Connection d = dst.admin(); Statement st = d.createStatement()) {
            st.execute("CREATE TEMP TABLE clear_values (v text)");
            try (PreparedStatement ps = d.prepareStatement("INSERT INTO clear_values VALUES (?)")) {
                for (String v : clear) {
                    ps.setString(1, v);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            List<String> tables = Dumps.rows(d, "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n"
                    + " ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
                    + " AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast%'");
            assertThat(tables).contains("export._ferry_runs", "export3._ferry_state", "export2.\"Customer Records\"");
            // the search finds what is there: an untouched column's value
            assertThat(Dumps.rows(d, "WITH r AS MATERIALIZED (SELECT string_agg(CAST(t AS text), E'\\n') AS rows FROM export.\"Customer Records\" t)"
                    + " SELECT strpos(r.rows, 'label 17') > 0 FROM r")).containsExactly("t");
            for (String table : tables) {
                // every row as text, in one string per table, searched for each clear value
                assertThat(Dumps.rows(d, "WITH r AS MATERIALIZED (SELECT coalesce(string_agg(CAST(t AS text), E'\\n'), '') AS rows FROM "
                        + table + " t) SELECT v FROM clear_values, r WHERE strpos(r.rows, v) > 0")).as("clear values in " + table).isEmpty();
            }
        }
        List<String> lines = new ArrayList<>(log.lines());
        lines.addAll(camelLog.lines());
        for (String line : lines) {
            assertThat(line).doesNotContain(KEY).doesNotContain(pads()[0]).doesNotContain(pads()[1]);
        }
        assertThat(log.lines()).as("something was logged").isNotEmpty();
    }

    @Test
    @Order(4)
    void hashesAreStableAcrossRunsAndTheSourceRolesSessionSettings() throws Exception {
        src.execute("ALTER ROLE \"" + src.user() + "\" SET TimeZone = 'Pacific/Chatham'",
                "ALTER ROLE \"" + src.user() + "\" SET DateStyle = 'SQL, DMY'",
                "ALTER ROLE \"" + src.user() + "\" SET extra_float_digits = 0");
        ferry.close();
        TimeZone before = TimeZone.getDefault();
        // the JVM's zone is the session's TimeZone (pgjdbc sends it): a timestamptz is hashed in UTC whatever it is
        TimeZone.setDefault(TimeZone.getTimeZone("Asia/Kathmandu"));
        try {
            Map<String, String> props = new LinkedHashMap<>();
            for (int i = 1; i < SCHEMAS.length; i++) {
                props.putAll(FerryHarness.destination("d" + (i + 1), dst, SCHEMAS[i]));
            }
            ferry = FerryHarness.start(src, dst, "export", routes(), props);
            assertThat(ferry.sync("full").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            Map<Long, String> again = assertDestination("export");
            Map<Long, String> first = firstHashes.get("export");
            for (Map.Entry<Long, String> e : first.entrySet()) {
                if (e.getKey() % 5 != 0) { // rows 5, 10... changed in between
                    assertThat(again.get(e.getKey())).as("hashes of row " + e.getKey()).isEqualTo(e.getValue());
                }
            }
        } finally {
            TimeZone.setDefault(before);
            src.execute("ALTER ROLE \"" + src.user() + "\" RESET ALL");
        }
    }

    @Test
    @Order(5)
    void aRuleNamingNoColumnOfTheTransferFailsTheRunBeforeAnyWrite() throws Exception {
        TestDb s2 = TestDb.source("cols_typo");
        TestDb d2 = TestDb.destination("cols_typo");
        s2.execute("CREATE SCHEMA app", "CREATE TABLE app.people (id int PRIMARY KEY, email text, ssn text)",
                "INSERT INTO app.people VALUES (1, 'one@clear.example', 'SSN1')",
                "CREATE TABLE app.orders (id int PRIMARY KEY, email text)", "INSERT INTO app.orders VALUES (1, 'buyer@clear.example')");
        s2.grantRead("app");
        try (FerryHarness typo = FerryHarness.start(s2, d2, "export", transfer("typo", "app.people, app.orders",
                "hash", "email", "hashKey", KEY, "mask.people.ssn", "***"))) {
            // the column goes after startup's check: the run finds the rule names nothing, and writes nothing
            s2.execute("ALTER TABLE app.people DROP COLUMN ssn, ADD COLUMN sss text");
            TransferRun run = typo.sync("typo");
            assertThat(run.status()).isNotEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection d = d2.admin()) {
                assertThat(Dumps.scalar(d, "SELECT string_agg(error, ' / ') FROM export._ferry_runs"))
                        .contains("parameter 'mask.people.ssn' names column people.ssn, which no table of the transfer has")
                        .doesNotContain("'email' in");
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM pg_tables WHERE schemaname = 'export' AND tablename NOT LIKE '\\_ferry\\_%'"))
                        .as("nothing written").isEqualTo("0");
            }
        }
    }

    @Test
    @Order(6)
    void aMaskedPrimaryKeyOrAMistypedRuleStopsTheStartWithItsLine() throws Exception {
        TestDb d2 = TestDb.destination("cols_pk");
        String yaml = transfer("pk", "app.orders", "mode", "incremental", "cursor", "updated_at", "mask.orders.id", "0")
                + transfer("typo", "app.orders", "destination", "d2", "hash", "emial", "hashKey", KEY);
        assertThatThrownBy(() -> FerryHarness.start(src, d2, "export", yaml, FerryHarness.destination("d2", d2, "export2")))
                .hasMessageContaining("routes/transfers.yaml:16: transfer 'pk', table app.orders: parameter 'mask.orders.id' would"
                        + " change column id, the table's primary key, and mode incremental pages and merges rows by the key's clear"
                        + " values; remove the rule, or set the 'key' parameter to other columns that identify a row")
                .hasMessageContaining("routes/transfers.yaml:31: transfer 'typo': 'emial' in parameter 'hash' names column emial,"
                        + " which no table of the transfer has (app.orders)");
    }

    /**
     * Checks a destination schema's tables against the source, each hidden or cast column computed independently;
     * returns the hashes of app."Customer Records" (email, born and the long column) by id.
     */
    static Map<Long, String> assertDestination(String schema) throws Exception {
        Map<Long, List<String>> expected = new LinkedHashMap<>();
        try (Connection s = src.admin(); Statement st = s.createStatement()) {
            st.execute("SET TimeZone = 'UTC'");
            try (ResultSet rs = st.executeQuery("SELECT id, email, \"Phone Number\", ssn, amount, regexp_replace(born::text, '\\+00$', ''),"
                    + " updated_at::text, label, " + LONG + " FROM app.\"Customer Records\" ORDER BY id")) {
                while (rs.next()) {
                    String phone = rs.getString(3);
                    String masked = phone.length() <= 4 ? "*".repeat(phone.length()) : "*".repeat(phone.length() - 4) + phone.substring(phone.length() - 4);
                    BigDecimal amount = rs.getBigDecimal(5).setScale(2, RoundingMode.HALF_UP);
                    expected.put(rs.getLong(1), List.of(hmac(rs.getString(2)), masked, rs.getString(4) == null ? "null" : "***", "null",
                            amount.toPlainString(), hmac(rs.getString(6)), rs.getString(7), rs.getString(8), hmac(rs.getString(9))));
                }
            }
        }
        Map<Long, List<String>> actual = new LinkedHashMap<>();
        Map<Long, String> hashes = new LinkedHashMap<>();
        try (Connection d = dst.admin(); Statement st = d.createStatement()) {
            st.execute("SET TimeZone = 'UTC'");
            try (ResultSet rs = st.executeQuery("SELECT id, email, \"Phone Number\", ssn, notes, amount::text, born, updated_at::text, label, "
                    + LONG + " FROM " + schema + ".\"Customer Records\" ORDER BY id")) {
                while (rs.next()) {
                    List<String> row = new ArrayList<>();
                    for (int i = 2; i <= 10; i++) {
                        row.add(String.valueOf(rs.getString(i)));
                    }
                    actual.put(rs.getLong(1), row);
                    hashes.put(rs.getLong(1), row.get(0) + "|" + row.get(5) + "|" + row.get(8));
                }
            }
        }
        if (!schema.equals("export6")) {
            assertThat(actual).as(schema).hasSize(expected.size());
        }
        for (Map.Entry<Long, List<String>> e : actual.entrySet()) {
            assertThat(e.getValue()).as(schema + " row " + e.getKey()).containsExactlyElementsOf(expected.get(e.getKey()));
        }
        // app.orders: the hashed email, every other column exactly (EXCEPT both ways, on one server after a copy of the expectation)
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            List<String> want = new ArrayList<>();
            for (String row : Dumps.rows(s, "SELECT id, email, total::text, updated_at::text FROM app.orders ORDER BY id")) {
                String[] f = row.split("\\|", -1);
                want.add(f[0] + "|" + hmac(f[1]) + "|" + f[2] + "|" + f[3]);
            }
            List<String> got = Dumps.rows(d, "SELECT id, email, total::text, updated_at::text FROM " + schema + ".orders ORDER BY id");
            assertThat(got).as(schema + ".orders").containsExactlyElementsOf(want);
        }
        return hashes;
    }

    /** HMAC-SHA256 of the text in UTF-8, lowercase hex, as the README defines it; "null" for NULL. */
    static String hmac(String text) throws Exception {
        if (text == null) {
            return "null";
        }
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(KEY.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        return HexFormat.of().formatHex(mac.doFinal(text.getBytes(StandardCharsets.UTF_8)));
    }

    static String[] pads() {
        byte[] key = KEY.getBytes(StandardCharsets.UTF_8);
        byte[] ipad = new byte[64];
        byte[] opad = new byte[64];
        for (int i = 0; i < 64; i++) {
            byte k = i < key.length ? key[i] : 0;
            ipad[i] = (byte) (k ^ 0x36);
            opad[i] = (byte) (k ^ 0x5c);
        }
        return new String[] {HexFormat.of().formatHex(ipad), HexFormat.of().formatHex(opad)};
    }
}
