package dev.ferry.connect;

import java.sql.Connection;
import java.time.Duration;
import java.util.Map;

import dev.ferry.config.ConnectionSettings;
import dev.ferry.config.Secret;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Optional work (the watermark lag measured after a table) takes a session only when one comes at once: with every
 * session of the pool in use it gives up after its short wait, not after the connection's connect timeout.
 */
class TryConnectionTest {

    @Test
    @Timeout(30)
    void aBusyPoolGivesNoSessionWithinTheShortWait() throws Exception {
        TestDb db = TestDb.source("trysession");
        ConnectionSettings s = new ConnectionSettings(ConnectionSettings.Role.SOURCE, "src", db.server().host(),
                db.server().port(), db.database(), db.user(), new Secret(db.password()), null, 20, null, null,
                ConnectionSettings.Timeouts.DEFAULT, new ConnectionSettings.Sessions(1, Duration.ofSeconds(10)));
        try (Connections connections = new Connections(Map.of("src", s), Map.of(), "test")) {
            try (Connection held = connections.dataSource(s).getConnection()) {
                long start = System.nanoTime();
                assertThat(connections.tryConnection(s, Duration.ofMillis(300))).isNull();
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5)); // connect timeout: 20 s
            }
            try (Connection free = connections.tryConnection(s, Duration.ofMillis(300))) {
                assertThat(free).isNotNull();
                assertThat(free.isValid(2)).isTrue();
            }
        }
    }
}
