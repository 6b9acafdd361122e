package dev.ferry.connect;

import dev.ferry.config.ConnectionSettings;
import dev.ferry.config.Secret;

/**
 * What makes two connections' sessions interchangeable, and so one pool: where they connect (host, port, database, the
 * tunnel), as whom (user, password), how (TLS, the timeouts pinned in the session), and for which end (a source's
 * sessions are read-only). A connection's name and a destination's schema are not part of it: Ferry names the schema
 * in every statement.
 */
public record Endpoint(ConnectionSettings.Role role, String hostname, int port, String database, String user, Secret password,
                ConnectionSettings.Tls tls, ConnectionSettings.Ssh ssh, int connectTimeoutSeconds,
                ConnectionSettings.Timeouts timeouts, java.time.Duration idleTimeout) {

    /** The endpoint a connection's sessions are made for. */
    public static Endpoint of(ConnectionSettings s) {
        return new Endpoint(s.role(), s.hostname(), s.port(), s.database(), s.user(), s.password(), s.tls(), s.ssh(),
                s.connectTimeoutSeconds(), s.timeouts(), s.sessions().idleTimeout());
    }

    /** For logs and the pool's name: never the password. */
    @Override
    public String toString() {
        return role.key() + " " + user + "@" + hostname + ":" + port + "/" + database + (ssh != null ? " via " + ssh : "");
    }
}
