package dev.ferry.pipeline;

import java.sql.Connection;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/** Partitioned tables, views, materialized views, generated, identity and serial columns as sources. */
class SourceKindsTest {

    @Test
    void partitionedTablesViewsAndMaterializedViews() throws Exception {
        TestDb src = TestDb.source("kinds");
        TestDb dst = TestDb.destination("kinds");
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.measurements (id bigint, at date NOT NULL, value numeric, updated_at timestamptz NOT NULL DEFAULT now(),"
                        + " PRIMARY KEY (id, at)) PARTITION BY RANGE (at)",
                "CREATE TABLE app.m2024 PARTITION OF app.measurements FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
                "CREATE TABLE app.m2025 PARTITION OF app.measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
                "INSERT INTO app.measurements (id, at, value) SELECT g, date '2024-06-01' + (g % 400), g / 3.0 FROM generate_series(1, 2000) g",
                "CREATE VIEW app.big AS SELECT id, at, value, updated_at FROM app.measurements WHERE value > 300",
                "CREATE MATERIALIZED VIEW app.daily AS SELECT at, count(*) AS n, sum(value) AS total FROM app.measurements GROUP BY at");
        src.grantRead("app");
        String yaml = transfer("partitioned", "app.measurements", "mode", "incremental", "cursor", "updated_at", "batchSize", "300", "lookback", "0")
                + transfer("view", "app.big", "mode", "incremental", "cursor", "updated_at", "key", "id, at", "destination", "dst2", "lookback", "0")
                + transfer("matview", "app.daily", "destination", "dst2");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml, FerryHarness.destination("dst2", dst, "export2"))) {
            assertThat(ferry.sync("partitioned").rows()).isEqualTo(2000);
            assertThat(ferry.sync("view").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(ferry.sync("matview").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            src.execute("UPDATE app.measurements SET value = value + 1000, updated_at = now() WHERE id <= 10");
            assertThat(ferry.sync("partitioned").rows()).isEqualTo(10);
            assertThat(ferry.sync("view").rows()).isEqualTo(10);
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                Dumps.assertSameRows(s, "app", "measurements", d, "export", "measurements", "id, at");
                Dumps.assertSameRows(s, "app", "big", d, "export2", "big", "id, at");
                Dumps.assertSameRows(s, "app", "daily", d, "export2", "daily", "at");
                assertThat(Dumps.scalar(d, "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'export2.big'::regclass"
                        + " AND contype = 'p'")).isEqualTo("PRIMARY KEY (id, at)");
            }
        }
    }

    @Test
    void generatedIdentityAndSerialColumnsArriveAsPlainValues() throws Exception {
        TestDb src = TestDb.source("gen");
        TestDb dst = TestDb.destination("gen");
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.items (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, seq serial, price numeric(8,2),"
                        + " qty int, total numeric(10,2) GENERATED ALWAYS AS (price * qty) STORED)",
                "INSERT INTO app.items (price, qty) SELECT g * 1.25, g FROM generate_series(1, 200) g");
        src.grantRead("app");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", transfer("items", "app.items"))) {
            assertThat(ferry.sync("items").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                Dumps.assertSameRows(s, "app", "items", d, "export", "items", "id");
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'export.items'::regclass"
                        + " AND (attidentity <> '' OR attgenerated <> '' OR atthasdef)")).isEqualTo("0");
                // plain columns: the destination accepts any value in them
                d.createStatement().execute("UPDATE export.items SET total = 0, id = -id WHERE id = 1");
            }
        }
    }
}
