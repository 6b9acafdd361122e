package dev.ferry.pipeline;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.concurrent.TimeUnit;

import dev.ferry.app.Ferry;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code sync NAME --full-refresh}: a one-off full reload of an incremental, append or xmin transfer's tables (loaded,
 * then swapped in: rows deleted at the source and drift at the destination go away), after which the next ordinary run
 * resumes from what the reload read.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class FullReloadTest {

    static TestDb src;
    static TestDb dst;
    static Path dir;

    @BeforeAll
    static void setUp() throws Exception {
        src = TestDb.source("reload");
        dst = TestDb.destination("reload");
        src.execute("CREATE SCHEMA app", "CREATE SEQUENCE app.revs");
        for (String mode : new String[] {"incremental", "append", "xmin"}) {
            src.execute("CREATE TABLE app." + mode + " (id int PRIMARY KEY, name text, rev bigint NOT NULL DEFAULT nextval('app.revs'))",
                    "INSERT INTO app." + mode + " (id, name) SELECT g, 'row ' || g FROM generate_series(1, 1000) g");
        }
        src.grantRead("app");
        // a numeric cursor with no lookback: the next run reads exactly the rows from the watermark on
        dir = FerryHarness.write(src, dst, "export",
                FerryHarness.transfer("incremental", "app.incremental", "mode", "incremental", "cursor", "rev")
                        + FerryHarness.transfer("append", "app.append", "mode", "append", "cursor", "rev")
                        + FerryHarness.transfer("xmin", "app.xmin", "mode", "xmin"), java.util.Map.of());
    }

    @ParameterizedTest
    @ValueSource(strings = {"incremental", "append", "xmin"})
    void aFullReloadMakesTheDestinationEqualAndTheNextRunResumesFromIt(String mode) throws Exception {
        String table = "app." + mode;
        assertThat(ferry("sync", mode)).isZero();
        src.execute("UPDATE " + table + " SET name = 'changed', rev = nextval('app.revs') WHERE id % 10 = 0",
                "DELETE FROM " + table + " WHERE id % 10 = 1",
                "INSERT INTO " + table + " (id, name) SELECT g, 'new ' || g FROM generate_series(1001, 1100) g");
        try (Connection d = dst.admin()) {
            // drift the transfer cannot see: a row deleted, and one modified, at the destination only
            d.createStatement().execute("DELETE FROM export." + mode + " WHERE id = 5");
            d.createStatement().execute("UPDATE export." + mode + " SET name = 'drifted' WHERE id = 6");
        }

        if (mode.equals("append")) {
            // an append destination keeps rows the source purged: a reload asks first, and without a terminal refuses
            assertThat(ferry("sync", mode, "--full-refresh")).isEqualTo(Ferry.BAD_CONFIG);
            try (Connection d = dst.admin()) {
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM export.append WHERE id = 5")).as("not reloaded").isEqualTo("0");
            }
        }
        assertThat(mode.equals("append") ? ferry("sync", mode, "--full-refresh", "--yes") : ferry("sync", mode, "--full-refresh"))
                .isZero();
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", mode, d, "export", mode, "id");
            assertThat(Dumps.scalar(d, "SELECT mode FROM export._ferry_runs WHERE transfer = ? ORDER BY id DESC LIMIT 1", mode))
                    .isEqualTo("full_refresh");
            if (!mode.equals("xmin")) {
                assertThat(Dumps.scalar(d, "SELECT mode || ' ' || cursor_value FROM export._ferry_state WHERE transfer = ?", mode))
                        .isEqualTo(mode + " " + Dumps.scalar(s, "SELECT max(rev) FROM " + table));
            }
        }

        // more changes (append reads new rows only), then an ordinary run
        src.execute("INSERT INTO " + table + " (id, name) SELECT g, 'newer ' || g FROM generate_series(1101, 1120) g");
        if (!mode.equals("append")) {
            src.execute("UPDATE " + table + " SET name = 'changed again', rev = nextval('app.revs') WHERE id IN (2, 3, 4)");
        }
        int changed = mode.equals("append") ? 20 : 23;
        assertThat(ferry("sync", mode)).isZero();
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", mode, d, "export", mode, "id");
            // it resumed where the reload's copy began: the changes since (and, for a cursor, the row at the watermark)
            assertThat(Long.parseLong(Dumps.scalar(d, "SELECT rows FROM export._ferry_runs WHERE transfer = ? ORDER BY id DESC"
                    + " LIMIT 1", mode))).isEqualTo(mode.equals("xmin") ? changed : changed + 1);
        }
    }

    static int ferry(String... args) {
        return dev.ferry.testing.FerryCommand.run(dir, args);
    }
}
