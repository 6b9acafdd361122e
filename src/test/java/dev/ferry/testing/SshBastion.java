package dev.ferry.testing;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Map;

import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.config.keys.writer.openssh.OpenSSHKeyEncryptionContext;
import org.apache.sshd.common.config.keys.writer.openssh.OpenSSHKeyPairResourceWriter;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.forward.AcceptAllForwardingFilter;
import org.apache.sshd.server.keyprovider.SimpleGeneratorHostKeyProvider;

/**
 * A bastion host for tests: an in-process Apache MINA SSHD server on loopback that lets one user in with one public
 * key and forwards TCP connections (to the test databases), and the client key pair written in OpenSSH form with a
 * passphrase, as {@code ssh-keygen} would.
 */
public final class SshBastion implements AutoCloseable {

    public static final String USER = "tunnel";

    private final SshServer server;
    private final KeyPair clientKey;
    private final PublicKey hostKey;

    private SshBastion(SshServer server, KeyPair clientKey, PublicKey hostKey) {
        this.server = server;
        this.clientKey = clientKey;
        this.hostKey = hostKey;
    }

    public static SshBastion start() throws Exception {
        KeyPairGenerator gen = KeyPairGenerator.getInstance("EC");
        gen.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair client = gen.generateKeyPair();
        SshServer sshd = SshServer.setUpDefaultServer();
        sshd.setHost("127.0.0.1");
        sshd.setPort(0);
        SimpleGeneratorHostKeyProvider hostKeys = new SimpleGeneratorHostKeyProvider(Files.createTempDirectory("bastion").resolve("host.key"));
        hostKeys.setAlgorithm(KeyUtils.EC_ALGORITHM);
        sshd.setKeyPairProvider(hostKeys);
        sshd.setPublickeyAuthenticator((user, key, session) -> USER.equals(user) && KeyUtils.compareKeys(key, client.getPublic()));
        sshd.setPasswordAuthenticator(null);
        sshd.setForwardingFilter(AcceptAllForwardingFilter.INSTANCE);
        sshd.start();
        PublicKey host = hostKeys.loadKeys(null).iterator().next().getPublic();
        return new SshBastion(sshd, client, host);
    }

    public int port() {
        return server.getPort();
    }

    /** The bastion's host key fingerprint, {@code SHA256:...}. */
    public String fingerprint() {
        return KeyUtils.getFingerPrint(hostKey);
    }

    /** A known_hosts line for the bastion. */
    public String knownHostsLine() {
        return "[127.0.0.1]:" + port() + " " + PublicKeyEntry.toString(hostKey);
    }

    /** The client's private key in OpenSSH form, encrypted with the passphrase (none when null). */
    public String privateKey(String passphrase) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        OpenSSHKeyEncryptionContext ctx = null;
        if (passphrase != null) {
            ctx = new OpenSSHKeyEncryptionContext();
            ctx.setPassword(passphrase);
            ctx.setCipherName("AES");
            ctx.setCipherMode("CTR");
            ctx.setCipherType("256");
        }
        OpenSSHKeyPairResourceWriter.INSTANCE.writePrivateKey(clientKey, "ferry-test", ctx, out);
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Connection properties sending a connection through this bastion. */
    public Map<String, String> tunnel(String prefix, Path keyFile, String passphrase, String fingerprint) {
        Map<String, String> p = new java.util.LinkedHashMap<>();
        p.put(prefix + "ssh.host", "127.0.0.1");
        p.put(prefix + "ssh.port", String.valueOf(port()));
        p.put(prefix + "ssh.user", USER);
        p.put(prefix + "ssh.privateKeyFile", keyFile.toString());
        if (passphrase != null) {
            p.put(prefix + "ssh.passphrase", passphrase);
        }
        p.put(prefix + "ssh.hostKeyFingerprint", fingerprint);
        return p;
    }

    /** Drops every session, as a bastion restart or a network cut would. */
    public void dropSessions() {
        server.getActiveSessions().forEach(s -> s.close(true));
    }

    public int sessions() {
        return server.getActiveSessions().size();
    }

    @Override
    public void close() throws Exception {
        server.stop(true);
    }
}
