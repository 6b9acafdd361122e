package dev.ferry.pipeline;

import java.sql.Connection;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/** The destination follows the source's schema: each kind of change, one test each. */
@Tag("versions")
class SchemaEvolutionTest {

    static final String TYPES = """
            SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
            FROM pg_attribute WHERE attrelid = 'export.t'::regclass AND attnum > 0 AND NOT attisdropped
              AND attname NOT LIKE '\\_ferry\\_%'""";

    static TestDb[] start(String prefix) throws Exception {
        TestDb src = TestDb.source(prefix);
        TestDb dst = TestDb.destination(prefix);
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.t (id int PRIMARY KEY, qty int, label varchar(20), price numeric(10,2), note text,"
                        + " updated_at timestamptz NOT NULL DEFAULT now())",
                "INSERT INTO app.t (id, qty, label, price, note) SELECT g, g, 'l' || g, g * 1.5, 'n' || g FROM generate_series(1, 50) g");
        src.grantRead("app");
        return new TestDb[] {src, dst};
    }

    static String incremental() {
        return transfer("t", "app.t", "mode", "incremental", "cursor", "updated_at", "lookback", "0");
    }

    @Test
    void aNewSourceColumnIsAddedInTheRunThatFirstSeesIt() throws Exception {
        TestDb[] db = start("evo_add");
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", incremental())) {
            ferry.sync("t");
            db[0].execute("ALTER TABLE app.t ADD COLUMN tags text[]", "ALTER TABLE app.t ADD COLUMN \"Big Number\" numeric(30,5)",
                    "UPDATE app.t SET tags = ARRAY['x', id::text], \"Big Number\" = id * 1000.12345, updated_at = now() WHERE id <= 10");
            TransferRun run = ferry.sync("t");

            assertThat(run.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = db[0].admin(); Connection d = db[1].admin()) {
                assertThat(Dumps.scalar(d, TYPES)).isEqualTo("id integer, qty integer, label character varying(20), price numeric(10,2),"
                        + " note text, updated_at timestamp with time zone, tags text[], Big Number numeric(30,5)");
                Dumps.assertSameRows(s, "app", "t", d, "export", "t", "id");
                assertThat(Dumps.scalar(d, "SELECT notes FROM export._ferry_runs WHERE run_id = ?", run.id()))
                        .contains("column tags (text[]) is new at the source: added");
            }
        }
    }

    @Test
    void widenedTypesWidenTheDestinationColumn() throws Exception {
        TestDb[] db = start("evo_widen");
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", incremental())) {
            ferry.sync("t");
            db[0].execute("ALTER TABLE app.t ALTER COLUMN qty TYPE bigint", "ALTER TABLE app.t ALTER COLUMN label TYPE varchar(50)",
                    "ALTER TABLE app.t ALTER COLUMN price TYPE numeric(12,2)", "ALTER TABLE app.t ALTER COLUMN note TYPE text",
                    "UPDATE app.t SET qty = 9000000000, label = repeat('w', 50), price = 9999999999.99, updated_at = now() WHERE id = 7");
            TransferRun run = ferry.sync("t");

            assertThat(run.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = db[0].admin(); Connection d = db[1].admin()) {
                assertThat(Dumps.scalar(d, TYPES)).isEqualTo("id integer, qty bigint, label character varying(50), price numeric(12,2),"
                        + " note text, updated_at timestamp with time zone");
                Dumps.assertSameRows(s, "app", "t", d, "export", "t", "id");
            }
            // varchar to text widens too
            db[0].execute("ALTER TABLE app.t ALTER COLUMN label TYPE text", "UPDATE app.t SET label = repeat('z', 500), updated_at = now() WHERE id = 8");
            assertThat(ferry.sync("t").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = db[0].admin(); Connection d = db[1].admin()) {
                assertThat(Dumps.scalar(d, TYPES)).contains("label text");
                Dumps.assertSameRows(s, "app", "t", d, "export", "t", "id");
            }
        }
    }

    @Test
    void aDroppedSourceColumnStaysNullFromThenOn() throws Exception {
        TestDb[] db = start("evo_drop");
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", incremental())) {
            ferry.sync("t");
            db[0].execute("ALTER TABLE app.t DROP COLUMN note", "UPDATE app.t SET qty = -qty, updated_at = now() WHERE id <= 5",
                    "INSERT INTO app.t (id, qty, label, price) VALUES (51, 51, 'new', 1)");
            TransferRun run = ferry.sync("t");

            assertThat(run.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = db[0].admin(); Connection d = db[1].admin()) {
                assertThat(Dumps.scalar(d, TYPES)).contains("note text");
                assertThat(Dumps.rows(d, "SELECT id FROM export.t WHERE note IS NULL ORDER BY id")).containsExactly("1", "2", "3", "4", "5", "51");
                assertThat(Dumps.scalar(d, "SELECT note FROM export.t WHERE id = 6")).isEqualTo("n6");
                assertThat(Dumps.dump(d, "export.t", "id, qty, label, price, updated_at", "id"))
                        .isEqualTo(Dumps.dump(s, "app.t", "id, qty, label, price, updated_at", "id"));
                assertThat(Dumps.scalar(d, "SELECT notes FROM export._ferry_runs WHERE run_id = ?", run.id()))
                        .contains("column note is no longer copied from the source");
            }
        }
    }

    @Test
    void aDroppedColumnStaysNullInAFullRefreshToo() throws Exception {
        TestDb[] db = start("evo_drop_full");
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", transfer("t", "app.t"))) {
            ferry.sync("t");
            db[0].execute("ALTER TABLE app.t DROP COLUMN note");
            assertThat(ferry.sync("t").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = db[0].admin(); Connection d = db[1].admin()) {
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM export.t WHERE note IS NULL")).isEqualTo("50");
                Dumps.assertSameRows(s, "app", "t", d, "export", "t", "id");
            }
        }
    }

    @Test
    void anIncompatibleChangeFailsBeforeAnyRowIsWritten() throws Exception {
        TestDb[] db = start("evo_bad");
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", incremental())) {
            ferry.sync("t");
            java.util.List<String> before;
            try (Connection d = db[1].admin()) {
                before = Dumps.dump(d, "export.t", "*", "id");
            }
            db[0].execute("ALTER TABLE app.t ALTER COLUMN label TYPE integer USING length(label)",
                    "ALTER TABLE app.t ALTER COLUMN price TYPE text",
                    "ALTER TABLE app.t ALTER COLUMN qty TYPE smallint",
                    "ALTER TABLE app.t ADD COLUMN extra int",
                    "UPDATE app.t SET updated_at = now()");
            TransferRun run = ferry.sync("t");

            assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(run.firstError())
                    .contains("destination table export.t cannot take the source's rows")
                    .contains("column label is character varying(20) at the destination but integer at the source")
                    .contains("column price is numeric(10,2) at the destination but text at the source")
                    .doesNotContain("column qty") // narrowed at the source: the wider destination column still holds it
                    .contains("run the transfer once with mode full_refresh");
            try (Connection d = db[1].admin()) {
                assertThat(Dumps.dump(d, "export.t", "*", "id")).as("nothing written, not even the new column").isEqualTo(before);
            }
        }
        // the way out named in the message: a full refresh recreates the table with the source's types
        try (FerryHarness full = FerryHarness.start(db[0], db[1], "export", transfer("t", "app.t"))) {
            assertThat(full.sync("t").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = db[0].admin(); Connection d = db[1].admin()) {
                Dumps.assertSameRows(s, "app", "t", d, "export", "t", "id");
            }
        }
    }

    @Test
    void newEnumLabelsAreAddedInTheirSortPosition() throws Exception {
        TestDb src = TestDb.source("evo_enum");
        TestDb dst = TestDb.destination("evo_enum");
        src.execute("CREATE SCHEMA app", "CREATE TYPE app.level AS ENUM ('low', 'high')",
                "CREATE TABLE app.t (id int PRIMARY KEY, lvl app.level, updated_at timestamptz NOT NULL DEFAULT now())",
                "INSERT INTO app.t (id, lvl) VALUES (1, 'low'), (2, 'high')");
        src.grantRead("app");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", incremental())) {
            ferry.sync("t");
            src.execute("ALTER TYPE app.level ADD VALUE 'medium' BEFORE 'high'", "ALTER TYPE app.level ADD VALUE 'lowest' BEFORE 'low'");
            src.execute("INSERT INTO app.t (id, lvl) VALUES (3, 'medium'), (4, 'lowest')");
            assertThat(ferry.sync("t").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                assertThat(Dumps.rows(d, "SELECT id FROM export.t ORDER BY lvl")).containsExactly("4", "1", "3", "2");
                assertThat(Dumps.scalar(d, "SELECT enum_range(NULL::export.level)::text")).isEqualTo("{lowest,low,medium,high}");
                Dumps.assertSameRows(s, "app", "t", d, "export", "t", "id");
            }
        }
    }
}
