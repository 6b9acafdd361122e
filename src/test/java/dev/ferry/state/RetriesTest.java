package dev.ferry.state;

import java.net.ServerSocket;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.Logger;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Property;
import org.junit.jupiter.api.Test;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code retryAttempts: N} is N retries after the first attempt, and the log counts attempts out of N + 1. */
class RetriesTest {

    @Test
    void retryAttemptsIsTheNumberOfRetriesAfterTheFirstAttempt() throws Exception {
        TestDb dst = TestDb.destination("retries");
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort(); // nothing listens there once closed: every connection is refused, a transient failure
        }
        Map<String, String> props = Map.of("ferry.source.src.hostname", "127.0.0.1", "ferry.source.src.port", String.valueOf(closed),
                "ferry.source.src.database", "nowhere", "ferry.source.src.user", "u", "ferry.source.src.password", "p",
                "ferry.source.src.connectTimeout", "1s");
        String routes = transfer("never", "app.t", "retryAttempts", "0", "retryDelay", "50ms")
                + transfer("once", "app.u", "retryAttempts", "1", "retryDelay", "50ms")
                + transfer("twice", "app.v", "retryAttempts", "2", "retryDelay", "50ms");
        List<String> log = new CopyOnWriteArrayList<>();
        AbstractAppender capture = new AbstractAppender("retries-test", null, null, true, Property.EMPTY_ARRAY) {
            @Override
            public void append(LogEvent event) {
                log.add(event.getMessage().getFormattedMessage());
            }
        };
        capture.start();
        Logger logger = (Logger) LogManager.getLogger("dev.ferry.transfer");
        logger.addAppender(capture);
        try (FerryHarness ferry = FerryHarness.start(null, dst, "export", routes, props)) {
            for (String t : List.of("never", "once", "twice")) {
                assertThat(ferry.sync(t).status()).as(t).isEqualTo(TransferRun.Status.FAILED);
            }
        } finally {
            logger.removeAppender(capture);
        }

        try (Connection d = dst.admin()) {
            assertThat(Dumps.rows(d, "SELECT transfer, attempts, status FROM export._ferry_runs ORDER BY id"))
                    .containsExactly("never|1|failed", "once|2|failed", "twice|3|failed");
        }
        assertThat(log.stream().filter(l -> l.contains("retrying (attempt")).map(l -> l.replaceAll("\\) after .*", ")")).toList())
                .containsExactly("transfer once: app.u: retrying (attempt 2 of 2)",
                        "transfer twice: app.v: retrying (attempt 2 of 3)",
                        "transfer twice: app.v: retrying (attempt 3 of 3)");
    }
}
