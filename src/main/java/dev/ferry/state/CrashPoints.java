package dev.ferry.state;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Places where the crash-recovery tests stop the process dead, as a power cut or {@code kill -9} would: no
 * rollback, no cleanup, the connections simply drop.
 *
 * <p>Inactive unless the JVM runs with {@code -Dferry.crashAt=POINT:N}, which halts the process the N-th time the
 * point is reached. Points: {@code before-commit} (a batch merged and its watermark written, not yet committed) and
 * {@code between-batches} (a batch committed, the next not begun).
 *
 * <p>{@code -Dferry.slowAt=POINT:MILLIS} instead pauses there each time, so that a test can kill a node in the middle
 * of a long run without a big table.
 */
public final class CrashPoints {

    private static final String SPEC = System.getProperty("ferry.crashAt");
    private static final AtomicInteger HITS = new AtomicInteger();

    private CrashPoints() {
    }

    private static final String SLOW = System.getProperty("ferry.slowAt");

    public static void reached(String point) {
        if (SLOW != null && SLOW.substring(0, SLOW.lastIndexOf(':')).equals(point)) {
            try {
                Thread.sleep(Long.parseLong(SLOW.substring(SLOW.lastIndexOf(':') + 1)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (SPEC == null) {
            return;
        }
        int colon = SPEC.lastIndexOf(':');
        String name = colon < 0 ? SPEC : SPEC.substring(0, colon);
        int n = colon < 0 ? 1 : Integer.parseInt(SPEC.substring(colon + 1));
        if (name.equals(point) && HITS.incrementAndGet() == n) {
            System.err.println("ferry: crashing at " + point + " (ferry.crashAt=" + SPEC + ")");
            System.err.flush();
            Runtime.getRuntime().halt(86);
        }
    }
}
