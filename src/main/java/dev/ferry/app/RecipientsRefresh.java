package dev.ferry.app;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

import dev.ferry.config.ConnectionSettings;
import dev.ferry.config.Placeholders;
import dev.ferry.config.Recipients;
import dev.ferry.config.Recipients.Recipient;
import dev.ferry.config.ReservedNames;
import dev.ferry.config.TransferCatalog;
import dev.ferry.config.TransferCatalog.RecipientsList;
import dev.ferry.config.TransferSpec;
import dev.ferry.connect.Connections;
import dev.ferry.failure.Errors;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;

/**
 * Keeps each recipients list's transfers in line with the list (the {@code ferryRecipients} bean of the
 * {@code ferry-recipients} route): a recipient added to the list gets its transfer ({@code <transfer>.<recipient>}, a
 * route of the {@code ferry-transfer} template with its own trigger, run history, lock and webhook), a removed one's
 * transfer is stopped (a running run first ends, as at shutdown) and removed, a changed one's is replaced.
 *
 * <p>Each recipient's transfer is checked as startup checks a declared one; a recipient with a problem is logged with
 * where it is written and left out, and the others run. A list that cannot be read at all (a query whose source is
 * down, a file that is not YAML) leaves the transfers as they are.
 */
public final class RecipientsRefresh {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger("dev.ferry");

    private final CamelContext camel;
    private final TransferCatalog catalog;
    private final Connections connections;
    private final TransferRoutes routes;
    /** Each list's recipients that have their transfer, by transfer name, as read when it was made. */
    private final Map<String, Map<String, Recipient>> made = new HashMap<>();
    /** What the last read of each list reported, so that a problem that stays is logged once, not every refresh. */
    private final Map<String, Set<String>> reported = new HashMap<>();

    public RecipientsRefresh(CamelContext camel, TransferCatalog catalog, Connections connections) {
        this.camel = camel;
        this.catalog = catalog;
        this.connections = connections;
        this.routes = new TransferRoutes(camel, catalog);
    }

    /** The route's step: the list of the transfer whose route fired. */
    public void refresh(Exchange exchange) {
        refresh(exchange.getFromRouteId());
    }

    /** Reads every list (at startup, before any trigger fires). */
    public synchronized void refreshAll() {
        for (String list : catalog.lists().keySet()) {
            refresh(list);
        }
    }

    /** Reads one list again and brings its recipients' transfers in line with it. */
    public synchronized void refresh(String listName) {
        RecipientsList list = catalog.lists().get(listName);
        if (list == null) {
            return;
        }
        List<String> problems = new ArrayList<>();
        List<Recipient> recipients = read(list, problems);
        Map<String, Recipient> current = made.computeIfAbsent(listName, k -> new LinkedHashMap<>());
        if (recipients != null) {
            Map<String, Recipient> wanted = new LinkedHashMap<>();
            recipients.forEach(r -> wanted.put(list.name() + "." + r.name(), r));
            for (String name : new ArrayList<>(current.keySet())) {
                Recipient now = wanted.get(name);
                if (now == null || !same(now, current.get(name))) {
                    remove(name, now == null ? "left the recipients list" : "changed", now != null);
                    current.remove(name);
                }
            }
            wanted.forEach((name, r) -> {
                if (!current.containsKey(name)) {
                    if (add(list, name, r, problems)) {
                        current.put(name, r);
                    } else {
                        routes.gone(name); // (a changed recipient's meters were kept for it)
                    }
                }
            });
        }
        Set<String> now = new TreeSet<>(problems);
        Set<String> before = reported.put(listName, now);
        for (String p : now) {
            if (before == null || !before.contains(p)) {
                LOG.warn("recipients: {}", p);
            }
        }
    }

    /**
     * Removes every recipient's transfer of a list (the transfer with the list was removed from the route files, or
     * changed: a changed one is read again, with {@link #refresh(String)}, once the catalog holds it anew).
     */
    public synchronized void drop(String listName) {
        Map<String, Recipient> current = made.remove(listName);
        reported.remove(listName);
        if (current != null) {
            current.keySet().forEach(name -> remove(name, "belongs to a list removed or changed in the route files", false));
        }
    }

        /** What makes a recipient's transfer: all but where it is written (a line moved by an edit above it). */
    private static boolean same(Recipient a, Recipient b) {
        return java.util.Objects.equals(a.destination(), b.destination()) && a.connection().equals(b.connection()) && a.filter().equals(b.filter())
                && java.util.Objects.equals(a.webhook(), b.webhook());
    }

