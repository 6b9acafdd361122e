package dev.ferry.source;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import dev.ferry.config.Mode;
import dev.ferry.config.Sql;

/**
 * How a mode reads a table: which batches are keyset pages, which go by COPY, in what order and from where. One
 * implementation per mode, so that each mode's reading rules live in one place (the write side's counterpart is
 * dev.ferry.pipeline.LoadMode).
 */
public abstract class ReadOrder {

    /** The read order of a mode. */
    public static ReadOrder of(Mode mode) {
        return switch (mode) {
            case FULL_REFRESH -> WHOLE_TABLE;
            case INCREMENTAL, APPEND -> CURSOR;
            case XMIN -> XMIN;
        };
    }

    /**
     * Whether the table is read in keyset pages of batchSize rows. A table without a key is read in one streamed batch.
     */
    abstract boolean paged(TableRead read);

    /**
     * Whether a batch in this phase takes the bulk path (COPY at both ends) rather than camel-sql. Never with a row
     * filter: its values are bound parameters, which only a query can take.
     */
    abstract boolean bulk(TableRead read);

    /** The columns the batches are ordered by, and a batch's end is read from. */
    abstract List<String> keyset(TableRead read);

    /** Adds the conditions that select the next batch's rows, and its order. */
    abstract void bound(TableRead read, BatchPlanner.Params params, List<String> where, List<String> order);

    /** Checks that the table can be read this way and notes what the read needs of the source at its start. */
    void start(TableRead read, Connection source) throws SQLException {
    }

    /** The merge modes merge by key: a table without one (and no 'key' parameter) cannot be read for them. */
    static void requireKey(TableRead read) {
        if (!read.table().hasKey()) {
            throw new SourceTableException("transfer '" + read.spec().name() + "': " + read.table().ref().display() + " has no"
                    + " primary key, and mode " + read.spec().mode().key() + " merges rows by key; set the 'key' parameter to"
                    + " columns that identify a row");
        }
    }

    /** The phase after the current one is drained. */
    TableRead.Phase afterDrained(TableRead read) {
        return TableRead.Phase.DONE;
    }

    /**
     * Full refresh: the whole table in one stream, by COPY or by one query, so in one snapshot: pages read in snapshots
     * of their own would mix states of the source (rows that move between pages while it runs arrive twice, or not at
     * all).
     */
    static final ReadOrder WHOLE_TABLE = new ReadOrder() {
        @Override
        boolean paged(TableRead read) {
            return false;
        }

        @Override
        boolean bulk(TableRead read) {
            return read.spec().filter() == null;
        }

        @Override
        List<String> keyset(TableRead read) {
            return read.table().key();
        }

        @Override
        void bound(TableRead read, BatchPlanner.Params params, List<String> where, List<String> order) {
            order.addAll(read.table().key());
        }
    };

    /**
     * Incremental and append: keyset pages in the order of ({@code cursor}, key), each starting strictly after the last
     * row of the previous one, so rows that share a cursor value are never skipped or read twice at a batch boundary,
     * and each query is an index range scan however deep it goes. Then the rows whose cursor is NULL, every run (a NULL
     * cursor says nothing about when the row changed), in key order, through camel-sql.
     */
    static final ReadOrder CURSOR = new ReadOrder() {
        @Override
        boolean paged(TableRead read) {
            return read.table().hasKey();
        }

        @Override
        boolean bulk(TableRead read) {
            return read.spec().filter() == null && read.phase() == TableRead.Phase.MAIN;
        }

        @Override
        List<String> keyset(TableRead read) {
            List<String> keyset = new ArrayList<>();
            if (read.phase() == TableRead.Phase.MAIN) {
                keyset.add(read.spec().cursor());
            }
            keyset.addAll(read.table().key());
            return keyset;
        }

        @Override
        void bound(TableRead read, BatchPlanner.Params params, List<String> where, List<String> order) {
            SourceTable t = read.table();
            String cursor = read.spec().cursor();
            if (read.phase() == TableRead.Phase.MAIN) {
                List<String> keyset = keyset(read);
                if (read.lastKey() != null) {
                    List<String> values = new ArrayList<>();
                    values.add(read.lastCursor());
                    values.addAll(read.lastKey());
                    where.add(BatchPlanner.after(t, keyset, values, params));
                } else if (read.startCursor() != null) {
                    where.add(BatchPlanner.lookbackStart(t, read.spec(), read, params));
                } else {
                    where.add(Sql.ident(cursor) + " IS NOT NULL");
                }
                order.addAll(keyset);
            } else {
                where.add(Sql.ident(cursor) + " IS NULL");
                if (read.lastKey() != null) {
                    where.add(BatchPlanner.after(t, t.key(), read.lastKey(), params));
                }
                order.addAll(t.key());
            }
        }

        @Override
        void start(TableRead read, Connection source) throws SQLException {
            requireKey(read);
            read.sourceClock(BatchPlanner.sourceClock(source, read.table(), read.spec()));
        }

        @Override
        TableRead.Phase afterDrained(TableRead read) {
            boolean nullable = read.phase() == TableRead.Phase.MAIN && read.spec().cursor() != null
                    && !read.table().column(read.spec().cursor()).notNull();
            return nullable ? TableRead.Phase.NULLS : TableRead.Phase.DONE;
        }
    };

    /**
     * xmin: keyset pages in key order of the rows written by transactions at or after the last pass's horizon (all rows
     * on a first pass), through camel-sql.
     */
    static final ReadOrder XMIN = new ReadOrder() {
        @Override
        boolean paged(TableRead read) {
            return read.table().hasKey();
        }

        @Override
        boolean bulk(TableRead read) {
            return false;
        }

        @Override
        List<String> keyset(TableRead read) {
            return read.table().key();
        }

        @Override
        void start(TableRead read, Connection source) throws SQLException {
            requireKey(read);
            read.sourceClock(null);
            // the source's oldest running transaction and next transaction id, epoch-extended (never wrap)
            try (PreparedStatement ps = source.prepareStatement(
                    "SELECT txid_snapshot_xmin(s), txid_snapshot_xmax(s) FROM txid_current_snapshot() s");
                 ResultSet rs = ps.executeQuery()) {
                rs.next();
                read.sourceHorizon(new long[] {rs.getLong(1), rs.getLong(2)});
            }
        }

        @Override
        void bound(TableRead read, BatchPlanner.Params params, List<String> where, List<String> order) {
            SourceTable t = read.table();
            if (read.xminFrom() != null) {
                // rows whose creating transaction is the horizon or newer; age() compares transaction ids modulo wraparound
                where.add("pg_catalog.age(xmin) <= pg_catalog.age(CAST(CAST(CAST(" + params.add(read.xminFrom())
                        + " AS bigint) & 4294967295 AS text) AS xid))");
            }
            if (paged(read) && read.lastKey() != null) {
                where.add(BatchPlanner.after(t, t.key(), read.lastKey(), params));
            }
            order.addAll(t.key());
        }
    };
}
