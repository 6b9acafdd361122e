package dev.ferry.app;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Several Ferry processes ({@code run}, child JVMs) on one cluster database: each firing of a transfer runs on one
 * node, on schedule, never overlapping; a node killed mid-run has its run finished by another; a node whose routes
 * differ says so.
 */
// measures time bounds or runs several Ferry processes: runs alone, after the other tests (pom.xml, "serial")
@Tag("serial")
class ClusterTest {

    private final List<Process> nodes = new ArrayList<>();

    @AfterEach
    void stopNodes() throws InterruptedException {
        for (Process p : nodes) {
            p.destroyForcibly();
        }
        for (Process p : nodes) {
            p.waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    @Timeout(240)
    void threeNodesRunAnEveryTransferOnSchedulePerFiringOnceAndWarnOfOtherRoutes() throws Exception {
        TestDb src = TestDb.source("cluster");
        TestDb dst = TestDb.destination("cluster");
        TestDb quartz = clusterDb("cluster");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.t (id int PRIMARY KEY, v text)",
                "INSERT INTO app.t SELECT g, 'v' || g FROM generate_series(1, 10) g");
        src.grantRead("app");
        String yaml = FerryHarness.transfer("tick", "app.t", "every", "2s");
        Path dir = FerryHarness.write(src, dst, "export", yaml, clusterProperties(quartz));
        for (int i = 0; i < 3; i++) {
            nodes.add(node(dir, "node" + i));
        }
        awaitTrue(Duration.ofSeconds(120), () -> liveNodes(quartz) == 3, "three nodes checked in");

        String from;
        try (Connection d = dst.admin()) {
            from = Dumps.scalar(d, "SELECT clock_timestamp()::text");
        }
        long window = 40;
        Thread.sleep(window * 1000);
        try (Connection d = dst.admin()) {
            String runs = "(SELECT run_id, min(started_at) AS started_at, max(finished_at) AS finished_at, min(node) AS node,"
                    + " bool_and(status = 'succeeded') AS ok FROM export._ferry_runs GROUP BY run_id)";
            int inWindow = Integer.parseInt(Dumps.scalar(d, "SELECT count(*) FROM " + runs + " r WHERE started_at >= ?::timestamptz"
                    + " AND started_at < ?::timestamptz + interval '" + window + " seconds'", from, from));
            int all = Integer.parseInt(Dumps.scalar(d, "SELECT count(*) FROM " + runs + " r"));
            int overlaps = Integer.parseInt(Dumps.scalar(d, "SELECT count(*) FROM " + runs + " a JOIN " + runs + " b"
                    + " ON a.run_id < b.run_id AND a.started_at < b.finished_at AND b.started_at < a.finished_at"));
            int byNodes = Integer.parseInt(Dumps.scalar(d, "SELECT count(DISTINCT node) FROM " + runs + " r"));
            System.out.printf("cluster: %d runs in %ds (every 2s), %d in all, %d overlapping, by %d nodes: %s%n", inWindow, window, all,
                    overlaps, byNodes, Dumps.rows(d, "SELECT node || ' ' || count(*) FROM " + runs + " r GROUP BY node ORDER BY node"));
            assertThat(inWindow).as("one run per firing, every 2s").isBetween((int) (window / 2) - 2, (int) (window / 2) + 1);
            assertThat(overlaps).as("no two runs overlap").isZero();
            assertThat(Dumps.rows(d, "SELECT DISTINCT status FROM export._ferry_runs"))
                    .as("no firing ran twice (the second would be skipped) nor failed").containsExactly("succeeded");
            assertThat(byNodes).as("the nodes share the firings").isGreaterThan(1);
        }

        // a fourth node with another transfer, and the shared one set differently, says so when it starts
        Path other = FerryHarness.write(src, dst, "export", FerryHarness.transfer("tick", "app.t", "every", "2s", "batchSize", "5")
                + FerryHarness.transfer("extra", "app.t", "every", "1h", "destination", "dst2"), extraProperties(quartz, dst));
        Process odd = node(other, "odd");
        nodes.add(odd);
        Path log = other.resolve("odd.log");
        awaitTrue(Duration.ofSeconds(90), () -> read(log).contains("this node's transfers differ"), "the odd node's warning");
        String warning = read(log).lines().filter(l -> l.contains("this node's transfers differ")).findFirst().orElseThrow();
        assertThat(warning).contains("WARN", "only here: extra", "with different parameters: tick").doesNotContain("missing here");
        assertThat(read(dir.resolve("node0.log"))).doesNotContain("this node's transfers differ");

        // once no live node declares 'extra', the next node to start removes its trigger, which would fire on no node
        String extra = "SELECT count(*) FROM \"" + quartz.user() + "\".qrtz_triggers WHERE trigger_name = 'extra'";
        assertThat(count(quartz, extra)).isEqualTo(1);
        odd.destroyForcibly();
        awaitTrue(Duration.ofSeconds(60), () -> liveNodes(quartz) == 3, "the odd node found dead");
        nodes.add(node(dir, "node3"));
        awaitTrue(Duration.ofSeconds(90), () -> count(quartz, extra) == 0, "the removed transfer's trigger gone");
        assertThat(read(dir.resolve("node3.log"))).contains("removed the trigger of transfer extra, which no live node declares");
    }

    @Test
    @Timeout(240)
    void aNodeKilledMidRunHasItsRunFinishedByAnother() throws Exception {
        TestDb src = TestDb.source("clusterkill");
        TestDb dst = TestDb.destination("clusterkill");
        TestDb quartz = clusterDb("clusterkill");
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.orders (id bigint PRIMARY KEY, note text, updated_at timestamptz NOT NULL)",
                "INSERT INTO app.orders SELECT g, 'n' || g, timestamptz '2025-01-01' + g * interval '1 second'"
                        + " FROM generate_series(1, 4000) g");
        src.grantRead("app");
        // fires once when the first node creates its trigger, then not for an hour: only a recovery can finish it
        String yaml = FerryHarness.transfer("backfill", "app.orders", "mode", "incremental", "cursor", "updated_at",
                "batchSize", "100", "lookback", "0", "every", "1h");
        Path dir = FerryHarness.write(src, dst, "export", yaml, clusterProperties(quartz));
        for (int i = 0; i < 2; i++) {
            nodes.add(node(dir, "node" + i, "-Dferry.slowAt=between-batches:400"));
        }
        awaitTrue(Duration.ofSeconds(120), () -> liveNodes(quartz) == 2, "two nodes checked in");
        awaitTrue(Duration.ofSeconds(60), () -> count(dst, "SELECT count(*) FROM export.orders") >= 300, "a few batches committed");
        String running;
        try (Connection d = dst.admin()) {
            running = Dumps.scalar(d, "SELECT node FROM export._ferry_runs WHERE status = 'running'");
        }
        assertThat(running).as("the backfill is still going").isNotNull();
        Process victim = nodes.stream().filter(p -> running.endsWith(":" + p.pid())).findFirst().orElseThrow();
        long committed = count(dst, "SELECT count(*) FROM export.orders");
        victim.destroyForcibly(); // kill -9: no rollback, no cleanup, no word to the cluster
        victim.waitFor(30, TimeUnit.SECONDS);
        long killedAt = System.nanoTime();

        awaitTrue(Duration.ofSeconds(120), () -> count(dst, "SELECT count(*) FROM export._ferry_runs WHERE status = 'succeeded'") > 0,
                "another node finished the backfill");
        System.out.printf("cluster: killed %s after %d rows; another node finished the run %.1fs later%n", running, committed,
                (System.nanoTime() - killedAt) / 1e9);
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            Dumps.assertSameRows(s, "app", "orders", d, "export", "orders", "id");
            assertThat(Dumps.rows(d, "SELECT status FROM export._ferry_runs ORDER BY id")).containsExactly("abandoned", "succeeded");
            assertThat(Dumps.scalar(d, "SELECT node FROM export._ferry_runs WHERE status = 'succeeded'")).isNotEqualTo(running);
        }
    }

    @Test
    @Timeout(60)
    void clusterSettingsAreCheckedAtStartupLikeAnyConnection() throws Exception {
        Map<String, String> props = new LinkedHashMap<>(ConfigErrorsTest.PROPS);
        props.putAll(Map.of("ferry.cluster.hostname", "127.0.0.1", "ferry.cluster.user", "u", "ferry.cluster.password", "s3cr3t-pw",
                "ferry.cluster.tablePrefix", "Quartz-", "ferry.cluster.checkinInterval", "soon", "ferry.cluster.schema", "x"));
        String err = ConfigErrorsTest.refused(FerryHarness.write(null, null, null, FerryHarness.transfer("t", "app.t"), props));
        assertThat(err).contains("ferry.cluster.database is missing; the cluster needs it",
                "ferry.cluster.schema: unknown field 'schema'; the cluster takes checkinInterval, connectTimeout, database,",
                "ferry.cluster.tablePrefix: 'Quartz-' is not a lower-case SQL name",
                "ferry.cluster.checkinInterval: 'soon' is not a duration").doesNotContain("s3cr3t-pw");
    }

    /** A database for Quartz's tables, with a schema of the cluster user's own first in its search_path. */
    static TestDb clusterDb(String prefix) throws Exception {
        TestDb db = TestDb.destination(prefix + "_quartz");
        db.execute("CREATE SCHEMA AUTHORIZATION \"" + db.user() + "\"");
        return db;
    }

    static Map<String, String> clusterProperties(TestDb quartz) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("ferry.cluster.hostname", quartz.server().host());
        p.put("ferry.cluster.port", String.valueOf(quartz.server().port()));
        p.put("ferry.cluster.database", quartz.database());
        p.put("ferry.cluster.user", quartz.user());
        p.put("ferry.cluster.password", quartz.password());
        p.put("ferry.cluster.checkinInterval", "1s"); // a dead node is noticed in about 9 s (1 s + Quartz's 7.5 s grace)
        return p;
    }

    private static Map<String, String> extraProperties(TestDb quartz, TestDb dst) {
        Map<String, String> p = clusterProperties(quartz);
        p.putAll(FerryHarness.destination("dst2", dst, "export2"));
        return p;
    }

    private static Process node(Path dir, String name, String... jvmOptions) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(System.getProperty("java.home") + File.separator + "bin" + File.separator + "java",
                "-Xmx256m", "-cp", System.getProperty("java.class.path")));
        cmd.addAll(List.of(jvmOptions));
        cmd.addAll(List.of("dev.ferry.app.Ferry", "--config", dir.resolve("application.properties").toString(),
                "--routes", dir.resolve("routes").toString(), "run"));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile()).start();
    }

    private static int liveNodes(TestDb quartz) {
        try {
            return (int) count(quartz, "SELECT count(*) FROM \"" + quartz.user() + "\".qrtz_scheduler_state");
        } catch (RuntimeException e) {
            return 0; // not created yet
        }
    }

    private static long count(TestDb db, String sql) {
        try (Connection c = db.admin()) {
            String v = Dumps.scalar(c, sql);
            return v == null ? 0 : Long.parseLong(v);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String read(Path log) {
        try {
            return Files.isRegularFile(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
        } catch (Exception e) {
            return "";
        }
    }

    private static void awaitTrue(Duration timeout, BooleanSupplier condition, String what) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < end) {
            try {
                if (condition.getAsBoolean()) {
                    return;
                }
            } catch (RuntimeException e) {
                // not there yet (a table not created, say)
            }
            Thread.sleep(250);
        }
        throw new AssertionError("timed out waiting for: " + what);
    }
}
