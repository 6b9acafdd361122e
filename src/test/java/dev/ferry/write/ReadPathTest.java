package dev.ferry.write;

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

    static String readPaths(Connection d, String schema) throws Exception {
        return Dumps.scalar(d, "SELECT string_agg(DISTINCT read_path, '; ') FROM " + schema + "._ferry_runs WHERE status = 'succeeded'");
    }
}
