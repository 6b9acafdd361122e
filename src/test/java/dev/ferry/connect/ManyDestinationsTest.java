package dev.ferry.connect;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.LogCapture;
import dev.ferry.testing.PgServer;
import dev.ferry.testing.TestDb;
import dev.ferry.testing.TestPostgres;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Hundreds of destinations on one server: sessions come from a pool per endpoint within the server's budget, runs wait
 * their turn instead of failing, idle sessions close, and a server whose connection slots other clients hold is waited
 * out without spending a run's retries.
 */
class ManyDestinationsTest {

    private static final int TENANTS = 150;
    private static final int ROWS_PER_TENANT = 20;

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void hundredFiftyDestinationsOnAServerOfFortyConnectionsAllSucceedWithinTheBudget() throws Exception {
        PgServer server = TestPostgres.startOwn(Map.of("max_connections", "40"));
        TestDb src = TestDb.source("tenants");
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.events (tenant_id int, id int, payload text, at timestamptz, PRIMARY KEY (tenant_id, id))",
                "INSERT INTO app.events SELECT t, i, md5((t * 1000 + i)::text), timestamptz '2026-01-01' + i * interval '1 minute'"
                        + " FROM generate_series(1, " + TENANTS + ") t, generate_series(1, " + ROWS_PER_TENANT + ") i");
        src.grantRead("app");
        TestDb dst = TestDb.on(server, "tenants_dst", "writer");
        dst.execute("GRANT CREATE, TEMPORARY ON DATABASE " + dst.database() + " TO " + dst.user());

        StringBuilder yaml = new StringBuilder();
        Map<String, String> props = new LinkedHashMap<>();
        for (int t = 1; t <= TENANTS; t++) {
            yaml.append(FerryHarness.transfer("tenant-" + t, "app.events", "destination", "d" + t,
                    "filter", "tenant_id = :tenant", "filter.tenant", String.valueOf(t)));
            props.putAll(FerryHarness.destination("d" + t, dst, "t_" + t));
        }

        AtomicBoolean sampling = new AtomicBoolean(true);
        AtomicInteger most = new AtomicInteger();
        Thread sampler = new Thread(() -> {
            try (Connection admin = server.admin("postgres"); var ps = admin.prepareStatement(
                    "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE usename = ?")) {
                ps.setString(1, dst.user());
                while (sampling.get()) {
                    try (var rs = ps.executeQuery()) {
                        rs.next();
                        most.accumulateAndGet(rs.getInt(1), Math::max);
                    }
                    Thread.sleep(20);
                }
            } catch (Exception e) {
                most.set(-1000);
            }
        }, "sessions-sampler");
        sampler.start();
        Map<String, TransferRun> runs;
        try (FerryHarness ferry = FerryHarness.start(src, null, null, yaml.toString(), props)) {
            List<String> names = ferry.runtime().catalog().all().stream().map(s -> s.name()).toList();
            assertThat(names).hasSize(TENANTS);
            long started = System.nanoTime();
            runs = ferry.runtime().runAll(names);
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);

            // every run succeeded, at its first attempt: no session refused, no retry spent
            assertThat(runs.values()).allSatisfy(r -> assertThat(r.status()).as(String.valueOf(r)).isEqualTo(TransferRun.Status.SUCCEEDED));
            int held = most.get();
            System.out.printf("ManyDestinationsTest: %d transfers in %d ms, at most %d sessions on the destination server%n",
                    TENANTS, millis, held);
            assertThat(held).as("the most sessions Ferry held on the server").isBetween(2, dev.ferry.config.ConnectionSettings.DEFAULT_MAX_SESSIONS);

            // idle sessions close soon after the runs: an hourly transfer holds none between runs
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
            int open;
            do {
                Thread.sleep(500);
                try (Connection admin = server.admin("postgres")) {
                    open = Integer.parseInt(Dumps.scalar(admin,
                            "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE usename = ?", dst.user()));
                }
            } while (open > 0 && System.nanoTime() < deadline);
            assertThat(open).as("sessions left open after the idle timeout").isZero();

