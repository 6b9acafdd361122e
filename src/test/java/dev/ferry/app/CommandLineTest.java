package dev.ferry.app;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.Map;

import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code ferry sync}: exit status 0 when every named transfer succeeded, 1 when one failed, 2 for bad usage or config. */
class CommandLineTest {

    static TestDb src;
    static TestDb dst;
    static Path dir;

    @BeforeAll
    static void setUp() throws Exception {
        src = TestDb.source("cli");
        dst = TestDb.destination("cli");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.items (id int PRIMARY KEY, name text)",
                "INSERT INTO app.items SELECT g, 'item ' || g FROM generate_series(1, 500) g");
        src.grantRead("app");
        Map<String, String> badPassword = new java.util.HashMap<>(FerryHarness.destination("locked", dst, "export2"));
        badPassword.put("ferry.destination.locked.password", "not-the-password");
        badPassword.put("ferry.destination.locked.connectTimeout", "2s");
        dir = FerryHarness.write(src, dst, "export", FerryHarness.transfer("items", "app.items")
                + FerryHarness.transfer("broken", "app.items", "destination", "locked", "retryAttempts", "0"), badPassword);
    }

    @Test
    void syncRunsTheNamedTransferAndExitsZero() throws Exception {
        assertThat(ferry("sync", "items")).isZero();
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "items", d, "export", "items", "id");
        }
    }

    @Test
    void aFailingTransferExitsOne() {
        assertThat(ferry("sync", "items", "broken")).isEqualTo(Ferry.FAILED);
    }

    @Test
    void aMissingSourceTableIsReportedAtStartup() throws Exception {
        Path bad = FerryHarness.write(src, dst, "export", FerryHarness.transfer("items", "app.items")
                + FerryHarness.transfer("typo", "app.itemz") + FerryHarness.transfer("cursor", "app.items", "mode", "incremental",
                        "cursor", "changed_at", "destination", "dst2"), FerryHarness.destination("dst2", dst, "export2"));
        String[] err = new String[1];
        int status = captureErr(() -> Ferry.execute("--config", bad.resolve("application.properties").toString(),
                "--routes", bad.resolve("routes").toString(), "sync", "items"), err);
        assertThat(status).isEqualTo(Ferry.BAD_CONFIG);
        assertThat(err[0]).contains("2 configuration problems")
                .contains("routes/transfers.yaml:23: transfer 'typo': source table app.itemz does not exist")
                .contains("routes/transfers.yaml:38: transfer 'cursor', table app.items: parameter 'cursor' names column changed_at,"
                        + " which the table does not have; its columns are id, name");
    }

    @Test
    void anUnknownTransferOrNoTransferIsAUsageError() {
        String[] err = new String[1];
        assertThat(captureErr(() -> ferry("sync", "nosuch"), err)).isEqualTo(Ferry.BAD_CONFIG);
        assertThat(err[0]).contains("no transfer named nosuch; declared transfers: items, broken");
        assertThat(captureErr(() -> ferry("sync"), err)).isEqualTo(Ferry.BAD_CONFIG);
        assertThat(err[0]).contains("name at least one transfer, or pass --all");
    }

    @Test
    void aMissingConfigFileIsAConfigurationError() {
        String[] err = new String[1];
        int status = captureErr(() -> Ferry.execute("--config", dir.resolve("nope.properties").toString(),
                "--routes", dir.resolve("routes").toString(), "sync", "items"), err);
        assertThat(status).isEqualTo(Ferry.BAD_CONFIG);
        assertThat(err[0]).contains("nope.properties: no such file; pass --config FILE");
    }

    static int ferry(String... args) {
        return dev.ferry.testing.FerryCommand.run(dir, args);
    }

    static int captureErr(java.util.function.IntSupplier run, String[] into) {
        PrintStream old = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            return run.getAsInt();
        } finally {
            System.setErr(old);
            into[0] = buf.toString(StandardCharsets.UTF_8);
        }
    }
}
