package dev.ferry.pipeline;

import java.sql.Connection;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code hardDeletes: soft}: rows gone from the source stay at the destination with {@code _ferry_deleted_at} set
 * (once), the live rows equal the source's, and a row that comes back is live again.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SoftDeletesTest {

    /** 63 bytes, mixed case: PostgreSQL's limit, kept exactly. */
    static final String TABLE = "Orders_With_A_Mixed_Case_Name_Exactly_Sixty_Three_Bytes_Long_xx";
    static final String COLS = "\"Id\", \"Customer\", \"Note Text\", updated_at";
    static final String SRC = "\"Shop\".\"" + TABLE + "\"";
    static final String DST = "export.\"" + TABLE + "\"";
    static final String LIVE = DST + " WHERE _ferry_deleted_at IS NULL";
    static final String MARKED = DST + " WHERE _ferry_deleted_at IS NOT NULL";

    static TestDb[] databases(String prefix) throws Exception {
        assertThat(TABLE.getBytes(java.nio.charset.StandardCharsets.UTF_8)).hasSize(63);
        TestDb src = TestDb.source(prefix);
        TestDb dst = TestDb.destination(prefix);
        src.execute("CREATE SCHEMA \"Shop\"",
                "CREATE TABLE " + SRC + " (\"Id\" int PRIMARY KEY, \"Customer\" int NOT NULL, \"Note Text\" text,"
                        + " updated_at timestamptz NOT NULL)",
                "INSERT INTO " + SRC + " SELECT g, g % 3, 'n' || g, timestamptz '2025-01-01' + g * interval '1 second'"
                        + " FROM generate_series(1, 300) g");
        src.grantRead("Shop");
        return new TestDb[] {src, dst};
    }

    /** The live destination rows are exactly the source's (or the filtered source's), every column compared. */
    static void assertLiveRowsEqualSource(TestDb[] db, String sourceWhere) throws Exception {
        try (Connection s = db[0].admin(); Connection d = db[1].admin()) {
            List<String> source = Dumps.dump(s, SRC + sourceWhere, COLS, "\"Id\"");
            assertThat(source).isNotEmpty();
            assertThat(Dumps.dump(d, LIVE, COLS, "\"Id\"")).containsExactlyElementsOf(source);
        }
    }

    @Test
    void incrementalKeepsDeletedRowsMarkedOnceAndClearsARowThatComesBack() throws Exception {
        TestDb[] db = databases("soft_inc");
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", transfer("orders", "\"Shop\".\"" + TABLE + "\"",
                "mode", "incremental", "cursor", "updated_at", "hardDeletes", "soft", "batchSize", "70"))) {
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            List<String> deletedRows;
            try (Connection d = db[1].admin()) {
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM " + MARKED)).isEqualTo("0");
                deletedRows = Dumps.dump(d, DST + " WHERE \"Id\" BETWEEN 100 AND 149 OR \"Id\" = 300", COLS, "\"Id\"");
            }
            db[0].execute("DELETE FROM " + SRC + " WHERE \"Id\" BETWEEN 100 AND 149 OR \"Id\" = 300",
                    "UPDATE " + SRC + " SET \"Note Text\" = 'changed', updated_at = now() WHERE \"Id\" = 7");
            TransferRun second = ferry.sync("orders");

            assertThat(second.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertLiveRowsEqualSource(db, "");
            String firstMark;
            try (Connection d = db[1].admin()) {
                assertThat(Dumps.dump(d, MARKED, COLS, "\"Id\"")).as("kept as they were, marked").isEqualTo(deletedRows);
                assertThat(Dumps.rows(d, "SELECT DISTINCT _ferry_deleted_at = ? FROM " + MARKED, second.syncedAt()))
                        .as("marked with the run's time").containsExactly("t");
                firstMark = Dumps.scalar(d, "SELECT _ferry_deleted_at FROM " + DST + " WHERE \"Id\" = 300");
            }

            // a later run keeps the first mark; a row that comes back (merged again) is live again
            db[0].execute("INSERT INTO " + SRC + " VALUES (300, 1, 'back', now())");
            TransferRun third = ferry.sync("orders");
            assertThat(third.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertLiveRowsEqualSource(db, "");
            try (Connection d = db[1].admin()) {
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM " + MARKED)).isEqualTo("50");
                assertThat(Dumps.scalar(d, "SELECT _ferry_deleted_at FROM " + DST + " WHERE \"Id\" = 300")).isNull();
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM " + MARKED + " AND _ferry_deleted_at <> ?::timestamptz", firstMark))
                        .as("marked once: the first time stays").isEqualTo("0");
            }

            // a one-off full reload (sync --full-refresh) keeps the marked rows as they are
            TransferRun reload = ferry.runtime().runAll(List.of("orders"), true).get("orders");
            assertThat(reload.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertLiveRowsEqualSource(db, "");
            try (Connection d = db[1].admin()) {
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM " + MARKED + " AND _ferry_deleted_at = ?::timestamptz", firstMark))
                        .isEqualTo("50");
            }
        }
    }

    @Test
    void xminMarksRowsThatLeaveTheFilterAndAnExistingTableGetsTheColumn() throws Exception {
        TestDb[] db = databases("soft_xmin");
        String filtered = " WHERE \"Customer\" = 1";
        // first without deletes: the table exists without the column; turning soft deletes on adds it
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", transfer("orders", "\"Shop\".\"" + TABLE + "\"",
                "mode", "xmin", "filter", "\"Customer\" = :c", "filter.c", "1"))) {
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
        }
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", transfer("orders", "\"Shop\".\"" + TABLE + "\"",
                "mode", "xmin", "filter", "\"Customer\" = :c", "filter.c", "1", "hardDeletes", "soft"))) {
            db[0].execute("UPDATE " + SRC + " SET \"Customer\" = 2 WHERE \"Id\" IN (1, 4)", // leave the filter
                    "DELETE FROM " + SRC + " WHERE \"Id\" IN (7, 10)");
            TransferRun run = ferry.sync("orders");

            assertThat(run.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertLiveRowsEqualSource(db, filtered);
            try (Connection d = db[1].admin()) {
                assertThat(Dumps.rows(d, "SELECT \"Id\" FROM " + MARKED + " ORDER BY 1")).containsExactly("1", "4", "7", "10");
                assertThat(Dumps.scalar(d, "SELECT notes FROM export._ferry_runs WHERE run_id = ? AND source_table IS NOT NULL",
                        run.id())).contains("_ferry_deleted_at added (hardDeletes: soft)");
            }
            // back in the filter: live again, with the source's values
            db[0].execute("UPDATE " + SRC + " SET \"Customer\" = 1, \"Note Text\" = 'again' WHERE \"Id\" = 4");
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertLiveRowsEqualSource(db, filtered);
            try (Connection d = db[1].admin()) {
                assertThat(Dumps.rows(d, "SELECT \"Id\" FROM " + MARKED + " ORDER BY 1")).containsExactly("1", "7", "10");
            }
        }
    }

    @Test
    void fullRefreshCarriesRowsGoneFromTheSourceIntoTheNewTableMarked() throws Exception {
        TestDb[] db = databases("soft_full");
        String table = "\"Shop\".\"" + TABLE + "\"";
        List<String> deletedRows;
        String firstMark;
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", transfer("orders", table, "hardDeletes", "soft"))) {
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection d = db[1].admin()) {
                deletedRows = Dumps.dump(d, DST + " WHERE \"Id\" > 290", COLS, "\"Id\"");
            }
            db[0].execute("DELETE FROM " + SRC + " WHERE \"Id\" > 290", "UPDATE " + SRC + " SET \"Note Text\" = 'changed' WHERE \"Id\" = 7");
            TransferRun second = ferry.sync("orders");

            assertThat(second.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertLiveRowsEqualSource(db, "");
            try (Connection d = db[1].admin()) {
                assertThat(Dumps.dump(d, MARKED, COLS, "\"Id\"")).as("carried over as they were, marked").isEqualTo(deletedRows);
                assertThat(Dumps.rows(d, "SELECT DISTINCT _ferry_deleted_at = ? FROM " + MARKED, second.syncedAt())).containsExactly("t");
                firstMark = Dumps.scalar(d, "SELECT _ferry_deleted_at FROM " + DST + " WHERE \"Id\" = 300");
            }
            db[0].execute("INSERT INTO " + SRC + " VALUES (300, 0, 'back', now())");
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertLiveRowsEqualSource(db, "");
            try (Connection d = db[1].admin()) {
                assertThat(Dumps.rows(d, "SELECT \"Id\" FROM " + MARKED + " ORDER BY 1")).containsExactly(
                        "291", "292", "293", "294", "295", "296", "297", "298", "299");
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM " + MARKED + " AND _ferry_deleted_at <> ?::timestamptz", firstMark))
                        .as("marked once: the first time stays").isEqualTo("0");
            }
        }
        // a filter (the query path): rows out of it are kept, marked, like rows gone
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", transfer("orders", table, "hardDeletes", "soft",
                "filter", "\"Customer\" <> :c", "filter.c", "2"))) {
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertLiveRowsEqualSource(db, " WHERE \"Customer\" <> 2");
            try (Connection d = db[1].admin()) {
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM " + MARKED)).isEqualTo(String.valueOf(9 + 97));
            }
        }
    }

    @Test
    void aTableRefilledInPlaceGetsTheColumnAndTheMarksAndAKeylessTableIsRefused() throws Exception {
        TestDb[] db = databases("soft_refill");
        db[0].execute("CREATE TABLE \"Shop\".nokey (a int)", "INSERT INTO \"Shop\".nokey VALUES (1)");
        String table = "\"Shop\".\"" + TABLE + "\"";
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", transfer("orders", table))) {
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
        }
        String oid;
        try (Connection d = db[1].admin()) {
            // in a publication: refilled in place rather than replaced
            d.createStatement().execute("CREATE PUBLICATION soft_refill_pub FOR TABLE " + DST);
            oid = Dumps.scalar(d, "SELECT ?::regclass::oid", DST);
        }
        db[0].execute("DELETE FROM " + SRC + " WHERE \"Id\" <= 20");
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", transfer("orders", table, "hardDeletes", "soft")
                + transfer("nokey", "\"Shop\".nokey", "hardDeletes", "soft"))) {
            TransferRun run = ferry.sync("orders");
            assertThat(run.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertLiveRowsEqualSource(db, "");
            try (Connection d = db[1].admin()) {
                assertThat(Dumps.scalar(d, "SELECT ?::regclass::oid", DST)).as("refilled in place").isEqualTo(oid);
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM " + MARKED)).isEqualTo("20");
            }
            TransferRun nokey = ferry.sync("nokey");
            assertThat(nokey.status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(nokey.firstError()).contains("hardDeletes: soft on \"Shop\".nokey needs a key")
                    .contains("name its key columns in the transfer's 'key' parameter");
            try (Connection d = db[1].admin()) {
                assertThat(Dumps.scalar(d, "SELECT to_regclass('export.nokey')")).as("nothing written").isNull();
            }
        }
    }

    /**
     * A row restored at the source with its old cursor value is not re-read by the merge: the soft pass, which sees
     * its key, clears its mark. And with soft deletes turned off, a row that comes back (merged again) is no longer
     * marked either: the merge clears the column whenever the table has it.
     */
    @Test
    void aRowRestoredWithItsOldCursorIsClearedAndTurningSoftOffStillClearsRowsThatComeBack() throws Exception {
        TestDb[] db = databases("soft_back");
        String table = "\"Shop\".\"" + TABLE + "\"";
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", transfer("orders", table,
                "mode", "incremental", "cursor", "updated_at", "lookback", "0s", "hardDeletes", "soft"))) {
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            db[0].execute("CREATE TABLE \"Shop\".kept AS SELECT * FROM " + SRC + " WHERE \"Id\" IN (3, 4)",
                    "DELETE FROM " + SRC + " WHERE \"Id\" IN (3, 4, 5)");
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection d = db[1].admin()) {
                assertThat(Dumps.rows(d, "SELECT \"Id\" FROM " + MARKED + " ORDER BY 1")).containsExactly("3", "4", "5");
            }
            // restored as they were: their updated_at is behind the watermark, so no batch reads them
            db[0].execute("INSERT INTO " + SRC + " SELECT * FROM \"Shop\".kept");
            TransferRun back = ferry.sync("orders");

            assertThat(back.status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertLiveRowsEqualSource(db, "");
            try (Connection d = db[1].admin()) {
                assertThat(Dumps.rows(d, "SELECT \"Id\" FROM " + MARKED + " ORDER BY 1")).containsExactly("5");
                assertThat(Dumps.scalar(d, "SELECT notes FROM export._ferry_runs WHERE run_id = ? AND source_table IS NOT NULL",
                        back.id())).contains("2 row(s) marked deleted are back at the source (their key is there again): no"
                        + " longer marked");
            }
        }
        // soft deletes turned off: the column stays, and a row merged again is live
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", transfer("orders", table,
                "mode", "incremental", "cursor", "updated_at", "lookback", "0s"))) {
            db[0].execute("INSERT INTO " + SRC + " VALUES (5, 2, 'back', now())");
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = db[0].admin(); Connection d = db[1].admin()) {
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM " + MARKED)).isEqualTo("0");
                assertThat(Dumps.dump(d, DST, COLS, "\"Id\"")).containsExactlyElementsOf(Dumps.dump(s, SRC, COLS, "\"Id\""));
            }
        }
    }

    /**
     * A full refresh keeps the rows gone from the source in the refreshed table: when the source retypes a column (the
     * key too), they are cast to the new types; a column whose old values cannot be cast fails the run before the copy,
     * naming the column and the ways out, and the table stays as it was.
     */
    @Test
    void fullRefreshCastsTheRowsItKeepsToRetypedColumnsOrFailsNamingTheColumn() throws Exception {
        TestDb[] db = databases("soft_retype");
        String table = "\"Shop\".\"" + TABLE + "\"";
        db[0].execute("UPDATE " + SRC + " SET \"Note Text\" = (\"Id\" * 7)::text");
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", transfer("orders", table, "hardDeletes", "soft"))) {
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            db[0].execute("DELETE FROM " + SRC + " WHERE \"Id\" > 295");
            assertThat(ferry.sync("orders").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            List<String> kept;
            try (Connection d = db[1].admin()) {
                kept = Dumps.dump(d, MARKED, COLS, "\"Id\"");
            }
            // text to int and a key from int to text: both cast; one more row gone in the run that retypes
            db[0].execute("ALTER TABLE " + SRC + " ALTER COLUMN \"Note Text\" TYPE int USING \"Note Text\"::int",
                    "ALTER TABLE " + SRC + " ALTER COLUMN \"Id\" TYPE text", "DELETE FROM " + SRC + " WHERE \"Id\" = '290'");
            TransferRun retyped = ferry.sync("orders");

            assertThat(retyped.status()).as(retyped.error()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertLiveRowsEqualSource(db, "");
            List<String> marked;
            try (Connection d = db[1].admin()) {
                assertThat(Dumps.scalar(d, OnSchemaChangeTest.TYPES, DST)).isEqualTo("Id text, Customer integer,"
                        + " Note Text integer, updated_at timestamp with time zone");
                marked = Dumps.dump(d, MARKED, COLS, "\"Id\"");
                assertThat(Dumps.rows(d, "SELECT \"Id\" || ':' || \"Note Text\" FROM " + MARKED + " ORDER BY 1")).containsExactly(
                        "290:2030", "296:2072", "297:2079", "298:2086", "299:2093", "300:2100");
            }
            assertThat(marked).containsAll(kept); // the same text as before: the values survived the casts

            // int to date has no cast: the rows kept cannot follow, and the run says so before reading a row
            db[0].execute("ALTER TABLE " + SRC + " ALTER COLUMN \"Note Text\" TYPE date USING date '2025-01-01' + \"Note Text\"");
            List<String> before;
            try (Connection d = db[1].admin()) {
                before = Dumps.dump(d, DST, "*", "\"Id\"");
            }
            TransferRun failed = ferry.sync("orders");
            assertThat(failed.status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(failed.firstError()).contains("cannot keep the rows gone from the source: column \"Note Text\" is integer"
                            + " in them and date at the source now")
                    .contains("hardDeletes: soft carries those rows").contains("Nothing was changed")
                    .contains("ALTER COLUMN \"Note Text\" TYPE date USING").contains("without hardDeletes: soft");
            try (Connection d = db[1].admin()) {
                assertThat(Dumps.dump(d, DST, "*", "\"Id\"")).isEqualTo(before);
                assertThat(Dumps.scalar(d, "SELECT rows FROM export._ferry_runs WHERE run_id = ? AND source_table IS NOT NULL",
                        failed.id())).as("failed before the copy").isIn(null, "0");
            }
        }
    }
}
