package dev.ferry.app;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.Route;
import org.apache.camel.component.quartz.QuartzEndpoint;
import org.apache.camel.main.MainConfigurationProperties;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.apache.camel.test.main.junit5.Configure;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The routes as Camel builds them, under camel-test-main: each transfer becomes a route named after it, triggered by
 * Quartz on its cron expression or interval, and running it moves the data.
 */
@CamelMainTest(configurationClasses = FerryConfiguration.class,
        properties = {"camel.component.quartz.autoStartScheduler=false"},
        propertyPlaceholderLocations = "file:target/template-route-test/application.properties")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TemplateRouteTest implements CamelContextAware {

    static TestDb src;
    static TestDb dst;
    static Path routes;
    CamelContext camel;

    @BeforeAll
    static void setUp() throws Exception {
        src = TestDb.source("tpl");
        dst = TestDb.destination("tpl");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.a (id int PRIMARY KEY, v text)",
                "INSERT INTO app.a SELECT g, md5(g::text) FROM generate_series(1, 1000) g");
        src.grantRead("app");
        Path dir = FerryHarness.write(src, dst, "export",
                FerryHarness.transfer("hourly", "app.a", "cron", "0 0 * * * ?")
                        + FerryHarness.transfer("every-90s", "app.a", "every", "90s"), java.util.Map.of());
        // two transfers writing one table is a configuration error; give the second its own destination schema
        Files.writeString(dir.resolve("application.properties"),
                Files.readString(dir.resolve("application.properties"), StandardCharsets.ISO_8859_1)
                        + "ferry.destination.dst2.hostname = " + dst.server().host() + "\n"
                        + "ferry.destination.dst2.port = " + dst.server().port() + "\n"
                        + "ferry.destination.dst2.database = " + dst.database() + "\n"
                        + "ferry.destination.dst2.user = " + dst.user() + "\n"
                        + "ferry.destination.dst2.password = " + dst.password() + "\n"
                        + "ferry.destination.dst2.schema = export2\n", StandardCharsets.ISO_8859_1);
        Path transfers = dir.resolve("routes/transfers.yaml");
        String yaml = Files.readString(transfers);
        int second = yaml.indexOf("- templatedRoute", 1);
        Files.writeString(transfers, yaml.substring(0, second) + yaml.substring(second).replace("value: 'dst'", "value: 'dst2'"));
        routes = dir.resolve("routes");
        // this test loads the folder alone (no shipped routes): the repository's template and pipeline go in it, as a
        // user who customises them would have them
        FerryHarness.copyRepoRoutes(routes);
        Path config = Files.createDirectories(Path.of("target/template-route-test")).resolve("application.properties");
        Files.writeString(config, Files.readString(dir.resolve("application.properties"), StandardCharsets.ISO_8859_1)
                + "ferry.routes = " + routes.toString().replace("\\", "/") + "\n", StandardCharsets.ISO_8859_1);
    }

    @Configure
    protected void configure(MainConfigurationProperties configuration) {
        configuration.withRoutesIncludePattern("file:" + routes + "/*.yaml");
    }

    @Override
    public void setCamelContext(CamelContext camelContext) {
        this.camel = camelContext;
    }

    @Override
    public CamelContext getCamelContext() {
        return camel;
    }

    @Test
    void eachTransferIsARouteTriggeredByQuartz() {
        Route hourly = camel.getRoute("hourly");
        Route every = camel.getRoute("every-90s");

        assertThat(hourly.getEndpoint()).isInstanceOf(QuartzEndpoint.class);
        assertThat(((QuartzEndpoint) hourly.getEndpoint()).getCron()).isEqualTo("0 0 * * * ?");
        assertThat(every.getEndpoint().getEndpointUri()).contains("trigger.repeatInterval=90000");
        assertThat(camel.getRoute("ferry-table")).isNotNull();
        assertThat(camel.getRoute("ferry-failed")).isNotNull();
    }

    @Test
    void runningARouteMovesTheTable() throws Exception {
        TransferRun run = TransferLauncher.runOnce(camel, "every-90s");

        assertThat(run.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "a", d, "export2", "a", "id");
        }
    }
}
