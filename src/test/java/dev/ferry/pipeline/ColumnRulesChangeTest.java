package dev.ferry.pipeline;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.Map;

import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryCommand;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Column rules added to (or changed on) an incremental transfer that has run: merging on would leave the rows already
 * at the destination as the old rules wrote them, in clear. The run stops before writing, saying how to rewrite the
 * table; {@code sync --full-refresh} rewrites it under the new rules, and the runs after it resume.
 */
class ColumnRulesChangeTest {

    @Test
    @Timeout(120)
    void rulesChangedOnATableWithRowsStopTheMergeUntilAFullReload() throws Exception {
        TestDb src = TestDb.source("rulechg");
        TestDb dst = TestDb.destination("rulechg");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.people (id int PRIMARY KEY, email text, updated_at timestamptz NOT NULL)",
                "INSERT INTO app.people SELECT g, 'p' || g || '@example.com', now() - interval '1 hour' FROM generate_series(1, 50) g",
                // no email yet: the rule does not reach it until it has one
                "CREATE TABLE app.notes (id int PRIMARY KEY, updated_at timestamptz NOT NULL)",
                "INSERT INTO app.notes SELECT g, now() - interval '1 hour' FROM generate_series(1, 5) g");
        src.grantRead("app");
        String plain = FerryHarness.transfer("people", "app.people, app.notes", "mode", "incremental", "cursor", "updated_at");
        Path dir = FerryHarness.write(src, dst, "export", plain, Map.of());
        assertThat(FerryCommand.run(dir, "sync", "people")).isZero();

        Path hashed = FerryHarness.write(src, dst, "export", FerryHarness.transfer("people", "app.people, app.notes", "mode",
                "incremental", "cursor", "updated_at", "hash", "email", "hashKey", "first-key"), Map.of());
        src.execute("UPDATE app.people SET updated_at = now() WHERE id <= 5");
        assertThat(FerryCommand.run(hashed, "sync", "people")).isNotZero();
        try (Connection d = dst.admin()) {
            assertThat(Dumps.scalar(d, "SELECT error FROM export._ferry_runs WHERE status = 'failed'"))
                    .contains("its column rules changed since the rows at the destination were merged (email: none -> hash key ")
                    .contains("ferry sync people --full-refresh").doesNotContain("first-key");
            assertThat(Dumps.scalar(d, "SELECT count(*) FROM export.people WHERE email LIKE '%@example.com'"))
                    .as("nothing merged under the new rule").isEqualTo("50");
        }

        assertThat(FerryCommand.run(hashed, "sync", "people", "--full-refresh")).isZero();
        src.execute("UPDATE app.people SET email = 'new@example.com', updated_at = now() WHERE id = 7");
        assertThat(FerryCommand.run(hashed, "sync", "people")).as("resumes after the reload").isZero();
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            assertThat(Dumps.scalar(d, "SELECT count(*) FROM export.people WHERE email LIKE '%@%'")).isEqualTo("0");
            assertThat(Dumps.rows(d, "SELECT id, email FROM export.people ORDER BY id")).containsExactlyElementsOf(
                    Dumps.rows(s, "SELECT id, CAST(NULL AS text) FROM app.people ORDER BY id").stream()
                            .map(r -> r.split("\\|")[0]).map(id -> id + "|" + hmac("first-key", id.equals("7") ? "new@example.com"
                                    : "p" + id + "@example.com")).toList());
        }

        // a column new at the source that a rule hides was never copied in clear: no reload needed
        src.execute("ALTER TABLE app.notes ADD COLUMN email text",
                "UPDATE app.notes SET email = 'n' || id || '@example.com', updated_at = now()");
        assertThat(FerryCommand.run(hashed, "sync", "people")).isZero();
        try (Connection d = dst.admin()) {
            assertThat(Dumps.rows(d, "SELECT id, email FROM export.notes ORDER BY id")).containsExactly(
                    "1|" + hmac("first-key", "n1@example.com"), "2|" + hmac("first-key", "n2@example.com"),
                    "3|" + hmac("first-key", "n3@example.com"), "4|" + hmac("first-key", "n4@example.com"),
                    "5|" + hmac("first-key", "n5@example.com"));
        }

        // another key gives other hashes: the same stop
        Path rekeyed = FerryHarness.write(src, dst, "export", FerryHarness.transfer("people", "app.people, app.notes", "mode", "incremental",
                "cursor", "updated_at", "hash", "email", "hashKey", "second-key"), Map.of());
        assertThat(FerryCommand.run(rekeyed, "sync", "people")).isNotZero();
        try (Connection d = dst.admin()) {
            assertThat(Dumps.scalar(d, "SELECT error FROM export._ferry_runs WHERE status = 'failed' ORDER BY id DESC LIMIT 1"))
                    .contains("its column rules changed").doesNotContain("second-key").doesNotContain("first-key");
        }
    }

    /**
     * A full refresh with soft deletes keeps the old table's rows gone from the source: written before a rule was
     * added, they hold clear values, so they are kept without their hidden columns; a hidden key cannot match them.
     */
    @Test
    @Timeout(120)
    void softDeletesOfAFullRefreshNeverCarryAClearValueOfAHiddenColumn() throws Exception {
        TestDb src = TestDb.source("rulesoft");
        TestDb dst = TestDb.destination("rulesoft");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.people (id int PRIMARY KEY, email text, name text)",
                "INSERT INTO app.people SELECT g, 'p' || g || '@example.com', 'name ' || g FROM generate_series(1, 20) g");
        src.grantRead("app");
        Path plain = FerryHarness.write(src, dst, "export", FerryHarness.transfer("people", "app.people", "hardDeletes", "soft"),
                Map.of());
        assertThat(FerryCommand.run(plain, "sync", "people")).isZero();
        src.execute("DELETE FROM app.people WHERE id IN (4, 5)");
        Path hashed = FerryHarness.write(src, dst, "export", FerryHarness.transfer("people", "app.people", "hardDeletes", "soft",
                "hash", "email", "hashKey", "k"), Map.of());
        assertThat(FerryCommand.run(hashed, "sync", "people")).isZero();
        try (Connection d = dst.admin()) {
            assertThat(Dumps.scalar(d, "SELECT count(*) FROM export.people WHERE email LIKE '%@%'")).isEqualTo("0");
            assertThat(Dumps.rows(d, "SELECT id, email, name FROM export.people WHERE _ferry_deleted_at IS NOT NULL ORDER BY id"))
                    .containsExactly("4|null|name 4", "5|null|name 5");
            assertThat(Dumps.scalar(d, "SELECT count(*) FROM export.people WHERE _ferry_deleted_at IS NULL AND email IS NOT NULL"))
                    .isEqualTo("18");
        }

        Path hashedKey = FerryHarness.write(src, dst, "export", FerryHarness.transfer("people", "app.people", "hardDeletes", "soft",
                "hash", "id", "hashKey", "k"), Map.of());
        // refused by the start's check of the source, before any run
        FerryCommand.Out refused = FerryCommand.capture(hashedKey, "sync", "people");
        assertThat(refused.status()).isNotZero();
        assertThat(refused.out() + refused.err())
                .contains("the table's primary key, and hardDeletes: soft keeps the old table's rows by matching their key");
    }

    static String hmac(String key, String text) {
        try {
            javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
            mac.init(new javax.crypto.spec.SecretKeySpec(key.getBytes(java.nio.charset.StandardCharsets.UTF_8), "HmacSHA256"));
            return java.util.HexFormat.of().formatHex(mac.doFinal(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
