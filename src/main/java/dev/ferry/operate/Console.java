package dev.ferry.operate;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;

import dev.ferry.config.ConnectionSettings;
import dev.ferry.config.TransferCatalog;
import dev.ferry.config.TransferSpec;
import dev.ferry.connect.Connections;
import dev.ferry.failure.Errors;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.util.json.JsonArray;
import org.apache.camel.util.json.JsonObject;

/**
 * The console under {@code ferry run}: the pages and the JSON API that routes/ferry-console.yaml serves on the HTTP
 * server. Pages are rendered here, every user value escaped; a small script refreshes them every few seconds and
 * sends the actions (Test connection, Run now) to the API, with the token when one is needed ({@link ConsoleAuth}).
 * Nothing here ever shows a password: connections are shown by user, host, port, database and schema.
 */
public final class Console {

    /** The bean's name in Camel's registry, as the console's routes call it. */
    public static final String BEAN = "ferryConsole";
    /** The property that turns the "Run now" button on. */
    public static final String RUN_NOW = "ferry.console.runNow";

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger("dev.ferry");
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneId.systemDefault());

    private final Connections connections;
    private final TransferCatalog catalog;
    private final StatusReader reader;
    private final ConnectionTester tester;
    private final Runner runNow;
    private final CamelContext camel;
    private final boolean runNowEnabled;
    private final ConsoleAuth auth;
    /**
     * How long the transfers' status is shown again before it is read again, whoever asks: with hundreds of destination
     * databases, a page refreshed every few seconds (by several viewers) would otherwise query each of them that often,
     * and keep a session open on each. A run that ends in this process makes it stale at once; other nodes' runs show
     * within this time.
     */
    static final java.time.Duration STATUS_REUSE = java.time.Duration.ofSeconds(10);
    private final dev.ferry.observe.FerryMeters meters;
    /** The status last read, shown to every request while the next is read in the background; null before the first. */
    private volatile List<TransferStatus> status;
    /** The read going on, if any: one at a time. */
    private java.util.concurrent.Future<List<TransferStatus>> reading;
    private final ExecutorService refresher;
    /**
     * How long the first request waits for the first read (there is nothing to show before it). Each destination's read
     * gives up after {@link StatusReader#READ_BOUND}.
     */
    static final java.time.Duration STATUS_WAIT = StatusReader.READ_BOUND.plusSeconds(3);
    /**
     * How long a request waits for the read that follows the end of a run of this process, so that its outcome shows
     * at once: the destination just answered the run, and its read is quick; if it is not, the last read is shown.
     */
    static final java.time.Duration CHANGED_WAIT = java.time.Duration.ofSeconds(1);
    /** At most this many destination schemas read at once for a page. */
    private static final int READ_THREADS = 8;

    /**
     * @param runNow starts a transfer's run now, in the background, through its route as its trigger would (the
     *               transfer's lock and its servers' session budgets hold as for any run)
     */
    public Console(CamelContext camel, Connections connections, TransferCatalog catalog, ConnectionTester tester,
                   Runner runNow) {
        this.camel = camel;
        this.connections = connections;
        this.catalog = catalog;
        // destinations read side by side: one that cannot be reached waits its connectTimeout alone
        this.reader = new StatusReader(connections, catalog, NextFires.scheduler(camel),
                camel.getExecutorServiceManager().newThreadPool(this, "ferry-console-read",
                        new org.apache.camel.builder.ThreadPoolProfileBuilder("ferry-console-read").poolSize(READ_THREADS)
                                .maxPoolSize(READ_THREADS).allowCoreThreadTimeOut(true).keepAliveTime(30L).build()));
        this.refresher = camel.getExecutorServiceManager().newSingleThreadExecutor(this, "ferry-console-refresh");
        this.tester = tester;
        this.runNow = runNow;
        this.meters = camel.getRegistry().lookupByNameAndType(dev.ferry.observe.FerryMeters.BEAN, dev.ferry.observe.FerryMeters.class);
        var props = camel.getPropertiesComponent();
        this.runNowEnabled = props.resolveProperty(RUN_NOW).map(v -> Boolean.parseBoolean(v.trim())).orElse(false);
        // the addresses the server binds (users may set Camel's own properties over ferry.http.host): beyond loopback if
        // either is
        String serverHost = props.resolveProperty("camel.server.host").orElse(props.resolveProperty("ferry.http.host").orElse("127.0.0.1"));
        String managementHost = props.resolveProperty("camel.management.host").orElse(serverHost);
        String host = ConsoleAuth.loopback(serverHost) ? managementHost : serverHost;
        boolean http = props.resolveProperty("ferry.http.enabled").map(Boolean::parseBoolean).orElse(false);
        // without the server (one-off commands) the token is not needed, and its file not read
        this.auth = http ? new ConsoleAuth(host, System.getenv(ConsoleAuth.TOKEN_ENV), props.resolveProperty(ConsoleAuth.TOKEN_FILE).orElse(null))
                : new ConsoleAuth(host, null, null);
        if (http && auth.actionsLocked()) {
            LOG.warn("console: the HTTP server listens on {} (beyond localhost) and no console token is set: its actions (Test"
                    + " connection, Run now) are refused; set env {} or {} to a file holding one", host, ConsoleAuth.TOKEN_ENV,
                    ConsoleAuth.TOKEN_FILE);
        }
    }

    /** A single thread for the console's runs: one at a time, the others wait their turn (and the transfer lock). */
    public static Runner runner(ExecutorService thread, java.util.function.Function<String, ?> run) {
        return new Runner(thread, run);
    }

    /**
     * The runs asked for from the console ("Run now"), one at a time on one thread, in the order asked; a transfer
     * already queued or running from here is not queued again.
     */
    public static final class Runner {
        private final ExecutorService thread;
        private final java.util.function.Function<String, ?> run;
        /** Queued or running from the console, in order: the first runs. */
        private final java.util.LinkedHashSet<String> pending = new java.util.LinkedHashSet<>();

        Runner(ExecutorService thread, java.util.function.Function<String, ?> run) {
            this.thread = thread;
            this.run = run;
        }

        /**
         * Queues a run of the transfer.
         *
         * @return the transfers it waits behind (queued or running from the console), in order; empty: it starts now
         * @throws IllegalStateException when the transfer is already queued or running from the console
         */
        public synchronized List<String> submit(String name) {
            if (pending.contains(name)) {
                throw new IllegalStateException(name + " is already " + (pending.iterator().next().equals(name) ? "running"
                        : "queued") + " from the console");
            }
            List<String> ahead = new ArrayList<>(pending);
            pending.add(name);
            try {
                thread.submit(() -> {
                    try {
                        run.apply(name);
                    } catch (RuntimeException e) {
                        LOG.warn("console: transfer {}: the run asked for could not start: {}", name, Errors.describe(e));
                    } finally {
                        synchronized (this) {
                            pending.remove(name);
                        }
                    }
                });
            } catch (RuntimeException e) {
                pending.remove(name);
                throw e;
            }
            return ahead;
        }
    }

    private long runsEnded(String transfer) {
        return meters == null ? 0 : meters.runsEnded(transfer);
    }

    /**
     * The transfers' status as last read; a destination schema is read again (in the background, one read at a time)
     * when its read is older than {@link #STATUS_REUSE} or a run of one of its transfers ended since. A request waits
     * for a read only when there is none yet ({@link #STATUS_WAIT} at most) or a run of this process ended since the
     * last ({@link #CHANGED_WAIT} at most).
     */
    private List<TransferStatus> status() {
        List<TransferStatus> shown = status;
        StatusReader.Staleness staleness = reader.staleness(STATUS_REUSE, this::runsEnded);
        if (shown != null && staleness == StatusReader.Staleness.FRESH) {
            return shown;
        }
        java.util.concurrent.Future<List<TransferStatus>> read = read();
        if (shown != null && staleness == StatusReader.Staleness.OLD) {
            return shown;
        }
        try {
            return read.get((shown == null ? STATUS_WAIT : CHANGED_WAIT).toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
            return shown != null ? shown : reader.unknown("unreachable: no answer within " + STATUS_WAIT.toSeconds() + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return shown != null ? shown : reader.unknown("unreachable: interrupted");
        }
    }

    private synchronized java.util.concurrent.Future<List<TransferStatus>> read() {
        if (reading == null || reading.isDone()) {
            reading = refresher.submit(() -> {
                List<TransferStatus> read = reader.status(STATUS_REUSE, this::runsEnded);
                status = read;
                return read;
            });
        }
        return reading;
    }

    // ---- the JSON API

    public void apiStatus(Exchange ex) {
        if (foreignHost(ex)) {
            return;
        }
        json(ex, 200, StatusViews.json(status(), Instant.now()).toJson());
    }

    public void apiRuns(Exchange ex) {
        if (foreignHost(ex)) {
            return;
        }
        String name = ex.getMessage().getHeader("name", String.class);
        int limit = limit(ex);
        try {
            json(ex, 200, StatusViews.runs(reader.history(name, limit), Instant.now()).toJson());
        } catch (IllegalArgumentException e) {
            error(ex, 404, e.getMessage());
        } catch (java.sql.SQLException e) {
            error(ex, 503, "unreachable: " + Errors.describe(e));
        }
    }

    public void apiConnections(Exchange ex) {
        if (foreignHost(ex)) {
            return;
        }
        JsonArray a = new JsonArray();
        for (Conn c : connectionsShown()) {
            JsonObject o = new JsonObject();
            o.put("id", c.id());
            o.put("role", c.s().role().key());
            o.put("name", c.s().name());
            o.put("host", c.s().hostname());
            o.put("port", c.s().port());
            o.put("database", c.s().database());
            o.put("user", c.s().user());
            o.put("schema", c.s().role() == ConnectionSettings.Role.DESTINATION ? c.s().schema() : null);
            o.put("ssh", c.s().ssh() == null ? null : c.s().ssh().toString());
            o.put("recipient", c.recipient());
            a.add(o);
        }
        json(ex, 200, a.toJson());
    }

    public void apiCheck(Exchange ex) {
        if (refused(ex)) {
            return;
        }
        String id = ex.getMessage().getHeader("id", String.class);
        Conn c = connectionsShown().stream().filter(x -> x.id().equals(id)).findFirst().orElse(null);
        if (c == null) {
            error(ex, 404, "no connection '" + id + "'");
            return;
        }
        List<ConnectionTester.Line> lines = tester.test(c.s());
        String overall = lines.stream().anyMatch(l -> l.status().equals("FAIL")) ? "FAIL"
                : lines.stream().anyMatch(l -> l.status().equals("WARN")) ? "WARN" : "PASS";
        JsonObject o = new JsonObject();
        o.put("id", id);
        o.put("status", overall);
        JsonArray items = new JsonArray();
        for (ConnectionTester.Line l : lines) {
            JsonObject li = new JsonObject();
            li.put("status", l.status());
            li.put("subject", l.subject());
            li.put("text", l.text());
            li.put("fix", l.fix());
            items.add(li);
        }
        o.put("checks", items);
        json(ex, 200, o.toJson());
    }

    public void apiRun(Exchange ex) {
        if (refused(ex)) {
            return;
        }
        if (!runNowEnabled) {
            error(ex, 403, "Run now is off; set " + RUN_NOW + "=true to turn it on");
            return;
        }
        String name = ex.getMessage().getHeader("name", String.class);
        if (name == null || !catalog.contains(name)) {
            error(ex, 404, "no transfer named '" + name + "'");
            return;
        }
        List<String> ahead;
        try {
            ahead = runNow.submit(name);
        } catch (IllegalStateException e) {
            error(ex, 409, e.getMessage());
            return;
        }
        JsonObject o = new JsonObject();
        o.put("transfer", name);
        o.put("started", ahead.isEmpty());
        o.put("queuedBehind", new JsonArray(ahead));
        json(ex, 202, o.toJson());
    }

    /** Refuses a request that names another host than this server's (see {@link ConsoleAuth#hostRefusal}). */
    private boolean foreignHost(Exchange ex) {
        String refusal = auth.hostRefusal(host(ex), port());
        if (refusal == null) {
            return false;
        }
        error(ex, Integer.parseInt(refusal.substring(0, 3)), refusal.substring(4));
        return true;
    }

    /**
     * The host and port the request names: its Host header, or HTTP/2's :authority (Camel's header filter drops Host
     * from the message's headers).
     */
    private static String host(Exchange ex) {
        if (ex.getIn() instanceof org.apache.camel.component.platform.http.vertx.HttpMessage m) {
            io.vertx.core.net.HostAndPort a = m.getRequest().authority();
            if (a == null) {
                return null;
            }
            String h = a.host().contains(":") && !a.host().startsWith("[") ? "[" + a.host() + "]" : a.host();
            return a.port() < 0 ? h : h + ":" + a.port();
        }
        return ex.getMessage().getHeader("Host", String.class);
    }

    /** The port the server listens on (the free one taken for port 0); 0 when not known. */
    private int port() {
        var server = camel.hasService(org.apache.camel.component.platform.http.vertx.VertxPlatformHttpServer.class);
        return server == null ? 0 : server.getPort();
    }

    private boolean refused(Exchange ex) {
        if (foreignHost(ex)) {
            return true;
        }
        String refusal = ConsoleAuth.crossSite(ex.getMessage().getHeader("Origin", String.class), host(ex));
        if (refusal == null) {
            refusal = auth.refusal(ex.getMessage().getHeader("Authorization", String.class));
        }
        if (refusal == null) {
            return false;
        }
        error(ex, Integer.parseInt(refusal.substring(0, 3)), refusal.substring(4));
        return true;
    }

    // ---- the pages

    /** {@code /}: the transfers and the connections. */
    public void page(Exchange ex) {
        if (foreignHost(ex)) {
            return;
        }
        Instant now = Instant.now();
        StringBuilder b = new StringBuilder();
        b.append("<h2>Transfers</h2>\n<table id=\"transfers\"><thead><tr><th>Transfer</th><th>Schedule</th><th>Next</th>"
                + "<th>Last run</th><th>Status</th><th>Rows</th><th>Duration</th><th>Lag</th><th>Age</th><th>Rows per run</th>"
                + "<th>Last error</th>" + (runNowEnabled ? "<th></th>" : "") + "</tr></thead><tbody>\n");
        for (TransferStatus s : status()) {
            b.append("<tr data-transfer=\"").append(esc(s.name())).append("\"><td><a href=\"/transfers/")
                    .append(esc(url(s.name()))).append("\">").append(esc(s.name())).append("</a><div class=\"sub\">")
                    .append(esc(s.source())).append(" &rarr; ").append(esc(s.destination())).append(", ").append(esc(s.mode()))
                    .append("</div></td><td class=\"nowrap\">").append(esc(s.schedule())).append("</td><td class=\"nowrap\">")
                    .append(s.nextFire() == null ? "-" : (s.nextFireEstimated() ? "~" : "") + esc(TIME.format(s.nextFire())))
                    .append("</td>");
            TransferStatus.Run r = s.lastRun();
            if (s.unreachable() != null) {
                b.append("<td colspan=\"8\" class=\"failed\">").append(esc(s.unreachable())).append("</td>");
            } else {
                b.append("<td class=\"nowrap\">").append(r == null ? "never" : esc(TIME.format(r.started()))).append("</td>")
                        .append("<td>").append(r == null ? "-" : badge(r.status())).append("</td>")
                        .append("<td class=\"num\">").append(r == null ? "-" : r.rows()).append("</td>")
                        .append("<td class=\"num\">").append(r == null ? "-" : esc(StatusViews.duration(r.duration(now)))).append("</td>")
                        .append("<td class=\"num\">").append(esc(StatusViews.lag(s.lags()))).append("</td>")
                        .append("<td class=\"num\">").append(esc(StatusViews.duration(s.age(now)))).append("</td>")
                        .append("<td>").append(sparkline(s.recentRows())).append("</td>")
                        .append("<td class=\"error\">").append(s.lastError() == null ? "" : esc(s.lastError())).append("</td>");
            }
            if (runNowEnabled) {
                b.append("<td><button data-run=\"").append(esc(s.name())).append("\">Run now</button>")
                        .append("<span class=\"result\" data-result=\"run:").append(esc(s.name())).append("\"></span></td>");
            }
            b.append("</tr>\n");
        }
        b.append("</tbody></table>\n<h2>Connections</h2>\n<table id=\"connections\"><thead><tr><th>Connection</th><th>User</th>"
                + "<th>Server</th><th>Database</th><th>Schema</th><th></th><th>Result</th></tr></thead><tbody>\n");
        List<Conn> recipients = new ArrayList<>();
        for (Conn c : connectionsShown()) {
            if (c.recipient()) {
                recipients.add(c);
            } else {
                b.append(connectionRow(c));
            }
        }
        b.append("</tbody></table>\n");
        if (!recipients.isEmpty()) {
            b.append("<details><summary>Recipients' destinations (").append(recipients.size())
                    .append(")</summary><table class=\"compact\"><tbody>\n");
            recipients.forEach(c -> b.append(connectionRow(c)));
            b.append("</tbody></table></details>\n");
        }
        html(ex, "Ferry", b.toString());
    }

    /** {@code /transfers/NAME}: a transfer's runs, newest first, with their errors. */
    public void transferPage(Exchange ex) {
        if (foreignHost(ex)) {
            return;
        }
        String name = ex.getMessage().getHeader("name", String.class);
        Instant now = Instant.now();
        StringBuilder b = new StringBuilder("<p><a href=\"/\">&larr; all transfers</a></p>\n<h2>")
                .append(esc(name)).append("</h2>\n");
        List<TransferStatus.Run> runs;
        try {
            runs = reader.history(name, limit(ex));
        } catch (IllegalArgumentException e) {
            ex.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 404);
            html(ex, "Ferry: not found", b.append("<p>").append(esc(e.getMessage())).append("</p>").toString());
            return;
        } catch (java.sql.SQLException e) {
            html(ex, "Ferry: " + name, b.append("<p class=\"failed\">unreachable: ").append(esc(Errors.describe(e)))
                    .append("</p>").toString());
            return;
        }
        b.append("<table id=\"runs\"><thead><tr><th>Run</th><th>Started</th><th>Duration</th><th>Status</th><th>Rows</th>"
                + "<th>Tables</th><th>Attempts</th><th>Errors</th></tr></thead><tbody>\n");
        for (TransferStatus.Run r : runs) {
            b.append("<tr><td class=\"mono\">").append(esc(r.id().toString())).append("</td><td>").append(esc(TIME.format(r.started())))
                    .append("</td><td class=\"num\">").append(esc(StatusViews.duration(r.duration(now)))).append("</td><td>")
                    .append(badge(r.status())).append("</td><td class=\"num\">").append(r.rows()).append("</td><td class=\"num\">")
                    .append(r.tables()).append("</td><td class=\"num\">").append(r.attempts()).append("</td><td class=\"error\">");
            r.errors().forEach(e -> b.append("<div>").append(esc(e)).append("</div>"));
            b.append("</td></tr>\n");
        }
        html(ex, "Ferry: " + name, b.append("</tbody></table>\n").toString());
    }

    private String connectionRow(Conn c) {
        ConnectionSettings s = c.s();
        return "<tr data-connection=\"" + esc(c.id()) + "\"><td>" + esc(s.role().key()) + " <b>" + esc(s.name()) + "</b></td><td>"
                + esc(s.user()) + "</td><td>" + esc(s.hostname()) + ":" + s.port() + (s.ssh() == null ? "" : " via " + esc(s.ssh().toString()))
                + "</td><td>" + esc(s.database()) + "</td><td>" + (s.role() == ConnectionSettings.Role.DESTINATION ? esc(s.schema()) : "")
                + "</td><td><button data-check=\"" + esc(c.id()) + "\">Test connection</button></td><td class=\"result\" data-result=\"check:"
                + esc(c.id()) + "\"></td></tr>\n";
    }

    /** A connection as the console lists it: declared (or a transfer's destinationSchema), or a recipient's destination. */
    private record Conn(String id, ConnectionSettings s, boolean recipient) {
    }

    private List<Conn> connectionsShown() {
        Map<String, Conn> all = new LinkedHashMap<>();
        java.util.Comparator<ConnectionSettings> byName = java.util.Comparator.comparing(ConnectionSettings::name);
        connections.sources().values().stream().sorted(byName).forEach(s -> all.put(id(s), new Conn(id(s), s, false)));
        connections.destinations().values().stream().sorted(byName).forEach(s -> all.put(id(s), new Conn(id(s), s, false)));
        for (TransferSpec t : catalog.all().stream().sorted(java.util.Comparator.comparing(TransferSpec::destination)).toList()) {
            if (!connections.destinations().containsKey(t.destination())) {
                ConnectionSettings s = connections.destination(t.destination());
                if (s != null) {
                    // a recipient's, or a destinationSchema's (shown with the declared ones)
                    all.putIfAbsent(id(s), new Conn(id(s), s, t.names().schema() == null));
                }
            }
        }
        return new ArrayList<>(all.values());
    }

    private static String id(ConnectionSettings s) {
        return s.role().key() + "." + s.name();
    }

    private static String badge(String status) {
        return "<span class=\"badge " + esc(status) + "\">" + esc(status) + "</span>";
    }

    /** Rows per run, oldest first, as an inline SVG line (the last points of {@link StatusReader#RECENT_RUNS}). */
    static String sparkline(List<Long> rows) {
        if (rows.isEmpty()) {
            return "";
        }
        int w = 100;
        int h = 20;
        // scaled between the smallest and the largest run, as sparklines are: the shape of change shows
        long min = rows.stream().mapToLong(Long::longValue).min().orElse(0);
        long max = rows.stream().mapToLong(Long::longValue).max().orElse(0);
        StringBuilder points = new StringBuilder();
        for (int i = 0; i < rows.size(); i++) {
            double x = rows.size() == 1 ? w / 2.0 : 1 + i * (w - 2.0) / (rows.size() - 1);
            double y = max == min ? h / 2.0 : h - 2 - (rows.get(i) - min) * (h - 4.0) / (max - min);
            points.append(String.format(java.util.Locale.ROOT, "%.1f,%.1f ", x, y));
        }
        String last = points.toString().trim();
        last = last.substring(last.lastIndexOf(' ') + 1);
        String[] xy = last.split(",");
        return "<svg class=\"spark\" width=\"" + w + "\" height=\"" + h + "\" viewBox=\"0 0 " + w + " " + h + "\"><title>"
                + rows.size() + " runs, last " + rows.get(rows.size() - 1) + " rows</title><polyline fill=\"none\" stroke=\"#2b6cb0\""
                + " stroke-width=\"1.5\" points=\"" + points.toString().trim() + "\"/><circle cx=\"" + xy[0] + "\" cy=\"" + xy[1]
                + "\" r=\"2\" fill=\"#2b6cb0\"/></svg>";
    }

    private static int limit(Exchange ex) {
        String text = ex.getMessage().getHeader("limit", String.class);
        try {
            return text == null ? 20 : Math.max(1, Math.min(Integer.parseInt(text.trim()), 1000));
        } catch (NumberFormatException e) {
            return 20; // a page's query string is typed by hand: a bad one gets the default
        }
    }

    /** HTML's five special characters escaped: every user value on a page goes through here. */
    public static String esc(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    private static String url(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private void html(Exchange ex, String title, String main) {
        String page = PAGE.replace("{{title}}", esc(title))
                .replace("{{token}}", auth.tokenRequired() ? TOKEN_FIELD : "")
                .replace("{{refreshed}}", esc(TIME.format(Instant.now())))
                .replace("{{main}}", main);
        ex.getMessage().setHeader(Exchange.CONTENT_TYPE, "text/html; charset=utf-8");
        ex.getMessage().setHeader("Cache-Control", "no-store");
        ex.getMessage().setBody(page);
    }

    private static void json(Exchange ex, int status, String body) {
        ex.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, status);
        ex.getMessage().setHeader(Exchange.CONTENT_TYPE, "application/json");
        ex.getMessage().setHeader("Cache-Control", "no-store");
        ex.getMessage().setBody(body);
    }

    private static void error(Exchange ex, int status, String message) {
        JsonObject o = new JsonObject();
        o.put("error", message);
        json(ex, status, o.toJson());
    }

    private static final String TOKEN_FIELD = "<label>token <input id=\"token\" type=\"password\" autocomplete=\"off\""
            + " placeholder=\"needed for actions\"></label>";

    /**
     * The page around each view. Its script replaces {@code <main>} with a fresh copy of the same page every 5 seconds
     * (rendered and escaped by the server), keeps the actions' results across refreshes, and sends the actions with the
     * token typed in (kept for the browser tab only).
     */
    private static final String PAGE = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>{{title}}</title>
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <style>
            body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1a202c;background:#f7fafc}
            header{background:#1a365d;color:#fff;padding:10px 20px;display:flex;gap:20px;align-items:center}
            header h1{font-size:18px;margin:0}header a{color:#fff;text-decoration:none}header .grow{flex:1}
            header small{opacity:.8}main{padding:10px 20px}h2{font-size:16px;margin:18px 0 8px}
            table{border-collapse:collapse;background:#fff;box-shadow:0 1px 2px #0002;width:100%}
            th,td{padding:5px 8px;border-bottom:1px solid #e2e8f0;text-align:left;vertical-align:top}
            th{background:#edf2f7;font-weight:600;font-size:12px}.num{text-align:right;white-space:nowrap}.nowrap{white-space:nowrap}
            .sub{color:#718096;font-size:12px}.error{color:#9b2c2c;font-size:12px;max-width:280px;overflow-wrap:anywhere}
            .mono{font-family:monospace;font-size:12px}.badge{padding:1px 6px;border-radius:8px;font-size:12px;background:#e2e8f0}
            .badge.succeeded{background:#c6f6d5;color:#22543d}.badge.failed{background:#fed7d7;color:#822727}
            .badge.running{background:#bee3f8;color:#2a4365}.failed{color:#9b2c2c}
            .result{font-size:12px;word-break:break-word;max-width:420px}.PASS{color:#22543d;font-weight:600}
            .FAIL{color:#9b2c2c;font-weight:600}.WARN{color:#975a16;font-weight:600}
            button{font-size:12px;padding:2px 8px;cursor:pointer;white-space:nowrap}span.result{display:block}details{margin-top:10px}
            table.compact td{padding:2px 8px;font-size:12px}
            </style></head><body>
            <header><h1><a href="/">Ferry</a></h1><span class="grow"></span>{{token}}<small>refreshed <span id="refreshed">{{refreshed}}</span></small></header>
            <main id="main">
            {{main}}
            </main>
            <script>
            (function () {
              var results = {};
              var tokenField = document.getElementById('token');
              if (tokenField) {
                tokenField.value = sessionStorage.getItem('ferryToken') || '';
                tokenField.addEventListener('change', function () { sessionStorage.setItem('ferryToken', tokenField.value); });
              }
              function show() {
                document.querySelectorAll('[data-result]').forEach(function (el) {
                  var r = results[el.getAttribute('data-result')];
                  el.textContent = '';
                  if (!r) { return; }
                  var b = document.createElement('span');
                  b.className = r.status;
                  b.textContent = r.status;
                  el.appendChild(b);
                  if (r.text) { el.appendChild(document.createTextNode(' ' + r.text)); }
                });
              }
              function refresh() {
                fetch(location.href, {cache: 'no-store'}).then(function (r) { return r.text(); }).then(function (text) {
                  var doc = new DOMParser().parseFromString(text, 'text/html');
                  var fresh = doc.getElementById('main');
                  if (fresh) {
                    document.getElementById('main').innerHTML = fresh.innerHTML;
                    document.getElementById('refreshed').textContent = doc.getElementById('refreshed').textContent;
                    show();
                  }
                }).catch(function () {});
              }
              function post(url, key, describe) {
                results[key] = {status: '...', text: 'working'};
                show();
                var headers = {};
                var token = tokenField ? tokenField.value : '';
                if (token) { headers['Authorization'] = 'Bearer ' + token; }
                fetch(url, {method: 'POST', headers: headers}).then(function (r) {
                  return r.json().then(function (body) { results[key] = describe(r.status, body); show(); });
                }).catch(function (e) { results[key] = {status: 'FAIL', text: String(e)}; show(); });
              }
              document.addEventListener('click', function (e) {
                var t = e.target;
                if (t.hasAttribute('data-check')) {
                  var id = t.getAttribute('data-check');
                  post('/api/connections/' + encodeURIComponent(id) + '/check', 'check:' + id, function (code, body) {
                    if (body.error) { return {status: 'FAIL', text: body.error}; }
                    var bad = body.checks.filter(function (c) { return c.status !== 'PASS'; });
                    return {status: body.status, text: bad.map(function (c) {
                      return c.text + (c.fix ? ' (fix: ' + c.fix + ')' : ''); }).join('; ')};
                  });
                } else if (t.hasAttribute('data-run')) {
                  var name = t.getAttribute('data-run');
                  post('/api/transfers/' + encodeURIComponent(name) + '/run', 'run:' + name, function (code, body) {
                    return body.error ? {status: 'FAIL', text: body.error} : {status: 'PASS', text: body.started
                        ? 'run started' : 'queued behind ' + body.queuedBehind.join(', ')};
                  });
                  setTimeout(refresh, 1000);
                }
              });
              setInterval(refresh, 5000);
            })();
            </script>
            </body></html>
            """;
}
