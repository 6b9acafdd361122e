package dev.ferry.app;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.PgServer;
import dev.ferry.testing.TestDb;
import dev.ferry.testing.TestPostgres;
import org.apache.camel.util.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static dev.ferry.app.ObserveEndpointsTest.await;
import static dev.ferry.app.ObserveEndpointsTest.checkJson;
import static dev.ferry.app.ObserveEndpointsTest.get;
import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A destination server whose connection slots other clients hold all of (SQLSTATE 53300) is not Ferry being unready:
 * its check stays UP, saying "server full", and readiness does not flap with the server's load.
 */
class FullServerHealthTest {

    @Test
    @Timeout(60)
    void aFullServerIsUpWithAMessage() throws Exception {
        PgServer server = TestPostgres.startOwn(Map.of("max_connections", "6", "superuser_reserved_connections", "3"));
        TestDb src = TestDb.source("fullhealth");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.a (id int PRIMARY KEY)", "INSERT INTO app.a VALUES (1)");
        src.grantRead("app");
        TestDb dst = TestDb.on(server, "fullhealth_dst", "writer");
        dst.execute("GRANT CREATE, TEMPORARY ON DATABASE " + dst.database() + " TO " + dst.user());
        TestDb other = TestDb.on(server, "fullhealth_other", "app");
        Path dir = FerryHarness.write(src, dst, "export", transfer("a", "app.a"), Map.of("ferry.health.interval", "1s"));
        String id = "ferry-destination-" + dst.user() + "@" + server.host() + ":" + server.port() + "/" + dst.database();
        List<Connection> hogs = new ArrayList<>();
        try (FerryRuntime ferry = new FerryRuntime(dir.resolve("application.properties"), dir.resolve("routes"),
                FerryRuntime.Trigger.SCHEDULED, new Properties(), null)) {
            ferry.start();
            int port = ferry.httpPort();
            await(() -> message(port, id).contains("reachable and authenticated")
                    && ObserveEndpointsTest.succeededRuns(dst, "a") == 1, "the destination checked, after the first run");
            // another application takes every slot left
            try {
                while (hogs.size() < 10) {
                    hogs.add(DriverManager.getConnection("jdbc:postgresql://" + server.host() + ":" + server.port() + "/"
                            + other.database(), other.user(), other.password()));
                }
            } catch (SQLException e) {
                assertThat(e.getSQLState()).isEqualTo("53300");
            }
            await(() -> message(port, id).contains("server full"), "the check sees the server full");
            JsonObject check = checkJson(get(port, "/observe/health/ready").body(), id);
            assertThat(check.getString("status")).isEqualTo("UP");
            assertThat(check.getString("message")).contains("SQLSTATE 53300", "max_connections").doesNotContain(dst.password());
            assertThat(get(port, "/observe/health/ready").statusCode()).isEqualTo(200);
        } finally {
            for (Connection c : hogs) {
                c.close();
            }
        }
    }

    private static String message(int port, String id) throws Exception {
        JsonObject check = checkJson(get(port, "/observe/health/ready").body(), id);
        return check == null || check.getString("message") == null ? "" : check.getString("message");
    }
}
