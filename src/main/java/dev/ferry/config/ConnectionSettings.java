package dev.ferry.config;

import java.util.Objects;

/**
 * One source or destination, as declared under {@code ferry.source.<name>.*} or
 * {@code ferry.destination.<name>.*} in application.properties: the fields of the setup docs
 * (hostname, port, database, user, password) plus the destination's schema.
 *
 * <p>The password is kept out of {@link #toString()}, equals and hashCode so that it cannot leak
 * through logs, exception messages or run records.
 */
public final class ConnectionSettings {

    public enum Role {
        SOURCE("source"), DESTINATION("destination");

        private final String key;

        Role(String key) {
            this.key = key;
        }

        /** The property segment: {@code ferry.<key>.<name>.*}. */
        public String key() {
            return key;
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

    public ConnectionSettings(Role role, String name, String hostname, int port, String database, String user,
                              Secret password, String schema) {
        this(role, name, hostname, port, database, user, password, schema, 10);
    }

    public ConnectionSettings(Role role, String name, String hostname, int port, String database, String user,
                              Secret password, String schema, int connectTimeoutSeconds) {
        this.role = Objects.requireNonNull(role);
        this.name = Objects.requireNonNull(name);
        this.hostname = hostname;
        this.port = port;
        this.database = database;
        this.user = user;
        this.password = password == null ? Secret.EMPTY : password;
        this.schema = schema;
        this.connectTimeoutSeconds = connectTimeoutSeconds;
    }

    /** How long to wait for a connection before the attempt fails. */
    public int connectTimeoutSeconds() {
        return connectTimeoutSeconds;
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

    /** The property prefix this connection is declared under, for error messages. */
    public String propertyPrefix() {
        return "ferry." + role.key() + "." + name + ".";
    }

    /** Where this connection points, for logs: never includes the password. */
    public String describe() {
        return role.key() + " '" + name + "' (" + user + "@" + hostname + ":" + port + "/" + database
                + (schema != null ? ", schema " + schema : "") + ")";
    }

    @Override
    public String toString() {
        return describe();
    }
}
