package dev.ferry.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.SshBastion;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/** Source and destination reached through an SSH bastion: public-key auth, host key checks, a tunnel cut mid-run. */
class SshTunnelTest {

    static final String PASSPHRASE = "correct horse battery staple";
    static SshBastion bastion;
    static Path key;

    @BeforeAll
    static void startBastion() throws Exception {
        bastion = SshBastion.start();
        key = Files.createTempFile("ferry-key", "");
        Files.writeString(key, bastion.privateKey(PASSPHRASE));
    }

    @AfterAll
    static void stopBastion() throws Exception {
        bastion.close();
    }

    static TestDb[] databases(String prefix, int rows) throws Exception {
        TestDb src = TestDb.source(prefix);
        TestDb dst = TestDb.destination(prefix);
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.t (id bigint PRIMARY KEY, v text, at timestamptz NOT NULL)",
                "INSERT INTO app.t SELECT g, repeat('v', 200), timestamptz '2025-01-01' + g * interval '1 ms' FROM generate_series(1, "
                        + rows + ") g");
        src.grantRead("app");
        return new TestDb[] {src, dst};
    }

    static Map<String, String> throughBastion(String fingerprint) {
        Map<String, String> p = new HashMap<>(bastion.tunnel("ferry.source.src.", key, PASSPHRASE, fingerprint));
        p.putAll(bastion.tunnel("ferry.destination.dst.", key, PASSPHRASE, fingerprint));
        p.put("ferry.source.src.connectTimeout", "5s");
        p.put("ferry.destination.dst.connectTimeout", "5s");
        return p;
    }

    @Test
    void aTransferGoesThroughTheTunnel() throws Exception {
        TestDb[] db = databases("ssh_ok", 3000);
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export",
                transfer("t", "app.t", "mode", "incremental", "cursor", "at", "batchSize", "500"), throughBastion(bastion.fingerprint()))) {
            TransferRun run = ferry.sync("t");
            assertThat(run.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(bastion.sessions()).as("both connections go through the bastion").isEqualTo(2);
            try (Connection s = db[0].admin(); Connection d = db[1].admin()) {
                Dumps.assertSameRows(s, "app", "t", d, "export", "t", "id");
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM pg_stat_activity WHERE usename = ? AND client_addr = '127.0.0.1'",
                        db[1].user())).isNotEqualTo("0");
            }
        }
    }

    @Test
    void aKnownHostsFileListingTheBastionIsAccepted() throws Exception {
        TestDb[] db = databases("ssh_known", 100);
        Path knownHosts = Files.createTempFile("known_hosts", "");
        Files.writeString(knownHosts, bastion.knownHostsLine() + "\n");
        Map<String, String> props = throughBastion("unused");
        props.remove("ferry.source.src.ssh.hostKeyFingerprint");
        props.remove("ferry.destination.dst.ssh.hostKeyFingerprint");
        props.put("ferry.source.src.ssh.knownHosts", knownHosts.toString());
        props.put("ferry.destination.dst.ssh.knownHosts", knownHosts.toString());
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", transfer("t", "app.t"), props)) {
            assertThat(ferry.sync("t").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
        }
    }

    @Test
    void aWrongHostKeyIsRefused() throws Exception {
        TestDb[] db = databases("ssh_wrong", 100);
        String wrong = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        Path emptyKnownHosts = Files.createTempFile("known_hosts", "");
        Map<String, String> props = new HashMap<>(throughBastion(wrong));
        props.remove("ferry.destination.dst.ssh.hostKeyFingerprint");
        props.put("ferry.destination.dst.ssh.knownHosts", emptyKnownHosts.toString());
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export",
                transfer("t", "app.t", "retryAttempts", "0"), props)) {
            TransferRun run = ferry.sync("t");
            assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(run.firstError()).contains("presented host key " + bastion.fingerprint())
                    .contains("which " + emptyKnownHosts + " (ssh.knownHosts) does not list for it; refusing to connect");
        }
        // the source's pinned fingerprint is wrong too: check says so
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", transfer("t", "app.t"), props)) {
            assertThat(ferry.sync("t").firstError()).contains("refusing to connect");
        }
        assertThat(bastion.sessions()).isZero();
    }

    @Test
    void aTunnelCutMidRunIsReopenedAndTheRunRecovers() throws Exception {
        TestDb[] db = databases("ssh_cut", 60_000);
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export",
                transfer("t", "app.t", "mode", "incremental", "cursor", "at", "batchSize", "2000", "retryDelay", "300ms"),
                throughBastion(bastion.fingerprint()))) {
            CompletableFuture<TransferRun> run = CompletableFuture.supplyAsync(() -> {
                try {
                    return ferry.sync("t");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            try (Connection d = db[1].admin()) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (System.nanoTime() < deadline) {
                    String rows = null;
                    try {
                        rows = Dumps.scalar(d, "SELECT max(rows) FROM export._ferry_runs WHERE status = 'running'");
                    } catch (java.sql.SQLException notYet) {
                        // the history table is not there yet
                    }
                    if (rows != null && Long.parseLong(rows) >= 6000) {
                        break;
                    }
                    Thread.sleep(10);
                }
            }
            bastion.dropSessions();
            TransferRun done = run.get(120, TimeUnit.SECONDS);
            assertThat(done.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = db[0].admin(); Connection d = db[1].admin()) {
                Dumps.assertSameRows(s, "app", "t", d, "export", "t", "id");
                assertThat(Dumps.scalar(d, "SELECT attempts > 1 FROM export._ferry_runs WHERE run_id = ?", done.id())).isEqualTo("t");
            }
        }
    }
}
