package dev.ferry.cluster;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

import dev.ferry.config.Sql;
import dev.ferry.config.TransferSpec;

/**
 * Ferry's table beside Quartz's ({@code <prefix>ferry_nodes}): each node's transfers as it started, so that a node
 * whose routes differ from the others' says so. A transfer is stored as its name and a digest of its parameters
 * (never the parameters: a webhook URL may carry a token), so the warning names the transfers that are missing here,
 * only here, or set differently.
 */
final class ClusterNodes {

    static final String TABLE = "ferry_nodes";

    private ClusterNodes() {
    }

    static void ensure(Statement st, ClusterSettings cluster) throws SQLException {
        st.execute("CREATE TABLE IF NOT EXISTS " + Sql.ident(cluster.table(TABLE)) + " (instance_id text PRIMARY KEY,"
                + " routes_digest text NOT NULL, transfers text NOT NULL, started_at timestamptz NOT NULL DEFAULT clock_timestamp())");
    }

    /** Each transfer's name and the digest of its parameters, in name order. */
    static Map<String, String> digests(List<TransferSpec> transfers) {
        Map<String, String> out = new TreeMap<>();
        for (TransferSpec t : transfers) {
            StringBuilder sb = new StringBuilder();
            for (var component : TransferSpec.class.getRecordComponents()) {
                try {
                    Object value = component.getAccessor().invoke(t);
                    sb.append(component.getName()).append('=').append(canonical(value)).append('\n');
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException(e);
                }
            }
            out.put(t.name(), sha256(sb.toString()).substring(0, 16));
        }
        return out;
    }

    /**
     * A value's text, the same on every JVM: maps in key order, at any depth (Map.copyOf's order differs from one JVM to
     * the next, and a transfer's settings nest maps in records, e.g. its renames).
     */
    static String canonical(Object value) throws ReflectiveOperationException {
        if (value instanceof Map<?, ?> map) {
            Map<String, String> sorted = new TreeMap<>();
            for (Map.Entry<?, ?> e : map.entrySet()) {
                sorted.put(canonical(e.getKey()), canonical(e.getValue()));
            }
            return sorted.toString();
        }
        if (value instanceof java.util.Collection<?> items) {
            List<String> out = new java.util.ArrayList<>();
            for (Object item : items) {
                out.add(canonical(item));
            }
            return (value instanceof java.util.Set<?> ? new java.util.TreeSet<>(out) : out).toString();
        }
        if (value instanceof Record r) {
            StringBuilder sb = new StringBuilder(r.getClass().getSimpleName()).append('[');
            for (var component : r.getClass().getRecordComponents()) {
                java.lang.reflect.Method accessor = component.getAccessor();
                if (!accessor.canAccess(r)) {
                    return String.valueOf(r); // a record private to its class: its own text
                }
                sb.append(component.getName()).append('=').append(canonical(accessor.invoke(r))).append(", ");
            }
            return sb.append(']').toString();
        }
        return String.valueOf(value);
    }

    static String text(Map<String, String> digests) {
        StringBuilder sb = new StringBuilder();
        digests.forEach((name, digest) -> sb.append(name).append(' ').append(digest).append('\n'));
        return sb.toString();
    }

    static Map<String, String> parse(String text) {
        Map<String, String> out = new TreeMap<>();
        for (String line : text.split("\n")) {
            int space = line.lastIndexOf(' ');
            if (space > 0) {
                out.put(line.substring(0, space), line.substring(space + 1));
            }
        }
        return out;
    }

    static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Records this node's transfers, and returns how they differ from each other live node's (a node is live while it
     * checks in to Quartz's scheduler state): one line per group of nodes that share a different set, empty when all
     * agree. Records of nodes gone for a while are deleted.
     */
    static Registered register(Connection c, ClusterSettings cluster, String node, List<TransferSpec> transfers) throws SQLException {
        Map<String, String> mine = digests(transfers);
        String text = text(mine);
        String digest = sha256(text);
        String nodes = Sql.ident(cluster.table(TABLE));
        String state = Sql.ident(cluster.table("scheduler_state"));
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + nodes + " (instance_id, routes_digest, transfers)"
                + " VALUES (?, ?, ?) ON CONFLICT (instance_id) DO UPDATE SET routes_digest = EXCLUDED.routes_digest,"
                + " transfers = EXCLUDED.transfers, started_at = clock_timestamp()")) {
            ps.setString(1, node);
            ps.setString(2, digest);
            ps.setString(3, text);
            ps.executeUpdate();
        }
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + nodes + " n WHERE started_at < clock_timestamp() - interval '1 day'"
                + " AND NOT EXISTS (SELECT 1 FROM " + state + " s WHERE s.instance_name = n.instance_id)")) {
            ps.executeUpdate();
        }
        Map<String, List<String>> others = new LinkedHashMap<>(); // transfers text -> the live nodes that have it
        java.util.Set<String> declared = new TreeSet<>(mine.keySet());
        try (PreparedStatement ps = c.prepareStatement("SELECT n.instance_id, n.transfers, n.routes_digest FROM " + nodes + " n"
                + " WHERE n.instance_id <> ? AND EXISTS (SELECT 1 FROM " + state + " s WHERE s.instance_name = n.instance_id)"
                + " ORDER BY n.started_at")) {
            ps.setString(1, node);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    declared.addAll(parse(rs.getString(2)).keySet());
                    if (!rs.getString(3).equals(digest)) {
                        others.computeIfAbsent(rs.getString(2), k -> new ArrayList<>()).add(rs.getString(1));
                    }
                }
            }
        }
        List<String> differences = new ArrayList<>();
        others.forEach((theirs, names) -> differences.add(difference(mine, parse(theirs), names)));
        return new Registered(differences, declared);
    }

    /**
     * What {@link #register} found: how this node's transfers differ from other live nodes' (one line per group of
     * nodes), and every transfer some live node declares, this one included.
     */
    record Registered(List<String> differences, java.util.Set<String> declared) {
    }

    /** How this node's transfers differ from other nodes': by name only. */
    static String difference(Map<String, String> mine, Map<String, String> theirs, List<String> nodes) {
        TreeSet<String> missing = new TreeSet<>(theirs.keySet());
        missing.removeAll(mine.keySet());
        TreeSet<String> extra = new TreeSet<>(mine.keySet());
        extra.removeAll(theirs.keySet());
        TreeSet<String> changed = new TreeSet<>();
        mine.forEach((name, d) -> {
            if (theirs.containsKey(name) && !theirs.get(name).equals(d)) {
                changed.add(name);
            }
        });
        List<String> parts = new ArrayList<>();
        if (!missing.isEmpty()) {
            parts.add("missing here: " + String.join(", ", missing));
        }
        if (!extra.isEmpty()) {
            parts.add("only here: " + String.join(", ", extra));
        }
        if (!changed.isEmpty()) {
            parts.add("with different parameters: " + String.join(", ", changed));
        }
        return (nodes.size() == 1 ? "node " : "nodes ") + String.join(", ", nodes) + " (" + String.join("; ", parts) + ")";
    }
}
