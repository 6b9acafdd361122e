package dev.ferry.app;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.ferry.testing.FerryHarness;
import org.junit.jupiter.api.Test;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Configuration mistakes that Camel or PostgreSQL would otherwise meet first, without a file and line: each one stops
 * the start with exit status 2, names where it is written and how to fix it, and does so the same way for
 * {@code sync} and for {@code check} (one validation for both). None of these reach a database.
 */
class ConfigErrorsTest {

    /** Connections that are never reached: every case below fails before connecting. */
    static final Map<String, String> PROPS = Map.of(
            "ferry.source.src.hostname", "127.0.0.1", "ferry.source.src.port", "1", "ferry.source.src.database", "s",
            "ferry.source.src.user", "u",
            "ferry.destination.dst.hostname", "127.0.0.1", "ferry.destination.dst.port", "1", "ferry.destination.dst.database", "d",
            "ferry.destination.dst.user", "u", "ferry.destination.dst.schema", "export");

    /** Runs {@code sync --all} and {@code check} on the folder; both must exit 2 with the same report. */
    static String refused(Path dir) {
        String first = null;
        for (List<String> command : List.of(List.of("sync", "--all"), List.of("check"))) {
            String[] args = new String[4 + command.size()];
            args[0] = "--config";
            args[1] = dir.resolve("application.properties").toString();
            args[2] = "--routes";
            args[3] = dir.resolve("routes").toString();
            for (int i = 0; i < command.size(); i++) {
                args[4 + i] = command.get(i);
            }
            String[] err = new String[1];
            int status = CommandLineTest.captureErr(() -> Ferry.execute(args), err);
            assertThat(status).as("%s: %s", command, err[0]).isEqualTo(Ferry.BAD_CONFIG);
            assertThat(err[0]).as("%s", command).doesNotContain("NullPointerException").doesNotContain("\tat ");
            if (first == null) {
                first = err[0];
            } else {
                assertThat(err[0]).as("check reports what the start reports").isEqualTo(first);
            }
        }
        return first;
    }

    static Path folder(String routes) throws Exception {
        return FerryHarness.write(null, null, null, routes, PROPS);
    }

    @Test
    void ferrysOwnTableNamesAreRefused() throws Exception {
        String err = refused(folder(transfer("mirror", "app._ferry_state, app.orders, app._ferry_runs, app._ferry_leases,"
                + " app._ferry_loads")));
        for (String t : List.of("_ferry_state", "_ferry_runs", "_ferry_leases", "_ferry_loads")) {
            assertThat(err).contains("routes/transfers.yaml:10: transfer 'mirror': parameter 'tables': app." + t + " would be"
                    + " written to a destination table named " + t + ", but names starting with _ferry_ are Ferry's own tables"
                    + " (_ferry_state, _ferry_runs, _ferry_leases, the load tables of a full refresh); to copy it, list a view"
                    + " of it under another name, e.g. CREATE VIEW \"app\".\"" + t.substring(1) + "\" AS SELECT * FROM \"app\".\"" + t + "\"");
        }
        assertThat(err).doesNotContain("app.orders");
    }

    @Test
    @org.junit.jupiter.api.Timeout(60)
    void tablePatternMistakesNameFileAndLine() throws Exception {
        String err = refused(folder(transfer("pat", "shop.*, \"Sales Data.*", "excludeTables", "shop")
                + transfer("both", "shop.orders, shop.o*", "excludeTables", "shop.orders")));
        assertThat(err).contains("routes/transfers.yaml:10: transfer 'pat': parameter 'tables': unclosed double quote at"
                        + " position 9 of 'shop.*, \"Sales Data.*'")
                .contains("routes/transfers.yaml:12: transfer 'pat': parameter 'excludeTables': 'shop' is not schema-qualified;"
                        + " write it as schema.table")
                .contains("routes/transfers.yaml:27: transfer 'both': shop.orders is named in 'tables' and excluded by"
                        + " 'excludeTables'; remove it from one of them");
    }

