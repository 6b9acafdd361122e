package dev.ferry.app;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Source columns named like Ferry's own ({@code _ferry_synced_at}, {@code _ferry_run_id}, the keyset columns): refused
 * by the startup check and by {@code ferry check}, naming the table, the column and the fix; and, when one appears
 * after the start, the run fails at once (no retries) with the same message, leaving the destination as it was.
 */
class ReservedColumnsTest {

    static final String RESERVED = " has a name Ferry keeps for itself: names starting with _ferry_ are Ferry's own columns"
            + " (_ferry_synced_at and _ferry_run_id on every destination row, _ferry_deleted_at on those of hardDeletes: soft,"
            + " _ferry_keyset_0... in its batch queries); ";

    static String[] args(Path dir, String... command) {
        String[] all = new String[4 + command.length];
        all[0] = "--config";
        all[1] = dir.resolve("application.properties").toString();
        all[2] = "--routes";
        all[3] = dir.resolve("routes").toString();
        System.arraycopy(command, 0, all, 4, command.length);
        return all;
    }

    @Test
    void reservedSourceColumnsAreRefusedAtStartupAndByCheck() throws Exception {
        TestDb src = TestDb.source("reserved_cols");
        TestDb dst = TestDb.destination("reserved_cols");
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.a (id int PRIMARY KEY, name text, _ferry_synced_at timestamptz)",
                "CREATE TABLE app.b (id int PRIMARY KEY, _ferry_run_id uuid, _ferry_keyset_0 text)",
                "INSERT INTO app.a SELECT g, 'a' || g, now() FROM generate_series(1, 50) g",
                "INSERT INTO app.b SELECT g, gen_random_uuid(), 'k' FROM generate_series(1, 50) g");
        src.grantRead("app");
        Path dir = FerryHarness.write(src, dst, "export", transfer("a", "app.a")
                + transfer("b", "app.b", "columns", "id, _ferry_run_id"), Map.of());

        String[] err = new String[1];
        int status = CommandLineTest.captureErr(() -> Ferry.execute(args(dir, "sync", "--all")), err);
        assertThat(status).as(err[0]).isEqualTo(Ferry.BAD_CONFIG);
        assertThat(err[0]).contains("2 configuration problems")
                .contains("routes/transfers.yaml:1: transfer 'a', table app.a: column _ferry_synced_at" + RESERVED
                        + "leave it out with { name: excludeColumns, value: _ferry_synced_at }")
                .contains("routes/transfers.yaml:25: transfer 'b', table app.b: column _ferry_run_id" + RESERVED
                        + "remove it from 'columns'");

        PrintStream old = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            status = Ferry.execute(args(dir, "check"));
        } finally {
            System.setOut(old);
        }
        assertThat(status).isEqualTo(Ferry.FAILED);
        assertThat(out.toString(StandardCharsets.UTF_8))
                .contains("FAIL  source 'src', transfer 'a': transfer 'a', table app.a: column _ferry_synced_at" + RESERVED
                        + "leave it out with { name: excludeColumns, value: _ferry_synced_at }");

        // the fix the message gives works, and the other columns arrive as they are
        Path fixed = FerryHarness.write(src, dst, "export", transfer("a", "app.a", "excludeColumns", "_ferry_synced_at")
                + transfer("b", "app.b", "columns", "id"), Map.of());
        assertThat(Ferry.execute(args(fixed, "sync", "--all"))).isEqualTo(Ferry.OK);
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            assertThat(Dumps.dump(d, "export.a", "id, name", "id")).containsExactlyElementsOf(Dumps.dump(s, "app.a", "id, name", "id"));
            assertThat(Dumps.dump(d, "export.b", "id", "id")).containsExactlyElementsOf(Dumps.dump(s, "app.b", "id", "id"));
        }
    }

    @Test
    void aReservedColumnAddedLaterFailsTheRunAtOnceAndLeavesTheDestinationAsItWas() throws Exception {
        TestDb src = TestDb.source("reserved_later");
        TestDb dst = TestDb.destination("reserved_later");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.c (id int PRIMARY KEY, name text)",
                "INSERT INTO app.c SELECT g, 'c' || g FROM generate_series(1, 100) g");
        src.grantRead("app");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export",
                transfer("c", "app.c", "retryAttempts", "3", "retryDelay", "100ms"))) {
            assertThat(ferry.sync("c").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            List<String> before;
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                Dumps.assertSameRows(s, "app", "c", d, "export", "c", "id");
                before = Dumps.dump(d, "export.c", "*", "id");
            }
            src.execute("ALTER TABLE app.c ADD COLUMN _ferry_synced_at timestamptz", "UPDATE app.c SET name = 'changed'");

            assertThat(ferry.sync("c").status()).isEqualTo(TransferRun.Status.FAILED);
            try (Connection d = dst.admin()) {
                assertThat(Dumps.rows(d, "SELECT status, attempts, error FROM export._ferry_runs WHERE transfer = 'c'"
                        + " ORDER BY id DESC LIMIT 1")).singleElement().asString()
                        .startsWith("failed|1|").contains("transfer 'c', table app.c: column _ferry_synced_at" + RESERVED
                                + "leave it out with { name: excludeColumns, value: _ferry_synced_at }");
                assertThat(Dumps.dump(d, "export.c", "*", "id")).as("the destination is as the last good run left it")
                        .containsExactlyElementsOf(before);
            }
        }
    }
}
