package dev.ferry.destination;

import dev.ferry.failure.PermanentFailure;

/** The destination cannot take the data as it is; the message names the table and the fix. */
public class DestinationException extends PermanentFailure {

    public DestinationException(String message) {
        super(message);
    }
}
