package dev.ferry.read;

/** A source table that is missing or unreadable; the message says which name or GRANT to fix. */
public class SourceTableException extends RuntimeException {

    public SourceTableException(String message) {
        super(message);
    }
}
