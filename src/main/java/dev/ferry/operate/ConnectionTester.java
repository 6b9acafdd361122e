package dev.ferry.operate;

import java.util.List;

import dev.ferry.config.ConnectionSettings;

/**
 * Runs {@code ferry check}'s checks for one connection (the console's "Test connection"). The checks live in the
 * app package (app.Check), which this package may not import: FerryConfiguration wires them in.
 */
@FunctionalInterface
public interface ConnectionTester {

    /** One line of the check's report: PASS, WARN or FAIL, what was checked, and what fixes a failure. */
    record Line(String status, String subject, String text, String fix) {
    }

    List<Line> test(ConnectionSettings connection);
}