    private List<Recipient> read(RecipientsList list, List<String> problems) {
        if (list.file() != null) {
            Path routes = list.file().getParent();
            while (routes.getParent() != null && !Recipients.FOLDER.equals(String.valueOf(routes.getFileName()))) {
                routes = routes.getParent();
            }
            routes = routes.getParent() != null ? routes.getParent() : routes;
            String display = (routes.getFileName() == null ? "" : routes.getFileName() + "/") + routes.relativize(list.file());
            return Recipients.read(list.file(), display, problems);
        }
        ConnectionSettings source = connections.source(list.source());
        String label = list.where() + ": transfer '" + list.name() + "': recipients query";
        List<Recipient> recipients = new ArrayList<>();
        Set<String> names = new HashSet<>();
        try (Connection c = connections.dataSource(source).getConnection()) {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(list.sql())) {
                ResultSetMetaData md = rs.getMetaData();
                int row = 0;
                while (rs.next()) {
                    row++;
                    Map<String, String> fields = new LinkedHashMap<>();
                    for (int i = 1; i <= md.getColumnCount(); i++) {
                        fields.put(md.getColumnLabel(i), rs.getString(i));
                    }
                    String where = label + ", row " + row;
                    Recipient r = Recipients.recipient(fields, Map.of(), where, problems);
                    if (r != null && !names.add(r.name())) {
                        problems.add(where + ": recipient '" + r.name() + "' is listed twice; names must be unique");
                    } else if (r != null) {
                        recipients.add(r);
                    }
                }
            } finally {
                c.rollback();
            }
        } catch (SQLException e) {
            problems.add(label + " failed, so its recipients' transfers stay as they were: " + Errors.describe(e));
            return null;
        }
        return recipients;
    }

    /** Makes a recipient's transfer: its destination, its parameters, its route. */
    private boolean add(RecipientsList list, String name, Recipient r, List<String> problems) {
        int before = problems.size();
        ConnectionSettings destination = destination(list, name, r, problems);
        if (destination == null) {
            return false;
        }
        Map<String, String> params = new LinkedHashMap<>(list.parameters());
        params.put("name", name);
        params.put("destination", destination.name());
        params.remove("destinationSchema"); // applied above, where a recipient's own schema wins over it
        try {
            // placeholders ({{env:X}}) resolved once, as a declared transfer's are
            r.filter().forEach((k, v) -> params.put("filter." + k, v.contains("{{") ? Placeholders.resolve(camel, v, false) : v));
            if (r.webhook() != null) {
                params.put("webhook", r.webhook().contains("{{") ? Placeholders.resolve(camel, r.webhook(), true) : r.webhook());
            }
        } catch (Placeholders.Unresolved e) {
            problems.add(r.where() + ": " + e.getMessage());
            connections.forget(destination.name());
            return false;
        }
        // what the recipient gives is written at the recipient, the rest at the transfer
        Function<String, String> where = p -> p == null || p.equals("name") || p.equals("destination") || p.equals("webhook")
                || p.startsWith("filter.") ? r.where() : catalog.where(list.name(), p);
        TransferSpec spec = catalog.admit(name, params, where, problems);
        if (spec == null || problems.size() > before) {
            if (spec != null) {
                catalog.dismiss(name);
            }
            connections.forget(destination.name());
            return false;
        }
        try {
            routes.add(name, params);
        } catch (Exception e) {
            problems.add(r.where() + ": transfer '" + name + "' could not be added: " + Errors.describe(e));
            connections.forget(destination.name());
            return false;
        }
        LOG.info("recipients: transfer {}: added ({} -> {}{})", name, spec.source(), destination.describe(),
                spec.filterValues().isEmpty() ? "" : ", filter values " + spec.filterValues());
        return true;
    }

    /**
     * A recipient's destination, under its transfer's name: a connection of its own when it gives a {@code hostname};
     * otherwise the declared destination it names (or the transfer's), writing into its own {@code schema}.
     */
    private ConnectionSettings destination(RecipientsList list, String name, Recipient r, List<String> problems) {
        Map<String, String> fields = r.connection();
        Set<String> unknown = new TreeSet<>(fields.keySet());
        unknown.removeAll(Connections.destinationFields());
        if (!unknown.isEmpty()) {
            problems.add(r.where() + ": unknown field '" + String.join("', '", unknown) + "'; a recipient takes name, destination,"
                    + " filter, webhook and a destination's fields: " + String.join(", ", new TreeSet<>(Connections.destinationFields())));
            return null;
        }
        if (fields.containsKey("hostname")) {
            if (r.destination() != null) {
                problems.add(r.where() + ": set 'destination' (a declared destination, with its own schema) or 'hostname' (a"
                        + " connection of its own), not both");
                return null;
            }
            ConnectionSettings own = connections.declare(camel, name, fields, r.where(), problems);
            return own == null || schemaProblem(r, own.schema(), problems) ? forgotten(own) : own;
        }
        String base = r.destination() != null ? r.destination() : list.spec().destination();
        ConnectionSettings declared = connections.destinations().get(base);
        if (declared == null) {
            problems.add(r.where() + ": no destination named '" + base + "'; name one declared in " + connections.configName()
                    + " (" + String.join(", ", new TreeSet<>(connections.destinations().keySet())) + "), or give the recipient"
                    + " a connection of its own (hostname, port, database, user, password, schema)");
            return null;
        }
        Set<String> others = new TreeSet<>(fields.keySet());
        others.remove("schema");
        if (!others.isEmpty()) {
            problems.add(r.where() + ": " + String.join(", ", others) + ": a recipient of destination '" + base + "' sets only its"
                    + " schema; for a connection of its own, give hostname (and port, database, user, password, schema)");
            return null;
        }
        // the recipient's own schema, else the transfer's destinationSchema, else the destination's
        String schema = fields.get("schema");
        String transfers = list.spec().names().schema();
        schema = schema != null && !schema.isBlank() ? schema.strip() : transfers != null ? transfers : declared.schema();
        if (schemaProblem(r, schema, problems)) {
            return null;
        }
        ConnectionSettings s = declared.forRecipient(name, schema);
        connections.declare(s);
        return s;
    }

    private ConnectionSettings forgotten(ConnectionSettings s) {
        if (s != null) {
            connections.forget(s.name());
        }
        return null;
    }

    private static boolean schemaProblem(Recipient r, String schema, List<String> problems) {
        String reserved = ReservedNames.schemaProblem(schema);
        if (reserved != null) {
            problems.add(r.where() + ": schema: " + reserved);
            return true;
        }
        return false;
    }

    /** Stops a recipient's transfer (a running run ends first, as at shutdown) and removes it. */
    private void remove(String name, String why, boolean replacing) {
        routes.remove(name, replacing);
        connections.forget(name);
        if (!replacing) {
            routes.checksInStep();
        }
        LOG.info("recipients: transfer {}: removed (its recipient {})", name, why);
    }
}
