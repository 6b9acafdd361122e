package dev.ferry.testing;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/** A PostgreSQL server the tests may administer: create databases and roles, connect as a superuser. */
public interface PgServer {

    String host();

    int port();

    /** A superuser connection to a database on this server. */
    Connection admin(String database) throws SQLException;

    /** Runs statements as the superuser, each in its own transaction. */
    default void execute(String database, String... statements) throws SQLException {
        try (Connection c = admin(database); Statement st = c.createStatement()) {
            for (String s : statements) {
                st.execute(s);
            }
        }
    }

    /** Restarts the server ({@code pg_ctl restart -m fast}): every connection is dropped; optional. */
    default void restart() throws Exception {
        throw new UnsupportedOperationException("this server cannot be restarted by tests");
    }

    /** Whether {@link #restart()} works for this server. */
    default boolean canRestart() {
        return false;
    }
}
