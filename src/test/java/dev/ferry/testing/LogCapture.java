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

    private LogCapture(String loggerName) {
        logger = (Logger) LogManager.getLogger(loggerName);
        appender = new AbstractAppender("capture-" + UUID.randomUUID(), null, null, true, Property.EMPTY_ARRAY) {
            @Override
            public void append(LogEvent event) {
                lines.add(event.getLevel() + " " + event.getMessage().getFormattedMessage());
            }
        };
        appender.start();
        logger.addAppender(appender);
    }

    /** Starts capturing a logger, e.g. {@code dev.ferry.transfer}. */
    public static LogCapture of(String loggerName) {
        return new LogCapture(loggerName);
    }

    public List<String> lines() {
        return List.copyOf(lines);
    }

    @Override
    public void close() {
        logger.removeAppender(appender);
        appender.stop();
    }
}
