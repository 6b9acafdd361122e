package dev.ferry.observe;

import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;

import org.slf4j.MDC;
import org.slf4j.Marker;
import org.slf4j.MarkerFactory;

/**
 * What every log line of a run carries in the MDC, so that JSON logs (FERRY_LOG_FORMAT=json) can be indexed by it:
 * {@value #TRANSFER}, {@value #TABLE} and {@value #RUN_ID}. Set where a run begins and a table starts; Camel carries them
 * onto the threads of a parallel split or multicast and clears them when the run's exchange is done
 * ({@code camel.main.useMdcLogging}, {@link #KEYS_PATTERN}); {@link #carried} takes them onto Ferry's own COPY threads.
 */
public final class LogContext {

    public static final String TRANSFER = "transfer";
    public static final String TABLE = "table";
    public static final String RUN_ID = "run_id";
    /** The custom MDC keys Camel propagates and clears ({@code camel.main.mdcLoggingKeysPattern}). */
    public static final String KEYS_PATTERN = TRANSFER + "," + TABLE + "," + RUN_ID;

    /**
     * Marks a line whose exception is given for structured logs only: the plain format's line already says what failed
     * (log4j2.properties prints no stack trace for it), the JSON line carries the stack.
     */
    public static final Marker CAUSE = MarkerFactory.getMarker("FERRY_CAUSE");

    private LogContext() {
    }

    /** A run begins (or goes on after its tables): the transfer and run id, no table. */
    public static void run(String transfer, UUID runId) {
        MDC.put(TRANSFER, transfer);
        MDC.put(RUN_ID, runId.toString());
        MDC.remove(TABLE);
    }

    /** A table of a run starts (or is attempted again, perhaps on another thread). */
    public static void table(String transfer, UUID runId, String table) {
        MDC.put(TRANSFER, transfer);
        MDC.put(RUN_ID, runId.toString());
        MDC.put(TABLE, table);
    }

    /** Clears the keys (a run's end on a thread that goes on to other work). */
    public static void clear() {
        MDC.remove(TRANSFER);
        MDC.remove(RUN_ID);
        MDC.remove(TABLE);
    }

    /** The task, run with this thread's MDC (on a pool thread, which is left as it was found). */
    public static <T> Callable<T> carried(Callable<T> task) {
        Map<String, String> context = MDC.getCopyOfContextMap();
        return () -> {
            Map<String, String> before = MDC.getCopyOfContextMap();
            set(context);
            try {
                return task.call();
            } finally {
                set(before);
            }
        };
    }

    /** {@link #carried(Callable)} for a Runnable. */
    public static Runnable carried(Runnable task) {
        Callable<Object> c = carried(() -> {
            task.run();
            return null;
        });
        return () -> {
            try {
                c.call();
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e); // a Runnable throws none
            }
        };
    }

    private static void set(Map<String, String> context) {
        if (context == null) {
            MDC.clear();
        } else {
            MDC.setContextMap(context);
        }
    }
}
