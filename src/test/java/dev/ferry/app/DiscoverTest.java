package dev.ferry.app;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.Map;

import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryCommand;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code ferry discover}: what it lists of a source's tables, and the transfer YAML it prints, which, saved as it is in
 * a routes folder, passes {@code ferry check} and copies the tables exactly.
 */
class DiscoverTest {

    @Test
    @Timeout(120)
    void listsTheTablesAndPrintsYamlThatChecksAndSyncsExactly() throws Exception {
        TestDb src = TestDb.source("disc");
        TestDb dst = TestDb.destination("disc");
        src.execute("CREATE SCHEMA shop", "CREATE SCHEMA \"Sales Data\"",
                "CREATE TYPE shop.floatrange AS RANGE (subtype = float8)",
                "CREATE TABLE shop.orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, updated_at timestamptz NOT NULL,"
                        + " note text)",
                "CREATE INDEX ON shop.orders (updated_at)",
                "INSERT INTO shop.orders (updated_at, note) SELECT now() - g * interval '1 minute', 'n' || g FROM generate_series(1, 500) g",
                "CREATE TABLE shop.events (id serial PRIMARY KEY, created_at timestamptz, payload text, span shop.floatrange)",
                "INSERT INTO shop.events (created_at, payload, span) SELECT now(), 'p' || g, shop.floatrange(g, g + 0.5)"
                        + " FROM generate_series(1, 300) g",
                "CREATE TABLE shop.log_lines (line text)",
                "INSERT INTO shop.log_lines SELECT 'line ' || g FROM generate_series(1, 200) g",
                "CREATE TABLE \"Sales Data\".\"Q Lines\" (\"ID\" int PRIMARY KEY, \"Changed At\" timestamp, \"Qty\" int)",
                "CREATE INDEX ON \"Sales Data\".\"Q Lines\" (\"Changed At\")",
                "INSERT INTO \"Sales Data\".\"Q Lines\" SELECT g, timestamp '2025-01-01' + g * interval '1 hour', g FROM generate_series(1, 100) g",
                // the same name in another schema: the transfers write both into one schema, under {schema}_{table}
                "CREATE TABLE \"Sales Data\".orders (id int PRIMARY KEY, v text)",
                "INSERT INTO \"Sales Data\".orders SELECT g, 'v' || g FROM generate_series(1, 20) g",
                "ANALYZE shop.orders");
        src.grantRead("shop");
        src.grantRead("Sales Data");
        Path dir = FerryHarness.write(src, dst, "export", "[]\n", Map.of());

        FerryCommand.Out out = FerryCommand.capture(dir, "discover", "src");
        assertThat(out.status()).as(out.err()).isZero();
        String yaml = out.out();
        assertThat(yaml)
                .contains("# shop.orders: ~500 rows, ")
                .contains("#   primary key: id\n#   cursor candidates: id (bigint, fed by a sequence), updated_at (timestamp with time zone)\n"
                        + "#   suggested: incremental on updated_at: a primary key and an indexed timestamp\n")
                .contains("#   primary key: id\n#   cursor candidates: id (integer, fed by a sequence)\n"
                        + "#   carried as text: span (shop.floatrange, a user-defined range type: always as text)\n"
                        + "#   suggested: xmin: a primary key, no indexed timestamp to use as a cursor (id is fed by a sequence: for"
                        + " rows that are only ever inserted, mode append with cursor id reads less)\n")
                .contains("# shop.log_lines: rows unknown (never analyzed), ")
                .contains("#   primary key: none\n#   cursor candidates: none\n#   suggested: full_refresh: no primary key")
                .contains("# \"Sales Data\".\"Q Lines\": incremental on \"Changed At\": a primary key and an indexed timestamp\n")
                .contains("        value: \"src-incremental-updated_at\"\n")
                .contains("      - name: cursor\n        value: \"\\\"Changed At\\\"\"\n")
                .contains("      - name: destinationTable\n        value: \"{schema}_{table}\"\n");

        // saved as it is, the YAML passes check, and a sync copies every table exactly
        Files.writeString(dir.resolve("routes/transfers.yaml"), yaml, StandardCharsets.UTF_8);
        FerryCommand.Out check = FerryCommand.capture(dir, "check");
        assertThat(check.status()).as(check.out() + check.err()).isZero();
        FerryCommand.Out sync = FerryCommand.capture(dir, "sync", "--all");
        assertThat(sync.status()).as(sync.out() + sync.err()).isZero();
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "shop", "orders", d, "export", "shop_orders", "id");
            Dumps.assertSameRows(s, "shop", "events", d, "export", "shop_events", "id");
            Dumps.assertSameRows(s, "shop", "log_lines", d, "export", "shop_log_lines", "line");
            Dumps.assertSameRows(s, "Sales Data", "Q Lines", d, "export", "Sales Data_Q Lines", "\"ID\"");
            Dumps.assertSameRows(s, "Sales Data", "orders", d, "export", "Sales Data_orders", "id");
            assertThat(Dumps.rows(d, "SELECT DISTINCT transfer || ' ' || mode FROM export._ferry_runs ORDER BY 1")).containsExactly(
                    "src-full-refresh full_refresh", "src-incremental-Changed_At incremental",
                    "src-incremental-updated_at incremental", "src-xmin xmin");
        }
    }

    @Test
    @Timeout(60)
    void anUnknownSourceOrAPatternMatchingNothingExitsNonZeroWithOneClearLine() throws Exception {
        TestDb src = TestDb.source("disc0");
        src.execute("CREATE SCHEMA shop", "CREATE TABLE shop.orders (id int PRIMARY KEY)");
        src.grantRead("shop");
        Path dir = FerryHarness.write(src, null, null, "[]\n", Map.of());

        FerryCommand.Out unknown = FerryCommand.capture(dir, "discover", "nosuch");
        assertThat(unknown.status()).isEqualTo(Ferry.BAD_CONFIG);
        assertThat(unknown.err().strip()).isEqualTo("Configuration problem: no source named 'nosuch' in application.properties;"
                + " declared sources: src");

        FerryCommand.Out none = FerryCommand.capture(dir, "discover", "src", "shop.order_*");
        assertThat(none.status()).isEqualTo(Ferry.FAILED);
        assertThat(none.out()).isEmpty();
        assertThat(none.err()).startsWith("ferry discover: no table at source src (").contains(") matches shop.order_*");

        // a table the source user may not read is listed with the GRANT that fixes it, and left out of the YAML
        src.execute("CREATE TABLE shop.secret (id int PRIMARY KEY)", "REVOKE SELECT ON shop.secret FROM \"" + src.user() + "\"");
        FerryCommand.Out some = FerryCommand.capture(dir, "discover", "src", "shop.*");
        assertThat(some.status()).as(some.err()).isZero();
        assertThat(some.out()).contains("# shop.secret: ").contains("#   not readable: ").contains("GRANT SELECT ON")
                .contains("# shop.orders: xmin: a primary key").contains("# destination: not one declared to take by default;"
                        + " replace DESTINATION below with a declared destination (or pass --destination NAME)").doesNotContain("value: \"shop.orders, shop.secret\"")
                .contains("        value: \"shop.orders\"\n");

        FerryCommand.Out bad = FerryCommand.capture(dir, "discover", "src", "orders");
        assertThat(bad.status()).isEqualTo(Ferry.BAD_CONFIG);
        assertThat(bad.err()).contains("PATTERN 'orders': 'orders' is not schema-qualified; write it as schema.table");
    }
}
