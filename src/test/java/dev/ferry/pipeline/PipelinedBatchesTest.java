package dev.ferry.pipeline;

import java.sql.Connection;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The incremental route merges a batch while the next one is staged in a second session (a parallel multicast, see
 * ferry-pipeline.yaml): a failure in one of the two fails the table as before, keeping exactly the batches committed
 * before it.
 */
class PipelinedBatchesTest {

    /**
     * The destination rejects a row of the sixth batch of a backfill: batches one to five stay committed with their
     * watermark, the sixth (and the seventh, staged meanwhile) are rolled back, the error names the row's key, and the
     * rejection is not retried. After the fix at the destination the next run resumes after the fifth batch.
     */
    @Test
    void aRowRejectedWhileTheNextBatchStagesKeepsTheBatchesBeforeIt() throws Exception {
        TestDb src = TestDb.source("pipelined");
        TestDb dst = TestDb.destinationWithSchema("pipelined", "export");
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.t (id int PRIMARY KEY, updated_at timestamptz NOT NULL, v int NOT NULL)",
                "INSERT INTO app.t SELECT g, timestamptz '2026-01-01' + g * interval '1 second', g FROM generate_series(1, 1000) g");
        src.grantRead("app");
        // the user's own table, with a rule the source does not have
        dst.execute("CREATE TABLE export.t (id int PRIMARY KEY, updated_at timestamptz NOT NULL, v int NOT NULL"
                        + " CONSTRAINT not_555 CHECK (v <> 555))",
                "ALTER TABLE export.t OWNER TO \"" + dst.user() + "\"");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", FerryHarness.transfer("t", "app.t", "mode", "incremental",
                "cursor", "updated_at", "batchSize", "100", "lookback", "0"))) {
            TransferRun run = ferry.sync("t");

            assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                assertThat(Dumps.rows(d, "SELECT status, attempts, error FROM export._ferry_runs WHERE run_id = ?", run.id()))
                        .singleElement().satisfies(r -> assertThat(r).startsWith("failed|1|").contains("555").contains("not_555"));
                // the user's table had no metadata columns: provisioning added them (before, every merge failed on them)
                assertThat(Dumps.scalar(d, "SELECT notes FROM export._ferry_runs WHERE run_id = ?", run.id()))
                        .contains("_ferry_synced_at was missing").contains("_ferry_run_id was missing");
                assertThat(Dumps.dump(d, "export.t", "id, updated_at, v", "id"))
                        .as("exactly the five batches before the rejected row")
                        .isEqualTo(Dumps.dump(s, "(SELECT * FROM app.t WHERE id <= 500) s", "id, updated_at, v", "id"));
                dst.execute("ALTER TABLE export.t DROP CONSTRAINT not_555");
            }

            assertThat(ferry.sync("t").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                Dumps.assertSameRows(s, "app", "t", d, "export", "t", "id");
                assertThat(Dumps.scalar(d, "SELECT rows FROM export._ferry_runs WHERE status = 'succeeded'"))
                        .as("resumed after the fifth batch").isEqualTo("500");
            }
        }
    }

    /**
     * A transient failure (a deadlock, SQLSTATE 40P01) in the merge of the sixth batch, while the seventh stages: the
     * table is retried from its last committed batch and completes, exactly.
     */
    @Test
    void aTransientFailureWhileTheNextBatchStagesIsRetried() throws Exception {
        TestDb src = TestDb.source("pipelined_retry");
        TestDb dst = TestDb.destinationWithSchema("pipelined_retry", "export");
        src.execute("CREATE SCHEMA app",
                "CREATE TABLE app.t (id int PRIMARY KEY, updated_at timestamptz NOT NULL, v int NOT NULL)",
                "INSERT INTO app.t SELECT g, timestamptz '2026-01-01' + g * interval '1 second', g FROM generate_series(1, 1000) g");
        src.grantRead("app");
        // the user's table, whose trigger fails the first insert of row 555 as a deadlock would (a sequence is not rolled back)
        dst.execute("CREATE TABLE export.t (id int PRIMARY KEY, updated_at timestamptz NOT NULL, v int NOT NULL,"
                        + " _ferry_synced_at timestamptz, _ferry_run_id uuid)",
                "CREATE SEQUENCE export.failures",
                "CREATE FUNCTION export.fail_once() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                        + " IF NEW.id = 555 AND nextval('export.failures') = 1 THEN"
                        + " RAISE EXCEPTION 'simulated deadlock' USING ERRCODE = '40P01'; END IF; RETURN NEW; END $$",
                "CREATE TRIGGER fail_once BEFORE INSERT ON export.t FOR EACH ROW EXECUTE FUNCTION export.fail_once()",
                "ALTER TABLE export.t OWNER TO \"" + dst.user() + "\"",
                "ALTER SEQUENCE export.failures OWNER TO \"" + dst.user() + "\"");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", FerryHarness.transfer("t", "app.t", "mode", "incremental",
                "cursor", "updated_at", "batchSize", "100", "lookback", "0", "retryDelay", "100ms"))) {
            TransferRun run = ferry.sync("t");

            try (Connection s = src.admin(); Connection d = dst.admin()) {
                assertThat(Dumps.rows(d, "SELECT status, attempts FROM export._ferry_runs WHERE run_id = ?", run.id()))
                        .containsExactly("succeeded|2");
                assertThat(run.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
                Dumps.assertSameRows(s, "app", "t", d, "export", "t", "id");
            }
        }
    }
}
