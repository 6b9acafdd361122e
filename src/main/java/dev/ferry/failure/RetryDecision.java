package dev.ferry.failure;

/**
 * Whether a failure is worth retrying. One small interface, so the rule can be read in one place and replaced.
 */
public interface RetryDecision {

    /** True when the cause is likely to go away by itself: a dropped connection, a restarting server, a deadlock. */
    boolean isTransient(Throwable failure);
}
