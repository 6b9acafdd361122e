package dev.ferry.operate;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;

import dev.ferry.app.FerryRuntime;
import dev.ferry.state.TransferRun;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The console in a real headless Chromium (Debian's chromium and chromium-driver; skipped when they are missing)
 * against a running Ferry on real PostgreSQL: the transfer shows, a run started with "Run now" appears after the
 * page's refresh, "Test connection" shows PASS for a good connection and FAIL with the reason for one with a wrong
 * password. Leaves a screenshot in target/console.png; with -Dferry.screenshot=docs/console.png, also the README's.
 */
class ConsoleBrowserTest {

    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    @Test
    @Timeout(120)
    void theConsoleShowsRunsAndTestsConnections() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "no headless browser: the console's browser test needs Debian's chromium and its driver"
                        + " (apt-get install chromium chromium-driver: /usr/bin/chromium, /usr/bin/chromedriver)");
        TestDb src = TestDb.source("browser");
        TestDb dst = TestDb.destination("browser");
        src.execute("CREATE SCHEMA shop", "CREATE TABLE shop.orders (id int PRIMARY KEY, total numeric(12,2))",
                "INSERT INTO shop.orders SELECT g, g * 1.5 FROM generate_series(1, 1000) g",
                "CREATE TABLE shop.customers (id int PRIMARY KEY, name text)",
                "INSERT INTO shop.customers SELECT g, 'customer ' || g FROM generate_series(1, 200) g",
                "CREATE TABLE shop.refunds (id int PRIMARY KEY)");
        src.grantRead("shop");
        // rare crons: the test decides when runs happen
        String transfers = FerryHarness.transfer("orders", "shop.orders", "cron", "0 0 3 1 1 ?")
                + FerryHarness.transfer("customers", "shop.customers", "cron", "0 0 4 * * ?")
                + FerryHarness.transfer("refunds", "shop.refunds", "cron", "0 0 5 * * ?", "retryAttempts", "0");
        Map<String, String> broken = Map.of(
                "ferry.source.legacy.hostname", src.server().host(),
                "ferry.source.legacy.port", String.valueOf(src.server().port()),
                "ferry.source.legacy.database", src.database(),
                "ferry.source.legacy.user", src.user(),
                "ferry.source.legacy.password", "not-the-password",
                "ferry.source.legacy.connectTimeout", "3s");
        Path dir = FerryHarness.write(src, dst, "analytics", transfers, broken);
        Properties props = new Properties();
        props.setProperty("ferry.console.runNow", "true");
        try (FerryRuntime ferry = new FerryRuntime(dir.resolve("application.properties"), dir.resolve("routes"),
                FerryRuntime.Trigger.SCHEDULED, props, null)) {
            ferry.start();
            // some history for the sparklines: runs of growing size (orders: 1000, 1300, 1600 rows)
            for (int i = 0; i < 3; i++) {
                assertThat(ferry.runOnce("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
                assertThat(ferry.runOnce("customers").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
                src.execute("INSERT INTO shop.orders SELECT g, g * 1.5 FROM generate_series(1001 + " + i * 300 + ", "
                        + (1300 + i * 300) + ") g", "INSERT INTO shop.customers SELECT g, 'customer ' || g FROM generate_series("
                        + (201 + i * 50) + ", " + (250 + i * 50) + ") g");
            }
            src.execute("DROP TABLE shop.refunds"); // after the startup check: its run fails
            assertThat(ferry.runOnce("refunds").status()).isEqualTo(TransferRun.Status.FAILED);
            WebDriver browser = browser();
            try {
                browser.get("http://127.0.0.1:" + ferry.httpPort() + "/");
                WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(30), Duration.ofMillis(100));
                assertThat(text(wait, "tr[data-transfer='orders']")).contains("orders", "cron 0 0 3 1 1 ?", "succeeded", "1600").doesNotContain("1900");
                assertThat(text(wait, "tr[data-transfer='customers']")).contains("succeeded", "300");
                assertThat(text(wait, "tr[data-transfer='refunds']")).contains("failed", "shop.refunds does not exist");

                click(wait, "button[data-run='orders']");
                // the page refreshes itself: the run shows without a reload
                wait.until(d -> text(wait, "tr[data-transfer='orders']").contains("1900"));
                assertThat(text(wait, "tr[data-transfer='orders']")).contains("succeeded");

                click(wait, "button[data-check='destination.dst']");
                click(wait, "button[data-check='source.legacy']");
                wait.until(d -> text(wait, "[data-result='check:destination.dst']").startsWith("PASS"));
                wait.until(d -> text(wait, "[data-result='check:source.legacy']").startsWith("FAIL"));
                assertThat(text(wait, "[data-result='check:source.legacy']"))
                        .contains("password authentication failed");
                assertThat(browser.getPageSource()).doesNotContain(src.password()).doesNotContain(dst.password());

                Path shot = Path.of("target/console.png");
                Files.write(shot, ((ChromeDriver) browser).getScreenshotAs(OutputType.BYTES));
                // the README's picture, made again only when asked (-Dferry.screenshot=docs/console.png): a test run leaves
                // the working tree as it found it
                String readme = System.getProperty("ferry.screenshot");
                if (readme != null && !readme.isBlank()) {
                    Files.createDirectories(Path.of(readme).toAbsolutePath().getParent());
                    Files.copy(shot, Path.of(readme), StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                browser.quit();
            }
        }
    }

    /** An element's text; the page replaces its content on each refresh, so a read that meets a replaced element tries again. */
    static String text(WebDriverWait wait, String css) {
        return wait.until(d -> {
            try {
                return d.findElement(By.cssSelector(css)).getText();
            } catch (StaleElementReferenceException e) {
                return null;
            }
        });
    }

    static void click(WebDriverWait wait, String css) {
        wait.until(d -> {
            try {
                d.findElement(By.cssSelector(css)).click();
                return true;
            } catch (StaleElementReferenceException e) {
                return false;
            }
        });
    }

    /** Debian's Chromium through its own driver: nothing downloaded (Selenium Manager stays out), no network used. */
    static WebDriver browser() throws java.io.IOException {
        System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + Files.createTempDirectory("ferry-chromium"), "--window-size=1280,800");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).build();
        WebDriver driver = new ChromeDriver(service, options);
        driver.manage().window().setSize(new Dimension(1280, 800));
        // the page itself 1280x800 (the window's size includes the browser's frame), for the screenshot
        ((ChromeDriver) driver).executeCdpCommand("Emulation.setDeviceMetricsOverride",
                Map.of("width", 1280, "height", 800, "deviceScaleFactor", 1, "mobile", false));
        return driver;
    }
}
