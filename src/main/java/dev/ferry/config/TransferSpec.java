package dev.ferry.config;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * One transfer, as declared by a {@code templatedRoute} of the {@code ferry-transfer} template under routes/.
 * Built and validated from the template's parameters before any transfer runs.
 */
public record TransferSpec(
        String name,
        String source,
        String destination,
        List<TableRef> tables,
        Mode mode,
        String cron,
        Duration every,
        int batchSize,
        int fetchSize) {

    public TransferSpec {
        tables = List.copyOf(tables);
    }

    /**
     * Reads a transfer from its template parameters, adding one message per problem (with where it is written)
     * to {@code problems}.
     *
     * @param where gives "file:line" for a parameter name
     * @return the transfer, or null when a problem stops it being built
     */
    static TransferSpec parse(Map<String, String> p, Function<String, String> where, List<String> problems) {
        int before = problems.size();
        String name = p.get("name");
        String label = "transfer '" + name + "'";
        String source = required(p, "source", label, where, problems);
        String destination = required(p, "destination", label, where, problems);

        List<TableRef> tables = List.of();
        String tablesText = required(p, "tables", label, where, problems);
        if (tablesText != null) {
            try {
                tables = TableRef.parseList(tablesText);
            } catch (IllegalArgumentException e) {
                problems.add(where.apply("tables") + ": " + label + ": parameter 'tables': " + e.getMessage());
            }
        }

        Mode mode = null;
        try {
            mode = Mode.parse(p.getOrDefault("mode", Mode.FULL_REFRESH.key()));
        } catch (IllegalArgumentException e) {
            problems.add(where.apply("mode") + ": " + label + ": parameter 'mode': " + e.getMessage());
        }

        String cron = blankToNull(p.get("cron"));
        String everyText = blankToNull(p.get("every"));
        Duration every = null;
        if (cron != null && everyText != null) {
            problems.add(where.apply("every") + ": " + label + ": set either 'cron' or 'every', not both");
        } else if (cron == null && everyText == null) {
            problems.add(where.apply(null) + ": " + label + ": no schedule; add a parameter 'every' (e.g. 15m) or 'cron'"
                    + " (a Quartz cron expression, e.g. \"0 0 * * * ?\" for hourly)");
        }
        if (cron != null) {
            String cronProblem = Schedules.cronProblem(cron);
            if (cronProblem != null) {
                problems.add(where.apply("cron") + ": " + label + ": parameter 'cron': '" + cron + "' is not a valid Quartz cron"
                        + " expression (" + cronProblem + "); Quartz cron has six or seven fields starting with seconds,"
                        + " e.g. \"0 */15 * * * ?\"");
            }
        }
        if (everyText != null) {
            try {
                every = Durations.parse(everyText);
                if (every.toMillis() < 1000) {
                    problems.add(where.apply("every") + ": " + label + ": parameter 'every': " + everyText + " is shorter than 1s");
                }
            } catch (IllegalArgumentException e) {
                problems.add(where.apply("every") + ": " + label + ": parameter 'every': " + e.getMessage());
            }
        }

        int batchSize = positiveInt(p, "batchSize", 100_000, label, where, problems);
        int fetchSize = positiveInt(p, "fetchSize", 10_000, label, where, problems);

        if (problems.size() > before) {
            return null;
        }
        return new TransferSpec(name, source, destination, tables, mode, cron, every, batchSize, fetchSize);
    }

    private static String required(Map<String, String> p, String key, String label, Function<String, String> where,
                                   List<String> problems) {
        String v = blankToNull(p.get(key));
        if (v == null) {
            problems.add(where.apply(null) + ": " + label + ": parameter '" + key + "' is missing");
        }
        return v;
    }

    private static int positiveInt(Map<String, String> p, String key, int dflt, String label, Function<String, String> where,
                                   List<String> problems) {
        String v = blankToNull(p.get(key));
        if (v == null) {
            return dflt;
        }
        try {
            int n = Integer.parseInt(v.trim());
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        problems.add(where.apply(key) + ": " + label + ": parameter '" + key + "': '" + v + "' is not a positive whole number");
        return dflt;
    }

    static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }

    /** The schedule, for logs. */
    public String scheduleText() {
        return cron != null ? "cron " + cron : "every " + Durations.format(every);
    }
}
