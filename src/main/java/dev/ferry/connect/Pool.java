package dev.ferry.connect;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.time.Duration;

import com.zaxxer.hikari.HikariDataSource;
import org.slf4j.LoggerFactory;

/**
 * One endpoint's sessions (a HikariCP pool), handed out to runs; a server that refuses new sessions because other
 * clients hold all of its {@code max_connections} (SQLSTATE 53300) is waited out with backoff here, so that a busy
 * server costs a run time, not its retries.
 */
final class Pool extends DelegatingDataSource {

    private static final org.slf4j.Logger LOG = LoggerFactory.getLogger("dev.ferry.connect");
    /**
     * How long one request for a session waits out a full server before it fails (and the run's retries take over):
     * long enough for other clients' bursts to pass.
     */
    static final Duration FULL_SERVER_WAIT = Duration.ofMinutes(5);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

    private final HikariDataSource hikari;
    private final String server;

    Pool(HikariDataSource hikari, String server) {
        super(hikari);
        this.hikari = hikari;
        this.server = server;
    }

    HikariDataSource hikari() {
        return hikari;
    }

    @Override
    public Connection getConnection() throws SQLException {
        long deadline = System.nanoTime() + FULL_SERVER_WAIT.toNanos();
        Duration backoff = Duration.ofSeconds(1);
        boolean logged = false;
        while (true) {
            try {
                return hikari.getConnection();
            } catch (SQLException e) {
                if (!serverFull(e) || System.nanoTime() + backoff.toNanos() > deadline) {
                    throw e;
                }
                if (!logged) {
                    LOG.warn("{} refuses new sessions: its max_connections are all taken (SQLSTATE 53300, held by other"
                            + " clients than Ferry); waiting for one to free, up to {}", server, dev.ferry.config.Durations.format(FULL_SERVER_WAIT));
                    logged = true;
                }
                try {
                    Thread.sleep(backoff.toMillis());
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
                backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
            }
        }
    }

    /**
     * A session if one comes within {@code wait} (a free one, or a new one within the pool's size), else null: for
     * work that is worth doing only when it costs no wait (a measurement after a table's work), unlike a run's.
     */
    Connection tryConnection(Duration wait) throws SQLException {
        try {
            return ((com.zaxxer.hikari.pool.HikariPool) hikari.getHikariPoolMXBean()).getConnection(Math.max(1, wait.toMillis()));
        } catch (java.sql.SQLTransientConnectionException e) {
            return null; // none in time (the pool's sessions all in use, or the server slow to give one)
        }
    }

    /** "too many clients already", or the last slots reserved for superusers: both 53300. */
    static boolean serverFull(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLException sql && "53300".equals(sql.getSQLState())) {
                return true;
            }
        }
        return false;
    }

    @Override
    public Connection getConnection(String username, String password) throws SQLException {
        throw new SQLFeatureNotSupportedException("a pool's user is its endpoint's");
    }
}
