package dev.ferry.cluster;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.quartz.impl.StdSchedulerFactory;

/**
 * Quartz's tables in the cluster database, created from the DDL the Quartz jar ships for PostgreSQL
 * ({@code tables_postgres.sql}) when any is missing: its CREATE statements only (never its DROPs), with the configured
 * prefix, in one transaction that holds an advisory lock, so that nodes starting together create them once.
 */
final class QuartzTables {

    static final String DDL = "org/quartz/impl/jdbcjobstore/tables_postgres.sql";

    private QuartzTables() {
    }

    /** The CREATE statements of Quartz's DDL, with {@code prefix} for {@code QRTZ_}. */
    static List<String> statements(String prefix) throws IOException {
        String text;
        try (InputStream in = StdSchedulerFactory.class.getClassLoader().getResourceAsStream(DDL)) {
            if (in == null) {
                throw new IOException("the Quartz jar has no " + DDL);
            }
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        StringBuilder code = new StringBuilder();
        for (String line : text.split("\n")) {
            if (!line.strip().startsWith("--")) {
                code.append(line).append('\n');
            }
        }
        List<String> creates = new ArrayList<>();
        for (String statement : code.toString().split(";")) {
            String s = statement.strip().replaceAll("\\s+", " ");
            if (s.regionMatches(true, 0, "CREATE ", 0, 7)) {
                creates.add(s.replace("QRTZ_", prefix));
            }
        }
        return creates;
    }

    /** The tables the DDL creates, by name, e.g. {@code qrtz_triggers}. */
    static List<String> tables(List<String> statements) {
        List<String> names = new ArrayList<>();
        for (String s : statements) {
            Matcher m = Pattern.compile("(?i)^CREATE TABLE (\\w+)").matcher(s);
            if (m.find()) {
                names.add(m.group(1).toLowerCase(java.util.Locale.ROOT));
            }
        }
        return names;
    }

    /**
     * Creates Quartz's tables, and Ferry's table of nodes, when any is missing; returns whether it created any. Tables
     * that exist already are left as they are, so a database where an administrator ran the DDL needs no CREATE
     * privilege.
     */
    static boolean ensure(Connection c, ClusterSettings cluster) throws SQLException, IOException {
        List<String> statements = statements(cluster.tablePrefix());
        List<String> tables = new ArrayList<>(tables(statements));
        tables.add(cluster.table(ClusterNodes.TABLE));
        boolean autoCommit = c.getAutoCommit();
        c.setAutoCommit(false);
        try {
            try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_xact_lock(hashtext(?))")) {
                ps.setString(1, "ferry:cluster-tables:" + cluster.tablePrefix());
                ps.execute();
            }
            if (missing(c, tables) == 0) {
                c.rollback();
                return false;
            }
            try (Statement st = c.createStatement()) {
                for (String s : statements) {
                    st.execute(s.replaceFirst("(?i)^CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ")
                            .replaceFirst("(?i)^CREATE INDEX ", "CREATE INDEX IF NOT EXISTS "));
                }
                ClusterNodes.ensure(st, cluster);
            }
            c.commit();
            return true;
        } catch (SQLException | RuntimeException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(autoCommit);
        }
    }

    /** How many of the tables the connection's search_path does not find. */
    private static int missing(Connection c, List<String> tables) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT count(*) FROM unnest(?::text[]) t WHERE to_regclass(quote_ident(t)) IS NULL")) {
            ps.setArray(1, c.createArrayOf("text", tables.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }
}
