package dev.ferry.state;

import dev.ferry.failure.PermanentFailure;

/** A run stopped at a batch boundary because Ferry is shutting down; what it committed stays, the next run resumes. */
public class RunInterrupted extends PermanentFailure {

    public RunInterrupted(String message) {
        super(message);
    }
}
