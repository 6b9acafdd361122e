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

    record Run(int status, String output) {
    }

    static Run ferry(Path dir, Map<String, String> env, String... command) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(System.getProperty("java.home") + File.separator + "bin" + File.separator + "java",
                "-cp", System.getProperty("java.class.path"), "dev.ferry.cli.Ferry",
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
