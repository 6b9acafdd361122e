package dev.ferry.app;

import java.nio.file.Path;
import java.sql.Connection;

import dev.ferry.testing.Dumps;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The demo, as {@code ferry demo --once} runs it, with the repository's own configuration and routes. */
class DemoTest {

    @Test
    void theDemoRunsOnceAndItsDestinationMatchesItsSource() throws Exception {
        Demo.Servers servers = Demo.prepare();
        try {
            int status = Demo.runOnce(Path.of("application.properties"), Path.of("routes"), servers.connections());

            assertThat(status).isZero();
            try (Connection s = servers.source().connect("shop"); Connection d = servers.destination().connect("warehouse")) {
                Dumps.assertSameRows(s, "shop", "customers", d, "shop_export", "customers", "id");
                Dumps.assertSameRows(s, "shop", "products", d, "shop_export", "products", "sku");
                Dumps.assertSameRows(s, "shop", "orders", d, "shop_export", "orders", "id");
                Dumps.assertSameRows(s, "shop", "order_items", d, "shop_export", "order_items", "order_id, line_no");
                Dumps.assertSameRows(s, "shop", "Refund Requests", d, "shop_export", "Refund Requests", "\"Request ID\"");
                assertThat(Dumps.count(d, "shop_export.order_items")).isEqualTo(300_000);
                assertThat(Dumps.rows(d, "SELECT transfer, r.mode, rows FROM shop_export._ferry_state s JOIN shop_export._ferry_runs r"
                        + " USING (transfer) WHERE status = 'succeeded'")).containsExactly("shop-orders|incremental|150000");
            }
        } finally {
            servers.source().close();
            servers.destination().close();
        }
    }
}
