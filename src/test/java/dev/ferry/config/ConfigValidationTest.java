package dev.ferry.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;

import dev.ferry.app.FerryRuntime;
import dev.ferry.testing.FerryHarness;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** Bad configuration is reported at startup, all problems at once, each with its file and key or line. */
class ConfigValidationTest {

    @Test
    void everyProblemIsReportedWithItsFileAndLine() throws Exception {
        String routes = """
                - templatedRoute:
                    routeTemplateRef: ferry-transfer
                    parameters:
                      - { name: name, value: orders }
                      - { name: source, value: nosuch }
                      - { name: destination, value: dst }
                      - { name: tables, value: "orders" }
                      - { name: mode, value: ful_refresh }
                      - { name: cron, value: "0 */15 * *" }
                      - { name: batchsize, value: "10" }
                - templatedRoute:
                    routeTemplateRef: ferry-transfer
                    parameters:
                      - { name: name, value: refunds }
                      - { name: source, value: src }
                      - { name: destination, value: dst }
                      - { name: tables, value: "shop.refunds" }
                      - { name: every, value: "5 minutes" }
                      - { name: batchSize, value: "-3" }
                      - { name: parallelTables, value: "2" }
                      - { name: copyStreams, value: "3" }
                - templatedRoute:
                    routeTemplateRef: ferry-transfer
                    parameters:
                      - { name: name, value: no-schedule }
                      - { name: source, value: src }
                      - { name: destination, value: dst }
                      - { name: tables, value: "shop.a" }
                - templatedRoute:
                    routeTemplateRef: ferry-transfer
                    parameters:
                      - { name: name, value: too-wide }
                      - { name: source, value: src }
                      - { name: destination, value: dst }
                      - { name: tables, value: "shop.a, shop.b, shop.c, shop.d, shop.e, shop.f, shop.g" }
                      - { name: every, value: 1h }
                      - { name: parallelTables, value: "7" }
                      - { name: copyStreams, value: "3" }
                """;
        Path dir = FerryHarness.write(null, null, null, routes, Map.of(
                "ferry.source.src.hostname", "localhost",
                "ferry.source.src.port", "54x",
                "ferry.source.src.database", "shop",
                "ferry.source.src.user", "reader",
                "ferry.source.src.password", "{{env:FERRY_TEST_SURELY_UNSET_PASSWORD}}",
                "ferry.source.src.hostnam", "typo",
                "ferry.source.src.stallTimeout", "soon",
                "ferry.destination.dst.hostname", "localhost",
                "ferry.destination.dst.database", "warehouse",
                "ferry.destination.dst.user", "writer"));

        ConfigException e;
        try (FerryRuntime ferry = new FerryRuntime(dir.resolve("application.properties"), dir.resolve("routes"),
                FerryRuntime.Trigger.MANUAL, new Properties(), null)) {
            e = catchThrowableOfType(ConfigException.class, ferry::start);
        }

        assertThat(e).as("startup must fail with a ConfigException").isNotNull();
        assertThat(e.problems()).containsExactlyInAnyOrder(
                "application.properties: ferry.source.src.hostnam: unknown field 'hostnam'; a source takes connectTimeout,"
                        + " database, hostname, idleTimeout, lockTimeout, maxSessions, password, passwordFile, port, ssh.acceptAnyHostKey, ssh.host,"
                        + " ssh.hostKeyFingerprint, ssh.knownHosts, ssh.passphrase, ssh.passphraseFile, ssh.port, ssh.privateKey,"
                        + " ssh.privateKeyFile, ssh.user, sslmode, sslrootcert, stallTimeout, statementTimeout, user",
                "application.properties: ferry.source.src.stallTimeout: 'soon' is not a duration such as 5m",
                "application.properties: ferry.source.src.password: cannot resolve its value: environment variable"
                        + " FERRY_TEST_SURELY_UNSET_PASSWORD is not set",
                "application.properties: ferry.source.src.port: '54x' is not a TCP port (1-65535)",
                "application.properties: ferry.destination.dst.schema is missing; the destination 'dst' needs it",
                "routes/transfers.yaml:10: transfer 'orders': unknown parameter 'batchsize'; known: batchSize, columns, copyStreams,"
                        + " cron, cursor, deletedColumn, destination, every, excludeColumns, excludeTables, fetchSize, filter, hardDeletes, key,"
                        + " lookback, mode, name, parallelTables, recipients, recipientsRefresh, recipientsSource, retryAttempts, retryDelay, retryMaxDelay, retryMultiplier, source, tables, webhook",
                "routes/transfers.yaml:5: transfer 'orders': no source named 'nosuch'; declare ferry.source.nosuch.hostname"
                        + " (and port, database, user, password) in application.properties (none are declared yet)",
                "routes/transfers.yaml:7: transfer 'orders': parameter 'tables': 'orders' is not schema-qualified; write it as"
                        + " schema.table",
                "routes/transfers.yaml:8: transfer 'orders': parameter 'mode': unknown mode 'ful_refresh'; expected one of"
                        + " full_refresh, incremental, append, xmin",
                "routes/transfers.yaml:9: transfer 'orders': parameter 'cron': '0 */15 * *' is not a valid Quartz cron"
                        + " expression (Unexpected end of expression.); Quartz cron has six or seven fields starting with"
                        + " seconds, e.g. \"0 */15 * * * ?\"",
                "routes/transfers.yaml:18: transfer 'refunds': parameter 'every': '5 minutes' is not a duration; write it like"
                        + " 30s, 5m, 1h30m or PT5M",
                "routes/transfers.yaml:19: transfer 'refunds': parameter 'batchSize': '-3' is not a positive whole number",
                "routes/transfers.yaml:37: transfer 'too-wide': parameter 'parallelTables': 7 tables at once, 3 sessions each, need 23"
                        + " sessions on the destination's server, more than its budget of 20 (maxSessions); lower parallelTables or"
                        + " copyStreams, or raise maxSessions",
                "routes/transfers.yaml:22: transfer 'no-schedule': no schedule; add a parameter 'every' (e.g. 15m) or 'cron'"
                        + " (a Quartz cron expression, e.g. \"0 0 * * * ?\" for hourly)");
    }

