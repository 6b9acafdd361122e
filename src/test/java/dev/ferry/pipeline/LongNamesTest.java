package dev.ferry.pipeline;

import dev.ferry.destination.DestinationSchema;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.util.UUID;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Names at PostgreSQL's 63-byte limit, multi-byte characters included: every name Ferry derives from them (load
 * tables, primary keys, temporary constraint names) stays within the limit and never collides with another's.
 */
class LongNamesTest {

    /** 58 bytes shared, then 5 that differ: 63 bytes each, so {@code <name>_pkey} cut to 63 would clash. */
    static final String SHARED = "tenant_export_orders_with_a_very_long_name_ünïcødé_abc"; // 58 bytes (ü ï ø are 2 bytes each)
    static final String FIRST = SHARED + "_east";
    static final String SECOND = SHARED + "_west";
    /** 63 bytes of three-byte characters: 21 of them. */
    static final String WIDE = "山".repeat(21);
    static final String COLUMN = "a_column_name_that_is_sixty_three_bytes_long_for_the_test_ok_63";
    static final String TYPE = "an_enum_type_whose_name_is_sixty_three_bytes_long_ÿ_for_test_x";
    static final String SCHEMA = "a_destination_schema_named_at_the_sixty_three_byte_limit_ok_063";

    static int bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    @Test
    void derivedNamesFitAndDifferForLongNamesThatShareAPrefix() {
        assertThat(bytes(FIRST)).isEqualTo(63);
        assertThat(bytes(WIDE)).isEqualTo(63);
        UUID run = UUID.randomUUID();
        for (String name : new String[] {FIRST, SECOND, WIDE, "short"}) {
            assertThat(bytes(DestinationSchema.loadTableName(name, run))).isLessThanOrEqualTo(63);
            assertThat(bytes(DestinationSchema.primaryKeyName(name))).isLessThanOrEqualTo(63);
        }
        assertThat(DestinationSchema.primaryKeyName(FIRST)).isNotEqualTo(DestinationSchema.primaryKeyName(SECOND)).endsWith("_pkey");
        assertThat(DestinationSchema.loadTableName(FIRST, run)).isNotEqualTo(DestinationSchema.loadTableName(SECOND, run));
        assertThat(DestinationSchema.primaryKeyName("short")).isEqualTo("short_pkey");
        // never cut inside a character
        assertThat(DestinationSchema.primaryKeyName(WIDE)).startsWith("山").doesNotContain("\uFFFD");
    }

    @Test
    void fullRefreshAndIncrementalOfTablesWhoseNamesShareTheirFirst58Bytes() throws Exception {
        assertThat(bytes(COLUMN)).isEqualTo(63);
        assertThat(bytes(TYPE)).isEqualTo(63);
        assertThat(bytes(SCHEMA)).isEqualTo(63);
        TestDb src = TestDb.source("longnames");
        TestDb dst = TestDb.destination("longnames");
        src.execute("CREATE SCHEMA app", "CREATE TYPE app.\"" + TYPE + "\" AS ENUM ('a', 'b')");
        for (String t : new String[] {FIRST, SECOND, WIDE}) {
            src.execute("CREATE TABLE app.\"" + t + "\" (id bigint PRIMARY KEY, \"" + COLUMN + "\" text, kind app.\"" + TYPE + "\","
                            + " updated_at timestamptz NOT NULL DEFAULT now())",
                    "INSERT INTO app.\"" + t + "\" (id, \"" + COLUMN + "\", kind) SELECT g, md5(g::text), 'b' FROM generate_series(1, 500) g");
        }
        src.grantRead("app");
        String tables = "app.\"" + FIRST + "\", app.\"" + SECOND + "\", app.\"" + WIDE + "\"";
        String yaml = FerryHarness.transfer("full", tables, "parallelTables", "2")
                + FerryHarness.transfer("incr", tables, "mode", "incremental", "cursor", "updated_at", "destination", "inc");
        try (FerryHarness ferry = FerryHarness.start(src, dst, SCHEMA, yaml,
                FerryHarness.destination("inc", dst, SCHEMA.substring(0, 58) + "_incr"))) {
            for (int round = 0; round < 2; round++) {
                if (round > 0) {
                    src.execute("UPDATE app.\"" + FIRST + "\" SET kind = 'a', updated_at = now() WHERE id % 7 = 0",
                            "INSERT INTO app.\"" + SECOND + "\" (id, \"" + COLUMN + "\", kind) VALUES (1000 + " + round + ", 'new', 'a')");
                }
                assertThat(ferry.sync("full").status()).as("full refresh, round %s", round).isEqualTo(TransferRun.Status.SUCCEEDED);
                assertThat(ferry.sync("incr").status()).as("incremental, round %s", round).isEqualTo(TransferRun.Status.SUCCEEDED);
            }
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                for (String t : new String[] {FIRST, SECOND, WIDE}) {
                    Dumps.assertSameRows(s, "app", t, d, SCHEMA, t, "id");
                }
                src.execute("UPDATE app.\"" + WIDE + "\" SET kind = 'a', updated_at = now()");
                assertThat(ferry.sync("incr").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
                assertThat(ferry.sync("full").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
                for (String t : new String[] {FIRST, SECOND, WIDE}) {
                    Dumps.assertSameRows(s, "app", t, d, SCHEMA, t, "id");
                    Dumps.assertSameRows(s, "app", t, d, SCHEMA.substring(0, 58) + "_incr", t, "id");
                }
                // each table has its own primary key, none left under a temporary name
                assertThat(Dumps.rows(d, "SELECT conname FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
                        + " WHERE n.nspname = ? AND contype = 'p' AND conname ~ '^_ferry_[0-9a-f]{8}_'", SCHEMA)).isEmpty();
                assertThat(Dumps.scalar(d, "SELECT count(DISTINCT conname) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
                        + " WHERE n.nspname = ? AND contype = 'p' AND conrelid::regclass::text NOT LIKE '%\\_ferry\\_%'", SCHEMA)).isEqualTo("3");
            }
        }
    }
}
