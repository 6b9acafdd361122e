package dev.ferry.app;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static dev.ferry.app.ConfigErrorsTest.folder;
import static dev.ferry.app.ConfigErrorsTest.lineOf;
import static dev.ferry.app.ConfigErrorsTest.refused;
import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/** Mistakes in hash, mask, nullify and cast rules stop the start, each with its file and line, and never show the key. */
class ColumnRulesConfigTest {

    static final String KEY = "do-not-print-this-key-42";

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void everyMistakeIsReportedWithItsFileAndLine() throws Exception {
        String yaml = transfer("nokey", "app.a", "hash", "nokey_col")
                + transfer("badcast", "app.a", "cast.amount", "numeric(12,2); DROP TABLE app.a")
                + transfer("tworules", "app.a", "hash", "tworules_col", "hashKey", KEY, "mask.tworules_col", "***")
                + transfer("cursor", "app.a", "mode", "incremental", "cursor", "updated_at", "hash", "updated_at, cursor_col",
                "hashKey", KEY)
                + transfer("keycol", "app.a", "mode", "xmin", "key", "\"Order Id\"", "nullify", "\"Order Id\"")
                + transfer("unused", "app.a", "hashKey", KEY)
                + transfer("both", "app.a", "hash", "both_col", "hashKey", KEY, "hashKeyFile", "/nonexistent/ferry-key")
                + transfer("nofile", "app.a", "hash", "nofile_col", "hashKeyFile", "/nonexistent/ferry-key")
                + transfer("toolong", "app.a", "hash", "a.b.c.toolong_col", "hashKey", KEY)
                // two names of one column: both reach app.a's ov_col
                + transfer("overlap", "app.a", "hash", "ov_col", "hashKey", KEY, "mask.a.ov_col", "***");
        String err = refused(folder(yaml));
        String f = "routes/transfers.yaml:";
        assertThat(err).contains(f + (lineOf(yaml, "value: 'nokey_col'") - 1) + ": transfer 'nokey': parameter 'hash' needs a key;"
                + " add { name: hashKey, value: \"{{env:FERRY_HASH_KEY}}\" } or { name: hashKeyFile, value: /path/to/key }");
        assertThat(err).contains(f + (lineOf(yaml, "DROP TABLE") - 1) + ": transfer 'badcast': parameter 'cast.amount':"
                + " 'numeric(12,2); DROP TABLE app.a' is not a type name");
        assertThat(err).contains(f + (lineOf(yaml, "name: mask.tworules_col")) + ": transfer 'tworules': column tworules_col is given"
                + " two rules, 'tworules_col' in parameter 'hash' and parameter 'mask.tworules_col'; keep one");
        assertThat(err).contains(f + (lineOf(yaml, "value: 'updated_at, cursor_col'") - 1) + ": transfer 'cursor': 'updated_at' in"
                + " parameter 'hash' would change column updated_at, the transfer's cursor; mode incremental reads and matches rows"
                + " by its clear values");
        assertThat(err).doesNotContain("would change column cursor_col");
        assertThat(err).contains(f + (lineOf(yaml, "name: nullify")) + ": transfer 'keycol': '\"Order Id\"' in parameter 'nullify'"
                + " would change column \"Order Id\", the transfer's key");
        assertThat(err).contains(f + (lineOf(yaml, "value: '" + KEY + "'\n      - name: every\n        value: '1h'\n- templatedRoute:\n"
                + "    routeTemplateRef: ferry-transfer\n    parameters:\n      - name: name\n        value: 'both'") - 1)
                + ": transfer 'unused': parameter 'hashKey' is set but no column is hashed");
        assertThat(err).contains(": transfer 'both': parameters 'hashKey' and 'hashKeyFile' are both set; set one");
        assertThat(err).contains(f + (lineOf(yaml, "name: hashKeyFile\n        value: '/nonexistent/ferry-key'\n      - name: every\n"
                + "        value: '1h'\n- templatedRoute:\n    routeTemplateRef: ferry-transfer\n    parameters:\n      - name: name\n"
                + "        value: 'toolong'")) + ": transfer 'nofile': parameter 'hashKeyFile': cannot read /nonexistent/ferry-key"
                + " (NoSuchFileException)");
        assertThat(err).contains("transfer 'toolong': parameter 'hash': 'a.b.c.toolong_col' has more than three parts");
        assertThat(err).contains(f + (lineOf(yaml, "name: mask.a.ov_col")) + ": transfer 'overlap': column a.ov_col is given two"
                + " rules, 'ov_col' in parameter 'hash' and parameter 'mask.a.ov_col'; keep one");
        assertThat(err).doesNotContain(KEY);
    }
}
