package dev.ferry.operate;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

import dev.ferry.state.RunRecords;

/**
 * A transfer as an operator sees it: its schedule and next fire time, its last run, the lag of its tables, the age of
 * its data, and the rows of its recent runs (oldest first, for a sparkline). {@code unreachable} is set, and the run
 * fields empty, when its destination could not be read.
 */
public record TransferStatus(String name, String source, String destination, String mode, String schedule, Instant nextFire,
                             boolean nextFireEstimated, Run lastRun, Instant lastSuccess, List<RunRecords.Lag> lags,
                             String lastError, List<Long> recentRows, String unreachable) {

    /** Now minus the start of the last successful run: how old the newest complete copy is; null when none. */
    public Duration age(Instant now) {
        return lastSuccess == null ? null : Duration.between(lastSuccess, now);
    }

    /**
     * One run of a transfer, from its records in {@code _ferry_runs} (one per table).
     *
     * @param status   running when any table is still going; failed when any failed; succeeded when all did; else the
     *                 first other ending (interrupted, abandoned, skipped)
     * @param finished null while running
     * @param errors   each record's error, prefixed by its table
     */
    public record Run(UUID id, Instant started, Instant finished, String status, long rows, int tables, int attempts,
                      List<String> errors) {

        /** From start to end, or to now while it runs. */
        public Duration duration(Instant now) {
            return Duration.between(started, finished == null ? now : finished);
        }
    }
}
