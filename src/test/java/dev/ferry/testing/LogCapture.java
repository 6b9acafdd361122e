package dev.ferry.testing;

import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.Logger;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Property;

/** The lines one of Ferry's loggers writes while the capture is open, as {@code LEVEL message}. */
public final class LogCapture implements AutoCloseable {

    private final Logger logger;
    private final AbstractAppender appender;
    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final List<String> traces = new CopyOnWriteArrayList<>();

    private LogCapture(String loggerName) {
        logger = (Logger) LogManager.getLogger(loggerName);
        appender = new AbstractAppender("capture-" + UUID.randomUUID(), null, null, true, Property.EMPTY_ARRAY) {
            @Override
            public void append(LogEvent event) {
                lines.add(event.getLevel() + " " + event.getMessage().getFormattedMessage());
                if (event.getThrown() != null) {
                    java.io.StringWriter trace = new java.io.StringWriter();
                    event.getThrown().printStackTrace(new java.io.PrintWriter(trace));
                    traces.add(trace.toString());
                }
            }
        };
        appender.start();
        logger.addAppender(appender);
        // a logger config made by addAppender copies the root's additivity, which is false: events of a logger below this
        // one whose config was made so (by an earlier capture) would stop there and never reach this appender
        var context = logger.getContext();
        for (var config : context.getConfiguration().getLoggers().values()) {
            String name = config.getName();
            if (!name.isEmpty() && (loggerName.isEmpty() || name.equals(loggerName) || name.startsWith(loggerName + "."))) {
                config.setAdditive(true);
            }
        }
        context.updateLoggers();
    }

    /** Starts capturing a logger, e.g. {@code dev.ferry.transfer}; the root logger is {@code ""}. */
    public static LogCapture of(String loggerName) {
        return new LogCapture(loggerName);
    }

    public List<String> lines() {
        return List.copyOf(lines);
    }

    /** Everything written: the lines, and the stack traces of the exceptions logged with them (causes, suppressed). */
    public String text() {
        return String.join("\n", lines) + "\n" + String.join("\n", traces);
    }

    @Override
    public void close() {
        logger.removeAppender(appender);
        appender.stop();
    }
}
