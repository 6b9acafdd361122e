package dev.ferry.connect;

import dev.ferry.config.ConnectionSettings;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.PublicKey;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;


import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.channel.ChannelDirectTcpip;
import org.apache.sshd.client.keyverifier.KnownHostsServerKeyVerifier;
import org.apache.sshd.client.keyverifier.RejectAllServerKeyVerifier;
import org.apache.sshd.client.keyverifier.ServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.NamedResource;
import org.apache.sshd.common.config.keys.FilePasswordProvider;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.util.net.SshdSocketAddress;
import org.apache.sshd.common.util.security.SecurityUtils;
import org.apache.sshd.core.CoreModuleProperties;
import org.postgresql.ds.PGSimpleDataSource;
import org.slf4j.LoggerFactory;

/**
 * An SSH tunnel to a database through a bastion host, with Apache MINA SSHD: a listener on a loopback port that
 * pgjdbc connects to, each connection carried to the database over a {@code direct-tcpip} channel of one SSH session.
 *
 * <p>The session authenticates with the configured private key (passphrase-protected keys too) and verifies the
 * bastion's host key against a known_hosts file or a pinned fingerprint; any key is accepted only when the settings
 * say so explicitly. Heartbeats keep the session alive; when it drops anyway, the next database connection opens a
 * new one. The local port stays the same for the life of the process, so the connection pool never notices.
 */
public final class SshTunnel implements AutoCloseable {

    private static final org.slf4j.Logger LOG = LoggerFactory.getLogger("dev.ferry.ssh");

    private final ConnectionSettings settings;
    private final ConnectionSettings.Ssh ssh;
    private final SshClient client;
    private final ServerSocket listener;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final HostKeyCheck hostKeys;
    private volatile ClientSession session;
    private volatile boolean closed;

    private SshTunnel(ConnectionSettings settings) throws IOException {
        this.settings = settings;
        this.ssh = settings.ssh();
        this.hostKeys = new HostKeyCheck(ssh);
        this.client = SshClient.setUpDefaultClient();
        client.setServerKeyVerifier(hostKeys);
        CoreModuleProperties.HEARTBEAT_INTERVAL.set(client, Duration.ofSeconds(15));
        CoreModuleProperties.HEARTBEAT_NO_REPLY_MAX.set(client, 4);
        client.start();
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(this::acceptLoop, "ferry-ssh-" + settings.name());
        t.setDaemon(true);
        t.start();
    }

    /** Starts the tunnel's local listener; the SSH session opens with the first database connection. */
    static SshTunnel open(ConnectionSettings settings) {
        try {
            return new SshTunnel(settings);
        } catch (IOException e) {
            throw new IllegalStateException("cannot open a local port for the SSH tunnel of " + settings.describe() + ": "
                    + e.getMessage(), e);
        }
    }

    /** The loopback port pgjdbc connects to. */
    public int localPort() {
        return listener.getLocalPort();
    }

    /**
     * Opens (or reopens) the SSH session if it is not open. Called before each database connection, so that a refused
     * key or an unreachable bastion is reported as such instead of as a database connection that ended early.
     */
    synchronized void ensureOpen() throws SQLException {
        ClientSession s = session;
        if (s != null && s.isOpen() && s.isAuthenticated()) {
            return;
        }
        if (s != null) {
            LOG.info("SSH tunnel of {}: session to {} closed; opening a new one", settings.name(), ssh);
            s.close(true);
        }
        Duration timeout = Duration.ofSeconds(settings.connectTimeoutSeconds());
        try {
            ClientSession opened = client.connect(ssh.user(), ssh.host(), ssh.port()).verify(timeout).getClientSession();
            try {
                for (KeyPair key : keys(opened)) {
                    opened.addPublicKeyIdentity(key);
                }
                opened.auth().verify(timeout);
            } catch (IOException | RuntimeException e) {
                opened.close(true);
                throw e;
            }
            session = opened;
            LOG.info("SSH tunnel of {}: connected to {} (forwarding to {}:{})", settings.name(), ssh, settings.hostname(),
                    settings.port());
        } catch (IOException | RuntimeException e) {
            String rejected = hostKeys.rejection();
            if (rejected != null) {
                // a wrong host key is not a network hiccup: retrying will not help
                throw new SQLException("SSH tunnel of " + settings.describe() + ": " + rejected, "28000");
            }
            String cause = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            if (cause.contains("No more authentication methods available") || cause.contains("authentication")) {
                throw new SQLException("SSH tunnel of " + settings.describe() + ": the bastion " + ssh + " refused the private"
                        + " key (is its public key in ~" + ssh.user() + "/.ssh/authorized_keys on the bastion?)", "28000", e);
            }
            throw new SQLException("SSH tunnel of " + settings.describe() + ": cannot reach the bastion " + ssh + ": " + cause,
                    "08001", e);
        }
    }

