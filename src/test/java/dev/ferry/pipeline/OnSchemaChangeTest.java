package dev.ferry.pipeline;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import com.sun.net.httpserver.HttpServer;
import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.apache.camel.util.json.JsonObject;
import org.apache.camel.util.json.Jsoner;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code onSchemaChange}: evolve reports what it changes, freeze keeps the destination's columns, fail stops before
 * writing; each in the run record and, with a webhook, as one schema_change event per table and run.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class OnSchemaChangeTest {

    static final String TYPES = """
            SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
            FROM pg_attribute WHERE attrelid = ?::regclass AND attnum > 0 AND NOT attisdropped
              AND attname NOT LIKE '\\_ferry\\_%'""";
    static final String NOTES = "SELECT string_agg(notes, ' | ') FROM export._ferry_runs WHERE run_id = ? AND source_table IS NOT NULL";

    HttpServer server;
    final List<JsonObject> events = new CopyOnWriteArrayList<>();

    @BeforeEach
    void startServer() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/hook", exchange -> {
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            try {
                events.add((JsonObject) Jsoner.deserialize(body));
            } catch (Exception e) {
                throw new java.io.IOException(e);
            }
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        server.start();
    }

    @AfterEach
    void stopServer() {
        server.stop(0);
    }

    String hook() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/hook";
    }

    List<JsonObject> events(String type) {
        return events.stream().filter(e -> type.equals(e.getString("type"))).toList();
    }

    static TestDb[] start(String prefix) throws Exception {
        TestDb src = TestDb.source(prefix);
        TestDb dst = TestDb.destination(prefix);
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.t (id int PRIMARY KEY, qty int, \"Label\" varchar(20), note text,"
                        + " updated_at timestamptz NOT NULL DEFAULT now())",
                "INSERT INTO app.t (id, qty, \"Label\", note) SELECT g, g, 'l' || g, 'n' || g FROM generate_series(1, 60) g",
                "CREATE TABLE app.f (id int PRIMARY KEY, qty int, note text)",
                "INSERT INTO app.f SELECT g, g * 10, 'f' || g FROM generate_series(1, 40) g");
        src.grantRead("app");
        return new TestDb[] {src, dst};
    }

    String incremental(String policy) {
        return transfer("t", "app.t", "mode", "incremental", "cursor", "updated_at", "lookback", "0", "onSchemaChange", policy,
                "webhook", hook());
    }

    @Test
    void evolveReportsEachChangeInTheRunRecordAndOneEvent() throws Exception {
        TestDb[] db = start("osc_evolve");
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", incremental("evolve"))) {
            ferry.sync("t");
            assertThat(events("schema_change")).as("a first run creates the table: no change").isEmpty();
            db[0].execute("ALTER TABLE app.t ADD COLUMN \"Discount Rate\" numeric(5,2)", "ALTER TABLE app.t ALTER COLUMN qty TYPE bigint",
                    "ALTER TABLE app.t DROP COLUMN note",
                    "UPDATE app.t SET \"Discount Rate\" = 0.25, qty = 9000000000, updated_at = now() WHERE id <= 5");
            TransferRun run = ferry.sync("t");

            assertThat(run.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = db[0].admin(); Connection d = db[1].admin()) {
                Dumps.assertSameRows(s, "app", "t", d, "export", "t", "id");
                assertThat(Dumps.scalar(d, NOTES, run.id()))
                        .contains("schema change: column \"Discount Rate\" (numeric(5,2)) is new at the source: added")
                        .contains("schema change: column qty widened from integer to bigint")
                        .contains("schema change: column note is no longer copied from the source");
            }
            List<JsonObject> changes = events("schema_change");
            assertThat(changes).hasSize(1);
            JsonObject e = changes.get(0);
            assertThat(e.getString("transfer")).isEqualTo("t");
            assertThat(e.getString("table")).isEqualTo("app.t");
            assertThat(e.getString("run_id")).isEqualTo(run.id().toString());
            assertThat(e.getString("policy")).isEqualTo("evolve");
            assertThat(e.getBoolean("stopped")).isFalse();
            assertThat(e.getCollection("changes").stream().map(c -> describe((JsonObject) c)).toList()).containsExactlyInAnyOrder(
                    "added Discount Rate null->numeric(5,2) applied", "retyped qty integer->bigint applied",
                    "dropped note text->null not applied");
            assertThat(events("transfer_success")).hasSize(2);
        }
    }

    static String describe(JsonObject c) {
        return c.getString("kind") + " " + c.getString("column") + " " + c.getString("from") + "->" + c.getString("to")
                + (c.getBoolean("applied") ? " applied" : " not applied");
    }

    @Test
    void freezeKeepsTheDestinationsColumnsInMergesAndFullRefreshes() throws Exception {
        TestDb[] db = start("osc_freeze");
        String yaml = incremental("freeze") + transfer("f", "app.f", "onSchemaChange", "freeze");
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", yaml)) {
            ferry.sync("t");
            ferry.sync("f");
            String tTypes;
            try (Connection d = db[1].admin()) {
                tTypes = Dumps.scalar(d, TYPES, "export.t");
                // widened by hand at the destination: freeze keeps it, and loads the source's int into it
                d.createStatement().execute("ALTER TABLE export.f ALTER COLUMN qty TYPE bigint");
            }
            db[0].execute("ALTER TABLE app.t ADD COLUMN \"Discount Rate\" numeric(5,2)",
                    "UPDATE app.t SET \"Discount Rate\" = 0.5, \"Label\" = 'new', updated_at = now() WHERE id <= 5",
                    "ALTER TABLE app.f ADD COLUMN extra text", "UPDATE app.f SET extra = 'x', note = 'g' || id");
            TransferRun t = ferry.sync("t");
            TransferRun f = ferry.sync("f");

            assertThat(t.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(f.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = db[0].admin(); Connection d = db[1].admin()) {
                assertThat(Dumps.scalar(d, TYPES, "export.t")).isEqualTo(tTypes);
                assertThat(Dumps.scalar(d, TYPES, "export.f")).isEqualTo("id integer, qty bigint, note text");
                String tCols = "id, qty, \"Label\", note, updated_at";
                assertThat(Dumps.dump(d, "export.t", tCols, "id")).containsExactlyElementsOf(Dumps.dump(s, "app.t", tCols, "id"));
                assertThat(Dumps.dump(d, "export.f", "id, qty, note", "id"))
                        .containsExactlyElementsOf(Dumps.dump(s, "app.f", "id, qty, note", "id"));
                assertThat(Dumps.scalar(d, NOTES, t.id()))
                        .contains("schema change ignored (freeze): new source column \"Discount Rate\" (numeric(5,2)) is not copied");
                assertThat(Dumps.scalar(d, NOTES, f.id()))
                        .contains("schema change ignored (freeze): new source column extra (text) is not copied")
                        .contains("schema change ignored (freeze): column qty is integer at the source, kept bigint at the destination");
            }
            JsonObject e = events("schema_change").get(0);
            assertThat(e.getString("policy")).isEqualTo("freeze");
            assertThat(e.getCollection("changes").stream().map(c -> describe((JsonObject) c)).toList())
                    .containsExactly("added Discount Rate null->numeric(5,2) not applied");
        }
    }

    @Test
    void freezeFailsATypeTheDestinationCannotHoldAndLeavesTheTableAsItWas() throws Exception {
        TestDb[] db = start("osc_freeze_bad");
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", incremental("freeze"))) {
            ferry.sync("t");
            List<String> before;
            String types;
            try (Connection d = db[1].admin()) {
                before = Dumps.dump(d, "export.t", "*", "id");
                types = Dumps.scalar(d, TYPES, "export.t");
            }
            db[0].execute("ALTER TABLE app.t ALTER COLUMN qty TYPE bigint", "UPDATE app.t SET qty = 9000000000, updated_at = now() WHERE id = 3");
            TransferRun run = ferry.sync("t");

            assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(run.firstError()).contains("column qty is integer at the destination but bigint at the source")
                    .contains("onSchemaChange is freeze").contains("set onSchemaChange: evolve for one run");
            try (Connection d = db[1].admin()) {
                assertThat(Dumps.dump(d, "export.t", "*", "id")).isEqualTo(before);
                assertThat(Dumps.scalar(d, TYPES, "export.t")).isEqualTo(types);
            }
        }
    }

    @Test
    void failStopsBeforeWritingAndListsTheDifferences() throws Exception {
        TestDb[] db = start("osc_fail");
        String yaml = incremental("fail") + transfer("f", "app.f", "onSchemaChange", "fail");
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", yaml)) {
            ferry.sync("t");
            ferry.sync("f");
            List<String> beforeT;
            List<String> beforeF;
            try (Connection d = db[1].admin()) {
                beforeT = Dumps.dump(d, "export.t", "*", "id");
                beforeF = Dumps.dump(d, "export.f", "*", "id");
            }
            db[0].execute("ALTER TABLE app.t ADD COLUMN \"Discount Rate\" numeric(5,2)", "ALTER TABLE app.t DROP COLUMN note",
                    "ALTER TABLE app.t ALTER COLUMN \"Label\" TYPE varchar(40)", "UPDATE app.t SET updated_at = now() WHERE id <= 5",
                    "ALTER TABLE app.f ALTER COLUMN qty TYPE bigint", "UPDATE app.f SET qty = qty + 1");
            TransferRun t = ferry.sync("t");
            TransferRun f = ferry.sync("f");

            assertThat(t.status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(t.firstError()).contains("destination table export.t differs from its source and the transfer's"
                            + " onSchemaChange is fail")
                    .contains("column \"Discount Rate\" (numeric(5,2)) is new at the source")
                    .contains("column \"Label\" is character varying(40) at the source but character varying(20) at the destination")
                    .contains("column note (text) is no longer copied from the source")
                    .contains("Nothing was written").contains("set onSchemaChange: evolve for one run");
            assertThat(f.status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(f.firstError()).contains("column qty is bigint at the source but integer at the destination");
            try (Connection d = db[1].admin()) {
                assertThat(Dumps.dump(d, "export.t", "*", "id")).as("unchanged row by row").isEqualTo(beforeT);
                assertThat(Dumps.dump(d, "export.f", "*", "id")).as("unchanged row by row").isEqualTo(beforeF);
            }
            List<JsonObject> changes = events("schema_change");
            assertThat(changes).hasSize(1); // transfer f has no webhook
            assertThat(changes.get(0).getString("policy")).isEqualTo("fail");
            assertThat(changes.get(0).getBoolean("stopped")).isTrue();
            assertThat((java.util.Collection<?>) changes.get(0).getCollection("changes")).hasSize(3);
            assertThat(events("transfer_error")).hasSize(1);
            assertThat(events("transfer_error").get(0).getString("run_id")).isEqualTo(t.id().toString());
        }
    }

    /**
     * The merge modes commit their schema changes before the first batch: a batch that then fails and is retried (the
     * retry finds nothing left to change) still reports them, once.
     */
    @Test
    void changesCommittedByAnAttemptThatFailedAreReportedOnceByItsRetry() throws Exception {
        TestDb[] db = start("osc_retry");
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", incremental("evolve") .replace(
                "      - name: every", "      - name: retryDelay\n        value: '50ms'\n      - name: every"))) {
            ferry.sync("t");
            // the first merge after this fails once, transiently (a serialization failure): the retry goes through
            db[1].execute("CREATE SEQUENCE export.attempts",
                    "CREATE FUNCTION export.fail_once() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$ BEGIN"
                            + " IF nextval('export.attempts') = 1 THEN RAISE EXCEPTION 'try again' USING ERRCODE = '40001'; END IF;"
                            + " RETURN NEW; END $$",
                    "CREATE TRIGGER fail_once BEFORE INSERT OR UPDATE ON export.t FOR EACH ROW EXECUTE FUNCTION export.fail_once()");
            db[0].execute("ALTER TABLE app.t ADD COLUMN discount numeric", "UPDATE app.t SET discount = 1, updated_at = now() WHERE id <= 3");
            TransferRun run = ferry.sync("t");

            assertThat(run.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = db[0].admin(); Connection d = db[1].admin()) {
                // the trigger's first firing failed (nextval 1), the retry's went through
                assertThat(Integer.parseInt(Dumps.scalar(d, "SELECT last_value FROM export.attempts"))).isGreaterThan(1);
                Dumps.assertSameRows(s, "app", "t", d, "export", "t", "id");
            }
            List<JsonObject> changes = events("schema_change");
            assertThat(changes).hasSize(1);
            assertThat(changes.get(0).getCollection("changes").stream().map(c -> describe((JsonObject) c)).toList())
                    .containsExactly("added discount null->numeric applied");
        }
    }

    /**
     * A full refresh's changes commit with its swap: an afterLoad statement that runs after the commit (VACUUM) and
     * fails still leaves them applied, and they are reported.
     */
    @Test
    void aFullRefreshsChangesAreReportedWhenAPostCommitHookFails() throws Exception {
        TestDb[] db = start("osc_vacuum");
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", transfer("f", "app.f", "webhook", hook(),
                "afterLoad", "VACUUM {schema}.no_such_table_for_osc"))) {
            assertThat(ferry.sync("f").status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(events("schema_change")).as("the first run creates the table").isEmpty();
            db[0].execute("ALTER TABLE app.f ADD COLUMN extra text", "UPDATE app.f SET extra = 'x' || id");
            TransferRun run = ferry.sync("f");

            assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(run.firstError()).contains("VACUUM");
            try (Connection s = db[0].admin(); Connection d = db[1].admin()) {
                Dumps.assertSameRows(s, "app", "f", d, "export", "f", "id"); // swapped in before the VACUUM
            }
            List<JsonObject> changes = events("schema_change");
            assertThat(changes).hasSize(1);
            assertThat(changes.get(0).getString("run_id")).isEqualTo(run.id().toString());
            assertThat(changes.get(0).getBoolean("stopped")).isFalse();
            assertThat(changes.get(0).getCollection("changes").stream().map(c -> describe((JsonObject) c)).toList())
                    .containsExactly("added extra null->text applied");
        }
    }

    static final String LABELS = "SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = 'export.mood'::regtype";
    static final String ATTRIBUTES = "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute"
            + " WHERE attrelid = (SELECT typrelid FROM pg_type WHERE oid = 'export.addr'::regtype) AND attnum > 0 AND NOT attisdropped";

    /**
     * Enum and composite types follow onSchemaChange too: fail stops on a missing label, attribute or type and changes
     * none; freeze creates no type for a column it does not copy, and stops on a label or attribute a copied column's
     * type lacks; evolve adds them and reports each change.
     */
    @Test
    void destinationTypesChangeOnlyUnderEvolveAndEachChangeIsReported() throws Exception {
        TestDb src = TestDb.source("osc_types");
        TestDb dst = TestDb.destination("osc_types");
        src.execute("CREATE SCHEMA app", "CREATE TYPE app.mood AS ENUM ('ok', 'sad')", "CREATE TYPE app.addr AS (street text)",
                "CREATE TABLE app.e (id int PRIMARY KEY, mood app.mood, addr app.addr, updated_at timestamptz NOT NULL DEFAULT now())",
                "INSERT INTO app.e (id, mood, addr) SELECT g, CASE WHEN g % 2 = 0 THEN 'ok' ELSE 'sad' END::app.mood,"
                        + " ROW('s' || g)::app.addr FROM generate_series(1, 30) g");
        src.grantRead("app");
        String yaml = transfer("fl", "app.e", "onSchemaChange", "fail", "destinationTable", "fl_{table}", "webhook", hook())
                + transfer("fz", "app.e", "onSchemaChange", "freeze", "destinationTable", "fz_{table}")
                + transfer("ev", "app.e", "mode", "incremental", "cursor", "updated_at", "lookback", "0",
                "destinationTable", "ev_{table}", "webhook", hook());
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml)) {
            for (String t : List.of("fl", "fz", "ev")) {
                assertThat(ferry.sync(t).status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            }
            // a new column of a new enum type: freeze does not copy it, and creates no type for it
            src.execute("CREATE TYPE app.size AS ENUM ('s', 'm')", "ALTER TABLE app.e ADD COLUMN size app.size",
                    "UPDATE app.e SET size = 'm', updated_at = now()");
            TransferRun frozen = ferry.sync("fz");
            assertThat(frozen.status()).as(frozen.error()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                assertThat(Dumps.scalar(d, "SELECT to_regtype('export.size')")).isNull();
                assertThat(Dumps.scalar(d, NOTES, frozen.id()))
                        .contains("schema change ignored (freeze): new source column size (export.size) is not copied");
                assertThat(Dumps.dump(d, "export.fz_e", "id, mood, addr", "id")).containsExactlyElementsOf(Dumps.dump(s, "app.e", "id, mood, addr", "id"));
            }
            // labels and attributes the destination's types lack
            src.execute("ALTER TYPE app.mood ADD VALUE 'meh' BEFORE 'sad'", "ALTER TYPE app.addr ADD ATTRIBUTE zip text");
            src.execute("UPDATE app.e SET mood = 'meh', addr = ROW('x', '75001')::app.addr, updated_at = now() WHERE id <= 3");
            TransferRun failed = ferry.sync("fl");
            TransferRun frozenStop = ferry.sync("fz");

            assertThat(failed.status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(failed.firstError()).contains("onSchemaChange is fail")
                    .contains("enum type export.mood of column mood lacks the source's label 'meh'")
                    .contains("composite type export.addr of column addr lacks the source's attribute zip text")
                    .contains("type export.size of column size is missing at the destination")
                    .contains("Nothing was written, no type was changed").contains("set onSchemaChange: evolve for one run");
            assertThat(frozenStop.status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(frozenStop.firstError()).contains("onSchemaChange is freeze")
                    .contains("enum type export.mood of column mood lacks the source's label 'meh'")
                    .contains("composite type export.addr of column addr lacks the source's attribute zip text")
                    .doesNotContain("export.size").contains("Nothing was written");
            try (Connection d = dst.admin()) {
                assertThat(Dumps.scalar(d, LABELS)).isEqualTo("ok,sad");
                assertThat(Dumps.scalar(d, ATTRIBUTES)).isEqualTo("street");
                assertThat(Dumps.scalar(d, "SELECT to_regtype('export.size')")).isNull();
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM export.fz_e WHERE mood::text = 'meh'")).isEqualTo("0");
            }
            List<JsonObject> stop = events("schema_change");
            assertThat(stop).hasSize(1);
            assertThat(stop.get(0).getBoolean("stopped")).isTrue();
            assertThat(stop.get(0).getCollection("changes").stream().map(c -> describe((JsonObject) c)).toList()).containsExactlyInAnyOrder(
                    "enum label added mood export.mood->'meh' not applied", "attribute added addr export.addr->zip text not applied",
                    "type created size null->export.size not applied");

            events.clear();
            TransferRun evolved = ferry.sync("ev");
            assertThat(evolved.status()).as(evolved.error()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                Dumps.assertSameRows(s, "app", "e", d, "export", "ev_e", "id");
                assertThat(Dumps.scalar(d, LABELS)).isEqualTo("ok,meh,sad");
                assertThat(Dumps.scalar(d, ATTRIBUTES)).isEqualTo("street,zip");
                assertThat(Dumps.scalar(d, NOTES, evolved.id()))
                        .contains("schema change: enum type export.mood (column mood): label 'meh' added")
                        .contains("schema change: composite type export.addr (column addr): attribute zip text added")
                        .contains("schema change: type export.size (column size) created");
            }
            List<JsonObject> applied = events("schema_change");
            assertThat(applied).hasSize(1);
            assertThat(applied.get(0).getCollection("changes").stream().map(c -> describe((JsonObject) c)).toList()).containsExactlyInAnyOrder(
                    "enum label added mood export.mood->'meh' applied", "attribute added addr export.addr->zip text applied",
                    "type created size null->export.size applied", "added size null->export.size applied");

            // a label added (committed on its own, before the table's transaction), then a retype the merge cannot
            // follow fails the table: the label stays, and is reported
            events.clear();
            src.execute("ALTER TYPE app.mood ADD VALUE 'glad'");
            src.execute("ALTER TABLE app.e ALTER COLUMN size TYPE text", "UPDATE app.e SET mood = 'glad', updated_at = now() WHERE id = 4");
            TransferRun retyped = ferry.sync("ev");
            assertThat(retyped.status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(retyped.firstError()).contains("size is export.size at the destination but text at the source");
            try (Connection d = dst.admin()) {
                assertThat(Dumps.scalar(d, LABELS)).isEqualTo("ok,meh,sad,glad");
            }
            List<JsonObject> standing = events("schema_change");
            assertThat(standing).hasSize(1);
            assertThat(standing.get(0).getString("run_id")).isEqualTo(retyped.id().toString());
            assertThat(standing.get(0).getCollection("changes").stream().map(c -> describe((JsonObject) c)).toList())
                    .containsExactly("enum label added mood export.mood->'glad' applied");
        }
    }
}
