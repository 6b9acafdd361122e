package dev.ferry.pipeline;

import java.sql.Connection;
import java.sql.DriverManager;
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
 * What a user attaches to a destination table survives a full refresh, under its own name: row-level security,
 * constraints (checked against the new rows before the swap), foreign keys both ways, triggers, comments, storage
 * parameters, column grants. Each table has its own transfer; every test first refreshes it once, attaches something,
 * changes the source and refreshes again.
 */
@Tag("versions")
class SwapKeepsAttachmentsTest {

    static TestDb src;
    static TestDb dst;
    static FerryHarness ferry;
    static String suffix;

    @BeforeAll
    static void setUp() throws Exception {
        src = TestDb.source("attach");
        dst = TestDb.destination("attach");
        suffix = dst.database().replaceAll("[^a-z0-9]", "_");
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.tenant_rows (id int PRIMARY KEY, tenant text, v text)",
                "INSERT INTO app.tenant_rows SELECT g, CASE WHEN g % 3 = 0 THEN 'a' ELSE 'b' END, 'v' || g FROM generate_series(1, 60) g",
                "CREATE TABLE app.amounts (id int PRIMARY KEY, amount numeric(10,2))",
                "INSERT INTO app.amounts SELECT g, g * 1.5 FROM generate_series(1, 50) g",
                "CREATE TABLE app.codes (id int PRIMARY KEY, code text)",
                "INSERT INTO app.codes SELECT g, 'c' || g FROM generate_series(1, 50) g",
                "CREATE TABLE app.parents (id int PRIMARY KEY, name text)",
                "INSERT INTO app.parents SELECT g, 'p' || g FROM generate_series(1, 20) g",
                "CREATE TABLE app.children (id int PRIMARY KEY, kind int)",
                "INSERT INTO app.children SELECT g, 1 + g % 3 FROM generate_series(1, 30) g",
                "CREATE TABLE app.audited (id int PRIMARY KEY, v text)",
                "INSERT INTO app.audited SELECT g, 'v' || g FROM generate_series(1, 20) g",
                "CREATE TABLE app.described (id int PRIMARY KEY, v text, body text)",
                "INSERT INTO app.described SELECT g, 'v' || g, repeat('x', g) FROM generate_series(1, 20) g",
                "CREATE TABLE app.slots (id int PRIMARY KEY, during int4range)",
                "INSERT INTO app.slots SELECT g, int4range(g * 10, g * 10 + 5) FROM generate_series(1, 20) g",
                "CREATE TABLE app.tree (id int PRIMARY KEY, parent_id int)",
                "INSERT INTO app.tree SELECT g, CASE WHEN g > 1 THEN g / 2 END FROM generate_series(1, 31) g",
                "CREATE TABLE app.people (id int PRIMARY KEY, name text, salary int)",
                "INSERT INTO app.people SELECT g, 'n' || g, g * 1000 FROM generate_series(1, 20) g");
        src.grantRead("app");
        ferry = FerryHarness.start(src, dst, "export",
                transfer("rls", "app.tenant_rows") + transfer("check", "app.amounts") + transfer("unique", "app.codes")
                        + transfer("parents", "app.parents") + transfer("children", "app.children")
                        + transfer("trigger", "app.audited") + transfer("described", "app.described")
                        + transfer("people", "app.people") + transfer("tree", "app.tree")
                        + transfer("slots", "app.slots"));
    }

    @AfterAll
    static void tearDown() {
        if (ferry != null) {
            ferry.close();
        }
    }

    @Test
    void aRowLevelSecurityPolicyStillLimitsATenantAfterARefresh() throws Exception {
        refreshed("rls");
        String tenant = "tenant_a_" + suffix;
        String password = "pw_" + suffix;
        dst.server().execute("postgres", "CREATE ROLE " + q(tenant) + " LOGIN PASSWORD '" + password + "'",
                "GRANT CONNECT ON DATABASE " + q(dst.database()) + " TO " + q(tenant));
        dst.execute("GRANT USAGE ON SCHEMA export TO " + q(tenant),
                "GRANT SELECT ON export.tenant_rows TO " + q(tenant),
                "ALTER TABLE export.tenant_rows ENABLE ROW LEVEL SECURITY",
                "CREATE POLICY own_tenant ON export.tenant_rows FOR SELECT TO " + q(tenant) + " USING (tenant = 'a')",
                "CREATE POLICY no_deletes ON export.tenant_rows AS RESTRICTIVE FOR DELETE TO PUBLIC USING (false)",
                "ALTER TABLE export.tenant_rows FORCE ROW LEVEL SECURITY");
        List<String> before = attachments("export.tenant_rows");
        src.execute("INSERT INTO app.tenant_rows SELECT g, CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END, 'new' || g FROM generate_series(61, 80) g",
                "UPDATE app.tenant_rows SET v = 'changed' WHERE id % 5 = 0");

        refreshed("rls");

        assertThat(attachments("export.tenant_rows")).isEqualTo(before);
        try (Connection s = src.admin();
             Connection t = DriverManager.getConnection("jdbc:postgresql://" + dst.server().host() + ":" + dst.server().port() + "/"
                     + dst.database(), tenant, password)) {
            List<String> seen = Dumps.dump(t, "export.tenant_rows", "id, tenant, v", "id");
            assertThat(seen).as("the tenant sees exactly its own rows, as the source has them now")
                    .isEqualTo(Dumps.dump(s, "(SELECT * FROM app.tenant_rows WHERE tenant = 'a') x", "id, tenant, v", "id"))
                    .hasSize(30);
        }
    }

    @Test
    void aRowBreakingAUserCheckConstraintFailsTheRunAndKeepsTheOldTable() throws Exception {
        refreshed("check");
        dst.execute("ALTER TABLE export.amounts ADD CONSTRAINT amount_not_negative CHECK (amount >= 0)");
        List<String> attached = attachments("export.amounts");
        src.execute("UPDATE app.amounts SET amount = amount + 1", "UPDATE app.amounts SET amount = -5 WHERE id = 7");

        assertThat(assertFailsKeepingTheOldTable("check", "export.amounts", "amount_not_negative", "23514").firstError())
                .as("names the row").contains("key (id)=(7).");

        src.execute("UPDATE app.amounts SET amount = 5 WHERE id = 7");
        refreshed("check");
        assertThat(attachments("export.amounts")).isEqualTo(attached);
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "amounts", d, "export", "amounts", "id");
        }
    }

    @Test
    void aRowBreakingAUserUniqueConstraintFailsTheRunAndKeepsTheOldTable() throws Exception {
        refreshed("unique");
        dst.execute("ALTER TABLE export.codes ADD CONSTRAINT code_unique UNIQUE (code)",
                "COMMENT ON CONSTRAINT code_unique ON export.codes IS 'one row per code'");
        List<String> attached = attachments("export.codes");
        src.execute("UPDATE app.codes SET code = code || 'x'", "UPDATE app.codes SET code = 'c2x' WHERE id = 40");

        assertFailsKeepingTheOldTable("unique", "export.codes", "code_unique", "23505");

        src.execute("UPDATE app.codes SET code = 'c40x' WHERE id = 40");
        refreshed("unique");
        assertThat(attachments("export.codes")).isEqualTo(attached);
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "codes", d, "export", "codes", "id");
        }
    }

    @Test
    void aRowBreakingAUserExclusionConstraintFailsTheRunAndKeepsTheOldTable() throws Exception {
        refreshed("slots");
        dst.execute("ALTER TABLE export.slots ADD CONSTRAINT no_overlap EXCLUDE USING gist (during WITH &&)");
        List<String> attached = attachments("export.slots");
        src.execute("UPDATE app.slots SET during = int4range(lower(during) + 1, upper(during) + 1)",
                "UPDATE app.slots SET during = int4range(12, 30) WHERE id = 5");

        assertFailsKeepingTheOldTable("slots", "export.slots", "no_overlap", "23P01");

        src.execute("UPDATE app.slots SET during = int4range(51, 56) WHERE id = 5");
        refreshed("slots");
        assertThat(attachments("export.slots")).isEqualTo(attached);
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "slots", d, "export", "slots", "id");
        }
    }

    @Test
    void aForeignKeyFromAnotherTableToTheRefreshedOneSurvives() throws Exception {
        refreshed("parents");
        // the referencing table is Ferry's role's, so that Ferry may point its key at the new table
        dst.execute("SET ROLE " + q(dst.user()) + "; CREATE TABLE export.parent_notes (id int PRIMARY KEY, parent_id int"
                + " CONSTRAINT note_parent REFERENCES export.parents (id) ON DELETE CASCADE, note text)",
                "INSERT INTO export.parent_notes VALUES (1, 3, 'three'), (2, 5, 'five')");
        List<String> attached = attachments("export.parents");
        src.execute("UPDATE app.parents SET name = name || ' renamed'", "DELETE FROM app.parents WHERE id = 20");

        refreshed("parents");

        assertThat(attachments("export.parents")).isEqualTo(attached);
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "parents", d, "export", "parents", "id");
            assertThat(Dumps.scalar(d, "SELECT confrelid = 'export.parents'::regclass FROM pg_constraint WHERE conname = 'note_parent'"))
                    .isEqualTo("t");
            assertThat(Dumps.rows(d, "SELECT n.note, p.name FROM export.parent_notes n JOIN export.parents p ON p.id = n.parent_id ORDER BY n.id"))
                    .containsExactly("three|p3 renamed", "five|p5 renamed");
        }
        // the key is enforced against the new table: a source delete of a referenced row fails the run, old table kept
        src.execute("DELETE FROM app.parents WHERE id = 5", "UPDATE app.parents SET name = 'again'");
        assertFailsKeepingTheOldTable("parents", "export.parents", "note_parent", "23503");
        assertThat(attachments("export.parents")).isEqualTo(attached);
    }

    @Test
    void aForeignKeyFromTheRefreshedTableSurvivesAndIsChecked() throws Exception {
        refreshed("children");
        dst.execute("CREATE TABLE export.kinds (kind int PRIMARY KEY, label text)",
                "INSERT INTO export.kinds VALUES (1, 'one'), (2, 'two'), (3, 'three')",
                "GRANT REFERENCES ON export.kinds TO " + q(dst.user()),
                "ALTER TABLE export.children ADD CONSTRAINT child_kind FOREIGN KEY (kind) REFERENCES export.kinds (kind)");
        List<String> attached = attachments("export.children");
        src.execute("UPDATE app.children SET kind = 1 + (kind % 3)", "INSERT INTO app.children VALUES (31, 2)");

        refreshed("children");

        assertThat(attachments("export.children")).isEqualTo(attached);
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "children", d, "export", "children", "id");
        }
        src.execute("INSERT INTO app.children VALUES (32, 9)");
        assertFailsKeepingTheOldTable("children", "export.children", "child_kind", "23503");
    }

    @Test
    void aForeignKeyFromTheRefreshedTableToItselfSurvivesAndIsChecked() throws Exception {
        refreshed("tree");
        dst.execute("ALTER TABLE export.tree ADD CONSTRAINT tree_parent FOREIGN KEY (parent_id) REFERENCES export.tree (id)");
        List<String> attached = attachments("export.tree");
        src.execute("INSERT INTO app.tree SELECT g, g / 2 FROM generate_series(32, 40) g", "DELETE FROM app.tree WHERE id = 31");

        refreshed("tree");

        assertThat(attachments("export.tree")).isEqualTo(attached);
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "tree", d, "export", "tree", "id");
            assertThat(Dumps.scalar(d, "SELECT confrelid = 'export.tree'::regclass FROM pg_constraint WHERE conname = 'tree_parent'"))
                    .isEqualTo("t");
        }
        src.execute("DELETE FROM app.tree WHERE id = 2");
        assertFailsKeepingTheOldTable("tree", "export.tree", "tree_parent", "23503");
        assertThat(attachments("export.tree")).isEqualTo(attached);
    }

    @Test
    void aTriggerSurvivesAndDoesNotFireForTheLoad() throws Exception {
        refreshed("trigger");
        dst.execute("CREATE TABLE export.audit_log (id int, op text)",
                "CREATE FUNCTION export.audit() RETURNS trigger LANGUAGE plpgsql AS"
                        + " $$ BEGIN INSERT INTO export.audit_log VALUES (NEW.id, TG_OP); RETURN NEW; END $$",
                "CREATE TRIGGER audited_changes AFTER INSERT OR UPDATE ON export.audited FOR EACH ROW EXECUTE FUNCTION export.audit()",
                "GRANT INSERT ON export.audit_log TO " + q(dst.user()));
        List<String> attached = attachments("export.audited");
        src.execute("UPDATE app.audited SET v = 'changed'");

        refreshed("trigger");

        assertThat(attachments("export.audited")).isEqualTo(attached);
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "audited", d, "export", "audited", "id");
            assertThat(Dumps.count(d, "export.audit_log")).as("the load itself fired nothing").isZero();
        }
        dst.execute("UPDATE export.audited SET v = 'by hand' WHERE id = 4");
        try (Connection d = dst.admin()) {
            assertThat(Dumps.rows(d, "SELECT id, op FROM export.audit_log")).containsExactly("4|UPDATE");
        }
    }

    @Test
    void commentsStorageParametersNotNullDefaultsAndSettingsSurvive() throws Exception {
        refreshed("described");
        dst.execute("COMMENT ON TABLE export.described IS 'described table'",
                "ALTER TABLE export.described CLUSTER ON described_pkey", "ALTER TABLE export.described REPLICA IDENTITY FULL",
                "ALTER TABLE export.described SET UNLOGGED",
                "CREATE STATISTICS export.described_stats (dependencies) ON v, body FROM export.described",
                "COMMENT ON COLUMN export.described.v IS 'the v column'",
                "ALTER TABLE export.described SET (fillfactor = 70, autovacuum_enabled = false, toast.autovacuum_enabled = false)",
                "ALTER TABLE export.described ALTER COLUMN v SET NOT NULL, ALTER COLUMN body SET DEFAULT 'none',"
                        + " ALTER COLUMN v SET STATISTICS 500");
        List<String> attached = attachments("export.described");
        src.execute("UPDATE app.described SET v = v || '!'");

        refreshed("described");

        assertThat(attachments("export.described")).isEqualTo(attached);
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "described", d, "export", "described", "id");
            assertThat(Dumps.scalar(d, "SELECT array_to_string(reloptions, ',') FROM pg_class WHERE oid = 'export.described'::regclass"))
                    .isEqualTo("fillfactor=70,autovacuum_enabled=false");
            assertThat(Dumps.scalar(d, "SELECT obj_description('export.described'::regclass, 'pg_class')")).isEqualTo("described table");
        }
    }

    @Test
    void aColumnGrantAndTheOwnerSurvive() throws Exception {
        refreshed("people");
        String analyst = "analyst_cols_" + suffix;
        String owner = "owners_" + suffix;
        dst.execute("CREATE ROLE " + q(analyst) + " NOLOGIN", "GRANT USAGE ON SCHEMA export TO " + q(analyst),
                "GRANT SELECT (id, name) ON export.people TO " + q(analyst),
                // a team role that Ferry's role is a member of owns the table
                "CREATE ROLE " + q(owner) + " NOLOGIN", "GRANT " + q(owner) + " TO " + q(dst.user()),
                "GRANT CREATE, USAGE ON SCHEMA export TO " + q(owner), "ALTER TABLE export.people OWNER TO " + q(owner));
        List<String> attached = attachments("export.people");
        src.execute("UPDATE app.people SET salary = salary + 1");

        refreshed("people");

        assertThat(attachments("export.people")).isEqualTo(attached);
        try (Connection d = dst.admin()) {
            assertThat(Dumps.rows(d, "SELECT attname, has_column_privilege(?, 'export.people', attname, 'SELECT') FROM pg_attribute"
                    + " WHERE attrelid = 'export.people'::regclass AND attnum BETWEEN 1 AND 3 ORDER BY attnum", analyst))
                    .containsExactly("id|t", "name|t", "salary|f");
        }
    }

    @Test
    void aForeignKeyFromATableFerryDoesNotOwnFailsClearlyBeforeWriting() throws Exception {
        TestDb s2 = TestDb.source("attach_own");
        TestDb d2 = TestDb.destination("attach_own");
        s2.execute("CREATE SCHEMA app", "CREATE TABLE app.p (id int PRIMARY KEY)", "INSERT INTO app.p SELECT generate_series(1, 5)");
        s2.grantRead("app");
        try (FerryHarness f = FerryHarness.start(s2, d2, "export", transfer("p", "app.p"))) {
            assertThat(f.sync("p").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            d2.execute("CREATE TABLE export.refs (id int REFERENCES export.p (id))", "INSERT INTO export.refs VALUES (2)");
            s2.execute("INSERT INTO app.p VALUES (6)");
            List<String> before;
            try (Connection d = d2.admin()) {
                before = Dumps.dump(d, "export.p", "*", "id");
            }

            TransferRun run = f.sync("p");

            assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(run.firstError()).contains("refs_id_fkey").contains("ALTER TABLE \"export\".\"refs\" OWNER TO");
            try (Connection d = d2.admin()) {
                assertThat(Dumps.dump(d, "export.p", "*", "id")).isEqualTo(before);
                assertThat(Dumps.scalar(d, "SELECT attempts FROM export._ferry_runs WHERE run_id = ?", run.id())).as("not retried").isEqualTo("1");
            }
        }
    }

    @Test
    void attachmentsWithQuotedAndNonAsciiNamesSurvive() throws Exception {
        TestDb s2 = TestDb.source("attach_names");
        TestDb d2 = TestDb.destination("attach_names");
        s2.execute("CREATE SCHEMA \"Sales Data\"",
                "CREATE TABLE \"Sales Data\".\"Odd \"\"Name\"\"\" (\"ID\" int PRIMARY KEY, \"Prix €\" numeric(8,2), \"select\" text)",
                "INSERT INTO \"Sales Data\".\"Odd \"\"Name\"\"\" SELECT g, g * 1.5, 's' || g FROM generate_series(1, 30) g");
        s2.grantRead("Sales Data");
        String table = "\"Export Ü\".\"Odd \"\"Name\"\"\"";
        try (FerryHarness f = FerryHarness.start(s2, d2, "Export Ü", transfer("odd", "\"Sales Data\".\"Odd \"\"Name\"\"\""))) {
            assertThat(f.sync("odd").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            d2.execute("ALTER TABLE " + table + " ADD CONSTRAINT \"Positive \"\"Prix\"\"\" CHECK (\"Prix €\" > 0),"
                            + " ADD CONSTRAINT \"Unique Sélect\" UNIQUE (\"select\")",
                    "CREATE INDEX \"Idx Ü\" ON " + table + " (\"Prix €\")",
                    "ALTER TABLE " + table + " ENABLE ROW LEVEL SECURITY",
                    "CREATE POLICY \"Pol \"\"1\"\"\" ON " + table + " FOR SELECT TO PUBLIC USING (\"select\" <> 'it''s')",
                    "CREATE FUNCTION \"Export Ü\".noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
                    "CREATE TRIGGER \"Trg Ü\" BEFORE UPDATE ON " + table + " FOR EACH ROW EXECUTE FUNCTION \"Export Ü\".noop()",
                    "COMMENT ON TABLE " + table + " IS 'it''s \"odd\"'",
                    "COMMENT ON COLUMN " + table + ".\"Prix €\" IS 'price in €'",
                    "SET ROLE \"" + d2.user() + "\"; CREATE VIEW \"Export Ü\".\"View \"\"x\"\"\" AS SELECT \"ID\", \"Prix €\" FROM " + table
                            + "; COMMENT ON VIEW \"Export Ü\".\"View \"\"x\"\"\" IS 'a ''view'''");
            List<String> attached = attachments(d2, table);
            // a changed type too, so that the table must be replaced (with its view re-created), not refilled
            s2.execute("ALTER TABLE \"Sales Data\".\"Odd \"\"Name\"\"\" ALTER COLUMN \"Prix €\" TYPE numeric(8,3)",
                    "UPDATE \"Sales Data\".\"Odd \"\"Name\"\"\" SET \"Prix €\" = \"Prix €\" + 1.001");

            TransferRun run = f.sync("odd");

            assertThat(run.status()).as(run.firstError()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(attachments(d2, table)).isEqualTo(attached);
            try (Connection s = s2.admin(); Connection d = d2.admin()) {
                Dumps.assertSameRows(s, "Sales Data", "Odd \"Name\"", d, "Export Ü", "Odd \"Name\"", "\"ID\"");
                assertThat(Dumps.dump(d, "\"Export Ü\".\"View \"\"x\"\"\"", "*", "1"))
                        .isEqualTo(Dumps.dump(s, "\"Sales Data\".\"Odd \"\"Name\"\"\"", "\"ID\", \"Prix €\"", "1"));
                assertThat(Dumps.scalar(d, "SELECT obj_description('\"Export Ü\".\"View \"\"x\"\"\"'::regclass, 'pg_class')"))
                        .isEqualTo("a 'view'");
            }
        }
    }

    private static void refreshed(FerryHarness f, String transfer) throws Exception {
        TransferRun run = f.sync(transfer);
        assertThat(run.status()).as("%s: %s", transfer, run.firstError()).isEqualTo(TransferRun.Status.SUCCEEDED);
    }

    private static void refreshed(String transfer) throws Exception {
        TransferRun run = ferry.sync(transfer);
        assertThat(run.status()).as("%s: %s", transfer, run.firstError()).isEqualTo(TransferRun.Status.SUCCEEDED);
    }

    /** Runs a refresh that must fail on {@code constraint}: not retried, the old table untouched, no load table left. */
    private static TransferRun assertFailsKeepingTheOldTable(String transfer, String table, String constraint, String sqlState)
            throws Exception {
        List<String> before;
        try (Connection d = dst.admin()) {
            before = Dumps.dump(d, table, "*", "id");
        }
        TransferRun run = ferry.sync(transfer);
        assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
        assertThat(run.firstError()).contains(constraint).contains(sqlState).contains("keeps its previous contents");
        try (Connection d = dst.admin()) {
            assertThat(Dumps.dump(d, table, "*", "id")).as("the previous table, untouched").isEqualTo(before);
            assertThat(Dumps.rows(d, "SELECT status, attempts FROM export._ferry_runs WHERE run_id = ?", run.id()))
                    .as("failed at once, not retried").containsExactly("failed|1");
            FailedLoadTest.assertNoLoadTablesLeft(d);
        }
        return run;
    }

    /** Everything attached to a table, by name, as the catalog describes it. */
    private static List<String> attachments(String table) throws Exception {
        return attachments(dst, table);
    }

    private static List<String> attachments(TestDb db, String table) throws Exception {
        try (Connection d = db.admin()) {
            return Dumps.rows(d, """
                    SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(oid) || ' ' || coalesce(obj_description(oid, 'pg_constraint'), '')
                    FROM pg_constraint WHERE conrelid = CAST(?1 AS regclass)
                    UNION ALL SELECT 'referenced by ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
                    FROM pg_constraint WHERE confrelid = CAST(?1 AS regclass) AND conrelid <> confrelid
                    UNION ALL SELECT 'index ' || pg_get_indexdef(indexrelid) || ' ' || indisclustered || ' ' || indisreplident
                    FROM pg_index WHERE indrelid = CAST(?1 AS regclass)
                    UNION ALL SELECT 'statistics ' || pg_get_statisticsobjdef(oid) FROM pg_statistic_ext WHERE stxrelid = CAST(?1 AS regclass)
                    UNION ALL SELECT 'policy ' || polname || ' ' || polcmd::text || ' ' || polpermissive || ' ' || polroles::regrole[]::text || ' '
                                     || coalesce(pg_get_expr(polqual, polrelid), '') || ' ' || coalesce(pg_get_expr(polwithcheck, polrelid), '')
                    FROM pg_policy WHERE polrelid = CAST(?1 AS regclass)
                    UNION ALL SELECT 'table ' || pg_get_userbyid(relowner) || ' ' || relpersistence::text || ' ' || relrowsecurity || ' ' || relforcerowsecurity || ' ' || coalesce(reloptions::text, '') || ' '
                                     || relreplident::text || ' ' || coalesce(relacl::text, '') || ' ' || coalesce(obj_description(oid, 'pg_class'), '')
                                     || ' ' || coalesce((SELECT reloptions::text FROM pg_class t WHERE t.oid = c.reltoastrelid), '')
                    FROM pg_class c WHERE oid = CAST(?1 AS regclass)
                    UNION ALL SELECT 'trigger ' || pg_get_triggerdef(oid) || ' ' || tgenabled::text FROM pg_trigger
                    WHERE tgrelid = CAST(?1 AS regclass) AND NOT tgisinternal
                    UNION ALL SELECT 'column ' || attname || ' ' || attnotnull || ' ' || coalesce(attacl::text, '') || ' '
                                     || coalesce(col_description(attrelid, attnum), '') || ' ' || coalesce(attstattarget::text, '') || ' '
                                     || coalesce((SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = attrelid AND adnum = attnum), '')
                    FROM pg_attribute WHERE attrelid = CAST(?1 AS regclass) AND attnum > 0 AND NOT attisdropped
                    ORDER BY 1""".replace("?1", "'" + table + "'"));
        }
    }

    private static String q(String ident) {
        return '"' + ident.replace("\"", "\"\"") + '"';
    }
}
