package dev.ferry.pipeline;

import java.sql.Connection;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Names with capitals, spaces, quotes, reserved words and non-ASCII letters, on both ends. */
class QuotedNamesTest {

    static final String LONG = "a_table_name_that_is_exactly_sixty_three_bytes_long_for_testing";

    @Test
    void mixedCaseSpacedQuotedAndNonAsciiNamesWork() throws Exception {
        assertThat(LONG.length()).isEqualTo(63);
        TestDb src = TestDb.source("names");
        TestDb dst = TestDb.destination("names");
        src.execute("CREATE SCHEMA \"Sales Data\"",
                """
                CREATE TABLE "Sales Data"."Order \"\"Lines\"\"" (
                  "ID" int, "select" text, "Prix €" numeric(8,2), "ünïcödé" text, "with""quote" text, "MixedCase" boolean, "a,b.c" int,
                  PRIMARY KEY ("ID", "select"))""",
                """
                INSERT INTO "Sales Data"."Order \"\"Lines\"\""
                SELECT g % 50, 'k' || (g / 50), g * 1.5, 'wert ' || g, 'q"' || g, g % 2 = 0, g FROM generate_series(1, 1000) g""",
                "CREATE TABLE \"Sales Data\"." + LONG + " (id int PRIMARY KEY, v text)",
                "INSERT INTO \"Sales Data\"." + LONG + " SELECT g, 'v' || g FROM generate_series(1, 50) g");
        src.grantRead("Sales Data");
        String tables = "\"Sales Data\".\"Order \"\"Lines\"\"\", \"Sales Data\"." + LONG.toUpperCase();
        try (FerryHarness ferry = FerryHarness.start(src, dst, "Export Ü", FerryHarness.transfer("names", tables, "batchSize", "64"))) {
            TransferRun first = ferry.sync("names");
            TransferRun second = ferry.sync("names");

            assertThat(first.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(second.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                Dumps.assertSameRows(s, "Sales Data", "Order \"Lines\"", d, "Export Ü", "Order \"Lines\"", "\"ID\", \"select\"");
                Dumps.assertSameRows(s, "Sales Data", LONG, d, "Export Ü", LONG, "id");
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM \"Export Ü\"._ferry_runs WHERE status = 'succeeded'")).isEqualTo("4");
            }
        }
    }
}
