package dev.ferry.app;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import dev.ferry.observe.ProgressBoard;
import dev.ferry.observe.TableProgress;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.apache.camel.CamelContext;

/**
 * {@code ferry sync}'s progress bars in a terminal: one per table in flight (me.tongfei:progressbar renders it: rows,
 * rows/s, and the percent and ETA when the source's size is known), drawn on stdout below the log. Log lines never
 * garble them: while bars are shown, the log's console appenders are swapped for one with the same layout that writes
 * to stderr through {@link AboveBars}: each line first erases the bars, is printed, and the bars are drawn again under
 * it, so the log scrolls above them; put back when the sync ends. Only when stdout is a terminal ({@link #wanted()});
 * otherwise {@code sync} prints its plain lines only. (The library renders on request, from Camel's thread here; its
 * own timer thread stays idle.)
 */
final class SyncProgress implements AutoCloseable {

    /** How often the bars are redrawn. */
    private static final long REDRAW_MILLIS = 200;
    private static final String ERASE_BELOW = "\033[J";

    private final ProgressBoard board;
    private final PrintStream out;
    private final LogAboveBars log;
    private final ScheduledExecutorService thread;
    private final CamelContext camel;
    private final Map<TableProgress, Bar> bars = new LinkedHashMap<>();
    /** Lines of bars now on screen, above the cursor. */
    private int shown;
    /** A log write ended mid-line: the bars wait below until it ends. */
    private boolean midLine;

    private record Bar(ProgressBar bar, String[] line) {
    }

