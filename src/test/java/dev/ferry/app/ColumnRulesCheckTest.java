package dev.ferry.app;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code ferry check} runs a transfer's column rules against the source: columns, cast types, the read query itself. */
class ColumnRulesCheckTest {

    static Map<String, String> props(TestDb dst) {
        Map<String, String> p = new java.util.LinkedHashMap<>();
        for (int i = 2; i <= 4; i++) {
            p.putAll(FerryHarness.destination("d" + i, dst, "export" + i));
        }
        return p;
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void checkValidatesTheRulesAgainstTheSource() throws Exception {
        TestDb src = TestDb.source("check_cols");
        TestDb dst = TestDb.destination("check_cols");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.\"People\" (id int PRIMARY KEY, email text, ssn text, amount numeric,"
                + " born timestamptz)");
        src.grantRead("app");
        Path dir = FerryHarness.write(src, dst, "export",
                transfer("good", "app.\"People\"", "hash", "email", "hashKey", "k", "mask.ssn", "partial(0,4)",
                        "cast.amount", "numeric(12,2)")
                        + transfer("badtype", "app.\"People\"", "destination", "d2", "cast.amount", "app.nosuchtype")
                        + transfer("typo", "app.\"People\"", "destination", "d3", "nullify", "emial")
                        + transfer("nocast", "app.\"People\"", "destination", "d4", "cast.born", "integer"), props(dst));

        CheckTest.Result r = CheckTest.check(dir);

        assertThat(r.out())
                .contains("PASS  source 'src', transfer 'good': app.\"People\": the source computes the column rules on email, ssn, amount")
                .contains("PASS  source 'src', transfer 'good': every column rule names a column of its tables")
                .contains("FAIL  source 'src', transfer 'badtype': transfer 'badtype', table app.\"People\": parameter 'cast.amount': the"
                        + " source knows no type app.nosuchtype for column amount")
                .contains("FAIL  source 'src', transfer 'typo': 'emial' in parameter 'nullify' names column emial, which no table of the"
                        + " transfer has (app.\"People\"); correct the name, or remove the rule")
                .containsPattern("FAIL  source 'src', transfer 'nocast': app.\"People\": the read query with the column rules fails on"
                        + " the source: .*cannot cast type timestamp with time zone to integer");
        assertThat(r.status()).isNotZero();
    }
}
