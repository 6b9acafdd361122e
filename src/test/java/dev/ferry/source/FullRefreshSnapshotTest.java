package dev.ferry.source;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A full refresh reads one state of the source, whatever the path: a filtered one (read by query, not COPY) too.
 * Read page by page, each page in its own snapshot, a ledger whose rows keep moving value between them arrives in
 * a state it never had.
 */
class FullRefreshSnapshotTest {

    static final int ROWS = 2000;

    /** One committed move: {@code amount} from row {@code from} to row {@code to}, as move number {@code seq}. */
    record Move(long seq, int from, int to, long amount) {
    }

    @Test
    void aFilteredFullRefreshOfALedgerUnderConcurrentMovesArrivesInOneStateTheSourceHad() throws Exception {
        TestDb src = TestDb.source("ledger");
        TestDb dst = TestDb.destination("ledger");
        // book 'main' sums to zero (odd rows +100, even rows -100); book 'other' is filtered out
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.ledger (id int PRIMARY KEY, book text NOT NULL, amount bigint NOT NULL, last_move bigint NOT NULL)",
                "INSERT INTO app.ledger SELECT g, 'main', CASE WHEN g % 2 = 1 THEN 100 ELSE -100 END, 0 FROM generate_series(1, " + ROWS + ") g",
                "INSERT INTO app.ledger SELECT g, 'other', 7, 0 FROM generate_series(" + (ROWS + 1) + ", " + (ROWS + 100) + ") g");
        src.grantRead("app");
        // a tiny batchSize: were the table read page by page, it would take 200 pages
        String yaml = transfer("ledger", "app.ledger", "filter", "book = :book", "filter.book", "main", "batchSize", "10");
        List<Move> moves = new CopyOnWriteArrayList<>();
        AtomicBoolean stop = new AtomicBoolean();
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml)) {
            // a writer that keeps moving value from a row in the first half (read early) to one in the second (read late)
            Thread writer = new Thread(() -> {
                try (Connection c = src.admin(); PreparedStatement ps = c.prepareStatement(
                        "UPDATE app.ledger SET amount = amount + CASE WHEN id = ? THEN -? ELSE ? END, last_move = ? WHERE id IN (?, ?)")) {
                    c.setAutoCommit(true); // each move commits alone: one UPDATE of both rows
                    for (long seq = 1; !stop.get(); seq++) {
                        int from = ThreadLocalRandom.current().nextInt(1, ROWS / 2 + 1);
                        int to = ThreadLocalRandom.current().nextInt(ROWS / 2 + 1, ROWS + 1);
                        long amount = ThreadLocalRandom.current().nextLong(1, 1000);
                        ps.setInt(1, from);
                        ps.setLong(2, amount);
                        ps.setLong(3, amount);
                        ps.setLong(4, seq);
                        ps.setInt(5, from);
                        ps.setInt(6, to);
                        ps.executeUpdate();
                        moves.add(new Move(seq, from, to, amount));
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, "ledger-writer");
            writer.setDaemon(true);
            writer.start();
            try {
                while (moves.size() < 20) {
                    Thread.sleep(5);
                }
                int before = moves.size();
                TransferRun run = ferry.sync("ledger");
                int after = moves.size();
                assertThat(run.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
                assertThat(after - before).as("moves committed while the refresh ran").isGreaterThan(10);
            } finally {
                stop.set(true);
                writer.join(10_000);
            }
            try (Connection d = dst.admin()) {
                assertThat(Dumps.scalar(d, "SELECT sum(amount) FROM export.ledger")).as("the ledger's total").isEqualTo("0");
                // the state after the first k moves, k the last move the copy holds: row by row
                long k = Long.parseLong(Dumps.scalar(d, "SELECT max(last_move) FROM export.ledger"));
                assertThat(Dumps.dump(d, "export.ledger", "id, book, amount, last_move", "id")).isEqualTo(stateAfter(moves, k));
            }
        }
    }

    /**
     * Read in one query, a filtered full refresh has no page boundary to stop at: a shutdown abandons the stream, as
     * it does a bulk one, and the destination keeps its old table. The source is a view that sleeps 1 ms every 100
     * rows, so that the refresh is still streaming when the stop comes.
     */
    @Test
    void aShutdownAbandonsAFilteredFullRefreshMidStreamAndKeepsTheOldTable() throws Exception {
        TestDb src = TestDb.source("ledger_stop");
        TestDb dst = TestDb.destination("ledger_stop");
        src.execute("CREATE SCHEMA app",
                "CREATE FUNCTION app.slowly(id int, v text) RETURNS text LANGUAGE plpgsql STABLE"
                        + " AS $$ BEGIN IF id % 100 = 0 THEN PERFORM pg_sleep(0.001); END IF; RETURN v; END $$",
                "CREATE TABLE app.data (id int PRIMARY KEY, book text NOT NULL, v text)",
                "INSERT INTO app.data SELECT g, 'main', 'old' FROM generate_series(1, 100000) g",
                "CREATE VIEW app.entries AS SELECT id, book, app.slowly(id, v) AS v FROM app.data");
        src.grantRead("app");
        String yaml = transfer("entries", "app.entries", "key", "id", "filter", "book = :book", "filter.book", "main");
        FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml);
        try {
            assertThat(ferry.sync("entries").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            src.execute("UPDATE app.data SET v = 'new'");
            java.util.concurrent.FutureTask<TransferRun> refresh = new java.util.concurrent.FutureTask<>(() -> ferry.sync("entries"));
            Thread t = new Thread(refresh, "refresh");
            t.start();
            try (Connection d = dst.admin()) {
                long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
                while (!"1".equals(Dumps.scalar(d, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY \"export\".\"_ferry_%'"))) {
                    assertThat(System.nanoTime()).as("the refresh's COPY began").isLessThan(deadline);
                    Thread.sleep(5);
                }
            }
            ferry.runtime().camel().stop(); // what SIGTERM does: runs stop at their next boundary
            TransferRun run = refresh.get(60, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(run.status()).isEqualTo(TransferRun.Status.INTERRUPTED);
            TransferRun.TableOutcome outcome = run.outcomes().values().iterator().next();
            assertThat(outcome.rows()).as("stopped without reading the rest of the table").isLessThan(100_000);
            assertThat(outcome.error()).startsWith("stopped for shutdown after " + outcome.rows() + " rows");
        } finally {
            ferry.close();
        }
        try (Connection d = dst.admin()) {
            assertThat(Dumps.rows(d, "SELECT DISTINCT v FROM export.entries")).as("the old table stays").containsExactly("old");
            assertThat(Dumps.count(d, "export.entries")).isEqualTo(100_000);
            assertThat(Dumps.rows(d, "SELECT status FROM export._ferry_runs ORDER BY id")).containsExactly("succeeded", "interrupted");
        }
    }

    /** The source's 'main' rows after moves 1..k, as COPY's text lines ordered by id. */
    static List<String> stateAfter(List<Move> moves, long k) {
        long[] amount = new long[ROWS + 1];
        long[] last = new long[ROWS + 1];
        for (int id = 1; id <= ROWS; id++) {
            amount[id] = id % 2 == 1 ? 100 : -100;
        }
        for (Move m : moves) {
            if (m.seq() <= k) {
                amount[m.from()] -= m.amount();
                amount[m.to()] += m.amount();
                last[m.from()] = m.seq();
                last[m.to()] = m.seq();
            }
        }
        List<String> lines = new ArrayList<>();
        for (int id = 1; id <= ROWS; id++) {
            lines.add(id + "\tmain\t" + amount[id] + "\t" + last[id]);
        }
        return lines;
    }
}
