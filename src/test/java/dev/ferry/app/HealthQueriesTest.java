package dev.ferry.app;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;

import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.PgServer;
import dev.ferry.testing.TestDb;
import dev.ferry.testing.TestPostgres;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static dev.ferry.app.ObserveEndpointsTest.await;
import static dev.ferry.app.ObserveEndpointsTest.check;
import static dev.ferry.app.ObserveEndpointsTest.get;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The transfers' health checks read the run history in one query per destination schema, however many transfers
 * write there: counted in the destination server's statement log, against the checks' {@code SELECT 1}.
 */
class HealthQueriesTest {

    @Test
    @Timeout(60)
    void oneHistoryQueryPerSchemaPerCheck() throws Exception {
        Path logs = Files.createTempDirectory("ferry-pglog");
        PgServer server = TestPostgres.startOwn(Map.of("logging_collector", "on", "log_directory", logs.toString(),
                "log_filename", "pg.log", "log_statement", "all"));
        TestDb src = TestDb.source("healthq");
        StringBuilder yaml = new StringBuilder();
        int transfers = 12;
        for (int i = 1; i <= transfers; i++) {
            src.execute("CREATE SCHEMA IF NOT EXISTS app", "CREATE TABLE app.t" + i + " (id int PRIMARY KEY)");
            // never fires while the test runs: the checks alone touch the history
            yaml.append(FerryHarness.transfer("t" + i, "app.t" + i, "cron", "0 0 0 1 1 ? 2099"));
        }
        src.grantRead("app");
        TestDb dst = TestDb.on(server, "healthq_dst", "writer");
        dst.execute("GRANT CREATE, TEMPORARY ON DATABASE " + dst.database() + " TO " + dst.user(),
                "CREATE SCHEMA export", "GRANT ALL ON SCHEMA export TO " + dst.user());
        try (java.sql.Connection c = dst.admin()) {
            dev.ferry.state.RunHistory.ensure(c, "export"); // a history to read (a statement that fails is logged otherwise)
        }
        dst.execute("GRANT ALL ON export._ferry_runs TO " + dst.user());
        Path dir = FerryHarness.write(src, dst, "export", yaml.toString(), Map.of("ferry.health.interval", "1s"));
        String destination = "ferry-destination-" + dst.user() + "@" + server.host() + ":" + server.port() + "/" + dst.database();
        try (FerryRuntime ferry = new FerryRuntime(dir.resolve("application.properties"), dir.resolve("routes"),
                FerryRuntime.Trigger.SCHEDULED, new Properties(), null)) {
            ferry.start();
            int port = ferry.httpPort();
            await(() -> "UP".equals(check(get(port, "/observe/health/ready").body(), destination)), "the destination checked");
            await(() -> lines(logs, " FROM unnest(") >= 3, "three reads of the history");
        }
        long checks = lines(logs, ": SELECT 1");
        long historyReads = lines(logs, " FROM unnest(");
        // each check: SELECT 1, then the history of all 12 transfers in one statement (not one per transfer)
        assertThat(historyReads).as("history reads, in %s checks of %s transfers", checks, transfers)
                .isGreaterThanOrEqualTo(3).isLessThanOrEqualTo(checks);
    }

    /** Statement lines of the server's log containing this (ending with it, for a text starting with ':'). */
    private static long lines(Path logs, String text) throws Exception {
        Path log = logs.resolve("pg.log");
        if (!Files.exists(log)) {
            return 0;
        }
        return Files.readAllLines(log).stream().filter(l -> l.contains("statement: ") || l.contains("execute "))
                .filter(l -> text.startsWith(":") ? l.endsWith(text) : l.contains(text)).count();
    }
}
