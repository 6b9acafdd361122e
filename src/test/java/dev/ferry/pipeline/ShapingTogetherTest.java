package dev.ferry.pipeline;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every part of issue 16 on one incremental transfer, as a user would combine them: tables by pattern with an
 * exclusion, a destination schema and a name template, a hashed and a masked column, soft deletes and an afterLoad
 * hook. Between two runs the source gains a table (with the hashed column), loses a row, changes one and gains a
 * column. The destination is compared with the source row by row, each hidden value against its expected form.
 */
class ShapingTogetherTest {

    static final String KEY = "s3cret-shaping-key";

    @Test
    @Timeout(90)
    void patternsNamesRulesSoftDeletesAndHooksHoldTogether() throws Exception {
        TestDb src = TestDb.source("shape");
        TestDb dst = TestDb.destination("shape");
        src.execute("CREATE SCHEMA crm",
                "CREATE TABLE crm.contacts (id int PRIMARY KEY, email text, phone text, updated_at timestamptz NOT NULL)",
                "INSERT INTO crm.contacts SELECT g, 'person' || g || '@example.com', '555-01' || lpad(g::text, 2, '0'),"
                        + " now() - interval '1 day' + g * interval '1 second' FROM generate_series(1, 40) g",
                "UPDATE crm.contacts SET email = NULL, phone = '12' WHERE id = 7",
                "CREATE TABLE crm.accounts (id int PRIMARY KEY, name text, email text, updated_at timestamptz NOT NULL)",
                "INSERT INTO crm.accounts SELECT g, 'Account ' || g, 'billing' || g || '@example.org',"
                        + " now() - interval '1 day' + g * interval '1 second' FROM generate_series(1, 25) g",
                // left out by excludeTables, though it has the hashed column
                "CREATE TABLE crm.audit_log (id int PRIMARY KEY, email text, updated_at timestamptz NOT NULL)",
                "INSERT INTO crm.audit_log VALUES (1, 'audit@example.com', now())");
        src.grantRead("crm");
        String yaml = FerryHarness.transfer("shape", "crm.*", "excludeTables", "crm.*_log", "mode", "incremental",
                "cursor", "updated_at", "lookback", "0", "destinationSchema", "Shaped Ü", "destinationTable", "crm_{table}",
                "hash", "email", "hashKey", KEY, "mask.contacts.phone", "partial(0,2)", "hardDeletes", "soft",
                "afterLoad", "CREATE TABLE IF NOT EXISTS {schema}.loads (source_table text, run_id uuid);"
                        + " INSERT INTO {schema}.loads VALUES ({source_table}, CAST({run_id} AS uuid)); ANALYZE {schema}.{table}");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml)) {
            TransferRun first = ferry.sync("shape");
            assertThat(first.status()).as("%s", first.error()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertShaped(src, dst);

            src.execute("CREATE TABLE crm.leads (id int PRIMARY KEY, email text, updated_at timestamptz NOT NULL)",
                    "INSERT INTO crm.leads SELECT g, 'lead' || g || '@example.net', now() FROM generate_series(1, 15) g",
                    "DELETE FROM crm.contacts WHERE id IN (3, 4)",
                    "UPDATE crm.accounts SET email = 'changed@example.org', updated_at = now() WHERE id = 5",
                    "ALTER TABLE crm.accounts ADD COLUMN tier text",
                    "UPDATE crm.accounts SET tier = 'gold', updated_at = now() WHERE id <= 3");
            TransferRun second = ferry.sync("shape");
            assertThat(second.status()).as("%s", second.error()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(second.getTables()).extracting(Object::toString).containsExactly("crm.accounts", "crm.contacts", "crm.leads");
            assertShaped(src, dst);
            try (Connection d = dst.admin()) {
                // the rows gone from the source are kept, marked; the live ones are exactly the source's
                assertThat(Dumps.rows(d, "SELECT id FROM \"Shaped Ü\".crm_contacts WHERE _ferry_deleted_at IS NOT NULL ORDER BY id"))
                        .containsExactly("3", "4");
                // the hook ran in each table's last transaction, with the run's id and the source table
                assertThat(Dumps.rows(d, "SELECT source_table FROM \"Shaped Ü\".loads WHERE run_id = CAST(? AS uuid)"
                        + " ORDER BY source_table", second.id().toString())).containsExactly("crm.accounts", "crm.contacts", "crm.leads");
                assertThat(Dumps.scalar(d, "SELECT notes FROM \"Shaped Ü\"._ferry_runs WHERE run_id = CAST(? AS uuid)"
                        + " AND source_table = 'crm.leads'", second.id().toString())).contains("new at the source");
                assertThat(Dumps.rows(d, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'Shaped Ü'"
                        + " AND table_name LIKE 'crm%' ORDER BY 1")).containsExactly("crm_accounts", "crm_contacts", "crm_leads");
                assertThat(Dumps.scalar(d, "SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'export'"))
                        .as("the connection's own schema is not written").isEqualTo("0");
                // no clear e-mail, phone or key anywhere in the destination schema
                for (String table : Dumps.rows(d, "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables"
                        + " WHERE schemaname = 'Shaped Ü'")) {
                    String all = Dumps.scalar(d, "SELECT coalesce(string_agg(CAST(t AS text), E'\\n'), '') FROM " + table + " t");
                    assertThat(all).as(table).doesNotContain("@example.").doesNotContain("555-01").doesNotContain(KEY);
                }
            }
        }
    }

    /** Each destination table against its source table with the rules applied: live rows only, ordered by id. */
    private static void assertShaped(TestDb src, TestDb dst) throws Exception {
        try (Connection s = src.admin(); Connection d = dst.admin()) {
            List<String> want = new ArrayList<>();
            for (String row : Dumps.rows(s, "SELECT id, email, phone, updated_at::text FROM crm.contacts ORDER BY id")) {
                String[] f = row.split("\\|", -1);
                String phone = f[2].equals("null") ? "null" : f[2].length() <= 2 ? "*".repeat(f[2].length())
                        : "*".repeat(f[2].length() - 2) + f[2].substring(f[2].length() - 2);
                want.add(f[0] + "|" + hmac(f[1]) + "|" + phone + "|" + f[3]);
            }
            assertThat(Dumps.rows(d, "SELECT id, email, phone, updated_at::text FROM \"Shaped Ü\".crm_contacts"
                    + " WHERE _ferry_deleted_at IS NULL ORDER BY id")).containsExactlyElementsOf(want);
            want.clear();
            boolean tier = Dumps.scalar(s, "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'crm'"
                    + " AND table_name = 'accounts' AND column_name = 'tier'").equals("1");
            String cols = "id, name, email, updated_at::text" + (tier ? ", tier" : "");
            for (String row : Dumps.rows(s, "SELECT " + cols + " FROM crm.accounts ORDER BY id")) {
                String[] f = row.split("\\|", -1);
                want.add(f[0] + "|" + f[1] + "|" + hmac(f[2]) + "|" + f[3] + (tier ? "|" + f[4] : ""));
            }
            assertThat(Dumps.rows(d, "SELECT " + cols + " FROM \"Shaped Ü\".crm_accounts WHERE _ferry_deleted_at IS NULL"
                    + " ORDER BY id")).containsExactlyElementsOf(want);
            if (Dumps.scalar(s, "SELECT to_regclass('crm.leads') IS NOT NULL").equals("t")) {
                want.clear();
                for (String row : Dumps.rows(s, "SELECT id, email, updated_at::text FROM crm.leads ORDER BY id")) {
                    String[] f = row.split("\\|", -1);
                    want.add(f[0] + "|" + hmac(f[1]) + "|" + f[2]);
                }
                assertThat(Dumps.rows(d, "SELECT id, email, updated_at::text FROM \"Shaped Ü\".crm_leads ORDER BY id"))
                        .containsExactlyElementsOf(want);
            }
            assertThat(Dumps.scalar(d, "SELECT to_regclass('\"Shaped Ü\".crm_audit_log')")).as("excluded").isNull();
        }
    }

    /** HMAC-SHA256 of the text in UTF-8, lowercase hex, as the README defines it; "null" for NULL. */
    static String hmac(String text) throws Exception {
        if (text == null || text.equals("null")) {
            return "null";
        }
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(KEY.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        return HexFormat.of().formatHex(mac.doFinal(text.getBytes(StandardCharsets.UTF_8)));
    }
}