    private Iterable<KeyPair> keys(ClientSession s) throws IOException {
        try {
            FilePasswordProvider passphrase = ssh.passphrase().isEmpty() ? FilePasswordProvider.EMPTY
                    : FilePasswordProvider.of(ssh.passphrase().reveal());
            Iterable<KeyPair> keys = SecurityUtils.loadKeyPairIdentities(s, NamedResource.ofName(settings.propertyPrefix() + "ssh"),
                    new ByteArrayInputStream(ssh.privateKey().reveal().getBytes(StandardCharsets.UTF_8)), passphrase);
            if (keys == null || !keys.iterator().hasNext()) {
                throw new IOException("no private key found in " + settings.propertyPrefix() + "ssh.privateKey(File)");
            }
            return keys;
        } catch (java.security.GeneralSecurityException e) {
            throw new IOException("cannot read the private key in " + settings.propertyPrefix() + "ssh.privateKey(File) (wrong"
                    + " passphrase, or an unsupported format)", e);
        }
    }

    private void acceptLoop() {
        try {
            accept();
        } finally {
            if (!closed) {
                // the loop died (an Error): close the port, so that connections are refused, not left unanswered
                LOG.error("SSH tunnel of {}: stopped accepting connections; they are refused until Ferry restarts", settings.name());
                try {
                    listener.close();
                } catch (IOException ignored) {
                    // already closed
                }
            }
        }
    }

