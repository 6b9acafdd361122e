package dev.ferry.config;

import java.util.Arrays;
import java.util.stream.Collectors;

/** How a transfer moves a table. */
public enum Mode {
    /** Copy the whole table into a new destination table and swap it in atomically. */
    FULL_REFRESH("full_refresh"),
    /** Copy rows changed since the last committed watermark and merge them by key (upsert). */
    INCREMENTAL("incremental"),
    /** Like incremental, but insert-only: for event and log tables. */
    APPEND("append"),
    /** Incremental without a cursor column, using PostgreSQL's transaction ids ({@code xmin}). */
    XMIN("xmin");

    private final String key;

    Mode(String key) {
        this.key = key;
    }

    /** The value written in a route's {@code mode} parameter. */
    public String key() {
        return key;
    }

    public boolean incremental() {
        return this != FULL_REFRESH;
    }

    public static Mode parse(String text) {
        for (Mode m : values()) {
            if (m.key.equalsIgnoreCase(text == null ? "" : text.trim())) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown mode '" + text + "'; expected one of " + keys());
    }

    public static String keys() {
        return Arrays.stream(values()).map(Mode::key).collect(Collectors.joining(", "));
    }
}
