package dev.ferry.config;

/**
 * Names Ferry keeps for itself, and the ones PostgreSQL keeps, refused before they can collide.
 *
 * <p>Ferry names everything it adds to a destination with {@value #PREFIX}: its tables ({@code _ferry_state},
 * {@code _ferry_runs}, {@code _ferry_leases}, the load tables of a full refresh, its temporary tables), the two
 * columns on every destination row ({@code _ferry_synced_at}, {@code _ferry_run_id}) and the keyset columns of its
 * batch queries ({@code _ferry_keyset_0}, ...). A source table or column of such a name would overwrite or clash with
 * Ferry's own, so the whole prefix is refused, not only today's names.
 */
public final class ReservedNames {

    public static final String PREFIX = "_ferry_";
    /** PostgreSQL's limit for an identifier, in bytes (NAMEDATALEN - 1). */
    public static final int MAX_NAME_BYTES = 63;

    /** What the prefix covers, for messages. */
    static final String TABLES = "Ferry's own tables (_ferry_state, _ferry_runs, _ferry_leases, the load tables of a full refresh)";
    public static final String COLUMNS = "Ferry's own columns (_ferry_synced_at and _ferry_run_id on every destination row,"
            + " _ferry_keyset_0... in its batch queries)";

    private ReservedNames() {
    }

    /** Whether Ferry keeps this table or column name for itself (exactly as PostgreSQL stores it: case matters). */
    public static boolean isFerrys(String name) {
        return name.startsWith(PREFIX);
    }

    /**
     * Null when PostgreSQL lets a destination schema have this name, else why not: names starting with {@code pg_}
     * are PostgreSQL's own ({@code CREATE SCHEMA} refuses them, and {@code pg_temp} is each session's temporary schema).
     */
    public static String schemaProblem(String schema) {
        if (schema != null && schema.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_NAME_BYTES) {
            // PostgreSQL would silently cut it, and Ferry's catalog lookups by the whole name would never find it
            return "'" + schema + "' is longer than PostgreSQL's " + MAX_NAME_BYTES + "-byte limit for names (it would be cut);"
                    + " choose a shorter name";
        }
        if (schema == null || !schema.startsWith("pg_")) {
            return null;
        }
        return "'" + schema + "' is reserved by PostgreSQL: schema names starting with pg_ are its system schemas"
                + (schema.equals("pg_temp") || schema.startsWith("pg_temp_") ? ", and " + schema + " is each session's temporary"
                + " schema, dropped when the session ends" : "") + "; choose another name, e.g. export";
    }
}
