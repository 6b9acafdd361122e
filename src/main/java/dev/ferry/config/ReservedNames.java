package dev.ferry.config;

/**
 * Names Ferry keeps for itself, and the ones PostgreSQL keeps, refused before they can collide.
 *
 * <p>Ferry names everything it adds to a destination with {@value #PREFIX}: its tables ({@value #STATE_TABLE},
 * {@value #RUNS_TABLE}, {@value #LEASES_TABLE}, the load tables of a full refresh, its temporary tables), the two
 * columns on every destination row ({@value #SYNCED_AT}, {@value #RUN_ID}) and the keyset columns of its batch
 * queries ({@value #KEYSET_COLUMN}0, ...). A source table or column of such a name would overwrite or clash with
 * Ferry's own, so the whole prefix is refused, not only today's names. The names are written here, once, so that the
 * messages that list them say what Ferry uses.
 */
public final class ReservedNames {

    public static final String PREFIX = "_ferry_";
    /** PostgreSQL's limit for an identifier, in bytes (NAMEDATALEN - 1). */
    public static final int MAX_NAME_BYTES = 63;

    /** The incremental watermarks, in each destination schema (dev.ferry.state.Watermarks). */
    public static final String STATE_TABLE = PREFIX + "state";
    /** The run history, in each destination schema (dev.ferry.state.RunHistory). */
    public static final String RUNS_TABLE = PREFIX + "runs";
    /** The transfers' leases, in each destination schema (dev.ferry.state.Lease). */
    public static final String LEASES_TABLE = PREFIX + "leases";
    /** The metadata column on every destination row: when it was synced. */
    public static final String SYNCED_AT = PREFIX + "synced_at";
    /** The metadata column on every destination row: the run that wrote it. */
    public static final String RUN_ID = PREFIX + "run_id";
    /**
     * The metadata column of soft deletes ({@code hardDeletes: soft}): when the row's key was found gone from the source;
     * NULL while it is there. Only on the tables of such transfers.
     */
    public static final String DELETED_AT = PREFIX + "deleted_at";
    /** The trailing keyset columns of a copy query, numbered from 0. */
    public static final String KEYSET_COLUMN = PREFIX + "keyset_";

    /** What the prefix covers, for messages. */
    static final String TABLES = "Ferry's own tables (" + STATE_TABLE + ", " + RUNS_TABLE + ", " + LEASES_TABLE
            + ", the load tables of a full refresh)";
    public static final String COLUMNS = "Ferry's own columns (" + SYNCED_AT + " and " + RUN_ID + " on every destination row, "
            + DELETED_AT + " on those of hardDeletes: soft, " + KEYSET_COLUMN + "0... in its batch queries)";

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
