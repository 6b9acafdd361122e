package dev.ferry.config;

import java.io.File;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.sun.net.httpserver.HttpServer;
import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.SshBastion;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Passwords with every character the destination guide warns about work on both ends, and no secret (database
 * passwords, an SSH key and its passphrase, a webhook token) appears in anything Ferry prints or records, whether
 * runs and checks succeed or fail.
 */
class SecretsTest {

    static final String SOURCE_PASSWORD = "s@[r]/c?#\"\\+ &:%-Ünï'1";
    static final String DESTINATION_PASSWORD = "d@[s]/t?#\"\\+ &:%-çø'2";
    static final String WRONG_PASSWORD = "w@[r]/o?#\"\\+ &:%-ng'3";
    static final String PASSPHRASE = "pass phrase @#% 4";
    static final String WEBHOOK_TOKEN = "tok-SECRET-5";
    static final String URL_SECRET = "urlsecret6";

    @Test
    void specialCharacterPasswordsWorkAndNoSecretLeaks() throws Exception {
        TestDb src = TestDb.source("secrets");
        TestDb dst = TestDb.destination("secrets");
        src.execute("ALTER ROLE \"" + src.user() + "\" PASSWORD '" + SOURCE_PASSWORD.replace("'", "''") + "'",
                "CREATE SCHEMA app", "CREATE TABLE app.t (id int PRIMARY KEY, v text)",
                "INSERT INTO app.t SELECT g, 'v' FROM generate_series(1, 50) g");
        src.grantRead("app");
        dst.execute("ALTER ROLE \"" + dst.user() + "\" PASSWORD '" + DESTINATION_PASSWORD.replace("'", "''") + "'");

        // passwords written straight into application.properties (escaped as the format requires) work too
        TestDb srcInFile = new TestDb(src.server(), src.database(), src.user(), SOURCE_PASSWORD);
        TestDb dstInFile = new TestDb(dst.server(), dst.database(), dst.user(), DESTINATION_PASSWORD);
        try (FerryHarness ferry = FerryHarness.start(srcInFile, dstInFile, "export_file", transfer("t", "app.t"))) {
            assertThat(ferry.sync("t").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
        }

        HttpServer hook = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        hook.createContext("/", e -> {
            e.getRequestBody().readAllBytes();
            e.sendResponseHeaders(500, -1);
            e.close();
        });
        hook.start();
        List<String> outputs = new ArrayList<>();
        String keyBody;
        try (SshBastion bastion = SshBastion.start()) {
            String key = bastion.privateKey(PASSPHRASE);
            keyBody = key.lines().skip(1).findFirst().orElseThrow(); // a line of the key's base64 body
            Path passwordFile = Files.createTempFile("dst-password", "");
            Files.writeString(passwordFile, DESTINATION_PASSWORD + "\n");
            // secrets come from the environment and from files, never from the properties file itself
            Map<String, String> props = new HashMap<>();
            props.put("ferry.source.src.password", "{{env:FERRY_TEST_SRC_PASSWORD}}");
            props.put("ferry.source.src.ssh.host", "127.0.0.1");
            props.put("ferry.source.src.ssh.port", String.valueOf(bastion.port()));
            props.put("ferry.source.src.ssh.user", SshBastion.USER);
            props.put("ferry.source.src.ssh.privateKey", "{{env:FERRY_TEST_SSH_KEY}}");
            props.put("ferry.source.src.ssh.passphrase", "{{env:FERRY_TEST_SSH_PASSPHRASE}}");
            props.put("ferry.source.src.ssh.hostKeyFingerprint", bastion.fingerprint());
            props.put("ferry.destination.dst.passwordFile", passwordFile.toString());
            props.put("ferry.destination.dst.connectTimeout", "3s");
            props.put("ferry.webhook.url", "http://127.0.0.1:" + hook.getAddress().getPort() + "/hook?key=" + URL_SECRET);
            props.put("ferry.webhook.token", "{{env:FERRY_TEST_WEBHOOK_TOKEN}}");
            Path dir = FerryHarness.write(src, dst, "export", transfer("t", "app.t", "retryAttempts", "1", "retryDelay", "100ms"), props);
            String properties = Files.readString(dir.resolve("application.properties"), StandardCharsets.ISO_8859_1)
                    .lines().filter(l -> !l.startsWith("ferry.destination.dst.password ="))
                    .reduce("", (a, b) -> a + b + "\n");
            Files.writeString(dir.resolve("application.properties"), properties, StandardCharsets.ISO_8859_1);
            Map<String, String> env = Map.of("FERRY_TEST_SRC_PASSWORD", SOURCE_PASSWORD, "FERRY_TEST_SSH_KEY", key,
                    "FERRY_TEST_SSH_PASSPHRASE", PASSPHRASE, "FERRY_TEST_WEBHOOK_TOKEN", WEBHOOK_TOKEN);

            Run check = ferry(dir, env, "check");
            assertThat(check.status()).as(check.output()).isZero();
            assertThat(check.output()).contains("through the SSH tunnel");
            Run sync = ferry(dir, env, "sync", "t");
            assertThat(sync.status()).as(sync.output()).isZero();
            assertThat(sync.output()).contains("not delivered after 4 attempts");
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                Dumps.assertSameRows(s, "app", "t", d, "export", "t", "id");
            }
            // now the destination password is wrong: the run, the check and the failure records must not show it either
            Files.writeString(passwordFile, WRONG_PASSWORD);
            Run failedSync = ferry(dir, env, "sync", "t");
            assertThat(failedSync.status()).isEqualTo(1);
            assertThat(failedSync.output()).contains("password authentication failed");
            Run failedCheck = ferry(dir, env, "check");
            assertThat(failedCheck.status()).isEqualTo(1);
            // and a wrong SSH passphrase
            Run badKey = ferry(dir, Map.of("FERRY_TEST_SRC_PASSWORD", SOURCE_PASSWORD, "FERRY_TEST_SSH_KEY", key,
                    "FERRY_TEST_SSH_PASSPHRASE", WRONG_PASSWORD, "FERRY_TEST_WEBHOOK_TOKEN", WEBHOOK_TOKEN), "check");
            assertThat(badKey.status()).isEqualTo(1);
            outputs.addAll(List.of(check.output(), sync.output(), failedSync.output(), failedCheck.output(), badKey.output()));
        } finally {
            hook.stop(0);
        }
        try (Connection d = dst.admin()) {
            outputs.add(String.join("\n", Dumps.rows(d, "SELECT t::text FROM export._ferry_runs t")));
            outputs.add(String.join("\n", Dumps.rows(d, "SELECT t::text FROM export_file._ferry_runs t")));
        }
        for (String out : outputs) {
            for (String secret : List.of(SOURCE_PASSWORD, DESTINATION_PASSWORD, WRONG_PASSWORD, PASSPHRASE, WEBHOOK_TOKEN, URL_SECRET)) {
                assertThat(out).as("output must not contain a secret").doesNotContain(secret);
            }
            assertThat(out).doesNotContain("OPENSSH PRIVATE KEY").doesNotContain(keyBody);
        }
        assertThat(new Secret(SOURCE_PASSWORD).toString()).doesNotContain(SOURCE_PASSWORD);
        ConnectionSettings settings = new ConnectionSettings(ConnectionSettings.Role.SOURCE, "x", "h", 5432, "d", "u",
                new Secret(SOURCE_PASSWORD), null, 5, null, new ConnectionSettings.Ssh("b", 22, "u", new Secret("KEYDATA"),
                new Secret(PASSPHRASE), null, null, true));
        assertThat(settings.toString() + settings.ssh() + settings.describe()).doesNotContain(SOURCE_PASSWORD)
                .doesNotContain(PASSPHRASE).doesNotContain("KEYDATA");
    }

