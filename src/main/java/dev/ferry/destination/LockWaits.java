package dev.ferry.destination;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import javax.sql.DataSource;

import dev.ferry.config.ConnectionSettings;
import dev.ferry.config.Durations;
import dev.ferry.config.Sql;
import org.postgresql.PGConnection;

/**
 * DDL on a live destination table (schema evolution, a type change, the swap) that could not get its lock within
 * lockTimeout. Such a wait queues every later reader of the table behind it, so the run fails at once instead of
 * retrying (a full refresh would copy the whole table again only to wait again); the next scheduled run tries again.
 */
public final class LockWaits {

    /** PostgreSQL's lock_not_available: lock_timeout expired (or NOWAIT). */
    static final String LOCK_NOT_AVAILABLE = "55P03";

    private LockWaits() {
    }

    /** Whether {@code e} is a lock wait that timed out. */
    public static boolean timedOut(SQLException e) {
        return LOCK_NOT_AVAILABLE.equals(e.getSQLState());
    }

    /** The backend of a connection, to leave it out of the sessions that hold the lock; 0 when it cannot be told. */
    public static int pid(Connection c) {
        try {
            return c.unwrap(PGConnection.class).getBackendPID();
        } catch (SQLException | RuntimeException e) {
            return 0;
        }
    }

    /**
     * The failure for a DDL step's timed-out lock wait on {@code schema.table}: which table, which sessions hold locks
     * on it (process id, role, application and state only: never a query's text, which may hold values), what was left
     * as it was, and the setting that changes the wait.
     *
     * @param step    what waited, e.g. "the swap of"
     * @param outcome what stays as it was, e.g. "the table keeps its previous contents"
     */
    public static DestinationException failure(DataSource destination, ConnectionSettings settings, String step, String schema,
                                        String table, int waitingPid, String outcome) {
        String display = Sql.displayIdent(schema) + "." + Sql.displayIdent(table);
        String holders = holders(destination, Sql.qualified(schema, table), waitingPid);
        return new DestinationException(step + " destination table " + display + " waited "
                + Durations.format(settings.timeouts().lock()) + " for a lock on it and gave up"
                + (holders.isEmpty() ? "" : "; sessions holding locks on it: " + holders) + ". " + outcome
                + "; the run is not retried, so that readers do not queue behind the wait again, and the next scheduled run"
                + " tries again. To wait longer, raise " + settings.propertyPrefix() + "lockTimeout; or end the sessions"
                + " that hold the table (long transactions, idle in transaction)");
    }

    private static String holders(DataSource destination, String qualified, int waitingPid) {
        String sql = """
                SELECT DISTINCT a.pid, a.usename, a.application_name, a.state,
                       extract(epoch FROM now() - a.xact_start)::bigint
                FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'relation' AND l.granted AND l.relation = pg_catalog.to_regclass(?)
                  AND l.pid <> pg_catalog.pg_backend_pid() AND l.pid <> ?
                ORDER BY a.pid""";
        List<String> found = new ArrayList<>();
        try (Connection c = destination.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, qualified);
            ps.setInt(2, waitingPid);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    StringBuilder h = new StringBuilder("pid ").append(rs.getInt(1));
                    h.append(" (role ").append(rs.getString(2));
                    String app = rs.getString(3);
                    if (app != null && !app.isEmpty()) {
                        h.append(", application '").append(app).append('\'');
                    }
                    if (rs.getString(4) != null) {
                        h.append(", ").append(rs.getString(4));
                    }
                    long age = rs.getLong(5);
                    if (!rs.wasNull()) {
                        h.append(", in a transaction for ").append(Durations.format(java.time.Duration.ofSeconds(age)));
                    }
                    found.add(h.append(')').toString());
                }
            }
        } catch (SQLException e) {
            return ""; // the failure is clear without them
        }
        return String.join(", ", found);
    }
}
