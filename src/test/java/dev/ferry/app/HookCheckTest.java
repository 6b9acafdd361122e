package dev.ferry.app;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code ferry check} runs each transfer's beforeRun as a run would (read-only, rolled back) and reports it. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HookCheckTest {

    static Map<String, String> merge(Map<String, String> a, Map<String, String> b) {
        Map<String, String> all = new java.util.HashMap<>(a);
        all.putAll(b);
        return all;
    }

    @Test
    void checkRunsBeforeRunReadOnly() throws Exception {
        TestDb[] db = CheckTest.databases("check_hooks");
        Path dir = FerryHarness.write(db[0], db[1], "export",
                transfer("good", "app.orders", "beforeRun", "SELECT count(*) = 0 FROM app.orders WHERE id < 0")
                        + transfer("falsy", "app.orders", "destination", "dst2", "beforeRun", "SELECT count(*) > 0 FROM app.orders")
                        + transfer("writes", "app.orders", "destination", "dst3", "beforeRun", "INSERT INTO app.orders VALUES (1, now())"),
                merge(FerryHarness.destination("dst2", db[1], "export2"), FerryHarness.destination("dst3", db[1], "export3")));

        CheckTest.Result r = CheckTest.check(dir);

        assertThat(r.out()).contains("PASS  source 'src', transfer 'good': beforeRun runs (1 statement(s), read-only) and its"
                        + " checks pass")
                .contains("FAIL  source 'src', transfer 'falsy': beforeRun statement 1 of 1 on source 'src', a check, returned"
                        + " false or NULL: SELECT count(*) > 0 FROM app.orders; the run stopped before any table")
                .contains("FAIL  source 'src', transfer 'writes': beforeRun statement 1 of 1 on source 'src' failed: INSERT INTO"
                        + " app.orders VALUES (1, now()): ERROR: cannot execute INSERT in a read-only transaction");
        assertThat(r.status()).isNotZero();
        try (java.sql.Connection s = db[0].admin()) {
            assertThat(Dumps.rows(s, "SELECT id FROM app.orders")).isEqualTo(List.of());
        }
    }
}