    /** Two passwords that are placeholder syntax, to be used as they are wherever they come from. */
    static final String BRACE_PASSWORD = "p{{a}}b}}";
    static final String ENV_TEXT_PASSWORD = "{{env:HOME}}";

    @Test
    void passwordsWithBracesAreValuesFromEnvironmentFilesAndProperties() throws Exception {
        TestDb src = TestDb.source("braces");
        TestDb dst = TestDb.destination("braces");
        src.execute("ALTER ROLE \"" + src.user() + "\" PASSWORD '" + BRACE_PASSWORD + "'",
                "CREATE SCHEMA app", "CREATE TABLE app.t (id int PRIMARY KEY, v text)",
                "INSERT INTO app.t SELECT g, 'v' || g FROM generate_series(1, 30) g");
        src.grantRead("app");
        dst.execute("ALTER ROLE \"" + dst.user() + "\" PASSWORD '" + ENV_TEXT_PASSWORD + "'");
        String yaml = transfer("t", "app.t", "retryAttempts", "0");
        List<String> outputs = new ArrayList<>();

        // from environment variables: what a variable holds is never resolved again
        Map<String, String> props = new HashMap<>();
        props.put("ferry.source.src.password", "{{env:FERRY_TEST_SRC_PASSWORD}}");
        props.put("ferry.destination.dst.password", "{{env:FERRY_TEST_DST_PASSWORD}}");
        Path dir = FerryHarness.write(src, dst, "from_env", yaml, props);
        Run fromEnv = ferry(dir, Map.of("FERRY_TEST_SRC_PASSWORD", BRACE_PASSWORD, "FERRY_TEST_DST_PASSWORD", ENV_TEXT_PASSWORD),
                "sync", "t");
        assertThat(fromEnv.status()).as(fromEnv.output()).isZero();
        assertSameRows(src, dst, "from_env");
        outputs.add(fromEnv.output());

        // from environment variables that override the file's keys, as Camel lets them: values too
        dir = FerryHarness.write(new TestDb(src.server(), src.database(), src.user(), "set by FERRY_SOURCE_SRC_PASSWORD"),
                new TestDb(dst.server(), dst.database(), dst.user(), "set by FERRY_DESTINATION_DST_PASSWORD"), "from_env_key",
                yaml, Map.of());
        Run fromEnvKey = ferry(dir, Map.of("FERRY_SOURCE_SRC_PASSWORD", BRACE_PASSWORD,
                "FERRY_DESTINATION_DST_PASSWORD", ENV_TEXT_PASSWORD), "sync", "t");
        assertThat(fromEnvKey.status()).as(fromEnvKey.output()).isZero();
        assertSameRows(src, dst, "from_env_key");
        outputs.add(fromEnvKey.output());

        // from password files, with a trailing newline
        Path srcFile = Files.createTempFile("src-password", "");
        Files.writeString(srcFile, BRACE_PASSWORD + "\n");
        Path dstFile = Files.createTempFile("dst-password", "");
        Files.writeString(dstFile, ENV_TEXT_PASSWORD + "\n");
        dir = FerryHarness.write(src, dst, "from_file", yaml, Map.of("ferry.source.src.passwordFile", srcFile.toString(),
                "ferry.destination.dst.passwordFile", dstFile.toString()));
        dropPasswordLines(dir);
        Run fromFile = ferry(dir, Map.of(), "sync", "t");
        assertThat(fromFile.status()).as(fromFile.output()).isZero();
        assertSameRows(src, dst, "from_file");
        outputs.add(fromFile.output());

        // written in application.properties: a literal '{{' is escaped as \{{ (\\{{ in the file's own escaping)
        dir = FerryHarness.write(new TestDb(src.server(), src.database(), src.user(), "p\\{{a}}b}}"),
                new TestDb(dst.server(), dst.database(), dst.user(), "\\{{env:HOME}}"), "from_props", yaml, Map.of());
        assertThat(Files.readString(dir.resolve("application.properties"), StandardCharsets.ISO_8859_1))
                .contains("password = p\\\\{{a}}b}}");
        Run fromProps = ferry(dir, Map.of(), "sync", "t");
        assertThat(fromProps.status()).as(fromProps.output()).isZero();
        assertSameRows(src, dst, "from_props");
        outputs.add(fromProps.output());

        // unescaped in application.properties, '{{a}}' is a placeholder naming no property: the start stops, and says
        // so without quoting the password or any piece of it
        dir = FerryHarness.write(new TestDb(src.server(), src.database(), src.user(), BRACE_PASSWORD), dst, "unescaped", yaml,
                Map.of());
        Run unescaped = ferry(dir, Map.of(), "check");
        assertThat(unescaped.status()).as(unescaped.output()).isEqualTo(2);
        assertThat(unescaped.output()).contains("ferry.source.src.password: cannot resolve its value")
                .contains("escape it as \\\\{{");
        assertThat(unescaped.output()).doesNotContain("{{a}}").doesNotContain("[a]").doesNotContain("b}}");
        outputs.add(unescaped.output());

        try (Connection d = dst.admin()) {
            for (String schema : List.of("from_env", "from_env_key", "from_file", "from_props")) {
                outputs.add(String.join("\n", Dumps.rows(d, "SELECT t::text FROM " + schema + "._ferry_runs t")));
            }
        }
        for (String out : outputs) {
            assertThat(out).doesNotContain(BRACE_PASSWORD).doesNotContain(ENV_TEXT_PASSWORD);
        }
    }

