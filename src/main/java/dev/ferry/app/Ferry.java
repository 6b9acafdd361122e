package dev.ferry.app;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import dev.ferry.config.ConfigException;
import dev.ferry.config.Durations;
import dev.ferry.config.TransferSpec;
import dev.ferry.state.TransferRun;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ScopeType;

/** The command line: {@code java -jar ferry.jar [run|sync|check|demo|list|reset|status|history|discover] [--config FILE] [--routes DIR]}. */
@Command(name = "ferry", mixinStandardHelpOptions = true, version = "Ferry 0.1.0",
        description = "Moves PostgreSQL tables into PostgreSQL destinations on a schedule.",
        subcommands = {Ferry.Run.class, Ferry.Sync.class, Ferry.CheckCommand.class, Ferry.Demo.class, Ferry.ListTransfers.class,
                Ferry.ResetCommand.class, Ferry.Status.class, Ferry.History.class, Ferry.DiscoverCommand.class},
        footer = {"", "Exit status: 0 success, 1 a transfer failed, 2 bad configuration or usage."})
public final class Ferry implements Callable<Integer> {

    public static final int OK = 0;
    public static final int FAILED = 1;
    public static final int BAD_CONFIG = 2;

    /** Where the connections are declared unless --config says otherwise. */
    public static final String DEFAULT_CONFIG = "application.properties";
    /** Where the transfers are declared unless --routes says otherwise. */
    public static final String DEFAULT_ROUTES = "routes";

    @Option(names = "--config", scope = ScopeType.INHERIT, paramLabel = "FILE", defaultValue = DEFAULT_CONFIG,
            description = "Properties file declaring the connections (default: ${DEFAULT-VALUE}).")
    Path config;

    @Option(names = "--routes", scope = ScopeType.INHERIT, paramLabel = "DIR", defaultValue = DEFAULT_ROUTES,
            description = "Folder of YAML routes declaring the transfers (default: ${DEFAULT-VALUE}).")
    Path routes;

    public static void main(String[] args) {
        logFormat();
        System.exit(execute(args));
    }

    /**
     * The log format (log4j2.properties picks the appender named by ferry.log.format, else FERRY_LOG_FORMAT), made one of
     * the two appenders' names before the first line is logged: "JSON" or a typo would otherwise name no appender, and
     * Ferry would run without a single log line.
     */
    static void logFormat() {
        String given = System.getProperty("ferry.log.format", System.getenv().getOrDefault("FERRY_LOG_FORMAT", "plain"));
        String format = given.trim().toLowerCase(java.util.Locale.ROOT);
        if (!format.equals("plain") && !format.equals("json")) {
            System.err.println("ferry: log format '" + given + "' (FERRY_LOG_FORMAT or -Dferry.log.format) is neither plain nor"
                    + " json: logging plain");
            format = "plain";
        }
        System.setProperty("ferry.log.format", format);
    }

