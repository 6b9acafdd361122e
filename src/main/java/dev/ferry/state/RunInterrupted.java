package dev.ferry.state;

/** A run stopped at a batch boundary because Ferry is shutting down; what it committed stays, the next run resumes. */
public class RunInterrupted extends RuntimeException {

    public RunInterrupted(String message) {
        super(message);
    }
}