    private static void assertSameRows(TestDb src, TestDb dst, String schema) throws Exception {
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "t", d, schema, "t", "id");
        }
    }

    private static void dropPasswordLines(Path dir) throws Exception {
        Path file = dir.resolve("application.properties");
        String kept = Files.readString(file, StandardCharsets.ISO_8859_1).lines()
                .filter(l -> !l.matches("ferry\\.(source|destination)\\.[a-z]+\\.password = .*"))
                .reduce("", (a, b) -> a + b + "\n");
        Files.writeString(file, kept, StandardCharsets.ISO_8859_1);
    }

    /**
     * Webhooks that fail (a closed port, a server answering 500) with tokens in their user info, query and fragment,
     * and a bearer token with a trailing newline: nothing of them reaches the output (Ferry's log and Camel's
     * redelivery warnings) or the run records, and the token is sent without its newline.
     */
    @Test
    void failingWebhooksNeverPrintTheirTokens() throws Exception {
        TestDb src = TestDb.source("hook_secrets");
        TestDb dst = TestDb.destination("hook_secrets");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.t (id int PRIMARY KEY)", "INSERT INTO app.t VALUES (1), (2)");
        src.grantRead("app");
        List<String> authorizations = new java.util.concurrent.CopyOnWriteArrayList<>();
        HttpServer hook = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        hook.createContext("/", e -> {
            authorizations.add(String.valueOf(e.getRequestHeaders().getFirst("Authorization")));
            e.getRequestBody().readAllBytes();
            e.sendResponseHeaders(500, -1);
            e.close();
        });
        hook.start();
        int closedPort;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        List<String> secrets = List.of("SECRET-USER-1", "SECRET-QUERY-2", "SECRET-FRAGMENT-3", "SECRET-TOKEN-4", "SECRET-USER-5",
                "SECRET-QUERY-6");
        try {
            Map<String, String> props = new HashMap<>();
            props.put("ferry.webhook.url", "http://hookuser:SECRET-USER-1@127.0.0.1:" + closedPort
                    + "/down?token=SECRET-QUERY-2#SECRET-FRAGMENT-3");
            props.put("ferry.webhook.token", "{{env:FERRY_TEST_WEBHOOK_TOKEN}}");
            String yaml = transfer("a", "app.t") + transfer("b", "app.t", "destination", "dst2", "webhook",
                    "http://u:SECRET-USER-5@127.0.0.1:" + hook.getAddress().getPort() + "/hook?token=SECRET-QUERY-6");
            props.putAll(FerryHarness.destination("dst2", dst, "export2"));
            Path dir = FerryHarness.write(src, dst, "export", yaml, props);
            Run sync = ferry(dir, Map.of("FERRY_TEST_WEBHOOK_TOKEN", "SECRET-TOKEN-4\n"), "sync", "a", "b");
            assertThat(sync.status()).as(sync.output()).isZero();
            assertThat(sync.output()).as(sync.output())
                    .contains("transfer a: transfer_success for run")
                    .contains("transfer b: transfer_success for run")
                    .contains("webhook http://127.0.0.1:" + closedPort + "/down unreachable")
                    .contains("webhook http://127.0.0.1:" + hook.getAddress().getPort() + "/hook answered HTTP 500");
            assertThat(authorizations).as("the first attempt and three retries, the token without its newline")
                    .hasSize(4).containsOnly("Bearer SECRET-TOKEN-4");
            List<String> outputs = new ArrayList<>(List.of(sync.output()));
            try (Connection d = dst.admin()) {
                outputs.add(String.join("\n", Dumps.rows(d, "SELECT t::text FROM export._ferry_runs t")));
                outputs.add(String.join("\n", Dumps.rows(d, "SELECT t::text FROM export2._ferry_runs t")));
            }
            for (String out : outputs) {
                for (String secret : secrets) {
                    assertThat(out).as("output must not contain a secret").doesNotContain(secret);
                }
            }
        } finally {
            hook.stop(0);
        }
    }

    /**
     * A webhook URL that Java's HTTP client would reject, in ferry.webhook.url or a transfer's parameter, and a token
     * with a line break inside: the start stops (exit 2) naming each, and quoting none.
     */
    @Test
    void invalidWebhookUrlsAndTokensStopTheStartWithoutBeingPrinted() throws Exception {
        TestDb src = TestDb.source("hook_invalid");
        TestDb dst = TestDb.destination("hook_invalid");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.t (id int PRIMARY KEY)");
        src.grantRead("app");
        Map<String, String> props = new HashMap<>();
        props.put("ferry.webhook.url", "https://hooks.example.com/x?token=SECRET QUERY 7");
        props.put("ferry.webhook.token", "{{env:FERRY_TEST_WEBHOOK_TOKEN}}");
        Path dir = FerryHarness.write(src, dst, "export", transfer("t", "app.t", "webhook",
                "http://127.0.0.1:9/x?t=SECRET|8"), props);
        Run check = ferry(dir, Map.of("FERRY_TEST_WEBHOOK_TOKEN", "SECRET-TOKEN\nNINE\n"), "check");
        assertThat(check.status()).as(check.output()).isEqualTo(2);
        assertThat(check.output()).as(check.output())
                .contains("ferry.webhook.url is not a valid URL (Illegal character in query at character 41)")
                .contains("transfer 't': parameter 'webhook' is not a valid URL (Illegal character in query at character 30)")
                .contains("ferry.webhook.token has a control or non-ASCII character at character 13");
        assertThat(check.output()).doesNotContain("SECRET").doesNotContain("NINE").doesNotContain("hooks.example.com");
    }

    record Run(int status, String output) {
    }

    static Run ferry(Path dir, Map<String, String> env, String... command) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(System.getProperty("java.home") + File.separator + "bin" + File.separator + "java",
                "-cp", System.getProperty("java.class.path"), "dev.ferry.app.Ferry",
                "--config", dir.resolve("application.properties").toString(), "--routes", dir.resolve("routes").toString()));
        cmd.addAll(List.of(command));
        Path log = Files.createTempFile("ferry-out", ".log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    }
}
