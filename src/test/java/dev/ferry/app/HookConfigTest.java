package dev.ferry.app;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static dev.ferry.app.ConfigErrorsTest.folder;
import static dev.ferry.app.ConfigErrorsTest.refused;
import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hooks that cannot run as written are refused at startup with file and line, all at once, before any database is
 * reached: an unknown variable, a variable of the other hook, transaction control, a session setting, and in beforeRun
 * a statement that cannot run in its read-only transaction.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HookConfigTest {

    @Test
    void unknownVariablesAndStatementsThatWouldBreakTheTransactionAreRefusedWithFileAndLine() throws Exception {
        String err = refused(folder(
                transfer("a", "app.a", "afterLoad", "ANALYZE {schema}.{tabel}; GRANT SELECT ON {schema}.{table} TO r; COMMIT")
                        + transfer("b", "app.b", "beforeRun", "SELECT count(*) FROM app.b WHERE {table} IS NOT NULL;"
                        + " VACUUM app.b")
                        + transfer("c", "app.c", "afterLoad", "SET statement_timeout = 0; SET LOCAL work_mem = '64MB'; ANALYZE {schema}.{table}")
                        + transfer("d", "app.d", "afterLoad", "ANALYZE {schema}.{table}; -- then grant; GRANT SELECT ON {schema}.{table} TO r")
                        + transfer("e", "app.e", "afterLoad", "SET app.k = '{{env:FERRY_TEST_HOOK_SECRET}}'; ANALYZE {schema}.{table}")));

        assertThat(err).contains("routes/transfers.yaml:12: transfer 'a': parameter 'afterLoad': afterLoad statement 1 of 3"
                + " uses {tabel}, which is not a variable; afterLoad knows {run_id}, {schema}, {source_table}, {table}, {transfer}");
        assertThat(err).contains("routes/transfers.yaml:12: transfer 'a': parameter 'afterLoad': afterLoad statement 3 of 3"
                + " (COMMIT) controls the transaction, which Ferry opens and commits itself");
        // transfer b starts on line 15 (three lines a transfer, two a parameter)
        assertThat(err).contains("routes/transfers.yaml:27: transfer 'b': parameter 'beforeRun': beforeRun statement 1 of 2"
                + " uses {table}, which is not a variable ({table} is afterLoad's: beforeRun runs once per run, before any"
                + " table); beforeRun knows {run_id}, {transfer}");
        assertThat(err).contains("routes/transfers.yaml:27: transfer 'b': parameter 'beforeRun': beforeRun statement 2 of 2"
                + " (VACUUM app.b) cannot run in a transaction block, and beforeRun runs in a read-only one on the source");
        assertThat(err).contains("transfer 'c': parameter 'afterLoad': afterLoad statement 1 of 3 (SET statement_timeout = 0)"
                + " would change the session, which Ferry reuses for other work after the hook; write SET LOCAL");
        assertThat(err).contains("transfer 'd': parameter 'afterLoad': a -- comment runs to the end of the hook, which is one"
                + " line, hiding what follows it (-- then grant; GRANT SELECT ON {schema}.{table} TO r); YAML folds the lines of a"
                + " quoted or > value into one: write the hook as a | block, or use /* */ comments");
        assertThat(err).doesNotContain("statement 2 of 3 (SET LOCAL").doesNotContain("statement 2 of 3 uses")
                .doesNotContain("statement 1 of 2 (SELECT");
        // a placeholder's value (set by the build, pom.xml) is shown as its placeholder
        assertThat(err).contains("transfer 'e': parameter 'afterLoad': afterLoad statement 1 of 2 (SET app.k ="
                + " '{{env:FERRY_TEST_HOOK_SECRET}}') would change the session").doesNotContain(System.getenv("FERRY_TEST_HOOK_SECRET"));
        assertThat(err).contains("7 configuration problems");
    }
}
