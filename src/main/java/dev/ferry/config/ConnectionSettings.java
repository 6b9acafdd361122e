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
     * Sessions Ferry holds at most on one server, whatever the number of connections declared to it: well under
     * PostgreSQL's default max_connections (100), leaving room for the server's other clients. Runs wait their turn
     * for sessions (see {@code dev.ferry.connect.SessionBudget}).
     */
    public static final int DEFAULT_MAX_SESSIONS = 20;
    /**
     * How long a session Ferry no longer uses stays open (HikariCP's minimum is 10 s): long enough for the next batch or
     * the next transfer to the same server to reuse it, short enough that a transfer running hourly holds none between
     * its runs.
     */
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(10);

    /**
     * How many sessions Ferry may hold on the connection's server, and how long an unused one stays open.
     *
     * @param max         the server's budget ({@code maxSessions}); connections to one server share the smallest given
     * @param idleTimeout {@code idleTimeout}
     */
    public record Sessions(int max, Duration idleTimeout) {
        public static final Sessions DEFAULT = new Sessions(DEFAULT_MAX_SESSIONS, DEFAULT_IDLE_TIMEOUT);
    }

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
    private final Sessions sessions;
    /** The name this connection's properties are declared under: a recipient's or a destinationSchema's keeps its base's. */
    private String declaredName;

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
        this(role, name, hostname, port, database, user, password, schema, connectTimeoutSeconds, tls, ssh, timeouts, Sessions.DEFAULT);
    }

    public ConnectionSettings(Role role, String name, String hostname, int port, String database, String user,
                              Secret password, String schema, int connectTimeoutSeconds, Tls tls, Ssh ssh, Timeouts timeouts,
                              Sessions sessions) {
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
        this.sessions = Objects.requireNonNull(sessions);
        this.declaredName = name;
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

    /** The server's session budget and the idle timeout ({@code maxSessions}, {@code idleTimeout}). */
    public Sessions sessions() {
        return sessions;
    }

    /**
     * The server this connection reaches, for its session budget: host and port as seen from Ferry, or from the
     * bastion when tunnelled (two tunnels to one address may reach different servers).
     */
    public String server() {
        return hostname + ":" + port + (ssh != null ? " via " + ssh : "");
    }

    /** TLS settings, or null for pgjdbc's default (sslmode prefer). */
    public Tls tls() {
        return tls;
    }

    /** The SSH tunnel, or null to connect directly. */
    public Ssh ssh() {
        return ssh;
    }

    /**
     * The same server, database and credentials under another name, writing into another schema: a recipient that
     * names a declared destination and only its own schema (a schema per customer in one warehouse).
     */
    public ConnectionSettings forRecipient(String newName, String newSchema) {
        ConnectionSettings s = new ConnectionSettings(role, newName, hostname, port, database, user, password, newSchema,
                connectTimeoutSeconds, tls, ssh, timeouts, sessions);
        s.declaredName = declaredName; // its settings are still set under the declared connection's properties
        return s;
    }

    /** The property prefix this connection is declared under, for error messages. */
    public String propertyPrefix() {
        return role == Role.CLUSTER ? "ferry.cluster." : "ferry." + role.key() + "." + declaredName + ".";
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
