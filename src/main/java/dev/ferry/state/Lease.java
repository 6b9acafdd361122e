package dev.ferry.state;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;

import dev.ferry.config.Sql;

/**
 * A fence behind the transfer lock. The advisory lock lives in a database session; if that session is killed the
 * lock is gone while its run goes on, and a new run could start beside it. So a run that takes the lock also writes
 * its id into {@code _ferry_leases}, and every transaction that commits rows first reads that row {@code FOR SHARE}:
 * when a newer run has taken over, the older one stops before committing anything more. Reading the row FOR SHARE
 * also makes the newer run's takeover wait for a batch the older run is committing, so there is no window between
 * the check and the commit.
 */
public final class Lease {

    public static final String TABLE = dev.ferry.config.ReservedNames.LEASES_TABLE;

    private Lease() {
    }

    public static void ensure(Connection con, String schema) throws SQLException {
        try (Statement st = con.createStatement()) {
            st.execute("CREATE TABLE IF NOT EXISTS " + Sql.qualified(schema, TABLE)
                    + " (transfer text PRIMARY KEY, run_id uuid NOT NULL, taken_at timestamptz NOT NULL DEFAULT clock_timestamp())");
        }
    }

    /** Makes {@code run} the transfer's current run; call while holding the transfer lock. */
    public static void take(Connection con, String schema, String transfer, UUID run) throws SQLException {
        try (PreparedStatement ps = con.prepareStatement("INSERT INTO " + Sql.qualified(schema, TABLE) + " (transfer, run_id)"
                + " VALUES (?, ?) ON CONFLICT (transfer) DO UPDATE SET run_id = EXCLUDED.run_id, taken_at = clock_timestamp()")) {
            ps.setString(1, transfer);
            ps.setObject(2, run);
            ps.executeUpdate();
        }
    }

    /**
     * Checks, inside a transaction about to commit rows, that {@code run} is still the transfer's current run.
     *
     * @throws RunInterrupted when a newer run has taken over (this run's lock session was lost)
     */
    public static void check(Connection con, String schema, String transfer, UUID run) throws SQLException {
        try (PreparedStatement ps = con.prepareStatement("SELECT run_id FROM " + Sql.qualified(schema, TABLE)
                + " WHERE transfer = ? FOR SHARE")) {
            ps.setString(1, transfer);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next() && !run.equals(rs.getObject(1, UUID.class))) {
                    throw new RunInterrupted("run " + run + " lost its lock (its database session was closed) and run "
                            + rs.getObject(1, UUID.class) + " of the same transfer has taken over; this run stops without"
                            + " committing more");
                }
            }
        }
    }
}