    private void accept() {
        while (!closed) {
            Socket local;
            try {
                local = listener.accept();
            } catch (IOException e) {
                if (closed) {
                    return;
                }
                continue;
            }
            try {
                Thread t = new Thread(() -> forward(local), "ferry-ssh-" + settings.name() + "-channel");
                t.setDaemon(true);
                t.start();
            } catch (RuntimeException | Error e) {
                // no thread for it (say, out of native threads): refuse this connection, so that its client fails
                // now rather than wait for an answer that would never come, and keep accepting the next ones
                LOG.warn("SSH tunnel of {}: connection not carried: {}", settings.name(), e.toString());
                closeQuietly(local);
            }
        }
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // nothing else to release
        }
    }

    /** Carries one database connection over a direct-tcpip channel. */
    private void forward(Socket local) {
        ChannelDirectTcpip channel = null;
        try {
            ensureOpen();
            channel = session.createDirectTcpipChannel(new SshdSocketAddress("127.0.0.1", local.getPort()),
                    new SshdSocketAddress(settings.hostname(), settings.port()));
            channel.open().verify(Duration.ofSeconds(settings.connectTimeoutSeconds()));
            sockets.add(local);
            ChannelDirectTcpip ch = channel;
            Thread up = new Thread(() -> pump(local, ch, true), "ferry-ssh-up");
            up.setDaemon(true);
            up.start();
            pump(local, ch, false);
        } catch (SQLException | IOException | RuntimeException | Error e) {
            // whatever went wrong (an Error too), the database client on the local side is told at once by the
            // closed socket, instead of waiting forever for the server's answer
            LOG.debug("SSH tunnel of {}: connection not carried: {}", settings.name(), e.getMessage());
            closeQuietly(local);
            if (channel != null) {
                channel.close(true);
            }
            if (e instanceof Error err) {
                throw err;
            }
        }
    }

    private void pump(Socket local, ChannelDirectTcpip channel, boolean toRemote) {
        byte[] buf = new byte[32 * 1024];
        try (InputStream in = toRemote ? local.getInputStream() : channel.getInvertedOut();
             OutputStream out = toRemote ? channel.getInvertedIn() : local.getOutputStream()) {
            int n;
            while ((n = in.read(buf)) >= 0) {
                out.write(buf, 0, n);
                out.flush();
            }
        } catch (IOException ignored) {
            // one side went away
        } finally {
            try {
                local.close();
            } catch (IOException ignored) {
                // closing is all that is left
            }
            channel.close(false);
            sockets.remove(local);
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            listener.close();
        } catch (IOException ignored) {
            // already closed
        }
        for (Socket s : sockets) {
            try {
                s.close();
            } catch (IOException ignored) {
                // already closed
            }
        }
        if (session != null) {
            session.close(true);
        }
        client.stop();
    }

    /** Verifies the bastion's host key against known_hosts or a pinned fingerprint, remembering why it refused one. */
    static final class HostKeyCheck implements ServerKeyVerifier {
        private final ConnectionSettings.Ssh ssh;
        private final ServerKeyVerifier knownHosts;
        private volatile String rejection;

        HostKeyCheck(ConnectionSettings.Ssh ssh) {
            this.ssh = ssh;
            this.knownHosts = ssh.knownHosts() == null ? null
                    : new KnownHostsServerKeyVerifier(RejectAllServerKeyVerifier.INSTANCE, ssh.knownHosts());
        }

        @Override
        public boolean verifyServerKey(ClientSession session, SocketAddress remote, PublicKey key) {
            rejection = null;
            String fingerprint = KeyUtils.getFingerPrint(key);
            if (ssh.acceptAnyHostKey()) {
                LOG.warn("SSH tunnel to {}: accepting host key {} without checking it (ssh.acceptAnyHostKey = true)", ssh, fingerprint);
                return true;
            }
            if (ssh.hostKeyFingerprint() != null) {
                if (ssh.hostKeyFingerprint().equals(fingerprint)) {
                    return true;
                }
                rejection = "the bastion " + ssh + " presented host key " + fingerprint + ", not the pinned "
                        + ssh.hostKeyFingerprint() + " (ssh.hostKeyFingerprint); refusing to connect. If the bastion's key was"
                        + " changed on purpose, pin the new fingerprint";
                return false;
            }
            if (knownHosts != null && knownHosts.verifyServerKey(session, remote, key)) {
                return true;
            }
            rejection = "the bastion " + ssh + " presented host key " + fingerprint + ", which " + ssh.knownHosts()
                    + " (ssh.knownHosts) does not list for it; refusing to connect. Add the bastion's key to that file"
                    + " (ssh-keyscan -p " + ssh.port() + " " + ssh.host() + ") once you have checked it";
            return false;
        }

        String rejection() {
            return rejection;
        }
    }

    /** The pool's DataSource for a tunnelled connection: opens the tunnel's session first, with a clear error if it cannot. */
    public static final class TunnelledDataSource extends DelegatingDataSource {
        private final PGSimpleDataSource pg;
        private final SshTunnel tunnel;

        TunnelledDataSource(PGSimpleDataSource pg, SshTunnel tunnel) {
            super(pg);
            this.pg = pg;
            this.tunnel = tunnel;
        }

        PGSimpleDataSource pg() {
            return pg;
        }

        @Override
        public Connection getConnection() throws SQLException {
            tunnel.ensureOpen();
            return pg.getConnection();
        }

        @Override
        public Connection getConnection(String username, String password) throws SQLException {
            tunnel.ensureOpen();
            return pg.getConnection(username, password);
        }
    }
}
