package dev.ferry.pipeline;

import java.sql.Connection;
import java.util.HashMap;
import java.util.Map;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TcpProxy;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * parallelTables: a transfer's tables copied at the same time, each exactly, each recorded, one failing sparing the
 * rest; copyStreams: one table copied in several streams of page ranges sharing a snapshot.
 */
// checks that tables copy at the same time (their records overlap): runs alone, after the other tests (pom.xml, "serial")
@Tag("serial")
class ParallelCopyTest {

    @Test
    void tablesCopyAtTheSameTimeAndAFailureSparesTheOthers() throws Exception {
        TestDb src = TestDb.source("parallel");
        TestDb dst = TestDb.destination("parallel");
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.a (id int PRIMARY KEY, v text)", "CREATE TABLE app.b (id int PRIMARY KEY, v text)",
                "CREATE TABLE app.c (id int PRIMARY KEY, v text)", "CREATE TABLE app.doomed (id int PRIMARY KEY)",
                "INSERT INTO app.a SELECT g, 'a' || g FROM generate_series(1, 100000) g",
                "INSERT INTO app.b SELECT g, 'b' || g FROM generate_series(1, 100000) g",
                "INSERT INTO app.c SELECT g, 'c' || g FROM generate_series(1, 100000) g");
        src.grantRead("app");
        // the source sends each connection 400 kB/s: each table's copy (about 2 MB, 5 s) outlasts the others' start on any
        // machine (their connections open one after another: 2.5 s passed once while the serial tests ran two at a time)
        Map<String, String> props = new HashMap<>(FerryHarness.destination("dst2", dst, "export2"));
        try (TcpProxy slow = new TcpProxy(src.server().host(), src.server().port())) {
            slow.throttle(400_000);
            props.put("ferry.source.src.port", String.valueOf(slow.port()));
            copyThreeAtOnce(src, dst, props);
        }
    }

    private static void copyThreeAtOnce(TestDb src, TestDb dst, Map<String, String> props) throws Exception {
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export",
                transfer("three", "app.a, app.b, app.c", "parallelTables", "3")
                        + transfer("withMissing", "app.a, app.doomed, app.c", "parallelTables", "2", "destination", "dst2"),
                props)) {
            TransferRun run = ferry.sync("three");
            assertThat(run.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(run.rows()).isEqualTo(300_000);
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                for (String t : new String[] {"a", "b", "c"}) {
                    Dumps.assertSameRows(s, "app", t, d, "export", t, "id");
                }
                // every table started before any finished: they ran at the same time
                assertThat(Dumps.scalar(d, "SELECT max(started_at) < min(finished_at) FROM export._ferry_runs WHERE run_id = ?",
                        run.id())).isEqualTo("t");
            }

            src.execute("DROP TABLE app.doomed");
            TransferRun partial = ferry.sync("withMissing");
            assertThat(partial.status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(partial.rows()).isEqualTo(200_000);
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                Dumps.assertSameRows(s, "app", "a", d, "export2", "a", "id");
                Dumps.assertSameRows(s, "app", "c", d, "export2", "c", "id");
                assertThat(Dumps.rows(d, "SELECT source_table || ' ' || status FROM export2._ferry_runs WHERE run_id = ? ORDER BY 1",
                        partial.id())).containsExactly("app.a succeeded", "app.c succeeded", "app.doomed failed");
            }
        }
    }

    @Test
    void aTableCopiedInSeveralStreamsArrivesWholeOnce() throws Exception {
        TestDb src = TestDb.source("streams");
        TestDb dst = TestDb.destination("streams");
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.t (id bigint PRIMARY KEY, v text, n numeric, tags int[])",
                "INSERT INTO app.t SELECT g, repeat('v', g % 300), g / 7.0, ARRAY[g, -g] FROM generate_series(1, 100000) g",
                // holes and moved rows: deleted rows, and updated ones whose new versions sit in other pages
                "DELETE FROM app.t WHERE id % 17 = 0", "UPDATE app.t SET v = 'moved' WHERE id % 23 = 0");
        src.grantRead("app");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", transfer("t", "app.t", "copyStreams", "4"))) {
            for (int run = 0; run < 2; run++) {
                assertThat(ferry.sync("t").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
                try (Connection s = src.admin(); Connection d = dst.admin()) {
                    Dumps.assertSameRows(s, "app", "t", d, "export", "t", "id");
                    assertThat(Dumps.scalar(d, "SELECT read_path FROM export._ferry_runs ORDER BY id DESC LIMIT 1"))
                            .isEqualTo("copy binary in 4 streams");
                    assertThat(Dumps.scalar(d, "SELECT count(*) FROM pg_class WHERE relname LIKE '\\_ferry\\_%\\_t'"))
                            .as("no load table left").isEqualTo("0");
                    assertThat(Dumps.scalar(d, "SELECT count(DISTINCT _ferry_run_id) FROM export.t")).isEqualTo("1");
                }
                src.execute("UPDATE app.t SET n = n + 1 WHERE id % 5 = 0", "INSERT INTO app.t VALUES (" + (1_000_001 + run) + ", 'new', 1, NULL)");
            }
        }
    }
}