            // and threads: each transfer's table threads end when idle, so hundreds of transfers do not mean hundreds of threads
            long threads;
            do {
                Thread.sleep(500);
                threads = Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().contains("ferry-tables-")).count();
            } while (threads > 0 && System.nanoTime() < deadline);
            assertThat(threads).as("table threads left after the runs").isZero();
        } finally {
            sampling.set(false);
            sampler.join();
        }

        long waited = 0;
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            for (int t = 1; t <= TENANTS; t++) {
                waited += Long.parseLong(Dumps.scalar(d, "SELECT sum(waited_ms) FROM \"t_" + t + "\"._ferry_runs"));
                List<String> expected = Dumps.rows(s, "SELECT tenant_id, id, payload, at FROM app.events WHERE tenant_id = ? ORDER BY id", t);
                assertThat(expected).hasSize(ROWS_PER_TENANT);
                assertThat(Dumps.rows(d, "SELECT tenant_id, id, payload, at FROM \"t_" + t + "\".events ORDER BY id"))
                        .as("tenant %d", t).isEqualTo(expected);
                assertThat(Dumps.scalar(d, "SELECT string_agg(DISTINCT attempts::text, ',') FROM \"t_" + t + "\"._ferry_runs"))
                        .as("attempts of tenant %d's run", t).isEqualTo("1");
            }
        }
        // 10 runs in flight, 3 sessions each of a budget of 20: some waited their turn, and their records say so
        assertThat(waited).as("time runs waited for sessions, summed over their records").isPositive();
    }

    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void aServerWhoseSlotsOtherClientsHoldIsWaitedOutWithoutSpendingRetries() throws Exception {
        // 3 slots for superusers, 5 for everyone else: another application takes those 5 for a while
        PgServer server = TestPostgres.startOwn(Map.of("max_connections", "8", "superuser_reserved_connections", "3"));
        TestDb src = TestDb.source("fullserver");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.a (id int PRIMARY KEY, v text)",
                "INSERT INTO app.a SELECT i, md5(i::text) FROM generate_series(1, 1000) i");
        src.grantRead("app");
        TestDb dst = TestDb.on(server, "fullserver_dst", "writer");
        dst.execute("GRANT CREATE, TEMPORARY ON DATABASE " + dst.database() + " TO " + dst.user());
        TestDb other = TestDb.on(server, "fullserver_other", "app");

        Map<String, String> props = new LinkedHashMap<>(FerryHarness.destination("busy", dst, "export"));
        props.put("ferry.destination.busy.connectTimeout", "2s"); // each attempt gives up fast: the wait is Ferry's own
        String yaml = FerryHarness.transfer("busy-export", "app.a", "destination", "busy", "retryAttempts", "1");
        try (FerryHarness ferry = FerryHarness.start(src, null, null, yaml, props); LogCapture log = LogCapture.of("dev.ferry")) {
            List<Connection> hogs = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                hogs.add(java.sql.DriverManager.getConnection("jdbc:postgresql://" + server.host() + ":" + server.port() + "/"
                        + other.database(), other.user(), other.password()));
            }
            Thread release = new Thread(() -> {
                try {
                    Thread.sleep(7_000);
                    for (Connection c : hogs) {
                        c.close();
                    }
                } catch (Exception e) {
                    // the assertions below fail
                }
            });
            release.start();
            long started = System.nanoTime();
            TransferRun run = ferry.sync("busy-export");
            release.join();

            assertThat(run.status()).as(String.valueOf(run)).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started)).as("waited for the slots to free").isGreaterThanOrEqualTo(6);
            assertThat(String.join("\n", log.lines())).contains("refuses new sessions: its max_connections are all taken (SQLSTATE 53300");
        }
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "a", d, "export", "a", "id");
            assertThat(Dumps.scalar(d, "SELECT string_agg(attempts::text, ',') FROM export._ferry_runs")).isEqualTo("1");
        }
    }
}
