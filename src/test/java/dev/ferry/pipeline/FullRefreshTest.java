package dev.ferry.pipeline;

import java.sql.Connection;
import java.util.List;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import static org.assertj.core.api.Assertions.assertThat;

/** Full refresh end to end: a varied source table, copied, compared row by row, changed, copied again. */
@Tag("versions")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FullRefreshTest {

    static final String THINGS = """
            CREATE TABLE app.things (
              id bigint PRIMARY KEY,
              small smallint, num numeric(12,2), big_num numeric, real_v real, dbl double precision,
              label varchar(40), body text, code char(3), flag boolean,
              created timestamptz, day date, at_time time, local_ts timestamp, span interval,
              doc jsonb, raw_json json, uid uuid, tags text[], matrix int[], blob bytea, addr inet,
              mood app.mood, qty app.positive)""";

    static final String FILL = """
            INSERT INTO app.things
            SELECT g,
                   CASE WHEN g % 10 = 0 THEN NULL ELSE (g % 32000)::smallint END,
                   CASE WHEN g % 10 = 1 THEN NULL ELSE g * 1.25 END,
                   CASE WHEN g % 97 = 0 THEN 12345678901234567890.123456789012345 ELSE g::numeric / 7 END,
                   CASE WHEN g % 50 = 0 THEN 'NaN'::real WHEN g % 51 = 0 THEN '-Infinity'::real ELSE g / 3.0 END,
                   CASE WHEN g % 52 = 0 THEN 'Infinity'::float8 ELSE g / 7.0 END,
                   'label ' || g,
                   CASE g % 6 WHEN 0 THEN E'tab\\there' WHEN 1 THEN E'new\\nline and \\\\ backslash' WHEN 2 THEN 'ünïcødé 山田 🚢'
                              WHEN 3 THEN '' WHEN 4 THEN NULL ELSE E'carriage\\rreturn "quotes" ''single''' END,
                   (ARRAY['abc', 'x', NULL])[1 + g % 3],
                   CASE WHEN g % 7 = 0 THEN NULL ELSE g % 2 = 0 END,
                   CASE WHEN g = 3 THEN 'infinity'::timestamptz WHEN g = 4 THEN '-infinity'::timestamptz
                        ELSE timestamptz '2024-02-29 12:34:56.789012+05:30' + g * interval '1 hour 1.000001 second' END,
                   CASE WHEN g = 5 THEN date '0044-03-15 BC' ELSE date '2000-01-01' + g END,
                   time '00:00:00.000001' + g * interval '17 seconds',
                   timestamp '1999-12-31 23:59:59.999999' + g * interval '1 day',
                   g * interval '1 day 2 hours 3.5 seconds' - interval '1 month',
                   CASE WHEN g % 11 = 0 THEN NULL ELSE jsonb_build_object('n', g, 'nested', jsonb_build_object('a', ARRAY[g, g + 1]), 's', E'q"\\\\') END,
                   ('{"b": 1,   "a": [' || g || ', null],  "dup": 1, "dup": 2}')::json,
                   md5(g::text)::uuid,
                   CASE WHEN g % 8 = 0 THEN NULL WHEN g % 8 = 1 THEN ARRAY[]::text[] ELSE ARRAY['a,b', 'c"d', NULL, E'e\\\\f', 'g h'] END,
                   ARRAY[g, NULL, -g],
                   CASE WHEN g % 9 = 0 THEN NULL ELSE decode(lpad(to_hex(g), 8, '0') || '00ff0a09', 'hex') END,
                   ('10.' || (g % 256) || '.0.1/32')::inet,
                   (enum_range(NULL::app.mood))[1 + g % 3],
                   1 + g % 100
            FROM generate_series(1, 5000) g""";

    static TestDb src;
    static TestDb dst;
    static FerryHarness ferry;

    @BeforeAll
    static void setUp() throws Exception {
        src = TestDb.source("full");
        dst = TestDb.destination("full");
        src.execute("CREATE SCHEMA app",
                "CREATE TYPE app.mood AS ENUM ('ok', 'meh', 'great')",
                "CREATE DOMAIN app.positive AS integer CHECK (VALUE > 0)",
                THINGS, FILL,
                "CREATE TABLE app.no_key (a int, b text)",
                "INSERT INTO app.no_key SELECT g % 10, 'v' || g FROM generate_series(1, 300) g");
        src.grantRead("app");
        ferry = FerryHarness.start(src, dst, "export",
                FerryHarness.transfer("things", "app.things, app.no_key", "batchSize", "700", "fetchSize", "100"));
    }

    @AfterAll
    static void tearDown() {
        if (ferry != null) {
            ferry.close();
        }
    }

    @Test
    @Order(1)
    void copiesEveryRowAndValueExactly() throws Exception {
        TransferRun run = ferry.sync("things");

        assertThat(run.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
        assertThat(run.outcomes()).hasSize(2);
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "things", d, "export", "things", "id");
            Dumps.assertSameRows(s, "app", "no_key", d, "export", "no_key", "a, b");
            assertThat(Dumps.count(d, "export.things")).isEqualTo(5000);
        }
    }

    @Test
    @Order(2)
    void keepsDeclaredTypesAndPrimaryKey() throws Exception {
        String types = """
                SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
                WHERE a.attrelid = ?::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum""";
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            List<String> sourceTypes = Dumps.rows(s, types, "app.things");
            List<String> destTypes = Dumps.rows(d, types, "export.things");
            // built-in types are kept exactly; the enum is recreated in the destination schema, the domain becomes its base type
            List<String> expected = sourceTypes.stream()
                    .map(t -> t.equals("mood app.mood") ? "mood export.mood" : t.equals("qty app.positive") ? "qty integer" : t)
                    .toList();
            assertThat(destTypes.subList(0, expected.size())).containsExactlyElementsOf(expected);
            assertThat(destTypes.subList(expected.size(), destTypes.size()))
                    .containsExactly("_ferry_synced_at timestamp with time zone", "_ferry_run_id uuid");
            assertThat(Dumps.scalar(d, """
                    SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
                    WHERE conrelid = 'export.things'::regclass AND contype = 'p'"""))
                    .isEqualTo("things_pkey PRIMARY KEY (id)");
        }
    }

    @Test
    @Order(3)
    void recordsTheRunAndStampsEveryRow() throws Exception {
        TransferRun run = ferry.sync("things");
        try (Connection d = dst.admin()) {
            assertThat(Dumps.rows(d, "SELECT DISTINCT _ferry_run_id::text FROM export.things")).containsExactly(run.id().toString());
            assertThat(Dumps.rows(d, "SELECT DISTINCT _ferry_synced_at = CAST(? AS timestamptz) FROM export.things",
                    run.syncedAt().toString())).containsExactly("t");
            // the run's values are not left as defaults for rows written later
            assertThat(Dumps.scalar(d, "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'export'"
                    + " AND table_name = 'things' AND column_name LIKE '\\_ferry\\_%' AND column_default IS NOT NULL")).isEqualTo("0");
            assertThat(Dumps.rows(d, """
                    SELECT transfer, source_table, destination_table, mode, status, rows, error IS NULL, finished_at >= started_at
                    FROM export._ferry_runs WHERE run_id = ? ORDER BY source_table""", run.id()))
                    .containsExactly(
                            "things|app.no_key|export.no_key|full_refresh|succeeded|300|t|t",
                            "things|app.things|export.things|full_refresh|succeeded|5000|t|t");
            // no load table is left behind
            assertThat(Dumps.scalar(d, "SELECT count(*) FROM pg_tables WHERE schemaname = 'export' AND tablename LIKE '\\_ferry\\_%' "
                    + "AND tablename NOT IN ('_ferry_runs', '_ferry_state', '_ferry_leases')")).isEqualTo("0");
        }
    }

    @Test
    @Order(4)
    void aSecondRefreshFollowsInsertsUpdatesAndDeletes() throws Exception {
        src.execute("INSERT INTO app.things (id, label, body) SELECT g, 'new ' || g, E'fresh\\trow' FROM generate_series(5001, 5100) g",
                "UPDATE app.things SET num = num + 1, body = 'updated', tags = ARRAY['u'] WHERE id % 13 = 0",
                "DELETE FROM app.things WHERE id % 17 = 0",
                "DELETE FROM app.no_key WHERE a = 3");

        TransferRun run = ferry.sync("things");

        assertThat(run.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "things", d, "export", "things", "id");
            Dumps.assertSameRows(s, "app", "no_key", d, "export", "no_key", "a, b");
        }
    }

    @Test
    @Order(5)
    void grantsIndexesAndDependentViewsSurviveARefresh() throws Exception {
        dst.execute("CREATE ROLE analyst_full NOLOGIN",
                "GRANT USAGE ON SCHEMA export TO analyst_full",
                "GRANT SELECT ON export.things TO analyst_full",
                "CREATE INDEX things_label_idx ON export.things (label)",
                "CREATE VIEW export.big_things AS SELECT a, b FROM export.no_key");
        src.execute("UPDATE app.things SET label = 'relabelled' WHERE id = 1", "INSERT INTO app.no_key VALUES (42, 'after view')");

        TransferRun run = ferry.sync("things");

        assertThat(run.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "things", d, "export", "things", "id");
            Dumps.assertSameRows(s, "app", "no_key", d, "export", "no_key", "a, b");
            assertThat(Dumps.scalar(d, "SELECT has_table_privilege('analyst_full', 'export.things', 'SELECT')")).isEqualTo("t");
            assertThat(Dumps.scalar(d, "SELECT indexdef FROM pg_indexes WHERE schemaname = 'export' AND indexname = 'things_label_idx'"))
                    .isEqualTo("CREATE INDEX things_label_idx ON export.things USING btree (label)");
            assertThat(Dumps.scalar(d, "SELECT b FROM export.big_things WHERE a = 42")).isEqualTo("after view");
        }
    }
}
