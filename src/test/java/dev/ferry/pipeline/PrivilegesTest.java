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

/**
 * Ferry with exactly the setup docs' users and grants, and nothing more; and, when a privilege is missing, an error
 * that names it and gives the GRANT that fixes it.
 */
@Tag("versions")
class PrivilegesTest {

    static TestDb source(String prefix) throws Exception {
        TestDb src = TestDb.source(prefix);
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.t (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL DEFAULT now())",
                "INSERT INTO app.t (id, v) SELECT g, 'v' || g FROM generate_series(1, 100) g");
        src.grantRead("app");
        return src;
    }

    static String both() {
        return transfer("full", "app.t") + transfer("inc", "app.t", "destination", "dst2", "mode", "incremental", "cursor", "updated_at");
    }

    @Test
    void connectCreateAndTemporaryOnTheDatabaseAreEnough() throws Exception {
        TestDb src = source("priv_db");
        TestDb dst = TestDb.destination("priv_db");
        try (Connection d = dst.admin()) {
            assertThat(Dumps.scalar(d, "SELECT rolsuper OR rolcreatedb OR rolcreaterole FROM pg_roles WHERE rolname = ?", dst.user())).isEqualTo("f");
            assertThat(Dumps.scalar(d, "SELECT datacl::text FROM pg_database WHERE datname = current_database()"))
                    .contains(dst.user() + "=CTc/");
        }
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", both(), FerryHarness.destination("dst2", dst, "export2"))) {
            assertThat(ferry.sync("full").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(ferry.sync("inc").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                Dumps.assertSameRows(s, "app", "t", d, "export", "t", "id");
                Dumps.assertSameRows(s, "app", "t", d, "export2", "t", "id");
            }
        }
    }

    @Test
    void aPreCreatedSchemaWithAllOnItNeedsNoCreateOnTheDatabase() throws Exception {
        TestDb src = source("priv_schema");
        TestDb dst = TestDb.destinationWithSchema("priv_schema", "export");
        dst.execute("CREATE SCHEMA export2", "GRANT ALL ON SCHEMA export2 TO " + '"' + dst.user() + '"');
        try (Connection d = dst.admin()) {
            assertThat(Dumps.scalar(d, "SELECT has_database_privilege(?, current_database(), 'CREATE')", dst.user())).isEqualTo("f");
        }
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", both(), FerryHarness.destination("dst2", dst, "export2"))) {
            assertThat(ferry.sync("full").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(ferry.sync("inc").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                Dumps.assertSameRows(s, "app", "t", d, "export", "t", "id");
                Dumps.assertSameRows(s, "app", "t", d, "export2", "t", "id");
            }
        }
    }

    @Test
    void withoutCreateOnTheDatabaseTheErrorGivesTheGrant() throws Exception {
        TestDb src = source("priv_nocreate");
        TestDb dst = TestDb.destinationWithSchema("priv_nocreate", "other"); // CONNECT and TEMPORARY only; schema export missing
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", transfer("full", "app.t"))) {
            TransferRun run = ferry.sync("full");
            assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(run.firstError()).contains("permission denied for database " + dst.database())
                    .contains("fix: run on the destination: GRANT CREATE ON DATABASE \"" + dst.database() + "\" TO \"" + dst.user() + "\";")
                    .contains("GRANT ALL ON SCHEMA \"export\"");
        }
    }

    @Test
    void withoutRightsOnAPreCreatedSchemaTheErrorGivesTheGrant() throws Exception {
        TestDb src = source("priv_noschema");
        TestDb dst = TestDb.destinationWithSchema("priv_noschema", "other");
        dst.execute("CREATE SCHEMA export"); // made by an admin, nothing granted on it
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", transfer("full", "app.t"))) {
            TransferRun run = ferry.sync("full");
            assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(run.firstError()).contains("permission denied for schema export")
                    .contains("fix: run on the destination: GRANT ALL ON SCHEMA \"export\" TO \"" + dst.user() + "\";");
        }
    }

    @Test
    void withoutTemporaryAnIncrementalRunSaysWhichGrantItNeeds() throws Exception {
        TestDb src = source("priv_notemp");
        TestDb dst = TestDb.destination("priv_notemp");
        dst.execute("REVOKE TEMPORARY ON DATABASE \"" + dst.database() + "\" FROM \"" + dst.user() + "\"");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export",
                transfer("inc", "app.t", "mode", "incremental", "cursor", "updated_at"))) {
            TransferRun run = ferry.sync("inc");
            assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(run.firstError()).contains("permission denied to create temporary tables")
                    .contains("fix: run on the destination: GRANT TEMPORARY ON DATABASE \"" + dst.database() + "\" TO \"" + dst.user() + "\";");
        }
    }

    @Test
    void withoutSelectOrUsageOnTheSourceTheErrorGivesTheGrant() throws Exception {
        TestDb src = source("priv_src");
        TestDb dst = TestDb.destination("priv_src");
        src.execute("CREATE SCHEMA hidden", "CREATE TABLE hidden.h (id int PRIMARY KEY)",
                "REVOKE SELECT ON app.t FROM \"" + src.user() + "\"");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export",
                transfer("noselect", "app.t") + transfer("nousage", "hidden.h"))) {
            TransferRun noSelect = ferry.sync("noselect");
            TransferRun noUsage = ferry.sync("nousage");

            assertThat(noSelect.firstError()).contains("may not read app.t; run on the source: GRANT SELECT ON \"app\".\"t\" TO \""
                    + src.user() + "\";");
            assertThat(noUsage.firstError()).contains("may not use schema hidden; run on the source: GRANT USAGE ON SCHEMA \"hidden\" TO \""
                    + src.user() + "\";");
        }
    }
}
