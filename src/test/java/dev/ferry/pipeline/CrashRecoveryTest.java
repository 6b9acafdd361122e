package dev.ferry.pipeline;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A Ferry process killed in the middle of an incremental backfill (no rollback, no cleanup: the JVM halts) leaves
 * the destination holding exactly the batches it committed, and the next run resumes after them: in the end the
 * destination equals the source, with no row lost or duplicated.
 */
class CrashRecoveryTest {

    @ParameterizedTest(name = "crash at {0}, lookback {1}")
    @CsvSource({"between-batches:2, 0", "before-commit:3, 0", "before-commit:5, 5m"})
    void aCrashedRunResumesAfterItsLastCommittedBatch(String crashAt, String lookback) throws Exception {
        TestDb src = TestDb.source("crash");
        TestDb dst = TestDb.destination("crash");
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.orders (id bigint PRIMARY KEY, note text, updated_at timestamptz NOT NULL)",
                // pairs of rows share an updated_at, so batch boundaries fall inside ties too
                "INSERT INTO app.orders SELECT g, 'n' || g, timestamptz '2025-01-01' + (g / 2) * interval '1 second'"
                        + " FROM generate_series(1, 1000) g");
        src.grantRead("app");
        String yaml = FerryHarness.transfer("orders", "app.orders", "mode", "incremental", "cursor", "updated_at",
                "batchSize", "100", "lookback", lookback);
        Path dir = FerryHarness.write(src, dst, "export", yaml, Map.of());

        Process p = new ProcessBuilder(List.of(javaBin(), "-cp", System.getProperty("java.class.path"),
                "-Dferry.crashAt=" + crashAt, "dev.ferry.app.Ferry",
                "--config", dir.resolve("application.properties").toString(), "--routes", dir.resolve("routes").toString(),
                "sync", "orders"))
                .redirectErrorStream(true).redirectOutput(dir.resolve("crash.log").toFile()).start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        String log = Files.readString(dir.resolve("crash.log"), StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as("the process halted at the crash point; log:\n%s", log).isEqualTo(86);

        int committed = crashAt.startsWith("between-batches") ? 2 : Integer.parseInt(crashAt.substring(crashAt.indexOf(':') + 1)) - 1;
        try (Connection d = dst.admin(); Connection s = src.admin()) {
            assertThat(Dumps.scalar(d, "SELECT count(*) FROM export.orders")).as("exactly the committed batches")
                    .isEqualTo(String.valueOf(committed * 100));
            assertThat(Dumps.scalar(d, "SELECT max(id) FROM export.orders")).isEqualTo(String.valueOf(committed * 100));
            assertThat(Dumps.scalar(d, "SELECT cursor_value::timestamptz = (SELECT max(updated_at) FROM export.orders)"
                    + " AND key_value = ARRAY[?::text] FROM export._ferry_state", String.valueOf(committed * 100)))
                    .as("the watermark is the last committed row").isEqualTo("t");
            assertThat(Dumps.scalar(d, "SELECT status FROM export._ferry_runs")).isEqualTo("running");
        }

        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml)) {
            var run = ferry.sync("orders");
            if (lookback.equals("0")) {
                assertThat(run.rows()).as("the rerun reads only what was not committed").isEqualTo(1000 - committed * 100);
            }
        }
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "orders", d, "export", "orders", "id");
            assertThat(Dumps.rows(d, "SELECT status FROM export._ferry_runs ORDER BY id")).containsExactly("abandoned", "succeeded");
        }
    }

    /**
     * A full refresh in several COPY streams commits the load table and the other streams' rows before the swap; a
     * crash then leaves that table behind. The destination table is untouched, and the next run drops the leftover.
     */
    @Test
    void aCrashDuringAStreamedFullRefreshLeavesTheTableAndTheNextRunCleansUp() throws Exception {
        TestDb src = TestDb.source("crashstreams");
        TestDb dst = TestDb.destination("crashstreams");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.t (id bigint PRIMARY KEY, v text)",
                "INSERT INTO app.t SELECT g, 'old' FROM generate_series(1, 50000) g");
        src.grantRead("app");
        String yaml = FerryHarness.transfer("t", "app.t", "copyStreams", "3");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml)) {
            ferry.sync("t");
        }
        src.execute("UPDATE app.t SET v = 'new'");
        Path dir = FerryHarness.write(src, dst, "export", yaml, Map.of());
        Process p = new ProcessBuilder(List.of(javaBin(), "-cp", System.getProperty("java.class.path"),
                "-Dferry.crashAt=after-stream-commit:1", "dev.ferry.app.Ferry",
                "--config", dir.resolve("application.properties").toString(), "--routes", dir.resolve("routes").toString(),
                "sync", "t"))
                .redirectErrorStream(true).redirectOutput(dir.resolve("crash.log").toFile()).start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        String log = Files.readString(dir.resolve("crash.log"), StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as("the process halted at the crash point; log:\n%s", log).isEqualTo(86);
        String leftovers = "SELECT count(*) FROM pg_class WHERE relname ~ '^_ferry_[0-9a-f]{8}_t$'";
        try (Connection d = dst.admin()) {
            assertThat(Dumps.rows(d, "SELECT DISTINCT v FROM export.t")).as("the destination table, untouched").containsExactly("old");
            assertThat(Dumps.scalar(d, leftovers)).as("the committed load table").isEqualTo("1");
        }
        // a user's backup that looks like a load table is not Ferry's to drop
        dst.execute("CREATE TABLE export._ferry_20240101_t AS SELECT 1 AS kept", "CREATE TABLE export._ferry_deadbeef_t (kept int)");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml)) {
            assertThat(ferry.sync("t").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
        }
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "t", d, "export", "t", "id");
            assertThat(Dumps.scalar(d, leftovers + " AND relname NOT IN ('_ferry_deadbeef_t', '_ferry_20240101_t')")).as("the leftover was dropped").isEqualTo("0");
            assertThat(Dumps.rows(d, "SELECT kept FROM export._ferry_20240101_t")).as("the user's table").containsExactly("1");
            assertThat(Dumps.scalar(d, "SELECT to_regclass('export._ferry_deadbeef_t') IS NOT NULL")).isEqualTo("t");
        }
    }

    static String javaBin() {
        return System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
    }
}
