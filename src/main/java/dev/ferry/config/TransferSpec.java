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
        int parallelTables,
        int copyStreams,
        int fetchSize,
        String cursor,
        List<String> key,
        Lookback lookback,
        FilterSql filter,
        Map<String, String> filterValues,
        List<String> columns,
        List<String> excludeColumns,
        String deletedColumn,
        boolean hardDeletes,
        int retryAttempts,
        Duration retryDelay,
        double retryMultiplier,
        Duration retryMaxDelay,
        String webhook,
        DestinationNames names,
        Hooks hooks,
        ChangePolicy changes,
        TableSelection tableSelection,
        ColumnRules columnRules) {

    public TransferSpec {
        columnRules = columnRules == null ? ColumnRules.NONE : columnRules;
        tables = List.copyOf(tables);
        key = key == null ? List.of() : List.copyOf(key);
        columns = columns == null ? List.of() : List.copyOf(columns);
        excludeColumns = excludeColumns == null ? List.of() : List.copyOf(excludeColumns);
        filterValues = filterValues == null ? Map.of() : Map.copyOf(filterValues);
        names = names == null ? DestinationNames.NONE : names;
        hooks = hooks == null ? Hooks.NONE : hooks;
        changes = changes == null ? ChangePolicy.DEFAULT : changes;
        tableSelection = tableSelection == null ? TableSelection.of(tables) : tableSelection;
    }

    /** This transfer read another way: a one-off full reload of an incremental transfer runs as a full refresh. */
    public TransferSpec withMode(Mode other) {
        return new TransferSpec(name, source, destination, tables, other, cron, every, batchSize, parallelTables, copyStreams,
                fetchSize, cursor, key, lookback, filter, filterValues, columns, excludeColumns, deletedColumn, hardDeletes,
                retryAttempts, retryDelay, retryMultiplier, retryMaxDelay, webhook, names, hooks, changes, tableSelection, columnRules);
    }

    /**
     * This transfer writing through another destination connection: its own, for a {@code destinationSchema} (the
     * declared destination's connection, writing into that schema).
     */
    public TransferSpec withDestination(String other) {
        return new TransferSpec(name, source, other, tables, mode, cron, every, batchSize, parallelTables, copyStreams,
                fetchSize, cursor, key, lookback, filter, filterValues, columns, excludeColumns, deletedColumn, hardDeletes,
                retryAttempts, retryDelay, retryMultiplier, retryMaxDelay, webhook, names, hooks, changes, tableSelection, columnRules);
    }

    /** This transfer with its hooks' placeholders resolved ({@link Hooks#resolved}). */
    public TransferSpec withHooks(Hooks other) {
        return new TransferSpec(name, source, destination, tables, mode, cron, every, batchSize, parallelTables, copyStreams,
                fetchSize, cursor, key, lookback, filter, filterValues, columns, excludeColumns, deletedColumn, hardDeletes,
                retryAttempts, retryDelay, retryMultiplier, retryMaxDelay, webhook, names, other, changes, tableSelection, columnRules);
    }

    /**
     * How far behind the committed watermark each incremental run starts reading again, so that rows committed late
     * by long source transactions are not lost: a duration for timestamp and date cursors, a number for numeric ones.
     */
    public record Lookback(Duration duration, java.math.BigDecimal amount, String text) {

        public static final Lookback DEFAULT = new Lookback(Duration.ofMinutes(5), null, "5m");

        public boolean isZero() {
            return (duration == null || duration.isZero()) && (amount == null || amount.signum() == 0);
        }

        static Lookback parse(String text) {
            String t = text.trim();
            if (t.matches("[0-9]+(\\.[0-9]+)?")) {
                java.math.BigDecimal n = new java.math.BigDecimal(t);
                return n.signum() == 0 ? new Lookback(Duration.ZERO, java.math.BigDecimal.ZERO, t) : new Lookback(null, n, t);
            }
            return new Lookback(Durations.parse(t), null, t);
        }
    }

    /** {@link #parse(Map, Map, Function, List)} with the shipped template's defaults. */
    static TransferSpec parse(Map<String, String> p, Function<String, String> where, List<String> problems) {
        return parse(p, TemplateParameters.shipped().defaults(), where, problems);
    }

    /**
     * Reads a transfer from its template parameters, adding one message per problem (with where it is written)
     * to {@code problems}. A parameter not set, or set blank, takes the template's default: the template is the one
     * place defaults are written ({@link TemplateParameters}).
     *
     * @param params the parameters as the transfer sets them (Camel has added the template's defaults to them)
     * @param defaults the template's defaults, by parameter name
     * @param where gives "file:line" for a parameter name
     * @return the transfer, or null when a problem stops it being built
     */
    static TransferSpec parse(Map<String, String> params, Map<String, String> defaults, Function<String, String> where,
                              List<String> problems) {
        Map<String, String> p = withDefaults(params, defaults);
        int before = problems.size();
        String name = p.get("name");
        String label = "transfer '" + name + "'";
        String source = required(p, "source", label, where, problems);
        String destination = required(p, "destination", label, where, problems);

        // tables: the ones named explicitly; with patterns, a run's tables are found at its start (TableSelection)
        List<TableRef> tables = List.of();
        required(p, "tables", label, where, problems);
        TableSelection tableSelection = TableSelection.parse(p, label, where, problems);
        if (tableSelection != null) {
            // a table that would land on one of Ferry's own names is refused by its destination name (DestinationNames)
            tables = tableSelection.explicit();
        }

        Mode mode = null;
        String modeText = defaulted(p, "mode", label, where, problems);
        try {
            mode = modeText == null ? null : Mode.parse(modeText);
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
                problems.add(where.apply("cron") + ": " + label + ": parameter 'cron': " + cronProblem);
            }
        }
        if (everyText != null) {
            try {
                every = Durations.parse(everyText);
                if (every.toMillis() < 100) {
                    problems.add(where.apply("every") + ": " + label + ": parameter 'every': " + everyText + " is shorter than 100ms");
                }
            } catch (IllegalArgumentException e) {
                problems.add(where.apply("every") + ": " + label + ": parameter 'every': " + e.getMessage());
            }
        }

        int batchSize = positiveInt(p, "batchSize", label, where, problems);
        int fetchSize = positiveInt(p, "fetchSize", label, where, problems);
        int parallelTables = positiveInt(p, "parallelTables", label, where, problems);
        int copyStreams = positiveInt(p, "copyStreams", label, where, problems);
        String cursor = singleName(p, "cursor", label, where, problems);
        List<String> key = names(p, "key", label, where, problems);
        List<String> columns = names(p, "columns", label, where, problems);
        List<String> excludeColumns = names(p, "excludeColumns", label, where, problems);
        String deletedColumn = singleName(p, "deletedColumn", label, where, problems);
        ChangePolicy changes = ChangePolicy.parse(p, mode, label, where, problems);
        boolean hardDeletes = changes.deletes() != ChangePolicy.Deletes.KEEP;
        Lookback lookback = Lookback.DEFAULT;
        String lookbackText = blankToNull(p.get("lookback"));
        if (lookbackText != null) {
            try {
                lookback = Lookback.parse(lookbackText);
            } catch (IllegalArgumentException e) {
                problems.add(where.apply("lookback") + ": " + label + ": parameter 'lookback': '" + lookbackText
                        + "' is neither a duration (e.g. 10m, for timestamp cursors) nor a number (for numeric cursors)");
            }
        }
        if (mode != null) {
            switch (mode) {
                case FULL_REFRESH -> {
                    for (String k : List.of("cursor", "lookback", "hardDeletes")) {
                        // hardDeletes: soft carries the old table's rows gone from the source into the new one
                        boolean set = k.equals("hardDeletes") ? changes.deletes() == ChangePolicy.Deletes.HARD : blankToNull(p.get(k)) != null;
                        if (set) {
                            problems.add(where.apply(k) + ": " + label + ": parameter '" + k + "' applies to incremental modes,"
                                    + " not to full_refresh; remove it, or set mode to incremental");
                        }
                    }
                }
                case INCREMENTAL, APPEND -> {
                    if (cursor == null) {
                        problems.add(where.apply("mode") + ": " + label + ": mode " + mode.key() + " needs a 'cursor' parameter"
                                + " naming an ever-increasing column such as updated_at; for a table without one, use mode xmin");
                    }
                }
                case XMIN -> {
                    if (cursor != null) {
                        problems.add(where.apply("cursor") + ": " + label + ": mode xmin tracks changes by transaction id and"
                                + " takes no 'cursor'; remove it, or use mode incremental");
                    }
                }
            }
        }
        if (!columns.isEmpty() && !excludeColumns.isEmpty()) {
            problems.add(where.apply("excludeColumns") + ": " + label + ": set 'columns' (the columns to copy) or"
                    + " 'excludeColumns' (the columns to leave out), not both");
        }
        FilterSql filter = null;
        Map<String, String> filterValues = TemplateParameters.family(p, "filter");
        String filterText = blankToNull(p.get("filter"));
        if (filterText != null) {
            try {
                filter = FilterSql.parse(filterText);
                for (String placeholder : filter.parameters()) {
                    if (!filterValues.containsKey(placeholder)) {
                        problems.add(where.apply("filter") + ": " + label + ": the filter uses :" + placeholder + " but no"
                                + " parameter 'filter." + placeholder + "' gives its value");
                    }
                }
                for (String given : filterValues.keySet()) {
                    if (!filter.parameters().contains(given)) {
                        problems.add(where.apply("filter." + given) + ": " + label + ": parameter 'filter." + given
                                + "' is not used by the filter (no :" + given + " in it)");
                    }
                }
            } catch (IllegalArgumentException e) {
                problems.add(where.apply("filter") + ": " + label + ": parameter 'filter': " + e.getMessage());
            }
        } else if (!filterValues.isEmpty()) {
            problems.add(where.apply("filter." + filterValues.keySet().iterator().next()) + ": " + label
                    + ": filter values are given but there is no 'filter' parameter to use them");
        }

        int retryAttempts = nonNegativeInt(p, "retryAttempts", label, where, problems);
        Duration retryDelay = duration(p, "retryDelay", label, where, problems);
        Duration retryMaxDelay = duration(p, "retryMaxDelay", label, where, problems);
        double retryMultiplier = 1.0; // unused when the text is missing or invalid: that is a problem
        String multiplierText = defaulted(p, "retryMultiplier", label, where, problems);
        if (multiplierText != null) {
            try {
                retryMultiplier = Double.parseDouble(multiplierText);
                if (retryMultiplier < 1.0) {
                    throw new NumberFormatException();
                }
            } catch (NumberFormatException e) {
                problems.add(where.apply("retryMultiplier") + ": " + label + ": parameter 'retryMultiplier': '" + multiplierText
                        + "' is not a number of at least 1");
            }
        }
        String webhook = blankToNull(p.get("webhook"));
        String webhookProblem = webhook == null ? null : WebhookUrl.problem(webhook);
        if (webhookProblem != null) {
            problems.add(where.apply("webhook") + ": " + label + ": parameter 'webhook' " + webhookProblem);
        }
        Hooks hooks = Hooks.parse(p, label, where, problems);

        // Ferry's own table names, lengths and collisions are checked on the destination names
        DestinationNames names = DestinationNames.parse(p, tableSelection == null ? TableSelection.of(tables) : tableSelection, label,
                where, problems);

        ColumnRules columnRules = ColumnRules.parse(p, mode, key, cursor, label, where, problems);

        if (problems.size() > before) {
            return null;
        }
        return new TransferSpec(name, source, destination, tables, mode, cron, every, batchSize, parallelTables, copyStreams, fetchSize, cursor, key,
                lookback, filter, filterValues, columns, excludeColumns, deletedColumn, hardDeletes, retryAttempts, retryDelay,
                retryMultiplier, retryMaxDelay, webhook, names, hooks, changes, tableSelection, columnRules);
    }

    private static int nonNegativeInt(Map<String, String> p, String key, String label, Function<String, String> where,
                                      List<String> problems) {
        return wholeNumber(p, key, 0, "a whole number of 0 or more", label, where, problems);
    }

    private static Duration duration(Map<String, String> p, String key, String label, Function<String, String> where,
                                     List<String> problems) {
        String v = defaulted(p, key, label, where, problems);
        if (v == null) {
            return null;
        }
        try {
            return Durations.parse(v);
        } catch (IllegalArgumentException e) {
            problems.add(where.apply(key) + ": " + label + ": parameter '" + key + "': " + e.getMessage());
            return null;
        }
    }

    private static String singleName(Map<String, String> p, String key, String label, Function<String, String> where,
                                     List<String> problems) {
        List<String> names = names(p, key, label, where, problems);
        if (names.size() > 1) {
            problems.add(where.apply(key) + ": " + label + ": parameter '" + key + "' names one column, not " + names.size());
        }
        return names.isEmpty() ? null : names.get(0);
    }

    private static List<String> names(Map<String, String> p, String key, String label, Function<String, String> where,
                                      List<String> problems) {
        String v = blankToNull(p.get(key));
        if (v == null) {
            return List.of();
        }
        try {
            return TableRef.parseNames(v);
        } catch (IllegalArgumentException e) {
            problems.add(where.apply(key) + ": " + label + ": parameter '" + key + "': " + e.getMessage());
            return List.of();
        }
    }

    private static String required(Map<String, String> p, String key, String label, Function<String, String> where,
                                   List<String> problems) {
        String v = blankToNull(p.get(key));
        if (v == null) {
            problems.add(where.apply(null) + ": " + label + ": parameter '" + key + "' is missing");
        }
        return v;
    }

    private static int positiveInt(Map<String, String> p, String key, String label, Function<String, String> where,
                                   List<String> problems) {
        return wholeNumber(p, key, 1, "a positive whole number", label, where, problems);
    }

    /** The parameter as a whole number of at least {@code min}; {@code min} when it is invalid or missing (reported). */
    private static int wholeNumber(Map<String, String> p, String key, int min, String expected, String label,
                                   Function<String, String> where, List<String> problems) {
        String v = defaulted(p, key, label, where, problems);
        if (v == null) {
            return min;
        }
        try {
            int n = Integer.parseInt(v.trim());
            if (n >= min) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        problems.add(where.apply(key) + ": " + label + ": parameter '" + key + "': '" + v + "' is not " + expected);
        return min;
    }

    /** The parameters as given, a blank one (e.g. a placeholder that resolved to nothing) replaced by its default. */
    private static Map<String, String> withDefaults(Map<String, String> given, Map<String, String> defaults) {
        Map<String, String> p = new java.util.HashMap<>();
        defaults.forEach((k, v) -> {
            if (blankToNull(v) != null) {
                p.put(k, v);
            }
        });
        given.forEach((k, v) -> {
            if (blankToNull(v) != null || !p.containsKey(k)) {
                p.put(k, v);
            }
        });
        return p;
    }

    /**
     * A parameter that always has a value, from the transfer or the template's default; null, reported, when neither
     * gives one (a customised template that dropped a default).
     */
    static String defaulted(Map<String, String> p, String key, String label, Function<String, String> where,
                                    List<String> problems) {
        String v = blankToNull(p.get(key));
        if (v == null) {
            problems.add(where.apply(null) + ": " + label + ": parameter '" + key + "' is missing, and the " + TransferCatalog.TEMPLATE_ID
                    + " template gives it no defaultValue; set it, or restore its defaultValue in the template");
        }
        return v;
    }

    /**
     * The most sessions a run holds at once on the destination's server: per table copied at the same time, one per
     * COPY stream in a full refresh, two in incremental batches (one merges while the other stages the next); and two
     * for the run itself (the transfer's lock, and its run records). What a run reserves of the server's budget.
     */
    public int destinationSessions() {
        int perTable = mode == Mode.FULL_REFRESH ? copyStreams : 2;
        return parallelTables * perTable + 2;
    }

    /**
     * Why a run of this transfer could never start: it needs more sessions at once than a server's budget grants
     * (null when it fits). A connection not given (not declared, or invalid) counts with the default budget.
     */
    public String sessionsProblem(ConnectionSettings source, int sourceMax, ConnectionSettings destination, int destinationMax) {
        boolean oneServer = source != null && destination != null && source.server().equals(destination.server());
        int need = destinationSessions() + (oneServer ? sourceSessions() : 0);
        int max = oneServer ? Math.min(sourceMax, destinationMax) : destinationMax;
        String what;
        if (need > max) {
            what = (oneServer ? "the source's and the destination's server" : "the destination's server");
        } else if (!oneServer && sourceSessions() > sourceMax) {
            need = sourceSessions();
            max = sourceMax;
            what = "the source's server";
        } else {
            return null;
        }
        int perTable = mode == Mode.FULL_REFRESH ? copyStreams : 2;
        return "parameter 'parallelTables': " + parallelTables + " tables at once" + (perTable > 1 ? ", " + perTable
                + " sessions each," : "") + " need " + need + " sessions on " + what + ", more than its budget of " + max
                + " (maxSessions); lower parallelTables" + (mode == Mode.FULL_REFRESH && copyStreams > 1 ? " or copyStreams" : "")
                + ", or raise maxSessions";
    }

    /**
     * The most sessions a run holds at once on the source's server: per table copied at the same time, one per COPY
     * stream, and with several streams one more that exports their shared snapshot.
     */
    public int sourceSessions() {
        int perTable = mode == Mode.FULL_REFRESH && copyStreams > 1 ? copyStreams + 1 : 1;
        return parallelTables * perTable;
    }

    static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }

    /**
     * How long to wait before scheduled run number {@code failures + 1} after that many consecutive failed runs: the
     * retry delay, multiplied for each failure, capped at the maximum retry delay.
     */
    public Duration backoffAfter(int failures) {
        if (failures <= 0) {
            return Duration.ZERO;
        }
        double ms = retryDelay.toMillis() * Math.pow(retryMultiplier, failures - 1);
        return Duration.ofMillis((long) Math.min(ms, retryMaxDelay.toMillis()));
    }

    /** The schedule, for logs. */
    public String scheduleText() {
        return cron != null ? "cron " + cron : "every " + Durations.format(every);
    }

    /** Not the record's own, which would print the webhook URL and any token in it. */
    @Override
    public String toString() {
        return "transfer " + name + " (" + source + " -> " + destination + ", " + (mode == null ? "?" : mode.key())
                + (webhook == null ? "" : ", webhook " + WebhookUrl.display(webhook)) + ")";
    }
}
