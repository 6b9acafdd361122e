package dev.ferry.pipeline;

import dev.ferry.destination.CopyRows;
import java.sql.Connection;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Which read path a table takes, and that each carries the same rows: binary COPY when both servers share an
 * encoding, text COPY when they do not (binary COPY would carry the source's bytes unconverted), camel-sql queries
 * for row filters and the NULL-cursor pass.
 */
class ReadPathTest {

    @Test
    void aSourceInAnotherEncodingIsCopiedAsTextAndConverted() throws Exception {
        TestDb src = TestDb.source("latin", "LATIN1");
        TestDb dst = TestDb.destination("latin");
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.names (id int PRIMARY KEY, name text, code char(3), tags varchar(20)[], updated_at timestamptz NOT NULL)",
                "INSERT INTO app.names SELECT g, 'Zoë ' || g || ' Müller ñ', 'é' || (g % 10), ARRAY['çà', NULL, 'ø' || g], now()"
                        + " FROM generate_series(1, 500) g");
        src.grantRead("app");
        String yaml = transfer("full", "app.names")
                + transfer("incremental", "app.names", "destination", "inc", "mode", "incremental", "cursor", "updated_at", "batchSize", "200");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml, FerryHarness.destination("inc", dst, "export_inc"))) {
            assertThat(ferry.sync("full").rows()).isEqualTo(500);
            assertThat(ferry.sync("incremental").rows()).isEqualTo(500);
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                Dumps.assertSameRows(s, "app", "names", d, "export", "names", "id");
                Dumps.assertSameRows(s, "app", "names", d, "export_inc", "names", "id");
                assertThat(Dumps.scalar(d, "SELECT name FROM export.names WHERE id = 7")).isEqualTo("Zoë 7 Müller ñ");
                assertThat(readPaths(d, "export")).isEqualTo("copy text");
                assertThat(readPaths(d, "export_inc")).isEqualTo("copy text");
            }
        }
    }

    /**
     * A COPY goes around the pool's statement tracking, so the pool does not end its transaction: Ferry must, or the
     * connection idles in the pool holding its lock on the table, and the source's DDL waits until the pool retires
     * the connection (ten minutes).
     */
    @Test
    void sourceSessionsHoldNoTransactionOrLockAfterARun() throws Exception {
        TestDb src = TestDb.source("paths_locks");
        TestDb dst = TestDb.destination("paths_locks");
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.t (id bigint PRIMARY KEY, note text, updated_at timestamptz NOT NULL)",
                "INSERT INTO app.t SELECT g, 'n' || g, now() - g * interval '1 second' FROM generate_series(1, 1000) g");
        src.grantRead("app");
        String yaml = transfer("full", "app.t") + transfer("streams", "app.t", "destination", "streams", "copyStreams", "2")
                + transfer("inc", "app.t", "destination", "inc", "mode", "incremental", "cursor", "updated_at", "batchSize", "300");
        java.util.Map<String, String> props = new java.util.HashMap<>(FerryHarness.destination("streams", dst, "streams"));
        props.putAll(FerryHarness.destination("inc", dst, "inc"));
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml, props)) {
            for (String name : new String[] {"inc", "streams", "full"}) {
                assertThat(ferry.sync(name).status()).as(name).isEqualTo(TransferRun.Status.SUCCEEDED);
                try (Connection s = src.admin()) {
                    assertThat(Dumps.rows(s, "SELECT state FROM pg_stat_activity WHERE usename = ? AND state LIKE 'idle in transaction%'",
                            src.user())).as("after %s: no source session of Ferry's is left in a transaction", name).isEmpty();
                }
            }
            src.execute("SET lock_timeout = '5s'; ALTER TABLE app.t DROP COLUMN note");
        }
    }

    @Test
    void filteredTransfersAndNullCursorsAreReadByQuery() throws Exception {
        TestDb src = TestDb.source("paths");
        TestDb dst = TestDb.destination("paths");
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.events (id bigint PRIMARY KEY, kind text NOT NULL, payload jsonb, amount numeric(12,2), happened_at timestamptz)",
                "INSERT INTO app.events SELECT g, CASE WHEN g % 3 = 0 THEN 'refund' ELSE 'sale' END, jsonb_build_object('n', g),"
                        + " g * 1.5, CASE WHEN g % 10 = 0 THEN NULL ELSE now() - g * interval '1 second' END FROM generate_series(1, 1000) g");
        src.grantRead("app");
        String yaml = transfer("nullable", "app.events", "mode", "incremental", "cursor", "happened_at", "batchSize", "300")
                + transfer("refunds", "app.events", "destination", "refunds", "mode", "incremental", "cursor", "happened_at",
                        "filter", "kind = :kind", "filter.kind", "refund");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml, FerryHarness.destination("refunds", dst, "refunds"))) {
            assertThat(ferry.sync("nullable").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(ferry.sync("refunds").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            src.execute("CREATE VIEW app.refunds AS SELECT * FROM app.events WHERE kind = 'refund'");
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                Dumps.assertSameRows(s, "app", "events", d, "export", "events", "id");
                Dumps.assertSameRows(s, "app", "refunds", d, "refunds", "events", "id");
                // the cursor-ordered rows by COPY, the 100 rows with a NULL cursor by query
                assertThat(readPaths(d, "export")).isEqualTo("copy binary, query");
                assertThat(readPaths(d, "refunds")).isEqualTo("query");
            }
        }
    }

    /**
     * The bulk path learns where a batch ended from the text of its last row's cursor and key; keys full of COPY's
     * special characters must page exactly, in binary and in text format (an enum column forces text).
     */
    @Test
    void keysWithCopySpecialCharactersPageExactlyInBothFormats() throws Exception {
        TestDb src = TestDb.source("keys");
        TestDb dst = TestDb.destination("keys");
        String keys = "VALUES (E'tab\\there'), (E'back\\\\slash'), (E'new\\nline'), (E'cr\\rx'), ('\\N'), (''), (' '), ('ünï山'),"
                + " ('a'), ('b'), (E'\\\\\\\\N'), ('x\"y'), (E'\\x01ctl'), ('zz')";
        src.execute("CREATE SCHEMA app",
                "CREATE TYPE app.mood AS ENUM ('sad', 'ok')",
                "CREATE TABLE app.plain (k text PRIMARY KEY, at timestamptz NOT NULL)",
                "INSERT INTO app.plain SELECT k, timestamptz '2025-01-01' + (row_number() OVER (ORDER BY k)) % 3 * interval '1 s'"
                        + " FROM (" + keys + ") v(k)",
                "CREATE TABLE app.moods (k text PRIMARY KEY, at timestamptz NOT NULL, mood app.mood)",
                "INSERT INTO app.moods SELECT k, at, 'ok' FROM app.plain");
        src.grantRead("app");
        String yaml = transfer("plain", "app.plain", "mode", "incremental", "cursor", "at", "batchSize", "2", "lookback", "0")
                + transfer("moods", "app.moods", "mode", "incremental", "cursor", "at", "batchSize", "2", "lookback", "0");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml)) {
            assertThat(ferry.sync("plain").rows()).isEqualTo(14);
            assertThat(ferry.sync("moods").rows()).isEqualTo(14);
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                Dumps.assertSameRows(s, "app", "plain", d, "export", "plain", "k");
                Dumps.assertSameRows(s, "app", "moods", d, "export", "moods", "k");
                assertThat(Dumps.scalar(d, "SELECT read_path FROM export._ferry_runs WHERE transfer = 'plain'")).isEqualTo("copy binary");
                assertThat(Dumps.scalar(d, "SELECT read_path FROM export._ferry_runs WHERE transfer = 'moods'")).isEqualTo("copy text");
                // the watermark is the last row in (cursor, key) order, exactly
                assertThat(Dumps.rows(d, "SELECT key_value[1] FROM export._ferry_state ORDER BY transfer"))
                        .containsExactly(Dumps.scalar(s, "SELECT k FROM app.moods ORDER BY at DESC, k DESC LIMIT 1"),
                                Dumps.scalar(s, "SELECT k FROM app.plain ORDER BY at DESC, k DESC LIMIT 1"));
            }
            // nothing changed: nothing read again
            assertThat(ferry.sync("plain").rows()).isZero();
            assertThat(ferry.sync("moods").rows()).isZero();
        }
    }

    /**
     * Where a binary batch ended is written as text by Ferry itself for integer, uuid, date and timestamp cursors
     * and keys: every edge value must cast back to exactly the value the source holds.
     */
    @Test
    void cursorAndKeyValuesReadFromBinaryRowsCastBackExactly() throws Exception {
        TestDb src = TestDb.source("binkeys");
        String[] types = {"int2", "int4", "int8", "uuid", "date", "timestamp", "timestamptz"};
        src.execute("CREATE TABLE edge (id int, v2 int2, v4 int4, v8 int8, u uuid, d date, ts timestamp, tz timestamptz)",
                "INSERT INTO edge VALUES"
                        + " (1, -32768, -2147483648, -9223372036854775808, '00000000-0000-0000-0000-000000000000', '4713-01-01 BC',"
                        + "  '4713-01-01 00:00:00 BC', '4713-01-01 00:00:00+00 BC'),"
                        + " (2, 32767, 2147483647, 9223372036854775807, 'ffffffff-ffff-ffff-ffff-ffffffffffff', '5874897-12-31',"
                        + "  '294276-12-31 23:59:59.999999', '294276-12-31 23:59:59.999999+00'),"
                        + " (3, 0, 0, 0, '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', 'infinity', 'infinity', 'infinity'),"
                        + " (4, -1, -1, -1, NULL, '-infinity', '-infinity', '-infinity'),"
                        + " (5, 1, 1, 1, NULL, '0001-12-31 BC', '0001-12-31 23:59:59.999999 BC', '0001-01-01 00:00:00.000001+00'),"
                        + " (6, NULL, NULL, NULL, NULL, '1999-12-31', '1999-12-31 23:59:59.999999', '1999-12-31 23:59:59.999999+00'),"
                        + " (7, NULL, NULL, NULL, NULL, '2000-01-01', '2000-01-01 00:00:00.000001', '2024-02-29 12:34:56.789012+05:30'),"
                        + " (8, NULL, NULL, NULL, NULL, '1969-07-20', '1969-07-20 20:17:40.5', '1969-07-20 20:17:40.5-04')");
        int[] columns = {1, 2, 3, 4, 5, 6, 7};
        int[] oids = {21, 23, 20, 2950, 1082, 1114, 1184};
        try (Connection c = src.admin()) {
            org.postgresql.copy.CopyOut out = c.unwrap(org.postgresql.PGConnection.class).getCopyAPI()
                    .copyOut("COPY (SELECT * FROM edge ORDER BY id) TO STDOUT (FORMAT binary)");
            java.util.List<java.util.List<String>> rows = new java.util.ArrayList<>();
            byte[] message;
            while ((message = out.readFromCopy()) != null) {
                int at = CopyRows.tupleStart(message);
                if (at >= 0 && !(message[at] == (byte) 0xff && message[at + 1] == (byte) 0xff)) { // not the header alone, nor the trailer
                    rows.add(CopyRows.binaryFields(message, columns, oids));
                }
            }
            int row = 0;
            int checked = 0;
            for (java.util.List<String> texts : rows) {
                row++;
                for (int i = 0; i < columns.length; i++) {
                    String column = new String[] {"v2", "v4", "v8", "u", "d", "ts", "tz"}[i];
                    String same = Dumps.scalar(c, "SELECT " + column + " IS NOT DISTINCT FROM CAST(? AS " + types[i] + ") FROM edge WHERE id = ?",
                            texts.get(i), row);
                    assertThat(same).as("row %d, %s written as %s", row, column, texts.get(i)).isEqualTo("t");
                    checked++;
                }
            }
            assertThat(row).isEqualTo(8);
            assertThat(checked).isEqualTo(56);
        }
    }

    static String readPaths(Connection d, String schema) throws Exception {
        return Dumps.scalar(d, "SELECT string_agg(DISTINCT read_path, '; ') FROM " + schema + "._ferry_runs WHERE status = 'succeeded'");
    }
}
