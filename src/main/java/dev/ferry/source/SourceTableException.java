package dev.ferry.source;

import dev.ferry.failure.PermanentFailure;

/** A source table that is missing, unreadable, or not shaped as the transfer needs; the message says what to fix. */
public class SourceTableException extends PermanentFailure {

    /** What kind of problem: a configuration mistake ({@code MISSING}, {@code SHAPE}) or a missing grant. */
    public enum Kind { MISSING, PRIVILEGE, SHAPE }

    private final Kind kind;
    private final String parameter;

    public SourceTableException(String message) {
        this(Kind.SHAPE, message, null);
    }

    public SourceTableException(Kind kind, String message) {
        this(kind, message, null);
    }

    /** @param parameter the transfer parameter at fault, if one is */
    public SourceTableException(Kind kind, String message, String parameter) {
        super(message);
        this.kind = kind;
        this.parameter = parameter;
    }

    /** The transfer parameter at fault, or null. */
    public String parameter() {
        return parameter;
    }

    public Kind kind() {
        return kind;
    }
}
