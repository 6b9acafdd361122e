package dev.ferry.failure;

/**
 * A failure that retrying cannot fix: a missing table or column, a schema change the destination cannot follow, a row
 * the destination rejects, a stop for shutdown. The one home of that rule: the route's error configuration
 * (ferry-errors) sends these to the error route without retries, and {@link SqlStateRetryDecision} never retries one.
 */
public abstract class PermanentFailure extends RuntimeException {

    protected PermanentFailure(String message) {
        super(message);
    }
}
