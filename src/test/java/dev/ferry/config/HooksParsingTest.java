package dev.ferry.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/** How a hook's text becomes statements (pgjdbc's splitting) and how variables become SQL; no database. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class HooksParsingTest {

    static Hooks parse(String afterLoad, List<String> problems) {
        return Hooks.parse(Map.of("afterLoad", afterLoad), "transfer 't'", p -> "t.yaml:1", problems);
    }

    @Test
    void statementsSplitAtSemicolonsOutsideQuotesDollarQuotesAndComments() {
        List<String> problems = new ArrayList<>();
        Hooks h = parse("SELECT ';' AS \"a;b\", E'it\\';s';\n"
                + "DO $body$ BEGIN PERFORM 1; PERFORM 2; END $body$;\n"
                + "/* one; two */ -- three; four\n"
                + "ANALYZE {schema}.{table};\n"
                + "  ;  -- only a comment; nothing to run\n", problems);

        assertThat(problems).isEmpty();
        assertThat(h.afterLoad()).extracting(Hooks.Statement::text).containsExactly(
                "SELECT ';' AS \"a;b\", E'it\\';s'",
                "DO $body$ BEGIN PERFORM 1; PERFORM 2; END $body$",
                "/* one; two */ -- three; four\nANALYZE {schema}.{table}");
        assertThat(h.afterLoad()).extracting(Hooks.Statement::label)
                .containsExactly("afterLoad statement 1 of 3", "afterLoad statement 2 of 3", "afterLoad statement 3 of 3");
        assertThat(h.afterLoad()).allMatch(Hooks.Statement::inTransaction);
    }

    @Test
    void variablesBecomeQuotedIdentifiersAndLiterals() {
        Hooks.Statement s = parse("INSERT INTO log VALUES ({run_id}, {source_table}, {transfer}); ", new ArrayList<>()).afterLoad().get(0);
        assertThat(s.sql(Map.of("run_id", Hooks.literal("r-1"), "source_table", Hooks.literal("app.\"O'Brien\""),
                "transfer", Hooks.literal("back\\slash"))))
                .isEqualTo("INSERT INTO log VALUES ('r-1', 'app.\"O''Brien\"', E'back\\\\slash')");
        assertThat(Sql.qualified("Odd \"Schema\"", "t") + " and " + Hooks.literal("x"))
                .isEqualTo("\"Odd \"\"Schema\"\"\".\"t\" and 'x'");
    }

    @Test
    void statementsThatCannotRunInATransactionBlockAreToldByTheirLeadingWords() {
        for (String sql : List.of("VACUUM t", "vacuum (analyze) t", "/* why */ VACUUM", "CREATE INDEX CONCURRENTLY i ON t (a)",
                "create unique index concurrently if not exists i on t (a)", "DROP INDEX CONCURRENTLY i", "REINDEX TABLE CONCURRENTLY t",
                "REINDEX (VERBOSE) INDEX CONCURRENTLY i", "REINDEX SCHEMA s", "REINDEX DATABASE", "CLUSTER", "CLUSTER VERBOSE",
                "CLUSTER (VERBOSE)", "ALTER TABLE p DETACH PARTITION c CONCURRENTLY", "CREATE DATABASE d", "ALTER SYSTEM SET work_mem = '4MB'")) {
            assertThat(Hooks.inTransactionBlock(sql)).as(sql).isFalse();
        }
        for (String sql : List.of("ANALYZE t", "GRANT SELECT ON t TO r", "REFRESH MATERIALIZED VIEW CONCURRENTLY m", "CREATE INDEX i ON t (a)",
                "CREATE INDEX \"concurrently\" ON t (a)", "DROP INDEX i", "REINDEX TABLE t", "REINDEX (VERBOSE) TABLE t", "CLUSTER t USING i",
                "CLUSTER (VERBOSE) t", "ALTER TABLE p DETACH PARTITION c", "SELECT 'VACUUM'", "DO $$ BEGIN EXECUTE 'VACUUM'; END $$")) {
            assertThat(Hooks.inTransactionBlock(sql)).as(sql).isTrue();
        }
    }

    /** YAML's > keeps a final newline: a one-line hook is told by its stripped text, and any -- comment holding a ';'. */
    @Test
    void aDashCommentThatHidesStatementsOnAOneLineHookIsAProblemWhateverItsFinalNewline() {
        for (String hook : List.of("ANALYZE {schema}.{table};  -- stats GRANT SELECT ON {schema}.{table} TO reporting;\n",
                "ANALYZE {schema}.{table} -- stats; GRANT SELECT ON {schema}.{table} TO reporting\n\n",
                "ANALYZE {schema}.{table}; -- then; grant")) {
            List<String> problems = new ArrayList<>();
            parse(hook, problems);
            assertThat(problems).as(hook).singleElement().asString().startsWith("t.yaml:1: transfer 't': parameter 'afterLoad':"
                    + " a -- comment runs to the end of the hook, which is one line, hiding what follows it (-- ");
        }
        for (String hook : List.of("ANALYZE {schema}.{table}; -- refresh the statistics\n", "SELECT '--;' AS a, $$ -- ; $$ AS b;\n",
                "SELECT /* -- ; */ 1", "ANALYZE {schema}.{table}; -- stats;\nGRANT SELECT ON {schema}.{table} TO reporting\n")) {
            List<String> problems = new ArrayList<>();
            parse(hook, problems);
            assertThat(problems).as(hook).isEmpty();
        }
    }

    /** A placeholder's value goes only into the SQL that runs: messages, toString and server messages show the placeholder. */
    @Test
    void placeholdersAreResolvedOnlyInTheSqlThatRuns() {
        Hooks h = parse("SELECT dblink_connect('password={{env:PW}}') FROM {schema}.{table}, \\{{x}}", new ArrayList<>())
                .resolved(p -> p.equals("{{env:PW}}") ? "s3cret{table}" : null);
        Hooks.Statement s = h.afterLoad().get(0);
        Map<String, String> values = Map.of("schema", "\"s\"", "table", "\"t\"");
        assertThat(s.sql(values)).isEqualTo("SELECT dblink_connect('password=s3cret{table}') FROM \"s\".\"t\", {{x}}");
        assertThat(s.display(values)).isEqualTo("SELECT dblink_connect('password={{env:PW}}') FROM \"s\".\"t\", \\{{x}}");
        assertThat(s.redact("ERROR: bad password \"s3cret{table}\"")).isEqualTo("ERROR: bad password \"{{env:PW}}\"");
        assertThat(h.toString()).doesNotContain("s3cret");
    }
}
