package dev.ferry.pipeline;

import dev.ferry.failure.Errors;
import dev.ferry.state.Runs;
import dev.ferry.state.TransferRun;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;

import dev.ferry.config.Secret;
import dev.ferry.config.WebhookUrl;
import org.apache.camel.Exchange;
import org.apache.camel.util.json.JsonArray;
import org.apache.camel.util.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Run notifications: when a run ends, a JSON event ({@code transfer_success} or {@code transfer_error}, like Orb's
 * data-export events) is POSTed to the transfer's webhook, or to {@code ferry.webhook.url}; and a {@code schema_change}
 * event for a table whose columns differed from the source's (see {@link #schemaChangeEvent}). The notify route retries a
 * failing webhook a few times; a webhook that still fails is logged and never fails the transfer.
 *
 * <p>Webhook URLs may carry tokens, so logs and exception messages (which Camel logs on each retry) show only their
 * scheme, host, port and path ({@link WebhookUrl#display}); URLs and the token were checked at startup.
 */
public final class Notifications {

    private static final Logger LOG = LoggerFactory.getLogger("dev.ferry.notify");
    /** Exchange property: how many times {@link #post} has tried the webhook for this run. */
    static final String ATTEMPTS = "ferryNotifyAttempts";
    /** Exchange property: a table's schema_change event, while the notify route sends it. */
    static final String SCHEMA_CHANGE = "ferrySchemaChange";

    private final String defaultUrl;
    private final Secret token;
    // created on the first event: an idle client keeps a selector thread in native code, which holds up JVM exit
    private volatile HttpClient http;

    public Notifications(String defaultUrl, Secret token) {
        this.defaultUrl = defaultUrl;
        this.token = token == null ? Secret.EMPTY : token;
    }

    /** Whether this exchange's run ended in a way worth telling, and has somewhere to tell it. */
    public boolean wanted(Exchange exchange) {
        TransferRun run = exchange.getProperty(Runs.RUN, TransferRun.class);
        if (exchange.getProperty(SCHEMA_CHANGE) != null) {
            return run != null && url(run) != null;
        }
        return run != null && run.status() != TransferRun.Status.SKIPPED && url(run) != null;
    }

    /**
     * The table route's filter after the table committed: whether it has schema changes applied or ignored
     * (onSchemaChange) to send, once per table and run; puts its {@code schema_change} event on the exchange if so.
     */
    public boolean schemaChangeApplied(Exchange exchange) {
        return schemaChange(exchange, false);
    }

    /**
     * The error route's: whether the failed table has schema changes that stand (onSchemaChange stopped it on them, or
     * they were committed before a later step failed: a merge mode's before its first batch, any mode's destination
     * types, a full refresh's with its swap); its event, with those changes only, once, as above.
     */
    public boolean schemaChangeOfFailedTable(Exchange exchange) {
        return schemaChange(exchange, true);
    }

    private boolean schemaChange(Exchange exchange, boolean failed) {
        TableLoad load = exchange.getProperty(TableLoad.TABLE, TableLoad.class);
        java.util.List<dev.ferry.destination.SchemaEvolution.Change> changes = load == null ? java.util.List.of()
                : failed ? load.standingSchemaChanges() : load.schemaChanges();
        if (changes.isEmpty() || url(load.run()) == null || !load.reportSchemaChanges()) {
            return false;
        }
        exchange.setProperty(SCHEMA_CHANGE, schemaChangeEvent(load, changes));
        return true;
    }

    /**
     * A table's {@code schema_change} event: its transfer, table, run, the transfer's onSchemaChange, whether the
     * table stopped on them, and each change (kind added, dropped or retyped, or a destination type's: type created, enum
     * label added, attribute added; column; from and to; applied).
     */
    static JsonObject schemaChangeEvent(TableLoad load, java.util.List<dev.ferry.destination.SchemaEvolution.Change> reported) {
        TransferRun run = load.run();
        JsonObject e = new JsonObject();
        e.put("type", "schema_change");
        e.put("transfer", run.spec().name());
        e.put("table", load.source().display());
        e.put("destination_table", load.schema() + "." + load.table());
        e.put("run_id", run.id().toString());
        e.put("policy", run.spec().changes().onSchemaChange().key());
        e.put("mode", run.spec().mode().key());
        e.put("stopped", load.schemaStopped());
        JsonArray changes = new JsonArray();
        for (dev.ferry.destination.SchemaEvolution.Change c : reported) {
            JsonObject j = new JsonObject();
            j.put("kind", c.kind());
            j.put("column", c.column());
            j.put("from", c.from());
            j.put("to", c.to());
            j.put("applied", c.applied());
            changes.add(j);
        }
        e.put("changes", changes);
        e.put("at", Instant.now().toString());
        return e;
    }

    public void post(Exchange exchange) throws IOException, InterruptedException {
        // Camel drops its redelivery counter before the dead letter runs: counted here, for undelivered()
        exchange.setProperty(ATTEMPTS, exchange.getProperty(ATTEMPTS, 0, Integer.class) + 1);
        TransferRun run = exchange.getProperty(Runs.RUN, TransferRun.class);
        String url = url(run);
        JsonObject schemaChange = exchange.getProperty(SCHEMA_CHANGE, JsonObject.class);
        String type = schemaChange != null ? "schema_change" : type(run);
        String body = (schemaChange != null ? schemaChange : event(run)).toJson();
        HttpRequest request;
        try {
            HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
                    .header("Content-Type", "application/json")
                    .header("User-Agent", "ferry")
                    .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
            if (!token.isEmpty()) {
                req.header("Authorization", "Bearer " + token.reveal());
            }
            request = req.build();
        } catch (IllegalArgumentException e) {
            // its message quotes the URL or the header value; both were checked at startup, so this is a safety net
            throw new IOException("webhook " + WebhookUrl.display(url) + ": the request cannot be built (" + e.getClass().getSimpleName() + ")");
        }
        HttpResponse<Void> response;
        try {
            response = client().send(request, HttpResponse.BodyHandlers.discarding());
        } catch (IOException e) {
            // Camel logs this message on every retry: it must show the URL as display() does, and nothing else of it
            throw new IOException("webhook " + WebhookUrl.display(url) + " unreachable: " + e.getClass().getSimpleName()
                    + (e.getMessage() != null ? " " + WebhookUrl.redact(e.getMessage(), url) : ""));
        }
        if (response.statusCode() / 100 != 2) {
            throw new IOException("webhook " + WebhookUrl.display(url) + " answered HTTP " + response.statusCode());
        }
        LOG.info("transfer {}: {} sent to {}", run.spec().name(), type, WebhookUrl.display(url));
    }

    /**
     * The notify route's dead letter: the webhook failed every attempt. The attempts are counted as they are made, so
     * the route's redelivery policy stays the one place that says how many there are.
     */
    public void undelivered(Exchange exchange) {
        TransferRun run = exchange.getProperty(Runs.RUN, TransferRun.class);
        Throwable cause = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        int attempts = exchange.getProperty(ATTEMPTS, 0, Integer.class);
        LOG.warn("transfer {}: {} for run {} not delivered after {} attempt{} ({}); the transfer itself is unaffected",
                run == null ? exchange.getFromRouteId() : run.spec().name(), run == null ? "event"
                        : exchange.getProperty(SCHEMA_CHANGE) != null ? "schema_change" : type(run),
                run == null ? "?" : run.id(), attempts, attempts == 1 ? "" : "s", Errors.describe(cause));
    }

    private String url(TransferRun run) {
        return run.spec().webhook() != null ? run.spec().webhook() : defaultUrl;
    }

    static String type(TransferRun run) {
        return run.status() == TransferRun.Status.SUCCEEDED ? "transfer_success" : "transfer_error";
    }

    /** The event: what ran, how it ended, how many rows, how long, and the error if any. */
    public static JsonObject event(TransferRun run) {
        JsonObject e = new JsonObject();
        e.put("type", type(run));
        e.put("transfer", run.spec().name());
        e.put("run_id", run.id().toString());
        e.put("status", run.status().name().toLowerCase());
        e.put("mode", run.spec().mode().key());
        e.put("source", run.spec().source());
        e.put("destination", run.spec().destination());
        e.put("started_at", run.startedAt().toString());
        e.put("finished_at", Instant.now().toString());
        e.put("duration_seconds", Math.round(run.seconds() * 1000) / 1000.0);
        e.put("rows", run.rows());
        JsonArray tables = new JsonArray();
        run.outcomes().values().stream().sorted(Comparator.comparing(o -> o.table().display())).forEach(o -> {
            JsonObject t = new JsonObject();
            t.put("table", o.table().display());
            t.put("destination_table", run.destination().schema() + "." + run.spec().names().nameOf(o.table()));
            t.put("status", o.status().name().toLowerCase());
            t.put("rows", o.rows());
            t.put("error", o.error());
            tables.add(t);
        });
        e.put("tables", tables);
        e.put("error", run.error());
        return e;
    }

    private HttpClient client() {
        HttpClient c = http;
        if (c == null) {
            synchronized (this) {
                c = http;
                if (c == null) {
                    c = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
                    http = c;
                }
            }
        }
        return c;
    }
}
