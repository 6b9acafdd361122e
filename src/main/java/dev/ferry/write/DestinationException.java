package dev.ferry.write;

/** The destination cannot take the data as it is; the message names the table and the fix. */
public class DestinationException extends RuntimeException {

    public DestinationException(String message) {
        super(message);
    }
}