    @Test
    void incrementalSettingsAreChecked() throws Exception {
        String routes = FerryHarness.transfer("no-cursor", "app.a", "mode", "incremental")
                + FerryHarness.transfer("xmin-cursor", "app.b", "mode", "xmin", "cursor", "updated_at")
                + FerryHarness.transfer("full-cursor", "app.c", "cursor", "updated_at", "hardDeletes", "yes")
                + FerryHarness.transfer("filters", "app.d", "mode", "append", "cursor", "at",
                        "filter", "a = :a AND b = :b", "filter.a", "1", "filter.c", "3", "columns", "x", "excludeColumns", "y")
                + FerryHarness.transfer("bad-filter", "app.e", "filter", "a = 1; DROP TABLE x");
        Path dir = FerryHarness.write(null, null, null, routes, Map.of(
                "ferry.source.src.hostname", "localhost", "ferry.source.src.database", "s", "ferry.source.src.user", "u",
                "ferry.destination.dst.hostname", "localhost", "ferry.destination.dst.database", "d",
                "ferry.destination.dst.user", "u", "ferry.destination.dst.schema", "export"));

        ConfigException e;
        try (FerryRuntime ferry = new FerryRuntime(dir.resolve("application.properties"), dir.resolve("routes"),
                FerryRuntime.Trigger.MANUAL, new Properties(), null)) {
            e = catchThrowableOfType(ConfigException.class, ferry::start);
        }

        assertThat(e.problems()).containsExactlyInAnyOrder(
                "routes/transfers.yaml:12: transfer 'no-cursor': mode incremental needs a 'cursor' parameter naming an"
                        + " ever-increasing column such as updated_at; for a table without one, use mode xmin",
                "routes/transfers.yaml:29: transfer 'xmin-cursor': mode xmin tracks changes by transaction id and takes no"
                        + " 'cursor'; remove it, or use mode incremental",
                "routes/transfers.yaml:46: transfer 'full-cursor': parameter 'hardDeletes': 'yes' is not true or false",
                "routes/transfers.yaml:44: transfer 'full-cursor': parameter 'cursor' applies to incremental modes, not to"
                        + " full_refresh; remove it, or set mode to incremental",
                "routes/transfers.yaml:73: transfer 'filters': set 'columns' (the columns to copy) or 'excludeColumns' (the"
                        + " columns to leave out), not both",
                "routes/transfers.yaml:65: transfer 'filters': the filter uses :b but no parameter 'filter.b' gives its value",
                "routes/transfers.yaml:69: transfer 'filters': parameter 'filter.c' is not used by the filter (no :c in it)",
                "routes/transfers.yaml:88: transfer 'bad-filter': parameter 'filter': a filter is one condition; it may not"
                        + " contain ';' outside quotes");
    }

