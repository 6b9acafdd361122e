package dev.ferry.read;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;

import dev.ferry.config.Mode;
import dev.ferry.config.Sql;
import dev.ferry.config.TransferSpec;
import org.apache.camel.Exchange;
import org.apache.camel.ExchangeProperty;
import org.apache.camel.component.sql.SqlConstants;

/**
 * Writes the query for a table's next batch, for the camel-sql endpoint that reads it: the SQL goes in the message
 * body, its bind parameters in the {@code CamelSqlParameters} header. Identifiers are quoted; every value (the last
 * row read, the filter's values, the batch size) is a bind parameter, cast to its column's type on the server.
 */
public final class BatchPlanner {

    public static final String READ = "ferryRead";

    public void next(@ExchangeProperty(READ) TableRead read, Exchange exchange) {
        Query q = plan(read);
        exchange.getIn().setBody(q.sql());
        exchange.getIn().setHeader(SqlConstants.SQL_PARAMETERS, q.params());
    }

    /** A query and its parameters, in order. */
    public record Query(String sql, List<Object> params) {
    }

    public static Query plan(TableRead read) {
        SourceTable t = read.table();
        TransferSpec spec = read.spec();
        List<String> where = new ArrayList<>();
        List<Object> params = new ArrayList<>();
        if (spec.filter() != null) {
            where.add("(" + spec.filter().sql() + ")");
            for (String name : spec.filter().parameters()) {
                params.add(spec.filterValues().get(name));
            }
        }
        List<String> order = new ArrayList<>();
        boolean paged = t.hasKey();
        String cursor = spec.cursor();
        if (read.mode() == Mode.FULL_REFRESH || read.mode() == Mode.XMIN) {
            if (read.mode() == Mode.XMIN && read.xminFrom() != null) {
                // rows whose creating transaction is the horizon or newer; age() compares transaction ids modulo wraparound
                where.add("pg_catalog.age(xmin) <= pg_catalog.age(CAST(CAST(CAST(? AS bigint) & 4294967295 AS text) AS xid))");
                params.add(read.xminFrom());
            }
            if (paged && read.lastKey() != null) {
                where.add(after(t, t.key(), read.lastKey(), params));
            }
            order.addAll(t.key());
        } else if (read.phase() == TableRead.Phase.MAIN) {
            List<String> keyset = new ArrayList<>();
            keyset.add(cursor);
            keyset.addAll(t.key());
            if (read.lastKey() != null) {
                List<String> values = new ArrayList<>();
                values.add(read.lastCursor());
                values.addAll(read.lastKey());
                where.add(after(t, keyset, values, params));
            } else if (read.startCursor() != null) {
                where.add(lookbackStart(t, spec, read, params));
            } else {
                where.add(Sql.ident(cursor) + " IS NOT NULL");
            }
            order.addAll(keyset);
        } else {
            where.add(Sql.ident(cursor) + " IS NULL");
            if (read.lastKey() != null) {
                where.add(after(t, t.key(), read.lastKey(), params));
            }
            order.addAll(t.key());
        }
        StringBuilder sql = new StringBuilder("SELECT ").append(selectList(t)).append(" FROM ").append(t.ref().quoted());
        if (!where.isEmpty()) {
            sql.append(" WHERE ").append(String.join(" AND ", where));
        }
        if (paged) {
            sql.append(" ORDER BY ").append(Sql.idents(order)).append(" LIMIT ?");
            params.add(read.batchSize());
        }
        return new Query(sql.toString(), params);
    }

    /**
     * The columns to read. {@code bytea} and {@code xml} are cast to text (see {@link SourceType#readAsText()}), so
     * that every value reaches the writer as exactly the text COPY reads back.
     */
    public static String selectList(SourceTable t) {
        StringJoiner cols = new StringJoiner(", ");
        for (SourceColumn c : t.columns()) {
            cols.add(c.readAsText() ? "CAST(" + Sql.ident(c.name()) + " AS text)" : Sql.ident(c.name()));
        }
        return cols.toString();
    }

    /** {@code (a, b) > (CAST(? AS ta), CAST(? AS tb))}: the rows after a position in the given order. */
    private static String after(SourceTable t, List<String> columns, List<String> values, List<Object> params) {
        StringJoiner casts = new StringJoiner(", ", "(", ")");
        for (int i = 0; i < columns.size(); i++) {
            casts.add(cast(t, columns.get(i)));
            params.add(values.get(i));
        }
        return "(" + Sql.idents(columns) + ") > " + casts;
    }

    /**
     * Where a run starts: at the committed watermark, or {@code lookback} before it so that rows committed late by
     * long source transactions, with cursor values behind the watermark, are read again (the merge makes that
     * harmless). With no lookback, strictly after the last committed row.
     */
    private static String lookbackStart(SourceTable t, TransferSpec spec, TableRead read, List<Object> params) {
        String cursor = spec.cursor();
        CursorKind kind = CursorKind.of(t.column(cursor));
        TransferSpec.Lookback lb = spec.lookback();
        if (lb == TransferSpec.Lookback.DEFAULT && kind != CursorKind.TEMPORAL) {
            lb = new TransferSpec.Lookback(null, BigDecimal.ZERO, "0"); // the default lookback is a duration
        }
        if (lb.isZero()) {
            if (read.startKey() != null) {
                return afterWatermark(t, read, params, cursor);
            }
            params.add(read.startCursor());
            return Sql.ident(cursor) + " >= " + cast(t, cursor);
        }
        if (kind == CursorKind.TEMPORAL && lb.duration() != null) {
            params.add(read.startCursor());
            params.add(lb.duration().toMillis() + " milliseconds");
            return Sql.ident(cursor) + " >= CAST(" + cast(t, cursor) + " - CAST(? AS interval) AS " + type(t, cursor) + ")";
        }
        if (kind == CursorKind.NUMERIC && lb.amount() != null) {
            params.add(new BigDecimal(read.startCursor()).subtract(lb.amount()).toPlainString());
            return Sql.ident(cursor) + " >= " + cast(t, cursor);
        }
        throw new SourceTableException("transfer '" + spec.name() + "': lookback '" + lb.text() + "' does not fit cursor column "
                + Sql.displayIdent(cursor) + " of type " + type(t, cursor) + "; use a duration (e.g. 5m) for timestamp and date"
                + " cursors, a number for numeric ones, or 0");
    }

    /** Strictly after the committed watermark row, in (cursor, key) order. */
    private static String afterWatermark(SourceTable t, TableRead read, List<Object> params, String cursor) {
        List<String> keyset = new ArrayList<>();
        keyset.add(cursor);
        keyset.addAll(t.key());
        List<String> values = new ArrayList<>();
        values.add(read.startCursor());
        values.addAll(read.startKey());
        return after(t, keyset, values, params);
    }

    private static String cast(SourceTable t, String column) {
        return "CAST(? AS " + type(t, column) + ")";
    }

    private static String type(SourceTable t, String column) {
        return t.column(column).declaredType();
    }

    /** What arithmetic a cursor column allows, for the lookback. */
    enum CursorKind {
        TEMPORAL, NUMERIC, OTHER;

        static CursorKind of(SourceColumn c) {
            String type = c.declaredType();
            if (type.startsWith("timestamp") || type.equals("date")) {
                return TEMPORAL;
            }
            if (type.equals("smallint") || type.equals("integer") || type.equals("bigint") || type.startsWith("numeric")
                    || type.equals("real") || type.equals("double precision")) {
                return NUMERIC;
            }
            return OTHER;
        }
    }
}
