package dev.ferry.failure;

import java.sql.SQLException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.ferry.config.ConnectionSettings;
import dev.ferry.config.Sql;

/**
 * Turns PostgreSQL's permission and connection errors into the statement or setting that fixes them, for the
 * source or destination the error came from (the permissions checklist of the setup docs, applied to the error).
 */
public final class PrivilegeHints {

    private static final Pattern TEMP = Pattern.compile("permission denied to create temporary tables in database \"?([^\"]+)\"?");
    private static final Pattern DATABASE = Pattern.compile("permission denied for database \"?([^\"\\s]+)\"?");
    private static final Pattern SCHEMA = Pattern.compile("permission denied for schema \"?([^\"\\s]+)\"?");
    private static final Pattern TABLE = Pattern.compile("permission denied for (?:table|relation) \"?([^\"\\s]+)\"?");
    private static final Pattern RLS = Pattern.compile("affected by row-level security policy for table \"?([^\"\\s]+)\"?");
    private static final Pattern OWNER = Pattern.compile("must be owner of (?:table|relation) \"?([^\"\\s]+)\"?");

    private PrivilegeHints() {
    }

    /** The fix for a destination user who may not create temporary tables (incremental batches stage rows in them). */
    public static String grantTemporary(String database, String user) {
        return "run on the destination: GRANT TEMPORARY ON DATABASE " + Sql.ident(database) + " TO " + Sql.ident(user) + ";";
    }

    /** The fix for a destination user who may not create the destination's schema. */
    public static String grantCreateOnDatabase(ConnectionSettings destination) {
        return "run on the destination: GRANT CREATE ON DATABASE " + Sql.ident(destination.database()) + " TO "
                + Sql.ident(destination.user()) + "; (it lets Ferry create schema " + destination.schema() + "; or create the"
                + " schema yourself and GRANT ALL ON SCHEMA " + Sql.ident(destination.schema()) + " TO "
                + Sql.ident(destination.user()) + ";)";
    }

    /** The fix for a destination user who may not create tables in an existing schema. */
    public static String grantAllOnSchema(String schema, String user) {
        return "run on the destination: GRANT ALL ON SCHEMA " + Sql.ident(schema) + " TO " + Sql.ident(user) + ";";
    }

    /** The fix for a destination table Ferry must replace or alter but does not own. */
    public static String ownTable(String schema, String table, String user) {
        return "run on the destination: ALTER TABLE " + Sql.qualified(schema, table) + " OWNER TO " + Sql.ident(user) + ";";
    }

    /** The fix for a source user who may not use a schema. */
    public static String grantUsageOnSchema(String schema, String user) {
        return "run on the source: GRANT USAGE ON SCHEMA " + Sql.ident(schema) + " TO " + Sql.ident(user) + ";";
    }

    /** The fix for a source user who may not read a table. */
    public static String grantSelect(dev.ferry.config.TableRef table, String user) {
        return "run on the source: GRANT SELECT ON " + table.quoted() + " TO " + Sql.ident(user) + ";";
    }

    /** The fix for an error, or null when Ferry has no specific advice. */
    public static String hint(SQLException e, ConnectionSettings source, ConnectionSettings destination) {
        return hint(e, source, destination, java.util.List.of());
    }

    /** The fix for an error, knowing the transfer's source tables (to name the table a missing SELECT is on). */
    public static String hint(SQLException e, ConnectionSettings source, ConnectionSettings destination,
                              java.util.List<dev.ferry.config.TableRef> sourceTables) {
        String msg = e.getMessage() == null ? "" : e.getMessage();
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        Matcher m;
        if ((m = TEMP.matcher(msg)).find() && destination != null) {
            return grantTemporary(m.group(1), destination.user());
        }
        if ((m = DATABASE.matcher(msg)).find()) {
            String db = m.group(1);
            if (destination != null && db.equals(destination.database()) && (source == null || !db.equals(source.database())
                    || !msg.contains("connect"))) {
                return grantCreateOnDatabase(destination);
            }
            if (source != null && db.equals(source.database())) {
                return "run on the source: GRANT CONNECT ON DATABASE " + Sql.ident(db) + " TO " + Sql.ident(source.user()) + ";";
            }
        }
        if ((m = SCHEMA.matcher(msg)).find()) {
            String schema = m.group(1);
            if (destination != null && schema.equals(destination.schema())) {
                return grantAllOnSchema(schema, destination.user());
            }
            if (source != null) {
                return grantUsageOnSchema(schema, source.user());
            }
        }
        if ((m = RLS.matcher(msg)).find()) {
            // Ferry's sessions pin row_security off: a role under a policy would silently read (or merge) a subset
            return "the user is subject to row-level security on table " + m.group(1) + ", so it would see only some of its"
                    + " rows; Ferry copies whole tables: let the user bypass it (as a superuser: ALTER ROLE <user> BYPASSRLS;),"
                    + " connect as the table's owner, or disable row-level security on that table";
        }
        if ((m = OWNER.matcher(msg)).find() && destination != null) {
            return "Ferry replaces or alters the tables it writes, so it must own them; "
                    + ownTable(destination.schema(), m.group(1), destination.user());
        }
        if ((m = TABLE.matcher(msg)).find()) {
            String name = m.group(1);
            for (dev.ferry.config.TableRef t : sourceTables) {
                if (t.name().equals(name) && source != null) {
                    return grantSelect(t, source.user());
                }
            }
            return "grant the missing privilege: on the source, GRANT SELECT ON TABLE <schema>." + Sql.ident(m.group(1)) + " TO "
                    + (source != null ? Sql.ident(source.user()) : "<reader>") + "; on the destination, Ferry must own the"
                    + " tables it writes (ALTER TABLE ... OWNER TO " + (destination != null ? Sql.ident(destination.user()) : "<writer>") + ")";
        }
        if (SqlStateRetryDecision.isTlsVerification(e)) {
            ConnectionSettings s = source != null && destination == null ? source : destination != null && source == null ? destination : null;
            String which = s == null ? "the connection's sslrootcert" : s.propertyPrefix() + "sslrootcert";
            return "TLS verification failed: check " + which + " (the certificate authority that signed the"
                    + " server's certificate) and, with sslmode verify-full, that hostname is a name the certificate lists";
        }
        if (state.equals("28P01")) {
            return "the password was refused: check the password of this connection in application.properties (or the"
                    + " environment variable it comes from)";
        }
        if (state.equals("3D000")) {
            return "the database does not exist: check the 'database' of this connection in application.properties";
        }
        if (state.equals("28000")) {
            return "the server refused this user: check that the role exists, may log in (ALTER ROLE ... LOGIN), and that"
                    + " pg_hba.conf admits it from Ferry's address";
        }
        if (state.startsWith("08") && msg.contains("refused")) {
            return "nothing answered: check the hostname and port of this connection, and that firewalls let Ferry through";
        }
        return null;
    }
}
