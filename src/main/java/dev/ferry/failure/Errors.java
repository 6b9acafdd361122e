package dev.ferry.failure;

import java.util.List;

import dev.ferry.config.ConnectionSettings;
import dev.ferry.config.TableRef;
import java.sql.SQLException;

/** Turns an exception chain into one line that names the cause. */
public final class Errors {

    private Errors() {
    }

    public static String describe(Throwable error) {
        if (error == null) {
            return "unknown error";
        }
        SQLException sql = deepest(error);
        if (sql != null) {
            String state = sql.getSQLState();
            String msg = firstLine(sql.getMessage());
            // the server's detail names the row or key involved, e.g. "Key (email)=(x) is duplicated."
            String detail = serverDetail(sql);
            if (detail != null) {
                msg += ": " + detail;
            }
            return msg + (state != null ? " (SQLSTATE " + state + ")" : "");
        }
        Throwable root = error;
        while (root.getCause() != null && root.getCause() != root && isWrapper(root)) {
            root = root.getCause();
        }
        String msg = root.getMessage();
        return msg == null || msg.isBlank() ? root.getClass().getSimpleName() : msg;
    }

    /**
     * The innermost SQLException of a chain: a pool's "connection is not available" wraps the real reason (a refused
     * password, an unreachable host, a rejected SSH host key), and the real reason is what to report.
     */
    public static SQLException deepest(Throwable error) {
        SQLException found = null;
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLException s) {
                found = s;
            }
        }
        return found;
    }


    /**
     * Like {@link #describe(Throwable)}, followed by the fix when the error is a known permission or connection one of
     * these connections and tables.
     */
    public static String describe(Throwable error, ConnectionSettings source, ConnectionSettings destination, List<TableRef> tables) {
        String message = describe(error);
        SQLException sql = deepest(error);
        if (sql != null && !message.startsWith("SSH tunnel")) {
            String hint = PrivilegeHints.hint(sql, source, destination, tables);
            if (hint != null) {
                return message + "; fix: " + hint;
            }
        }
        return message;
    }

    private static boolean isWrapper(Throwable t) {
        String n = t.getClass().getName();
        return n.startsWith("org.apache.camel.") || t instanceof java.lang.reflect.InvocationTargetException
                || (t.getClass() == RuntimeException.class && t.getCause() != null);
    }

    /** The first throwable of a type in a cause chain. */
    public static <T extends Throwable> T find(Throwable error, Class<T> type) {
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
        }
        return null;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** The server's detail line of a PostgreSQL error (the row or key involved), or null. */
    public static String serverDetail(SQLException e) {
        return e instanceof org.postgresql.util.PSQLException p && p.getServerErrorMessage() != null
                ? p.getServerErrorMessage().getDetail() : null;
    }
}
