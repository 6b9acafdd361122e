package dev.ferry.state;

/**
 * Set when Ferry begins to stop (SIGTERM, Ctrl-C): runs finish the batch they are writing, commit it, and stop at
 * that boundary instead of starting another, so nothing partial is committed and the next start resumes cleanly.
 * One per Camel context.
 */
public final class Shutdown {

    private volatile boolean requested;

    public boolean requested() {
        return requested;
    }

    public void request() {
        requested = true;
    }
}
