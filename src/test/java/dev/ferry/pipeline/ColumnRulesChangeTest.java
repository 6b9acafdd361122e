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
                "INSERT INTO app.people SELECT g, 'p' || g || '@example.com', now() - interval '1 hour' FROM generate_series(1, 50) g");
        src.grantRead("app");
        String plain = FerryHarness.transfer("people", "app.people", "mode", "incremental", "cursor", "updated_at");
        Path dir = FerryHarness.write(src, dst, "export", plain, Map.of());
        assertThat(FerryCommand.run(dir, "sync", "people")).isZero();

        Path hashed = FerryHarness.write(src, dst, "export", FerryHarness.transfer("people", "app.people", "mode", "incremental",
                "cursor", "updated_at", "hash", "email", "hashKey", "first-key"), Map.of());
        src.execute("UPDATE app.people SET updated_at = now() WHERE id <= 5");
        assertThat(FerryCommand.run(hashed, "sync", "people")).isNotZero();
        try (Connection d = dst.admin()) {
            assertThat(Dumps.scalar(d, "SELECT error FROM export._ferry_runs WHERE status = 'failed'"))
                    .contains("its column rules changed since the rows at the destination were merged (then: none; now: email hash;")
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

        // another key gives other hashes: the same stop
        Path rekeyed = FerryHarness.write(src, dst, "export", FerryHarness.transfer("people", "app.people", "mode", "incremental",
                "cursor", "updated_at", "hash", "email", "hashKey", "second-key"), Map.of());
        assertThat(FerryCommand.run(rekeyed, "sync", "people")).isNotZero();
        try (Connection d = dst.admin()) {
            assertThat(Dumps.scalar(d, "SELECT error FROM export._ferry_runs WHERE status = 'failed' ORDER BY id DESC LIMIT 1"))
                    .contains("its column rules changed").doesNotContain("second-key").doesNotContain("first-key");
        }
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
