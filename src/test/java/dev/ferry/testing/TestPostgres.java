package dev.ferry.testing;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

import dev.ferry.app.EmbeddedServer;

/**
 * The PostgreSQL servers tests run against, one for sources and one for destinations, started once per test JVM.
 *
 * <p>Chosen by the environment variable {@code FERRY_TEST_PG}:
 * <ul>
 *   <li>unset or {@code embedded}: two servers from embedded binaries (zonky), no installation needed;</li>
 *   <li>{@code docker}: two Testcontainers PostgreSQL containers (needs a Docker engine);</li>
 *   <li>{@code postgresql://USER:PASSWORD@HOST:PORT}: an external server, superuser credentials, used for both
 *       sides (each test makes its own databases and roles on it).</li>
 * </ul>
 */
public final class TestPostgres {

    private static PgServer source;
    private static PgServer destination;

    private TestPostgres() {
    }

    public static synchronized PgServer source() {
        init();
        return source;
    }

    public static synchronized PgServer destination() {
        init();
        return destination;
    }

    private static void init() {
        if (source != null) {
            return;
        }
        String mode = System.getenv().getOrDefault("FERRY_TEST_PG", "embedded").trim();
        try {
            if (mode.isEmpty() || mode.equals("embedded")) {
                source = embedded();
                destination = embedded();
            } else if (mode.equals("docker")) {
                source = Containers.start();
                destination = Containers.start();
            } else if (mode.startsWith("postgresql://")) {
                source = external(mode);
                destination = source;
            } else {
                throw new IllegalStateException("FERRY_TEST_PG must be 'embedded', 'docker' or postgresql://USER:PASSWORD@HOST:PORT, not '"
                        + mode + "'");
            }
        } catch (Exception e) {
            throw new IllegalStateException("cannot start test PostgreSQL (" + mode + "): " + e.getMessage(), e);
        }
    }

    /**
     * A server of the test's own, from the embedded binaries whatever {@code FERRY_TEST_PG} says, started with these
     * settings (e.g. a small {@code max_connections}); stopped when the JVM exits.
     */
    public static PgServer startOwn(java.util.Map<String, String> settings) throws Exception {
        return embedded(settings);
    }

    static PgServer embedded() throws Exception {
        return embedded(java.util.Map.of());
    }

    private static PgServer embedded(java.util.Map<String, String> settings) throws Exception {
        EmbeddedServer server = EmbeddedServer.start(settings);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.close();
            } catch (Exception ignored) {
                // the JVM is going away
            }
        }));
        return new PgServer() {
            @Override
            public String host() {
                return "localhost";
            }

            @Override
            public int port() {
                return server.port();
            }

            @Override
            public Connection admin(String database) throws SQLException {
                return server.connect(database);
            }

            @Override
            public boolean canRestart() {
                return Files.isDirectory(Path.of("/proc/self"));
            }

            @Override
            public void restart() throws Exception {
                String dataDir;
                String status;
                try (Connection c = server.connect("postgres"); var st = c.createStatement();
                     var rs = st.executeQuery("SELECT current_setting('data_directory'), pg_backend_pid()")) {
                    rs.next();
                    dataDir = rs.getString(1);
                    // read while the connection is open: its backend process exits as soon as it closes
                    status = Files.readString(Path.of("/proc/" + rs.getLong(2) + "/status"));
                }
                // the postmaster is the backend's parent; pg_ctl sits next to its binary
                String ppid = status.lines().filter(l -> l.startsWith("PPid:")).findFirst().orElseThrow().substring(5).trim();
                Path bin = Files.readSymbolicLink(Path.of("/proc/" + ppid + "/exe")).getParent();
                List<String> cmd = new ArrayList<>();
                if (Files.isExecutable(Path.of("/usr/bin/unshare"))) {
                    cmd.addAll(List.of("unshare", "-U")); // as zonky starts it: the data directory's owner inside a user namespace
                }
                cmd.addAll(List.of(bin.resolve("pg_ctl").toString(), "-D", dataDir, "-m", "fast", "-w", "-t", "60", "restart"));
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                        .redirectOutput(Files.createTempFile("pg-restart", ".log").toFile()).start();
                if (!p.waitFor(90, java.util.concurrent.TimeUnit.SECONDS) || p.exitValue() != 0) {
                    throw new IllegalStateException("pg_ctl restart failed: " + cmd);
                }
            }
        };
    }

    static PgServer external(String url) {
        URI uri = URI.create(url);
        String[] userInfo = uri.getUserInfo() == null ? new String[] {"postgres", ""} : uri.getUserInfo().split(":", 2);
        String host = uri.getHost();
        int port = uri.getPort() > 0 ? uri.getPort() : 5432;
        return new PgServer() {
            @Override
            public String host() {
                return host;
            }

            @Override
            public int port() {
                return port;
            }

            @Override
            public Connection admin(String database) throws SQLException {
                Properties p = new Properties();
                p.setProperty("user", java.net.URLDecoder.decode(userInfo[0], java.nio.charset.StandardCharsets.UTF_8));
                p.setProperty("password", userInfo.length > 1
                        ? java.net.URLDecoder.decode(userInfo[1], java.nio.charset.StandardCharsets.UTF_8) : "");
                return DriverManager.getConnection("jdbc:postgresql://" + host + ":" + port + "/" + database, p);
            }
        };
    }
}
