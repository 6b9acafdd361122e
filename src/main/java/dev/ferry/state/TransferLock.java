package dev.ferry.state;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

import javax.sql.DataSource;

/**
 * Keeps a transfer from running twice at once, in this process or any other: a PostgreSQL session advisory lock
 * on the destination, named after the destination schema and the transfer, held by a dedicated connection for the
 * whole run. If the process dies, the server drops the session and the lock with it.
 */
public final class TransferLock implements AutoCloseable {

    private final Connection connection;
    private final String schema;
    private final String transfer;

    private TransferLock(Connection connection, String schema, String transfer) {
        this.connection = connection;
        this.schema = schema;
        this.transfer = transfer;
    }

    /** Takes the lock, or returns null at once when another run holds it. */
    public static TransferLock tryAcquire(DataSource destination, String schema, String transfer) throws SQLException {
        Connection c = destination.getConnection();
        try {
            try (PreparedStatement ps = c.prepareStatement("SELECT pg_try_advisory_lock(hashtext(?), hashtext(?))")) {
                ps.setString(1, "ferry:" + schema);
                ps.setString(2, transfer);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    if (rs.getBoolean(1)) {
                        return new TransferLock(c, schema, transfer);
                    }
                }
            }
            c.close();
            return null;
        } catch (SQLException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /**
     * Takes the lock, waiting at most {@code wait} for a run that holds it to end (the server's own wait, bounded by
     * lock_timeout); null when it did not end in time.
     */
    public static TransferLock acquire(DataSource destination, String schema, String transfer, java.time.Duration wait)
            throws SQLException {
        if (wait.isZero()) {
            return tryAcquire(destination, schema, transfer);
        }
        Connection c = destination.getConnection();
        try {
            try (PreparedStatement ps = c.prepareStatement("SELECT set_config('lock_timeout', ?, false)")) {
                ps.setString(1, wait.toMillis() + "ms");
                ps.execute();
            }
            boolean locked;
            try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_lock(hashtext(?), hashtext(?))")) {
                ps.setString(1, "ferry:" + schema);
                ps.setString(2, transfer);
                ps.execute();
                locked = true;
            } catch (SQLException e) {
                if (!"55P03".equals(e.getSQLState())) {
                    throw e;
                }
                locked = false;
            }
            try (java.sql.Statement st = c.createStatement()) {
                st.execute("RESET lock_timeout"); // back to the value the session was opened with (Connections.PINNED)
            }
            if (locked) {
                return new TransferLock(c, schema, transfer);
            }
            c.close();
            return null;
        } catch (SQLException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** Releases the lock; the pooled connection must not keep it. */
    @Override
    public void close() {
        try (Connection c = connection; PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_unlock(hashtext(?), hashtext(?))")) {
            ps.setString(1, "ferry:" + schema);
            ps.setString(2, transfer);
            ps.execute();
        } catch (SQLException e) {
            // a broken connection has lost the lock with its session
        }
    }
}
