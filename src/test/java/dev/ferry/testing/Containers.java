package dev.ferry.testing;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;

import org.testcontainers.postgresql.PostgreSQLContainer;

/** PostgreSQL in Docker through Testcontainers, for machines with a Docker engine ({@code FERRY_TEST_PG=docker}). */
final class Containers {

    private Containers() {
    }

    @SuppressWarnings("resource")
    static PgServer start() {
        PostgreSQLContainer pg = new PostgreSQLContainer(System.getenv().getOrDefault("FERRY_TEST_PG_IMAGE", "postgres:17"))
                .withUsername("postgres").withPassword("postgres").withDatabaseName("postgres");
        pg.start();
        return new PgServer() {
            @Override
            public String host() {
                return pg.getHost();
            }

            @Override
            public int port() {
                return pg.getMappedPort(5432);
            }

            @Override
            public Connection admin(String database) throws SQLException {
                return DriverManager.getConnection("jdbc:postgresql://" + host() + ":" + port() + "/" + database, "postgres", "postgres");
            }
        };
    }
}
