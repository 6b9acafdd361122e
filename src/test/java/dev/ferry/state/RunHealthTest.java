package dev.ferry.state;

import java.sql.Connection;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the transfers' health checks read from {@code _ferry_runs}, for all transfers of a schema in one statement:
 * the last run that failed or succeeded whole decides (a reset, an interrupted or abandoned run, a run one of whose
 * tables was interrupted decide nothing), lateness counts from the newest start that is not a reset, and the newest
 * run that succeeded whole gives the age of the data.
 */
class RunHealthTest {

    @Test
    @Timeout(30)
    void resetsAndInterruptedRunsDecideNothing() throws Exception {
        TestDb dst = TestDb.destinationWithSchema("runhealth", "export");
        try (Connection c = dst.admin()) {
            RunHistory.ensure(c, "export");
        }
        // failing: succeeded at 10:00, failed at 11:00 (one table failed, one succeeded), then a reset at 11:30 and a
        // run at 11:40 whose first table succeeded before a shutdown interrupted the second
        record(dst, "failing", "10:00", "succeeded", "succeeded");
        record(dst, "failing", "11:00", "succeeded", "failed");
        record(dst, "failing", "11:40", "succeeded", "interrupted");
        record(dst, "failing", "11:50", "abandoned");
        record(dst, "failing", "11:55", "skipped");
        try (Connection c = dst.admin()) {
            RunHistory.reset(c, "export", UUID.randomUUID(), "failing", "incremental", "app.a", "watermark deleted");
        }
        // healthy: failed, then succeeded, then a reset
        record(dst, "healthy", "09:00", "failed");
        record(dst, "healthy", "09:30", "succeeded", "succeeded");
        try (Connection c = dst.admin()) {
            RunHistory.reset(c, "export", UUID.randomUUID(), "healthy", "incremental", null, "watermarks deleted");
        }

        Map<String, Integer> limits = new LinkedHashMap<>();
        limits.put("failing", 20);
        limits.put("healthy", 20);
        limits.put("never", 20);
        Map<String, RunRecords.Health> read;
        try (Connection c = dst.admin()) {
            read = RunRecords.health(c, "export", limits);
        }
        RunRecords.Health failing = read.get("failing");
        assertThat(failing.lastRun().failed()).isTrue();
        assertThat(failing.lastRun().error()).isEqualTo("table 2 failed");
        // the skip at 11:55 is the newest start (a fire that found a run going); the reset later is none
        assertThat(failing.lastStart()).isEqualTo(at("11:55"));
        assertThat(failing.lastSuccessEnded()).isEqualTo(at("10:00").plusSeconds(60));

        RunRecords.Health healthy = read.get("healthy");
        assertThat(healthy.lastRun().failed()).isFalse();
        assertThat(healthy.lastStart()).isEqualTo(at("09:30").plusSeconds(1)); // its second table's start
        assertThat(healthy.lastSuccessEnded()).isEqualTo(at("09:30").plusSeconds(60));

        assertThat(read.get("never")).isEqualTo(new RunRecords.Health(null, null, null));
    }

    /**
     * The read stops at its limit of records: the oldest run in it may have only its last tables there, its failed first
     * one cut off. It must not pass for a run that succeeded whole (it seeded the last-success gauge with a failed run).
     */
    @Test
    @Timeout(30)
    void aRunCutByTheReadLimitDecidesNothing() throws Exception {
        TestDb dst = TestDb.destinationWithSchema("runhealth", "export");
        try (Connection c = dst.admin()) {
            RunHistory.ensure(c, "export");
        }
        record(dst, "cut", "10:00", "failed", "succeeded");
        record(dst, "cut", "11:00", "interrupted");
        Map<String, RunRecords.Health> read;
        try (Connection c = dst.admin()) {
            read = RunRecords.health(c, "export", Map.of("cut", 2)); // the 11:00 record and the 10:00 run's second table
        }
        assertThat(read.get("cut").lastRun()).isNull();
        assertThat(read.get("cut").lastSuccessEnded()).isNull();
        try (Connection c = dst.admin()) {
            read = RunRecords.health(c, "export", Map.of("cut", 4)); // all of them (the limit not reached)
        }
        assertThat(read.get("cut").lastRun().failed()).isTrue();
    }

    @Test
    @Timeout(30)
    void aSchemaWithoutHistoryReadsAsNeverRan() throws Exception {
        TestDb dst = TestDb.destinationWithSchema("runhealth", "export");
        try (Connection c = dst.admin()) {
            assertThat(RunRecords.health(c, "export", Map.of("t", 5)).get("t")).isEqualTo(new RunRecords.Health(null, null, null));
            assertThat(RunRecords.health(c, "missing", Map.of("t", 5)).get("t")).isEqualTo(new RunRecords.Health(null, null, null));
        }
    }

    private static Instant at(String time) {
        return Instant.parse("2026-03-10T" + time + ":00Z");
    }

    /** One run of a transfer: a record per status given (table i starts i seconds in), each ending a minute after its start. */
    private static void record(TestDb dst, String transfer, String time, String... statuses) throws Exception {
        UUID run = UUID.randomUUID();
        for (int i = 0; i < statuses.length; i++) {
            String status = statuses[i];
            dst.execute("INSERT INTO export._ferry_runs (run_id, transfer, source_table, mode, status, started_at, finished_at,"
                    + " error) VALUES ('" + run + "', '" + transfer + "', 'app.t" + i + "', 'incremental', '" + status + "',"
                    + " timestamptz '" + at(time) + "' + interval '" + i + " seconds', timestamptz '" + at(time)
                    + "' + interval '60 seconds', " + ("failed".equals(status) ? "'table " + (i + 1) + " failed'" : "NULL") + ")");
        }
    }
}