    @Test
    void aMissingConfigFileOrRoutesFolderIsNamed() throws Exception {
        Path dir = Files.createTempDirectory("ferry-empty");
        ConfigException e;
        try (FerryRuntime ferry = new FerryRuntime(dir.resolve("application.properties"), dir.resolve("routes"),
                FerryRuntime.Trigger.MANUAL, new Properties(), null)) {
            e = catchThrowableOfType(ConfigException.class, ferry::start);
        }
        assertThat(e.problems()).hasSize(2);
        assertThat(e.problems().get(0)).contains("application.properties: no such file; pass --config FILE");
        assertThat(e.problems().get(1)).contains("routes: no such folder; pass --routes DIR");
    }

    @Test
    void aTransferIsCheckedAgainstItsServersBudgetTheSmallestMaxSessionsDeclaredForIt() throws Exception {
        // two destinations on one server: the server's budget is the smaller maxSessions, whichever a transfer names
        String routes = FerryHarness.transfer("wide", "shop.a, shop.b, shop.c, shop.d", "destination", "roomy",
                "mode", "incremental", "cursor", "updated_at", "parallelTables", "4");
        Map<String, String> props = new java.util.LinkedHashMap<>();
        props.put("ferry.source.src.hostname", "source.example");
        props.put("ferry.source.src.database", "shop");
        props.put("ferry.source.src.user", "reader");
        for (String[] d : new String[][] {{"roomy", "20"}, {"tight", "5"}}) {
            props.put("ferry.destination." + d[0] + ".hostname", "warehouse.example");
            props.put("ferry.destination." + d[0] + ".database", "warehouse");
            props.put("ferry.destination." + d[0] + ".user", "writer");
            props.put("ferry.destination." + d[0] + ".schema", d[0]);
            props.put("ferry.destination." + d[0] + ".maxSessions", d[1]);
        }
        Path dir = FerryHarness.write(null, null, null, routes, props);
        Properties overrides = new Properties();
        overrides.setProperty("ferry.preflight", "false");
        ConfigException e;
        try (FerryRuntime ferry = new FerryRuntime(dir.resolve("application.properties"), dir.resolve("routes"),
                FerryRuntime.Trigger.MANUAL, overrides, null)) {
            e = catchThrowableOfType(ConfigException.class, ferry::start);
        }
        assertThat(e).as("startup must fail with a ConfigException").isNotNull();
        assertThat(e.problems()).anySatisfy(p -> assertThat(p).contains("transfer 'wide': parameter 'parallelTables': 4 tables"
                + " at once, 2 sessions each, need 10 sessions on the destination's server, more than its budget of 5"));
    }
}
