package dev.ferry.app;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import dev.ferry.config.ConfigException;
import dev.ferry.config.RouteFiles;
import dev.ferry.config.TransferCatalog;
import dev.ferry.config.TransferSpec;
import dev.ferry.connect.Connections;
import dev.ferry.failure.Errors;
import org.apache.camel.CamelContext;

/**
 * Keeps the running transfers in line with the route files while Ferry runs (the {@code ferry-routes-refresh} timer
 * route, every {@code ferry.routesRefresh}): it reads {@code routes/*.yaml} again and, when the transfers declared there
 * changed, checks all of them exactly as startup does (the same scan, the same catalog checks, the same preflight
 * checks for the ones that changed) before it changes anything. When they hold, a removed transfer is stopped (a run in
 * progress is waited for) and removed, an added one is added and fires on its schedule, a changed one is replaced; a
 * recipients list's transfer brings or takes its recipients' transfers with it. When they do not, every problem is
 * logged once, with its file and line, and the running transfers stay as they were.
 *
 * <p>Only the {@code ferry-transfer} templatedRoutes are followed: the shipped template and pipeline, and any other
 * route or template in the folder, stay as loaded at startup.
 */
public final class RoutesRefresh {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger("dev.ferry");
    /** The id of the timer route that calls {@link #refresh}. */
    static final String ROUTE_ID = "ferry-routes-refresh";

    private final CamelContext camel;
    private final TransferCatalog catalog;
    private final Connections connections;
    private final RecipientsRefresh recipients;
    private final TransferRoutes routes;
    private final Path folder;
    private final boolean preflight;
    /** The transfers running as declared, by name: as the files were read at startup, then at each change applied. */
    private final Map<String, RouteFiles.Declared> running = new LinkedHashMap<>();
    /** What the last read reported, so that a problem that stays is logged once, not every refresh. */
    private Set<String> reported = Set.of();

    RoutesRefresh(CamelContext camel, TransferCatalog catalog, Connections connections, RecipientsRefresh recipients, Path folder,
                  RouteFiles atStartup, boolean preflight) {
        this.camel = camel;
        this.catalog = catalog;
        this.connections = connections;
        this.recipients = recipients;
        this.routes = new TransferRoutes(camel, catalog);
        this.folder = folder;
        this.preflight = preflight;
        atStartup.transfers().forEach(d -> running.put(d.name(), d));
    }

    /** Reads the route files again and brings the running transfers in line with them. */
    public synchronized void refresh() {
        try {
            follow();
        } catch (RuntimeException e) {
            // the next refresh tries again; the timer route must not stop
            LOG.warn("routes: reading the route files again failed: {}", Errors.describe(e));
        }
    }

    private void follow() {
        if (!Files.isDirectory(folder)) {
            report(List.of(folder + ": the routes folder is gone"), "; the transfers keep running as they are");
            return;
        }
        RouteFiles files = RouteFiles.rescan(folder, TransferCatalog.TEMPLATE_ID);
        List<String> problems = new ArrayList<>(files.problems());
        Map<String, RouteFiles.Declared> wanted = new LinkedHashMap<>();
        boolean unnamed = false;
        for (RouteFiles.Declared d : files.transfers()) {
            unnamed |= d.name() == null;
            wanted.putIfAbsent(d.name(), d);
        }
        Set<String> removed = new LinkedHashSet<>(running.keySet());
        removed.removeAll(wanted.keySet());
        Set<String> changed = new LinkedHashSet<>();
        Set<String> added = new LinkedHashSet<>();
        wanted.forEach((name, d) -> {
            RouteFiles.Declared now = running.get(name);
            if (now == null) {
                added.add(name);
            } else if (!now.parameters().equals(d.parameters()) || !Objects.equals(now.routeId(), d.routeId())) {
                changed.add(name);
            }
        });
        if (problems.isEmpty() && !unnamed && removed.isEmpty() && changed.isEmpty() && added.isEmpty()
                && wanted.size() == files.transfers().size()) {
            catalog.files(files); // lines may have moved
            report(List.of(), "");
            return;
        }
        if (problems.isEmpty()) {
            problems.addAll(check(files, changed, added));
        }
        if (!problems.isEmpty()) {
            report(problems, "; nothing is changed: the transfers keep running as they are until it is fixed");
            return;
        }
        Map<String, RouteFiles.Declared> before = new LinkedHashMap<>(running);
        for (String name : removed) {
            remove(name, false);
            LOG.info("routes: transfer {}: removed (no longer in {}/)", name, folder.getFileName());
        }
        changed.forEach(name -> remove(name, true));
        catalog.files(files);
        for (String name : wanted.keySet()) {
            if (added.contains(name) || changed.contains(name)) {
                add(wanted.get(name), changed.contains(name) ? before.get(name) : null, problems);
            }
        }
        report(problems, "");
    }

