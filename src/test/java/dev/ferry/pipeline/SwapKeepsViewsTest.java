package dev.ferry.pipeline;

import java.sql.Connection;
import java.util.List;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A full refresh of a table that destination views depend on ends with the source's current columns and types, the
 * views working on the new rows, and never a silent cast: views Ferry's role owns are re-created around the swap;
 * with views it may not re-create, a changed type fails the run before anything is written.
 */
@Tag("versions")
class SwapKeepsViewsTest {

    static TestDb src;
    static TestDb dst;
    static FerryHarness ferry;

    @BeforeAll
    static void setUp() throws Exception {
        src = TestDb.source("views");
        dst = TestDb.destination("views");
        for (String t : List.of("owned", "notmine", "widened")) {
            src.execute("CREATE SCHEMA IF NOT EXISTS app",
                    "CREATE TABLE app." + t + " (id int PRIMARY KEY, amount numeric(10,2), label text)",
                    "INSERT INTO app." + t + " SELECT g, g * 1.25, 'l' || g FROM generate_series(1, 40) g");
        }
        src.grantRead("app");
        ferry = FerryHarness.start(src, dst, "export",
                transfer("owned", "app.owned") + transfer("notmine", "app.notmine") + transfer("widened", "app.widened"));
    }

    @AfterAll
    static void tearDown() {
        if (ferry != null) {
            ferry.close();
        }
    }

    @Test
    void viewsFerryOwnsAreRecreatedAndFollowANewTypeAndColumnExactly() throws Exception {
        refreshed("owned");
        String analyst = "analyst_views_" + dst.database().replaceAll("[^a-z0-9]", "_");
        dst.execute("CREATE ROLE " + q(analyst) + " NOLOGIN",
                "SET ROLE " + q(dst.user()) + ";"
                        + " CREATE VIEW export.owned_view WITH (security_barrier) AS SELECT id, amount, label FROM export.owned WHERE id > 0;"
                        + " CREATE VIEW export.owned_total AS SELECT sum(amount) AS total, count(*) AS n FROM export.owned_view;"
                        + " CREATE MATERIALIZED VIEW export.owned_mv AS SELECT id, amount FROM export.owned;"
                        + " CREATE UNIQUE INDEX owned_mv_id ON export.owned_mv (id);"
                        + " GRANT SELECT ON export.owned_view TO " + q(analyst) + ";"
                        + " COMMENT ON VIEW export.owned_view IS 'positive ids';"
                        + " COMMENT ON COLUMN export.owned_view.amount IS 'the amount'");
        List<String> described = views();
        src.execute("ALTER TABLE app.owned ALTER COLUMN amount TYPE numeric(10,4)",
                "UPDATE app.owned SET amount = amount + id * 0.0001",
                "ALTER TABLE app.owned ADD COLUMN note text",
                "UPDATE app.owned SET note = 'n' || id");

        refreshed("owned");

        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "owned", d, "export", "owned", "id");
            assertThat(Dumps.scalar(d, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
                    + " WHERE attrelid = 'export.owned'::regclass AND attname = 'amount'")).isEqualTo("numeric(10,4)");
            assertThat(Dumps.dump(d, "export.owned_view", "id, amount, label", "id"))
                    .isEqualTo(Dumps.dump(s, "app.owned", "id, amount, label", "id"));
            assertThat(Dumps.dump(d, "export.owned_mv", "id, amount", "id")).isEqualTo(Dumps.dump(s, "app.owned", "id, amount", "id"));
            assertThat(Dumps.scalar(d, "SELECT total || '/' || n FROM export.owned_total"))
                    .isEqualTo(Dumps.scalar(s, "SELECT sum(amount) || '/' || count(*) FROM app.owned"));
        }
        assertThat(views()).isEqualTo(described.stream().map(v -> v.replace("numeric(10,2)", "numeric(10,4)")).toList());
    }

    @Test
    void aChangedTypeUnderViewsFerryMayNotRecreateFailsBeforeWriting() throws Exception {
        refreshed("notmine");
        dst.execute("CREATE VIEW export.notmine_view AS SELECT id, amount FROM export.notmine");
        List<String> before;
        try (Connection d = dst.admin()) {
            before = Dumps.dump(d, "export.notmine", "*", "id");
        }
        src.execute("ALTER TABLE app.notmine ALTER COLUMN amount TYPE numeric(10,4)",
                "UPDATE app.notmine SET amount = amount + 0.0049");

        TransferRun run = ferry.sync("notmine");

        assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
        assertThat(run.firstError()).contains("export.notmine_view").contains("amount is numeric(10,2) there and numeric(10,4) at the source")
                .contains("Nothing was written").contains("ALTER VIEW \"export\".\"notmine_view\" OWNER TO \"" + dst.user() + "\"");
        try (Connection d = dst.admin()) {
            assertThat(Dumps.dump(d, "export.notmine", "*", "id")).as("the previous table, untouched").isEqualTo(before);
            assertThat(Dumps.scalar(d, "SELECT attempts FROM export._ferry_runs WHERE run_id = ?", run.id())).as("not retried").isEqualTo("1");
            FailedLoadTest.assertNoLoadTablesLeft(d);
        }
    }

    @Test
    void aNewSourceColumnUnderViewsFerryMayNotRecreateIsAddedAndTheViewsKeepWorking() throws Exception {
        refreshed("widened");
        dst.execute("CREATE VIEW export.widened_view AS SELECT id, amount, label FROM export.widened WHERE id % 2 = 0");
        src.execute("ALTER TABLE app.widened ADD COLUMN extra jsonb", "UPDATE app.widened SET extra = jsonb_build_object('id', id),"
                + " label = label || ' changed'", "INSERT INTO app.widened VALUES (100, 9.99, 'new', '{}')");

        refreshed("widened");

        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "widened", d, "export", "widened", "id");
            assertThat(Dumps.dump(d, "export.widened_view", "id, amount, label", "id"))
                    .isEqualTo(Dumps.dump(s, "(SELECT * FROM app.widened WHERE id % 2 = 0) w", "id, amount, label", "id"));
        }
    }

    private static void refreshed(String transfer) throws Exception {
        TransferRun run = ferry.sync(transfer);
        assertThat(run.status()).as("%s: %s", transfer, run.firstError()).isEqualTo(TransferRun.Status.SUCCEEDED);
    }

    /** The views of schema export as the catalog describes them: definition, options, owner, grants, comments, indexes. */
    private static List<String> views() throws Exception {
        try (Connection d = dst.admin()) {
            return Dumps.rows(d, """
                    SELECT c.relname || ' ' || c.relkind::text || ' ' || coalesce(c.reloptions::text, '') || ' ' || pg_get_userbyid(c.relowner)
                           || ' ' || coalesce(c.relacl::text, '') || ' ' || coalesce(obj_description(c.oid, 'pg_class'), '') || ' '
                           || coalesce(col_description(c.oid, 2), '') || ' ' || replace(pg_get_viewdef(c.oid), E'\\n', ' ') || ' '
                           || (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                               FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0) || ' '
                           || coalesce((SELECT string_agg(pg_get_indexdef(i.indexrelid), ', ') FROM pg_index i WHERE i.indrelid = c.oid), '')
                    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = 'export' AND c.relkind IN ('v', 'm') AND c.relname LIKE 'owned%' ORDER BY 1""");
        }
    }

    private static String q(String ident) {
        return '"' + ident.replace("\"", "\"\"") + '"';
    }
}
