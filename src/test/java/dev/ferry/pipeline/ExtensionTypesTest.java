package dev.ferry.pipeline;

import java.sql.Connection;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/** Extension types are kept when the destination has the extension, and carried as text, with a note, when it has not. */
class ExtensionTypesTest {

    static TestDb source() throws Exception {
        TestDb src = TestDb.source("ext");
        src.execute("CREATE EXTENSION citext", "CREATE EXTENSION hstore", "CREATE EXTENSION ltree", "CREATE SCHEMA app",
                "CREATE TABLE app.t (id int PRIMARY KEY, email citext, attrs hstore, path ltree, emails citext[])",
                "INSERT INTO app.t SELECT g, 'User' || g || '@Example.com', hstore(ARRAY['k', 'n'], ARRAY['v ' || g, NULL]),"
                        + " ('top.sub' || g)::ltree, ARRAY['A@b.c', NULL]::citext[] FROM generate_series(1, 100) g",
                "INSERT INTO app.t VALUES (0, NULL, NULL, NULL, NULL)");
        src.grantRead("app");
        return src;
    }

    static final String TYPES = "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) FROM pg_attribute"
            + " WHERE attrelid = 'export.t'::regclass AND attnum BETWEEN 1 AND 5";

    @Test
    void keptWhenTheDestinationHasTheExtension() throws Exception {
        TestDb src = source();
        TestDb dst = TestDb.destination("ext_kept");
        dst.execute("CREATE EXTENSION citext", "CREATE EXTENSION hstore", "CREATE EXTENSION ltree");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", transfer("t", "app.t"))) {
            TransferRun run = ferry.sync("t");
            assertThat(run.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                assertThat(Dumps.scalar(d, TYPES)).isEqualTo("id integer, email citext, attrs hstore, path ltree, emails citext[]");
                Dumps.assertSameRows(s, "app", "t", d, "export", "t", "id");
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM export.t WHERE email = 'USER5@EXAMPLE.COM'")).isEqualTo("1");
                assertThat(Dumps.scalar(d, "SELECT notes FROM export._ferry_runs WHERE run_id = ?", run.id())).isNull();
            }
        }
    }

    @Test
    void carriedAsTextWithANoteWhenTheDestinationLacksIt() throws Exception {
        TestDb src = source();
        TestDb dst = TestDb.destination("ext_text");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", transfer("t", "app.t"))) {
            TransferRun run = ferry.sync("t");
            assertThat(run.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                assertThat(Dumps.scalar(d, TYPES)).isEqualTo("id integer, email text, attrs text, path text, emails text[]");
                Dumps.assertSameRows(s, "app", "t", d, "export", "t", "id");
                assertThat(Dumps.scalar(d, "SELECT notes FROM export._ferry_runs WHERE run_id = ?", run.id()))
                        .contains("column email: type citext comes from extension citext, which the destination does not have,"
                                + " so the column holds its text form; run CREATE EXTENSION \"citext\" at the destination")
                        .contains("column attrs: type hstore").contains("column path: type ltree");
            }
        }
    }
}
