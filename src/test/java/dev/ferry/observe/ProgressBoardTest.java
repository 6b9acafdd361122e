package dev.ferry.observe;

import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A destination that stops answering holds only its own table's progress write: the other tables' reports and writes
 * go on, and the stuck table's next writes are skipped rather than queued behind it. (Before, one thread wrote every
 * table's rows in turn, and one silent destination stopped every report for as long as its write waited.)
 */
class ProgressBoardTest {

    @Test
    @Timeout(30)
    void aStuckWriteHoldsNoOtherTablesReport() throws Exception {
        ProgressBoard board = new ProgressBoard(() -> null, Duration.ofMillis(50));
        TableProgress stuck = new TableProgress("a", "app.a", "dst", UUID.randomUUID(), true, -1, -1);
        TableProgress going = new TableProgress("b", "app.b", "dst2", UUID.randomUUID(), true, -1, -1);
        CountDownLatch silent = new CountDownLatch(1);
        AtomicInteger stuckWrites = new AtomicInteger();
        AtomicInteger goingWrites = new AtomicInteger();
        stuck.recordWith(rows -> {
            stuckWrites.incrementAndGet();
            try {
                silent.await(); // the write's answer never comes (until the test ends)
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        going.recordWith(rows -> goingWrites.incrementAndGet());
        board.start(stuck);
        board.start(going);
        ScheduledExecutorService reports = Executors.newSingleThreadScheduledExecutor();
        ExecutorService writers = Executors.newFixedThreadPool(2);
        try {
            board.reportOn(reports, writers);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (goingWrites.get() < 5 && System.nanoTime() < deadline) {
                going.add(100, 1000);
                Thread.sleep(20);
            }
            assertThat(goingWrites.get()).as("the other table's writes while one is stuck").isGreaterThanOrEqualTo(5);
            assertThat(stuckWrites.get()).as("the stuck table's next writes are skipped, not queued").isEqualTo(1);
        } finally {
            silent.countDown();
            reports.shutdownNow();
            writers.shutdownNow();
        }
    }
}