    @Test
    void transferNamesOfFerrysOwnRoutesAreRefused() throws Exception {
        String err = refused(folder(transfer("ferry-table", "app.a") + transfer("ferry-failed", "app.b")
                + transfer("ferry-notify", "app.c") + transfer("ok", "app.d")));
        int line = 4;
        for (String name : List.of("ferry-table", "ferry-failed", "ferry-notify")) {
            assertThat(err).containsPattern("routes/transfers.yaml:" + line + ": transfer name '" + name + "' is the id of the"
                    + " route declared at classpath:ferry/routes/ferry-pipeline.yaml:[0-9]+, and a transfer's name is its route id; rename the transfer");
            line += 13;
        }
        assertThat(err).contains("3 configuration problems");
    }

    /**
     * A missing route template or direct: consumer stops the start with exit 2 naming the file and what is missing.
     * Before, Camel started anyway and each run waited on "No consumers available on endpoint: direct://ferry-table",
     * retried every minute, and never ended.
     */
    @Test
    @org.junit.jupiter.api.Timeout(60)
    void aMissingTemplateOrDirectConsumerIsRefusedAtStartup() throws Exception {
        Path typo = folder(transfer("a", "app.a").replace("routeTemplateRef: ferry-transfer", "routeTemplateRef: ferry-transfr"));
        assertThat(refused(typo)).contains("routes/transfers.yaml:1: routeTemplateRef 'ferry-transfr' names no route template"
                + " in routes/ or in the routes shipped with Ferry (known: ferry-recipients, ferry-transfer); fix the name");

        // a customised template sending to a route that does not exist
        Path dir = folder(transfer("a", "app.a"));
        String template = java.nio.file.Files.readString(Path.of("routes/ferry-transfer.yaml"));
        int line = lineOf(template, "- to: direct:ferry-table");
        java.nio.file.Files.writeString(dir.resolve("routes/ferry-transfer.yaml"),
                template.replace("- to: direct:ferry-table", "- to: direct:ferry-tables"));
        assertThat(refused(dir)).contains("routes/ferry-transfer.yaml:" + line + ": sends to direct:ferry-tables, but no route"
                + " consumes it (from: direct:ferry-tables) in routes/ or in the routes shipped with Ferry, so a run would wait"
                + " for it forever; add that route or fix the name");

        // a customised pipeline without the error route: it replaces the shipped pipeline, whose ferry-failed is gone
        dir = folder(transfer("a", "app.a"));
        String pipeline = java.nio.file.Files.readString(Path.of("routes/ferry-pipeline.yaml"));
        java.nio.file.Files.writeString(dir.resolve("routes/my-pipeline.yaml"), pipeline.substring(0, pipeline.indexOf("# The error route")));
        String err = refused(dir);
        String shipped = new String(FerryConfiguration.class.getClassLoader()
                .getResourceAsStream("ferry/routes/ferry-transfer.yaml").readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(err).contains("classpath:ferry/routes/ferry-transfer.yaml:" + lineOf(shipped, "deadLetterUri: direct:ferry-failed")
                        + ": sends to direct:ferry-failed, but no route consumes it")
                .contains("the shipped ferry-pipeline.yaml is not loaded because routes/my-pipeline.yaml:3 declares its id 'ferry-table'");
    }

    static int lineOf(String text, String what) {
        return text.substring(0, text.indexOf(what)).split("\n", -1).length;
    }

    @Test
    void yamlSyntaxErrorsNameFileAndLine() throws Exception {
        String err = refused(folder(transfer("a", "app.a") + "- templatedRoute:\n    routeTemplateRef: ferry-transfer\n"
                + "    parameters:\n      - { name: name, value: b\n"));
        assertThat(err).contains("routes/transfers.yaml:18: not valid YAML: expected ',' or '}', but got <stream end>"
                + " (while parsing a flow mapping that starts at line 17); fix the syntax");
    }

    @Test
    void aTransferWithoutTablesNamesFileAndLine() throws Exception {
        String err = refused(folder(transfer("a", "app.a") + "- templatedRoute:\n    routeTemplateRef: ferry-transfer\n"
                + "    parameters:\n      - { name: name, value: b }\n      - { name: source, value: src }\n"
                + "      - { name: destination, value: dst }\n      - { name: every, value: 1h }\n"));
        assertThat(err).contains("routes/transfers.yaml:14: transfer 'b': parameter 'tables' is missing; add"
                + " { name: tables, value: ... } (Schema-qualified source tables or patterns, comma-separated, e.g. \"shop.orders,"
                + " shop.order_items\" or \"shop.*\" (patterns are matched against the source at each run's start).)");
    }

    @Test
    void aParameterWithoutAValueNamesFileAndLine() throws Exception {
        String err = refused(folder(transfer("a", "app.a") + "      - { name: batchSize }\n      - name: fetchSize\n"
                + "        value:\n"));
        assertThat(err).contains("routes/transfers.yaml:14: transfer 'a': parameter 'batchSize' has no value; write"
                + " { name: batchSize, value: ... }, or remove the line to use the default")
                .contains("routes/transfers.yaml:15: transfer 'a': parameter 'fetchSize' has no value");
    }

    @Test
    void aCronExpressionThatNeverFiresNamesFileAndLine() throws Exception {
        String err = refused(folder(transfer("a", "app.a", "cron", "0 0 0 30 2 ?")
                + transfer("b", "app.b", "cron", "0 0 0 1 1 ? 2001")));
        assertThat(err).contains("routes/transfers.yaml:12: transfer 'a': parameter 'cron': '0 0 0 30 2 ?' never fires: no date"
                + " from now on matches it (a day the month does not have, such as 30 February, or a year in the past); check"
                + " its day-of-month, month and year fields")
                .contains("routes/transfers.yaml:25: transfer 'b': parameter 'cron': '0 0 0 1 1 ? 2001' never fires");
    }

    @Test
    void aDestinationSchemaPostgresReservesIsNamedByItsProperty() throws Exception {
        Map<String, String> props = new HashMap<>(PROPS);
        props.put("ferry.destination.dst.schema", "pg_temp");
        props.putAll(Map.of("ferry.destination.sys.hostname", "127.0.0.1", "ferry.destination.sys.database", "d",
                "ferry.destination.sys.user", "u", "ferry.destination.sys.schema", "pg_export"));
        props.putAll(Map.of("ferry.destination.big.hostname", "127.0.0.1", "ferry.destination.big.database", "d",
                "ferry.destination.big.user", "u", "ferry.destination.big.schema", "ü".repeat(32)));
        String err = refused(FerryHarness.write(null, null, null, transfer("a", "app.a") + transfer("b", "app.b", "destination", "sys")
                + transfer("c", "app.c", "destination", "big"), props));
        assertThat(err).contains("application.properties: ferry.destination.dst.schema: 'pg_temp' is reserved by PostgreSQL:"
                + " schema names starting with pg_ are its system schemas, and pg_temp is each session's temporary schema,"
                + " dropped when the session ends; choose another name, e.g. export")
                .contains("application.properties: ferry.destination.sys.schema: 'pg_export' is reserved by PostgreSQL:"
                        + " schema names starting with pg_ are its system schemas; choose another name")
                .contains("application.properties: ferry.destination.big.schema: '" + "ü".repeat(32) + "' is longer than"
                        + " PostgreSQL's 63-byte limit for names (it would be cut); choose a shorter name");
    }

    @Test
    @org.junit.jupiter.api.Timeout(60)
    void softDeletesAreRefusedForAppendAndOnSchemaChangeIsOneOfThree() throws Exception {
        String err = refused(folder(transfer("a", "app.a", "mode", "append", "cursor", "at", "hardDeletes", "soft")
                + transfer("b", "app.b", "hardDeletes", "soft")
                + transfer("c", "app.c", "onSchemaChange", "ignore", "hardDeletes", "maybe")));
        assertThat(err).contains("routes/transfers.yaml:16: transfer 'a': hardDeletes: soft needs a mode that updates rows (a row"
                        + " that comes back clears its _ferry_deleted_at), and append never does; use mode incremental, or hardDeletes: true")
                .doesNotContain("transfer 'b'") // soft on a full refresh: the old table's gone rows are carried over, marked
                .contains("routes/transfers.yaml:46: transfer 'c': parameter 'onSchemaChange': 'ignore' is not one of evolve,"
                        + " freeze, fail")
                .contains("routes/transfers.yaml:48: transfer 'c': parameter 'hardDeletes': 'maybe' is not true, false or soft");
    }
}
