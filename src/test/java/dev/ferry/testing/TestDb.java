package dev.ferry.testing;

import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A fresh database on a test server, with a login role set up as the seed docs say: for a source, a reader with
 * CONNECT and (once {@link #grantRead} runs) USAGE and SELECT; for a destination, a writer with CONNECT, CREATE and
 * TEMPORARY on the database. PUBLIC's default privileges on the database are revoked, so the roles have exactly
 * these. Ferry is never a superuser in tests.
 */
public record TestDb(PgServer server, String database, String user, String password) {

    private static final AtomicInteger SEQ = new AtomicInteger();

    /** A source database whose reader can read every table the superuser creates in the given schemas later. */
    public static TestDb source(String prefix) throws SQLException {
        TestDb db = create(TestPostgres.source(), prefix + "_src", "reader");
        db.server().execute(db.database(), "REVOKE CREATE ON SCHEMA public FROM PUBLIC");
        return db;
    }

    /** A destination database with a pre-created schema: the writer has ALL on it, and only CONNECT and TEMPORARY on the database. */
    public static TestDb destinationWithSchema(String prefix, String schema) throws SQLException {
        TestDb db = create(TestPostgres.destination(), prefix + "_dst", "writer");
        db.server().execute(db.database(),
                "GRANT TEMPORARY ON DATABASE " + quote(db.database()) + " TO " + quote(db.user()),
                "CREATE SCHEMA " + quote(schema),
                "GRANT ALL ON SCHEMA " + quote(schema) + " TO " + quote(db.user()));
        return db;
    }

    /** A destination database whose writer has CREATE and TEMPORARY on it, as the destination doc asks. */
    public static TestDb destination(String prefix) throws SQLException {
        TestDb db = create(TestPostgres.destination(), prefix + "_dst", "writer");
        db.server().execute(db.database(), "GRANT CREATE, TEMPORARY ON DATABASE " + quote(db.database()) + " TO " + quote(db.user()));
        return db;
    }

    /** A source database in a given server encoding, such as a legacy {@code SQL_ASCII} one. */
    public static TestDb source(String prefix, String encoding) throws SQLException {
        return create(TestPostgres.source(), prefix + "_src", "reader",
                " ENCODING '" + encoding + "' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'");
    }

    /** A database and login role on a given server (the role gets CONNECT only; grant the rest). */
    public static TestDb on(PgServer server, String prefix, String role) throws SQLException {
        return create(server, prefix, role);
    }

    private static TestDb create(PgServer server, String prefix, String role) throws SQLException {
        return create(server, prefix, role, "");
    }

    private static TestDb create(PgServer server, String prefix, String role, String options) throws SQLException {
        int n = SEQ.incrementAndGet();
        String database = (prefix + "_" + n + "_" + ProcessHandle.current().pid()).toLowerCase();
        String user = "ferry_" + role + "_" + n + "_" + ProcessHandle.current().pid();
        String password = randomPassword();
        server.execute("postgres", "CREATE DATABASE " + quote(database) + options);
        server.execute("postgres", "CREATE ROLE " + quote(user) + " LOGIN PASSWORD '" + password + "'");
        // nothing by default: PUBLIC's CONNECT and TEMPORARY go, the role gets exactly what the setup doc grants
        server.execute("postgres", "REVOKE ALL ON DATABASE " + quote(database) + " FROM PUBLIC");
        server.execute("postgres", "GRANT CONNECT ON DATABASE " + quote(database) + " TO " + quote(user));
        return new TestDb(server, database, user, password);
    }

    /** The source doc's grants on a schema: USAGE, and SELECT on its tables, now and later. */
    public void grantRead(String schema) throws SQLException {
        server.execute(database,
                "GRANT USAGE ON SCHEMA " + quote(schema) + " TO " + quote(user),
                "GRANT SELECT ON ALL TABLES IN SCHEMA " + quote(schema) + " TO " + quote(user),
                "ALTER DEFAULT PRIVILEGES IN SCHEMA " + quote(schema) + " GRANT SELECT ON TABLES TO " + quote(user));
    }

    public Connection admin() throws SQLException {
        return server.admin(database);
    }

    public void execute(String... statements) throws SQLException {
        server.execute(database, statements);
    }

    static String quote(String ident) {
        return '"' + ident.replace("\"", "\"\"") + '"';
    }

    static String randomPassword() {
        String chars = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        SecureRandom r = new SecureRandom();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 20; i++) {
            sb.append(chars.charAt(r.nextInt(chars.length())));
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return database + " as " + user;
    }
}
