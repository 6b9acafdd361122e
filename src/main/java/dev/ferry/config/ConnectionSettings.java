package dev.ferry.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * One source or destination, as declared under {@code ferry.source.<name>.*} or
 * {@code ferry.destination.<name>.*} in application.properties: the fields of the setup docs (hostname, port,
 * database, user, password) plus the destination's schema, TLS settings, and an optional SSH tunnel through a
 * bastion host.
 *
 * <p>Secrets (the password, the SSH key and its passphrase) are {@link Secret}s and stay out of {@link #toString()},
 * so that they cannot leak through logs, exception messages or run records.
 */
public final class ConnectionSettings {

    /**
     * Sessions Ferry opens at most to one database (connections are opened on demand and closed when idle). A table
     * being copied holds one at each end per COPY stream, and two at the destination in incremental batches; see
     * {@link TransferSpec} for the check of parallelTables and copyStreams against it.
     */
    public static final int POOL_SIZE = 16;

    public enum Role {
        SOURCE("source"), DESTINATION("destination"),
        /** The database holding the Quartz tables of a Ferry cluster: {@code ferry.cluster.*}, one, without a name. */
        CLUSTER("cluster");

        private final String key;

        Role(String key) {
            this.key = key;
        }

        /** The property segment: {@code ferry.<key>.<name>.*}. */
        public String key() {
            return key;
        }
    }

    /**
     * TLS to the database.
     *
     * @param sslmode     pgjdbc's sslmode: disable, allow, prefer (the default), require, verify-ca, verify-full
     * @param rootCert    the certificate authority that signed the server's certificate (verify-ca, verify-full)
     */
    public record Tls(String sslmode, Path rootCert) {
    }

    /**
     * An SSH tunnel through a bastion host, authenticated with a private key.
     *
     * @param privateKey       the key, in OpenSSH or PEM form (from a file or an environment variable)
     * @param passphrase       the key's passphrase, if it has one
     * @param knownHosts       a known_hosts file that must list the bastion's host key
     * @param hostKeyFingerprint the bastion's host key fingerprint, e.g. {@code SHA256:...}
     * @param acceptAnyHostKey accept whatever host key the bastion shows (only when explicitly set)
     */
    public record Ssh(String host, int port, String user, Secret privateKey, Secret passphrase, Path knownHosts,
                      String hostKeyFingerprint, boolean acceptAnyHostKey) {

        @Override
        public String toString() {
            return user + "@" + host + ":" + port;
        }
    }

    /**
     * How long one statement may run, as PostgreSQL's {@code statement_timeout} (COPY streams excepted: they are bounded
     * by {@link #DEFAULT_STALL_TIMEOUT}). The longest single statements on a 10M-row table (the primary key and index
     * builds of a swap, a hard-delete anti-join, a sorted first fetch) take seconds to a few minutes; 30 minutes leaves
     * a slow or busy server ample room and still ends a statement that would never finish.
     */
    public static final Duration DEFAULT_STATEMENT_TIMEOUT = Duration.ofMinutes(30);
    /**
     * How long a statement waits for a lock, as PostgreSQL's {@code lock_timeout}: DDL on a live table (schema
     * evolution, a type change, the swap) queues every later reader of the table behind it while it waits.
     */
    public static final Duration DEFAULT_LOCK_TIMEOUT = Duration.ofMinutes(1);
    /**
     * How long a COPY stream may move no byte before it counts as stalled (a dead network, a stuck server) and is
     * cut and retried. A batch query's first row (a sort of a 10M-row table without a usable index) comes well
     * within it; the kernel's own timers would take from 15 minutes to hours.
     */
    public static final Duration DEFAULT_STALL_TIMEOUT = Duration.ofMinutes(5);

    /** The timeouts of one connection; a zero duration means no bound. */
    public record Timeouts(Duration statement, Duration lock, Duration stall) {
        public static final Timeouts DEFAULT = new Timeouts(DEFAULT_STATEMENT_TIMEOUT, DEFAULT_LOCK_TIMEOUT, DEFAULT_STALL_TIMEOUT);

        /**
         * The longest a non-COPY statement's answer can be due: the server ends a statement at {@link #statement()},
         * so once a stall bound more has passed without a byte the connection is dead (pgjdbc's socketTimeout), and a
         * session idle in a transaction that long has lost its client (idle_in_transaction_session_timeout). Zero
         * (no bound) when statements are unbounded.
         */
        public Duration answer() {
            return statement.isZero() ? Duration.ZERO : statement.plus(stall);
        }
    }

    private final Role role;
    private final String name;
    private final String hostname;
    private final int port;
    private final String database;
    private final String user;
    private final Secret password;
    private final String schema;
    private final int connectTimeoutSeconds;
    private final Tls tls;
    private final Ssh ssh;
    private final Timeouts timeouts;

    public ConnectionSettings(Role role, String name, String hostname, int port, String database, String user,
                              Secret password, String schema) {
        this(role, name, hostname, port, database, user, password, schema, 10, null, null, Timeouts.DEFAULT);
    }

    public ConnectionSettings(Role role, String name, String hostname, int port, String database, String user,
                              Secret password, String schema, int connectTimeoutSeconds, Tls tls, Ssh ssh) {
        this(role, name, hostname, port, database, user, password, schema, connectTimeoutSeconds, tls, ssh, Timeouts.DEFAULT);
    }

    public ConnectionSettings(Role role, String name, String hostname, int port, String database, String user,
                              Secret password, String schema, int connectTimeoutSeconds, Tls tls, Ssh ssh, Timeouts timeouts) {
        this.role = Objects.requireNonNull(role);
        this.name = Objects.requireNonNull(name);
        this.hostname = hostname;
        this.port = port;
        this.database = database;
        this.user = user;
        this.password = password == null ? Secret.EMPTY : password;
        this.schema = schema;
        this.connectTimeoutSeconds = connectTimeoutSeconds;
        this.tls = tls;
        this.ssh = ssh;
        this.timeouts = Objects.requireNonNull(timeouts);
    }

    public Role role() {
        return role;
    }

    public String name() {
        return name;
    }

    public String hostname() {
        return hostname;
    }

    public int port() {
        return port;
    }

    public String database() {
        return database;
    }

    public String user() {
        return user;
    }

    public Secret password() {
        return password;
    }

    /** The destination schema Ferry writes into; null for sources. */
    public String schema() {
        return schema;
    }

    /** How long to wait for a connection before the attempt fails. */
    public int connectTimeoutSeconds() {
        return connectTimeoutSeconds;
    }

    /** Statement, lock and stall bounds ({@code statementTimeout}, {@code lockTimeout}, {@code stallTimeout}). */
    public Timeouts timeouts() {
        return timeouts;
    }

    /** TLS settings, or null for pgjdbc's default (sslmode prefer). */
    public Tls tls() {
        return tls;
    }

    /** The SSH tunnel, or null to connect directly. */
    public Ssh ssh() {
        return ssh;
    }

    /** The property prefix this connection is declared under, for error messages. */
    public String propertyPrefix() {
        return role == Role.CLUSTER ? "ferry.cluster." : "ferry." + role.key() + "." + name + ".";
    }

    /** Where this connection points, for logs: never includes a secret. */
    public String describe() {
        return (role == Role.CLUSTER ? "cluster database" : role.key() + " '" + name + "'")
                + " (" + user + "@" + hostname + ":" + port + "/" + database + (schema != null ? ", schema " + schema : "") + (ssh != null ? ", through " + ssh : "") + ")";
    }

    @Override
    public String toString() {
        return describe();
    }
}
