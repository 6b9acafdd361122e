package dev.ferry.failure;

import java.io.EOFException;
import java.net.ConnectException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.sql.SQLException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientException;

import dev.ferry.config.ConfigException;

/**
 * Ferry's retry rule, by SQLSTATE and cause.
 *
 * <p>Transient: connection failures (class 08: refused, reset, broken), the server shutting down or starting up
 * (57P01, 57P02, 57P03), a cancelled statement (57014), serialization failures and deadlocks (40001, 40P01),
 * insufficient resources such as too many connections (class 53), a lock wait timeout (55P03; but not of DDL on a live
 * destination table, which fails the run as a DestinationException, see dev.ferry.destination.LockWaits), socket timeouts
 * and resets (a stalled COPY stream among them), an exhausted connection pool, and SSH tunnel drops.
 *
 * <p>Permanent: everything else, notably authentication (28P01, 28000), missing privileges (42501) or objects
 * (42P01), other class 42 errors, data errors (class 22) and constraint violations (class 23), and Ferry's own
 * configuration and schema errors (ConfigException, and every {@link PermanentFailure}). Retrying those only hammers the database; the run fails at once and says why.
 */
public final class SqlStateRetryDecision implements RetryDecision {

    @Override
    public boolean isTransient(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof ConfigException || t instanceof PermanentFailure) {
                return false;
            }
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                if (isTlsVerification(sql)) {
                    return false; // a certificate that does not verify will not start verifying
                }
                return isTransientState(sql.getSQLState());
            }
            if (t instanceof SQLTransientException || t instanceof SQLRecoverableException) {
                return true;
            }
            if (t instanceof ConnectException || t instanceof SocketTimeoutException || t instanceof SocketException
                    || t instanceof EOFException) {
                return true;
            }
            if (t.getClass().getName().startsWith("org.apache.sshd.")) {
                return true; // the SSH tunnel dropped; it is reopened on the next connection
            }
        }
        return false;
    }

    /** TLS failures that are about trust, not the network: an unknown CA, a name that does not match. */
    static boolean isTlsVerification(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String m = t.getMessage() == null ? "" : t.getMessage();
            if (t instanceof javax.net.ssl.SSLHandshakeException || m.contains("PKIX path") || m.contains("could not be verified")
                    || m.contains("certificate") || m.contains("The server does not support SSL")) {
                return true;
            }
        }
        return false;
    }

    static boolean isTransientState(String state) {
        if (state.startsWith("08")) {
            return !state.equals("08P01"); // a protocol violation will not fix itself
        }
        return switch (state) {
            case "57P01", "57P02", "57P03", "57014", "40001", "40P01", "55P03" -> true;
            default -> state.startsWith("53");
        };
    }
}