    /** Runs a command line and returns its exit status (tests call this instead of main). */
    public static int execute(String... args) {
        CommandLine cl = new CommandLine(new Ferry());
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof ConfigException ce) {
                cmd.getErr().println(ce.getMessage());
                return BAD_CONFIG;
            }
            ConfigException nested = dev.ferry.failure.Errors.find(e, ConfigException.class);
            if (nested != null) {
                cmd.getErr().println(nested.getMessage());
                return BAD_CONFIG;
            }
            cmd.getErr().println("ferry: " + dev.ferry.failure.Errors.describe(e));
            return FAILED;
        });
        cl.setExitCodeExceptionMapper(e -> BAD_CONFIG);
        return cl.execute(args);
    }

    /** Without a command, Ferry runs every transfer on its schedule. */
    @Override
    public Integer call() throws Exception {
        return new Run().runWith(this);
    }

    @Command(name = "run", description = "Run every transfer on its schedule until stopped (SIGTERM stops cleanly).")
    static final class Run implements Callable<Integer> {
        @CommandLine.ParentCommand
        Ferry parent;

        @Override
        public Integer call() throws Exception {
            return runWith(parent);
        }

        int runWith(Ferry f) throws Exception {
            try (FerryRuntime ferry = new FerryRuntime(f.config, f.routes, FerryRuntime.Trigger.SCHEDULED, null, null)) {
                ferry.start();
                for (TransferSpec spec : ferry.catalog().all()) {
                    org.slf4j.LoggerFactory.getLogger("dev.ferry").info("transfer {}: {} -> {}, {}, {}", spec.name(), spec.source(),
                            spec.destination(), spec.mode().key(), spec.scheduleText());
                }
                ferry.awaitShutdown();
            }
            return OK;
        }
    }

    @Command(name = "sync", description = "Run the named transfers once, now, and exit 0 if all succeeded.")
    static final class Sync implements Callable<Integer> {
        @CommandLine.ParentCommand
        Ferry parent;

        @Option(names = "--all", description = "Run every transfer.")
        boolean all;

        @Option(names = "--full-refresh", description = "Reload the tables of incremental, append and xmin transfers whole"
                + " (loaded, then swapped in), and resume their next runs from what the reload read.")
        boolean fullRefresh;

        @Option(names = "--yes", description = "With --full-refresh: do not ask before reloading an append transfer.")
        boolean yes;

        @Parameters(paramLabel = "TRANSFER", arity = "0..*", description = "Names of transfers to run.")
        List<String> names = new ArrayList<>();

        @Override
        public Integer call() throws Exception {
            if (names.isEmpty() && !all) {
                throw new CommandLine.ParameterException(new CommandLine(this), "name at least one transfer, or pass --all");
            }
            try (FerryRuntime ferry = new FerryRuntime(parent.config, parent.routes, FerryRuntime.Trigger.MANUAL, null, null)) {
                ferry.start();
                List<String> targets = all ? ferry.catalog().all().stream().map(TransferSpec::name).toList() : names;
                requireDeclared(ferry, targets);
                if (fullRefresh && !yes) {
                    // an append destination keeps the rows the source has since purged: a reload would drop them
                    List<String> append = targets.stream().filter(n -> ferry.catalog().get(n).mode() == dev.ferry.config.Mode.APPEND)
                            .toList();
                    if (!append.isEmpty()) {
                        String what = "append transfer(s) " + String.join(", ", append);
                        Integer declined = confirm("Reload " + what + " whole? Their destination tables keep rows the source"
                                + " may have purged since, and a reload drops those (`ferry reset` reads every row again and"
                                + " keeps them).", "ferry sync --full-refresh: not reloading " + what, "reload", "not reloaded");
                        if (declined != null) {
                            return declined;
                        }
                    }
                }
                // in a terminal, a progress bar per table in flight; otherwise (a pipe, cron, CI) the plain log lines only
                long failed;
                try (SyncProgress bars = SyncProgress.showIfTerminal(ferry.camel())) {
                    failed = ferry.runAll(targets, fullRefresh).values().stream()
                            .filter(run -> run == null || run.status() != TransferRun.Status.SUCCEEDED).count();
                }
                return failed == 0 ? OK : FAILED;
            }
        }
    }

    @Command(name = "reset", description = "Make the next run of a transfer's table (or all its tables) start over: a backfill."
            + " Asks for confirmation unless --yes.")
    static final class ResetCommand implements Callable<Integer> {
        @CommandLine.ParentCommand
        Ferry parent;

        @Parameters(index = "0", paramLabel = "TRANSFER", description = "The transfer (a recipient's: LIST.RECIPIENT).")
        String transfer;

        @Parameters(index = "1", arity = "0..1", paramLabel = "TABLE", description = "Only this table (default: all the transfer's tables).")
        String table;

        @Option(names = "--yes", description = "Do not ask for confirmation.")
        boolean yes;

        @Option(names = "--wait", paramLabel = "DURATION", defaultValue = "10s",
                description = "How long to wait for a run of the transfer that is going to end (default: ${DEFAULT-VALUE}).")
        String wait;

        @Override
        public Integer call() throws Exception {
            Duration waitFor = Durations.parse(wait);
            try (FerryRuntime ferry = new FerryRuntime(parent.config, parent.routes, FerryRuntime.Trigger.MANUAL, null, null)) {
                ferry.start();
                requireDeclared(ferry, List.of(transfer));
                TransferSpec spec = ferry.catalog().get(transfer);
                if (spec.mode() == dev.ferry.config.Mode.FULL_REFRESH) {
                    System.out.println("transfer " + transfer + " is a full_refresh transfer: every run reads its tables whole,"
                            + " so there is nothing to reset");
                    return OK;
                }
                List<dev.ferry.config.TableRef> tables = dev.ferry.operate.Reset.tables(spec, table);
                String what = "transfer " + transfer + (tables.isEmpty() ? " (all its tables: " + spec.tableSelection() + ")"
                        : (table == null ? " (all its tables: " : " (table ")
                        + String.join(", ", tables.stream().map(dev.ferry.config.TableRef::display).toList()) + ")");
                Integer declined = yes ? null : confirm("Reset " + what + "? Its next run reads them again from the start (a"
                        + " backfill).", "ferry reset: not resetting " + what, "reset", "not reset");
                if (declined != null) {
                    return declined;
                }
                dev.ferry.operate.Reset.Result done;
                try {
                    done = dev.ferry.operate.Reset.reset(ferry.connections(), spec, tables, waitFor);
                } catch (dev.ferry.operate.Reset.Busy busy) {
                    System.err.println("ferry reset: " + busy.getMessage());
                    return FAILED;
                }
                System.out.println("reset " + what + ": " + (done.withWatermark().isEmpty() ? "no watermark was recorded"
                        : "watermark deleted for " + String.join(", ", done.withWatermark())) + "; the next run reads "
                        + (tables.size() == 1 ? "it" : "them") + " from the start (recorded in _ferry_runs, run id " + done.id() + ")");
                return OK;
            }
        }
    }

    @Command(name = "check", description = "Connect to every source and destination and check what the transfers need;"
            + " exit 0 only when all passed.")
    static final class CheckCommand implements Callable<Integer> {
        @CommandLine.ParentCommand
        Ferry parent;

        @Parameters(paramLabel = "TRANSFER", arity = "0..1", description = "Check only this transfer's connections.")
        String transfer;

        @Override
        public Integer call() throws Exception {
            java.util.Properties props = new java.util.Properties();
            props.setProperty("ferry.preflight", "false"); // the check itself reports what the startup check would
            try (FerryRuntime ferry = new FerryRuntime(parent.config, parent.routes, FerryRuntime.Trigger.MANUAL, props, null)) {
                ferry.start();
                if (transfer != null) {
                    requireDeclared(ferry, List.of(transfer));
                }
                List<TransferSpec> specs = transfer == null ? ferry.catalog().all() : List.of(ferry.catalog().get(transfer));
                List<Check.Item> items = Check.run(ferry.connections(), ferry.catalog(), specs);
                long failed = items.stream().filter(i -> i.status() == Check.Item.Status.FAIL).count();
                long warned = items.stream().filter(i -> i.status() == Check.Item.Status.WARN).count();
                for (Check.Item i : items) {
                    System.out.println(i.line());
                }
                System.out.printf("%d checks: %d passed, %d warning(s), %d failed%n", items.size(), items.size() - failed - warned,
                        warned, failed);
                return failed == 0 ? OK : FAILED;
            }
        }
    }

    @Command(name = "discover", description = "List a source's tables (row estimate, size, primary key, cursor candidates,"
            + " columns carried as text) and print a ready transfer YAML for them, with the mode suggested for each and why.")
    static final class DiscoverCommand implements Callable<Integer> {
        @CommandLine.ParentCommand
        Ferry parent;

        @Parameters(index = "0", paramLabel = "SOURCE", description = "A source declared in the properties.")
        String source;

        @Parameters(index = "1", arity = "0..1", paramLabel = "PATTERN",
                description = "Tables or patterns, as in a transfer's 'tables' (default: *.*, every schema but the system ones).")
        String pattern;

        @Option(names = "--destination", paramLabel = "NAME",
                description = "The destination the printed transfers write to (default: the only one declared).")
        String destination;

        @Option(names = "--every", paramLabel = "DURATION", defaultValue = "1h",
                description = "The printed transfers' schedule (default: ${DEFAULT-VALUE}).")
        String every;

        @Override
        public Integer call() throws Exception {
            if (pattern != null) {
                try {
                    dev.ferry.config.TableSelection.of(pattern);
                } catch (IllegalArgumentException e) {
                    throw new CommandLine.ParameterException(new CommandLine(this), "PATTERN '" + pattern + "': " + e.getMessage());
                }
            }
            try {
                Durations.parse(every);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(new CommandLine(this), "--every '" + every + "': " + e.getMessage());
            }
            return Discover.run(parent.config, source, pattern, destination, every);
        }
    }

    @Command(name = "demo", description = "Start embedded PostgreSQL with sample data and run the example transfers.")
    static final class Demo implements Callable<Integer> {
        @CommandLine.ParentCommand
        Ferry parent;

        @Option(names = "--once", description = "Run every transfer once, then exit.")
        boolean once;

        @Option(names = "--every", paramLabel = "DURATION", defaultValue = "20s",
                description = "How often each transfer runs (default: ${DEFAULT-VALUE}).")
        String every;

        @Override
        public Integer call() throws Exception {
            Duration d = Durations.parse(every);
            return dev.ferry.app.Demo.run(parent.config, parent.routes, once, d);
        }
    }

    /**
     * Asks on the terminal before a command changes what cannot be changed back; null when the user confirmed. Without a
     * terminal (a script, a container) it refuses with a usage error (2), saying to pass --yes; declined, OK (0).
     */
    static Integer confirm(String question, String refusal, String verb, String declined) {
        java.io.Console console = System.console();
        if (console == null) {
            System.err.println(refusal + ": there is no terminal to confirm on; pass --yes to " + verb + " without confirmation");
            return BAD_CONFIG;
        }
        String answer = console.readLine("%s [y/N] ", question);
        if (answer == null || !answer.strip().toLowerCase(java.util.Locale.ROOT).matches("y|yes")) {
            System.out.println(declined);
            return OK;
        }
        return null;
    }

    /** A usage error (exit 2) naming the transfers that are not declared, and those that are. */
    static void requireDeclared(FerryRuntime ferry, List<String> names) {
        List<String> unknown = names.stream().filter(n -> !ferry.catalog().contains(n)).toList();
        if (!unknown.isEmpty()) {
            throw new ConfigException("no transfer named " + String.join(", ", unknown) + "; declared transfers: "
                    + String.join(", ", ferry.catalog().all().stream().map(TransferSpec::name).toList()));
        }
    }

    /**
     * A recipient's transfer: where its destination is (a recipient's connection is not in the properties) and its
     * filter values; never a secret.
     */
    static String recipient(FerryRuntime ferry, TransferSpec spec) {
        if (ferry.connections().destinations().containsKey(spec.destination()) || spec.names().schema() != null) {
            return "";
        }
        dev.ferry.config.ConnectionSettings d = ferry.connections().destination(spec.destination());
        return "  recipient: " + d.user() + "@" + d.hostname() + ":" + d.port() + "/" + d.database() + ", schema " + d.schema()
                + (spec.filterValues().isEmpty() ? "" : ", filter " + new java.util.TreeMap<>(spec.filterValues()));
    }

    @Command(name = "list", description = "List the declared transfers (a recipients list's: each recipient's) and their schedules.")
    static final class ListTransfers implements Callable<Integer> {
        @CommandLine.ParentCommand
        Ferry parent;

        @Override
        public Integer call() throws Exception {
            try (FerryRuntime ferry = new FerryRuntime(parent.config, parent.routes, FerryRuntime.Trigger.MANUAL, null, null)) {
                ferry.start();
                for (TransferSpec spec : ferry.catalog().all()) {
                    System.out.printf("%-24s %s -> %s  %-12s %-22s %s%s%n", spec.name(), spec.source(), spec.destination(),
                            spec.mode().key(), spec.scheduleText(), spec.tableSelection().hasPatterns() ? "[" + spec.tableSelection() + "]"
                                    : spec.tables(), recipient(ferry, spec));
                }
            }
            return OK;
        }
    }

    /** Starts Ferry for a command that only reads the destinations' run history: no preflight, no schedules. */
    private static FerryRuntime reader(Ferry parent) throws Exception {
        java.util.Properties props = new java.util.Properties();
        props.setProperty("ferry.preflight", "false"); // an unreachable destination is shown, not a startup failure
        FerryRuntime ferry = new FerryRuntime(parent.config, parent.routes, FerryRuntime.Trigger.MANUAL, props, null);
        try {
            ferry.start();
        } catch (Exception e) {
            ferry.close();
            throw e;
        }
        return ferry;
    }

    private static dev.ferry.operate.StatusReader statusReader(FerryRuntime ferry) {
        // destinations read side by side (Camel's threads, ended with Camel): one unreachable waits its connectTimeout alone
        return new dev.ferry.operate.StatusReader(ferry.connections(), ferry.catalog(), dev.ferry.operate.NextFires.estimated(),
                ferry.camel().getExecutorServiceManager().newFixedThreadPool(ferry, "ferry-status", 8));
    }

    @Command(name = "status", description = "Each transfer's schedule, next fire time, last run, lag and last error, read from"
            + " its destination's run history.")
    static final class Status implements Callable<Integer> {
        @CommandLine.ParentCommand
        Ferry parent;

        @Option(names = "--json", description = "Print JSON (an array, one object per transfer) instead of a table.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            try (FerryRuntime ferry = reader(parent)) {
                java.time.Instant now = java.time.Instant.now();
                var statuses = statusReader(ferry).status();
                System.out.print(json ? dev.ferry.operate.StatusViews.json(statuses, now).toJson() + "\n"
                        : dev.ferry.operate.StatusViews.table(statuses, now));
            }
            return OK;
        }
    }

    @Command(name = "history", description = "A transfer's runs, newest first.")
    static final class History implements Callable<Integer> {
        @CommandLine.ParentCommand
        Ferry parent;

        @Parameters(paramLabel = "TRANSFER", description = "The transfer.")
        String transfer;

        @Option(names = "--limit", paramLabel = "N", defaultValue = "20", description = "Show at most N runs (default: ${DEFAULT-VALUE}).")
        int limit;

        @Option(names = "--json", description = "Print JSON (an array, one object per run) instead of a table.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            if (limit < 1) {
                throw new CommandLine.ParameterException(new CommandLine(this), "--limit must be at least 1");
            }
            try (FerryRuntime ferry = reader(parent)) {
                requireDeclared(ferry, List.of(transfer));
                java.time.Instant now = java.time.Instant.now();
                var runs = statusReader(ferry).history(transfer, limit);
                System.out.print(json ? dev.ferry.operate.StatusViews.runs(runs, now).toJson() + "\n"
                        : dev.ferry.operate.StatusViews.history(runs, now));
            }
            return OK;
        }
    }
}