    /**
     * The transfers as declared now, checked as at startup: the catalog's checks of all of them together (names, unique
     * destination tables...), then the preflight checks of the added and changed ones against the servers.
     */
    private List<String> check(RouteFiles files, Set<String> changed, Set<String> added) {
        TransferCatalog checked;
        try {
            checked = catalog.checked(camel, files);
        } catch (ConfigException e) {
            return e.problems();
        }
        List<String> problems = new ArrayList<>();
        if (!preflight) {
            return problems;
        }
        List<TransferSpec> specs = new ArrayList<>();
        for (String name : added.isEmpty() && changed.isEmpty() ? Set.<String>of() : union(added, changed)) {
            if (checked.contains(name)) {
                specs.add(checked.get(name));
            } else if (checked.lists().containsKey(name)) {
                specs.add(checked.lists().get(name).spec());
            }
        }
        if (specs.isEmpty()) {
            return problems;
        }
        for (Check.Item item : Check.run(connections, checked, specs)) {
            if (item.configProblem() != null) {
                problems.add(item.configProblem());
            } else if (item.status() != Check.Item.Status.PASS) {
                LOG.warn("check: {}", item.line().replace("\n      ", "; "));
            }
        }
        return problems;
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> all = new LinkedHashSet<>(a);
        all.addAll(b);
        return all;
    }

    /** Stops and removes a running transfer; a recipients list's takes its recipients' transfers with it. */
    private void remove(String name, boolean replacing) {
        boolean list = catalog.lists().containsKey(name);
        routes.remove(name, replacing); // first: a list's timer then reads it no more
        if (list) {
            recipients.drop(name);
        }
        running.remove(name);
    }

    /** Adds a transfer as declared now; a changed one ({@code before}: as it ran) that cannot be added is put back. */
    private void add(RouteFiles.Declared d, RouteFiles.Declared before, List<String> problems) {
        String name = d.name();
        List<String> found = new ArrayList<>();
        if (start(d, found)) {
            running.put(name, d);
            LOG.info("routes: transfer {}: {} ({})", name, before != null ? "replaced" : "added", d.location().at(null));
            return;
        }
        problems.addAll(found);
        if (before != null && start(before, new ArrayList<>())) {
            running.put(name, before);
            LOG.warn("routes: transfer {}: runs on as it was before the change", name);
        } else {
            running.remove(name);
            routes.gone(name);
        }
    }

    /** Makes a transfer of the catalog and starts its route (a recipients list's reads its list at once); false after problems. */
    private boolean start(RouteFiles.Declared d, List<String> problems) {
        String name = d.name();
        if (!catalog.declare(camel, d, problems)) {
            catalog.dismiss(name);
            return false;
        }
        try {
            routes.add(name, d.parameters());
        } catch (Exception e) {
            problems.add(d.location().at(null) + ": transfer '" + name + "' could not be added: " + Errors.describe(e));
            return false;
        }
        if (catalog.lists().containsKey(name)) {
            recipients.refresh(name);
        }
        return true;
    }

    /** Logs each problem once while it stays, with what became of the change. */
    private void report(List<String> problems, String outcome) {
        Set<String> now = new LinkedHashSet<>(problems);
        for (String p : now) {
            if (!reported.contains(p)) {
                LOG.warn("routes: {}{}", p, outcome);
            }
        }
        reported = now;
    }
}
