package dev.ferry.app;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code ferry check}: one line per item, each failure with its fix, exit 0 only when everything passed. */
class CheckTest {

    static TestDb[] databases(String prefix) throws Exception {
        TestDb src = TestDb.source(prefix);
        TestDb dst = TestDb.destination(prefix);
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.orders (id int PRIMARY KEY, updated_at timestamptz NOT NULL)",
                "CREATE SCHEMA private", "CREATE TABLE private.secrets (id int PRIMARY KEY)");
        src.grantRead("app");
        return new TestDb[] {src, dst};
    }

    record Result(int status, String out) {
    }

    static Result check(Path dir, String... args) {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            String[] all = new String[args.length + 5];
            all[0] = "--config";
            all[1] = dir.resolve("application.properties").toString();
            all[2] = "--routes";
            all[3] = dir.resolve("routes").toString();
            all[4] = "check";
            System.arraycopy(args, 0, all, 5, args.length);
            int status = Ferry.execute(all);
            return new Result(status, buf.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(old);
        }
    }

    @Test
    void everythingInPlacePasses() throws Exception {
        TestDb[] db = databases("check_ok");
        Path dir = FerryHarness.write(db[0], db[1], "export",
                transfer("orders", "app.orders", "mode", "incremental", "cursor", "updated_at"), Map.of());

        Result r = check(dir);

        assertThat(r.out()).contains("PASS  source 'src': reachable and authenticated: " + db[0].user() + "@")
                .containsPattern("PASS  source 'src': PostgreSQL 1[3-9][.0-9]* \\(13 and later are supported\\)")
                .contains("PASS  source 'src', transfer 'orders': can read app.orders (USAGE on its schema, SELECT on it; columns"
                        + " updated_at, id present)")
                .contains("PASS  destination 'dst': CREATE on database " + db[1].database() + ": Ferry can create schema export")
                .contains("PASS  destination 'dst': TEMPORARY on database")
                .contains("PASS  destination 'dst': write path works: a temporary table and COPY (dry run, rolled back)")
                .contains(", 0 failed").doesNotContain("FAIL");
        assertThat(r.status()).isZero();
    }

    @Test
    void aCursorThatIsAlsoTheKeyIsListedOnce() throws Exception {
        TestDb[] db = databases("check_once");
        Path dir = FerryHarness.write(db[0], db[1], "export", transfer("orders", "app.orders", "mode", "append", "cursor", "id"), Map.of());

        Result r = check(dir);

        assertThat(r.out()).contains("PASS  source 'src', transfer 'orders': can read app.orders (USAGE on its schema, SELECT on it;"
                + " columns id present)");
        assertThat(r.status()).isZero();
    }

    @Test
    void eachFailureSaysHowToFixIt() throws Exception {
        TestDb[] db = databases("check_bad");
        db[1].execute("REVOKE TEMPORARY, CREATE ON DATABASE \"" + db[1].database() + "\" FROM \"" + db[1].user() + "\"");
        Map<String, String> props = new HashMap<>(FerryHarness.destination("wrongpw", db[1], "export"));
        props.put("ferry.destination.wrongpw.password", "not-it");
        props.put("ferry.destination.wrongpw.connectTimeout", "2s");
        Path dir = FerryHarness.write(db[0], db[1], "export",
                transfer("orders", "app.orders", "mode", "incremental", "cursor", "updated_at")
                        + transfer("hidden", "private.secrets", "destination", "wrongpw"), props);

        Result r = check(dir);

        assertThat(r.out())
                .contains("FAIL  source 'src', transfer 'hidden': the source user " + db[0].user() + " may not use schema private\n"
                        + "      fix: run on the source: GRANT USAGE ON SCHEMA \"private\" TO \"" + db[0].user() + "\";")
                .contains("FAIL  destination 'dst': schema export does not exist and " + db[1].user() + " may not create it\n"
                        + "      fix: run on the destination: GRANT CREATE ON DATABASE \"" + db[1].database() + "\" TO \"" + db[1].user() + "\";")
                .contains("FAIL  destination 'dst': " + db[1].user() + " may not create temporary tables\n"
                        + "      fix: run on the destination: GRANT TEMPORARY ON DATABASE")
                .contains("FAIL  destination 'dst': the write path failed in a dry run: ERROR: permission denied to create temporary tables")
                .contains("FAIL  destination 'wrongpw': cannot connect to").contains("password authentication failed for user")
                .contains("      fix: the password was refused: check the password of this connection")
                .contains("PASS  source 'src', transfer 'orders': can read app.orders");
        assertThat(r.status()).isEqualTo(Ferry.FAILED);

        Result one = check(dir, "orders");
        assertThat(one.out()).doesNotContain("wrongpw").doesNotContain("'hidden'");
    }
}
