package dev.ferry.app;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;

import dev.ferry.config.RouteFiles;
import dev.ferry.config.TransferCatalog;
import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A transfer's destinationSchema and destinationTable changed in the route files while Ferry runs: the next run writes
 * the new schema and name (its run history there too), and the old schema's connection is forgotten.
 */
class ChangedDestinationNamesTest {

    @Test
    @Timeout(60)
    void aChangedDestinationSchemaTakesEffectWithoutARestart() throws Exception {
        TestDb src = TestDb.source("dnames_follow");
        TestDb dst = TestDb.destination("dnames_follow");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.items (id int PRIMARY KEY, v text)",
                "INSERT INTO app.items SELECT g, 'v' || g FROM generate_series(1, 50) g");
        src.grantRead("app");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", transfer("t", "app.items", "destinationSchema", "before"))) {
            assertThat(ferry.sync("t").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            Path routes = ferry.dir().resolve("routes");
            FerryRuntime runtime = ferry.runtime();
            RoutesRefresh refresh = new RoutesRefresh(runtime.camel(), runtime.catalog(), runtime.connections(),
                    runtime.camel().getRegistry().lookupByNameAndType(FerryConfiguration.RECIPIENTS, RecipientsRefresh.class),
                    routes, RouteFiles.scan(routes, TransferCatalog.TEMPLATE_ID), true);
            Files.writeString(routes.resolve("transfers.yaml"),
                    transfer("t", "app.items", "destinationSchema", "after", "destinationTable", "copy_{table}"));
            refresh.refresh();

            assertThat(runtime.catalog().get("t").destination()).isEqualTo("dst/after");
            assertThat(runtime.connections().destination("dst/before")).as("no transfer writes there any more").isNull();
            assertThat(ferry.sync("t").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                Dumps.assertSameRows(s, "app", "items", d, "after", "copy_items", "id");
                assertThat(Dumps.rows(d, "SELECT DISTINCT destination_table FROM after._ferry_runs WHERE source_table IS NOT NULL"))
                        .containsExactly("after.copy_items");
                assertThat(Dumps.count(d, "before.items")).as("the old table is left as it was").isEqualTo(50);
            }
        }
    }
}