    private SyncProgress(CamelContext camel, ProgressBoard board) {
        this.camel = camel;
        this.board = board;
        this.out = System.out;
        this.log = new LogAboveBars(new AboveBars(System.err));
        this.thread = camel.getExecutorServiceManager().newSingleThreadScheduledExecutor(this, "ferry-sync-progress");
        thread.scheduleWithFixedDelay(this::redraw, REDRAW_MILLIS, REDRAW_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** Whether to show bars: stdout is a terminal (a console: not a pipe, a file, cron or CI). */
    static boolean wanted() {
        return System.console() != null;
    }

    /** Shows the bars of {@code camel}'s tables in flight until closed; null when not {@link #wanted()}. */
    static SyncProgress showIfTerminal(CamelContext camel) {
        ProgressBoard board = camel.getRegistry().lookupByNameAndType(ProgressBoard.BEAN, ProgressBoard.class);
        return board == null || !wanted() ? null : new SyncProgress(camel, board);
    }

    private synchronized void redraw() {
        try {
            List<TableProgress> now = board.inFlight();
            for (TableProgress p : now) {
                bars.computeIfAbsent(p, this::bar);
            }
            bars.entrySet().removeIf(e -> {
                if (!now.contains(e.getKey())) {
                    e.getValue().bar().close();
                    return true;
                }
                return false;
            });
            for (Map.Entry<TableProgress, Bar> e : bars.entrySet()) {
                update(e.getKey(), e.getValue().bar());
            }
            if (!midLine) {
                erase();
                draw();
            }
        } catch (RuntimeException e) {
            // a bar that cannot be drawn must not end the redraws, nor the sync
        }
    }

    private Bar bar(TableProgress p) {
        String[] line = {""};
        ProgressBar bar = new ProgressBarBuilder()
                .setTaskName(p.transfer() + ": " + p.table())
                .setInitialMax(p.estimatedRows() > 0 ? p.estimatedRows() : -1)
                .setUnit(" rows", 1)
                .showSpeed(new java.text.DecimalFormat("#,##0"))
                .startsFrom(0, p.elapsed()) // the table's own start, not the bar's
                .setSpeedUnit(ChronoUnit.SECONDS)
                .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK)
                // rendered when this class asks (refresh), on its own thread: the library's timer stays idle
                .setUpdateIntervalMillis(Integer.MAX_VALUE)
                .setEtaFunction(s -> p.etaSeconds() < 0 ? Optional.empty() : Optional.of(Duration.ofSeconds((long) p.etaSeconds())))
                .setConsumer(new DelegatingProgressBarConsumer(rendered -> line[0] = rendered))
                .build();
        return new Bar(bar, line);
    }

    /** The bar follows the table's counters; percent stays below 100 until the table ends, as in the log. */
    private static void update(TableProgress p, ProgressBar bar) {
        long rows = p.rows();
        if (p.estimatedRows() > 0) {
            bar.maxHint(Math.max(p.estimatedRows(), (long) Math.ceil(rows / 0.99) + 1));
        } else if (!bar.isIndefinite()) {
            bar.maxHint(-1);
        }
        bar.stepTo(rows);
        bar.setExtraMessage(" " + TableProgress.bytes(p.bytes()));
        bar.refresh();
    }

    private void draw() {
        StringBuilder sb = new StringBuilder();
        for (Bar b : bars.values()) {
            sb.append('\r').append(b.line()[0]).append('\n');
        }
        out.print(sb);
        out.flush();
        shown = bars.size();
    }

    /** Erases the bars drawn: the cursor goes back up to the first one's line, and everything below it is cleared. */
    private void erase() {
        if (shown > 0) {
            out.print("\033[" + shown + "A\r" + ERASE_BELOW);
            out.flush();
            shown = 0;
        }
    }

    @Override
    public void close() {
        camel.getExecutorServiceManager().shutdownNow(thread);
        synchronized (this) {
            erase();
            bars.values().forEach(b -> b.bar().close());
            bars.clear();
        }
        log.restore();
        synchronized (this) {
            out.flush();
        }
    }

    /**
     * Log4j's console appenders, swapped while the bars are shown for an OutputStreamAppender of the same layout that
     * writes through {@link AboveBars}: the appender writes to the stream it was given at configuration, so replacing
     * System.err would not reach it.
     */
    private static final class LogAboveBars {
        private final org.apache.logging.log4j.core.LoggerContext context;
        private final Map<org.apache.logging.log4j.core.config.LoggerConfig, List<org.apache.logging.log4j.core.Appender>> swapped =
                new LinkedHashMap<>();
        private final List<org.apache.logging.log4j.core.Appender> started = new java.util.ArrayList<>();

        LogAboveBars(OutputStream above) {
            context = org.apache.logging.log4j.core.LoggerContext.getContext(false);
            var config = context.getConfiguration();
            List<org.apache.logging.log4j.core.config.LoggerConfig> loggers = new java.util.ArrayList<>(config.getLoggers().values());
            if (!loggers.contains(config.getRootLogger())) {
                loggers.add(config.getRootLogger());
            }
            Map<org.apache.logging.log4j.core.Appender, org.apache.logging.log4j.core.Appender> replacements = new LinkedHashMap<>();
            for (var logger : loggers) {
                for (var a : List.copyOf(logger.getAppenders().values())) {
                    if (!(a instanceof org.apache.logging.log4j.core.appender.ConsoleAppender console)) {
                        continue;
                    }
                    var replacement = replacements.computeIfAbsent(a, c -> {
                        var r = org.apache.logging.log4j.core.appender.OutputStreamAppender.newBuilder()
                                .setName(c.getName() + "-above-bars").setLayout(console.getLayout()).setTarget(above).build();
                        r.start();
                        started.add(r);
                        return r;
                    });
                    logger.removeAppender(a.getName());
                    logger.addAppender(replacement, null, null);
                    swapped.computeIfAbsent(logger, l -> new java.util.ArrayList<>()).add(a);
                }
            }
            context.updateLoggers();
        }

        /** The console appenders back, as configured. */
        void restore() {
            swapped.forEach((logger, appenders) -> {
                for (var a : appenders) {
                    logger.removeAppender(a.getName() + "-above-bars");
                    logger.addAppender(a, null, null);
                }
            });
            context.updateLoggers();
            started.forEach(org.apache.logging.log4j.core.Appender::stop);
        }
    }

    /** The log's stream while bars are shown: each line printed above them. */
    private final class AboveBars extends OutputStream {
        private final PrintStream target;

        AboveBars(PrintStream target) {
            this.target = target;
        }

        @Override
        public void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            synchronized (SyncProgress.this) {
                erase();
                target.write(b, off, len);
                target.flush();
                midLine = len > 0 && b[off + len - 1] != '\n';
                if (!midLine) {
                    draw();
                }
            }
        }

        @Override
        public void flush() throws IOException {
            target.flush();
        }
    }
}
