package dev.ferry.cluster;

import java.sql.Connection;
import java.sql.SQLException;

import javax.sql.DataSource;

import org.quartz.utils.ConnectionProvider;

/**
 * Quartz's connections to the cluster database, from Ferry's own pool for it: so that its TLS settings, SSH tunnel
 * and pinned session settings apply, and no password ever goes into the properties Quartz is configured (and logs)
 * with. Registered with Quartz's DBConnectionManager under a name the job store's {@code dataSource} property names.
 */
final class PooledConnections implements ConnectionProvider {

    private final DataSource pool;

    PooledConnections(DataSource pool) {
        this.pool = pool;
    }

    @Override
    public Connection getConnection() throws SQLException {
        return pool.getConnection();
    }

    @Override
    public void shutdown() {
        // the pool is Ferry's (Connections), closed with the others after Camel has stopped Quartz
    }

    @Override
    public void initialize() {
        // created on first use, as every pool of Ferry's
    }
}
