package dev.ferry.source;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;

import dev.ferry.config.Sql;
import dev.ferry.config.TransferSpec;
import org.apache.camel.Exchange;
import org.apache.camel.ExchangeProperty;
import org.apache.camel.component.sql.SqlConstants;

/**
 * Writes the query for a table's next batch. Identifiers are quoted; every value (the last row read, the filter's
 * values, the batch size) is a parameter, cast to its column's type on the server.
 *
 * <p>Two forms: for the camel-sql endpoint ({@link #next}), the SQL goes in the message body with {@code ?}
 * placeholders and the values in the {@code CamelSqlParameters} header; for the bulk COPY path ({@link #planCopy}),
 * which cannot bind parameters, each value is bound to a session setting first and read back with
 * {@code current_setting()}, so values still never become part of the SQL text.
 */
public final class BatchPlanner {

    public static final String READ = "ferryRead";

    public void next(@ExchangeProperty(READ) TableRead read, Exchange exchange) {
        Query q = plan(read);
        exchange.getIn().setBody(q.sql());
        exchange.getIn().setHeader(SqlConstants.SQL_PARAMETERS, q.params());
    }

    /**
     * The table's read query with every column expression and no row ({@code LIMIT 0}), with {@code ?} placeholders: what
     * {@code ferry check} runs to see that the source can compute a transfer's column rules.
     */
    public static Query probe(SourceTable t, TransferSpec spec) {
        Params params = new Params(false);
        return new Query("SELECT " + selectList(t, spec, params) + " FROM " + t.from() + " LIMIT 0", params.values);
    }

    /** A query and its parameters, in order. */
    public record Query(String sql, List<Object> params) {
    }

    /** The batch query for camel-sql: {@code ?} placeholders, bytea and xml read as text. */
    public static Query plan(TableRead read) {
        Params params = new Params(false);
        // the select list's values come first: they precede the WHERE's in the SQL text
        String list = selectList(read.table(), read.spec(), params);
        return new Query(select(read, params, list, false), params.values);
    }

    /**
     * The batch query for {@code COPY (...) TO STDOUT}: values come from the session settings {@code ferry.p1},
     * {@code ferry.p2}... (see {@link #settingsStatement}); with {@code trailingKeyset}, rows end with the text form
     * of the cursor and key, so that the writer can read where the batch ended from its last row.
     */
    public static Query planCopy(TableRead read, boolean trailingKeyset) {
        Params params = new Params(true);
        StringJoiner cols = new StringJoiner(", ");
        cols.add(copyList(read.table(), read.spec(), params));
        if (trailingKeyset) {
            List<String> keyset = keyset(read);
            for (int i = 0; i < keyset.size(); i++) {
                // named apart, or ORDER BY would find two output columns of the same name
                cols.add("CAST(" + Sql.ident(keyset.get(i)) + " AS text) AS " + Sql.ident(KEYSET_COLUMN + i));
            }
        }
        return new Query(select(read, params, cols.toString(), true), params.values);
    }

    /** The name of the trailing keyset columns in a copy query, numbered from 0. */
    public static final String KEYSET_COLUMN = dev.ferry.config.ReservedNames.KEYSET_COLUMN;

    /** {@code SELECT set_config('ferry.p1', ?, false), ...}: binds a copy query's values to the session. */
    public static String settingsStatement(int count) {
        StringJoiner s = new StringJoiner(", ", "SELECT ", "");
        for (int i = 1; i <= count; i++) {
            s.add("pg_catalog.set_config('ferry.p" + i + "', ?, false)");
        }
        return s.toString();
    }

    /** The columns a batch is ordered by: cursor then key for incremental modes, the key otherwise. */
    public static List<String> keyset(TableRead read) {
        return read.order().keyset(read);
    }

    /** Placeholders in one of the two forms, and their values in order. */
    static final class Params {
        private final boolean settings;
        private final List<Object> values;

        Params(boolean settings) {
            this(settings, new ArrayList<>());
        }

        Params(boolean settings, List<Object> values) {
            this.settings = settings;
            this.values = values;
        }

        String add(Object value) {
            values.add(value);
            return settings ? "pg_catalog.current_setting('ferry.p" + values.size() + "')" : "?";
        }
    }

    private static String select(TableRead read, Params params, String selectList, boolean copy) {
        SourceTable t = read.table();
        TransferSpec spec = read.spec();
        List<String> where = new ArrayList<>();
        if (spec.filter() != null) {
            if (copy) {
                throw new IllegalStateException("filtered batches are read through camel-sql, not COPY");
            }
            where.add("(" + spec.filter().sql() + ")");
            for (String name : spec.filter().parameters()) {
                params.values.add(spec.filterValues().get(name));
            }
        }
        List<String> order = new ArrayList<>();
        boolean paged = read.paged();
        read.order().bound(read, params, where, order);
        StringBuilder sql = new StringBuilder("SELECT ").append(selectList).append(" FROM ").append(t.from());
        if (!where.isEmpty()) {
            sql.append(" WHERE ").append(String.join(" AND ", where));
        }
        if (paged) {
            sql.append(" ORDER BY ").append(Sql.idents(order)).append(" LIMIT ");
            sql.append(params.settings ? "CAST(" + params.add(String.valueOf(read.batchSize())) + " AS bigint)" : params.add(read.batchSize()));
        }
        return sql.toString();
    }

    /**
     * The columns to read through camel-sql. {@code bytea} and {@code xml} are cast to text (see
     * {@link SourceType#readAsText()}), so that every value reaches the writer as exactly the text COPY reads back.
     */
    static String selectList(SourceTable t, TransferSpec spec, Params params) {
        StringJoiner cols = new StringJoiner(", ");
        for (SourceColumn c : t.columns()) {
            cols.add(column(c, spec, params, c.readAsText()));
        }
        return cols.toString();
    }

    /**
     * The columns a {@code COPY (SELECT ...) TO} reads: each column, or its expression (see {@link ColumnTransform}),
     * and {@code xml} cast to text; values are bound as session settings (see {@link #settingsStatement}).
     */
    public static String copyList(SourceTable t, TransferSpec spec, List<Object> values) {
        Params params = new Params(true, values);
        return copyList(t, spec, params);
    }

    private static String copyList(SourceTable t, TransferSpec spec, Params params) {
        StringJoiner cols = new StringJoiner(", ");
        for (SourceColumn c : t.columns()) {
            cols.add(column(c, spec, params, c.xml()));
        }
        return cols.toString();
    }

    /** One column of a select list: the column, or its expression named as the column, cast to text if asked. */
    private static String column(SourceColumn c, TransferSpec spec, Params params, boolean asText) {
        if (c.transform() == null) {
            return asText ? "CAST(" + Sql.ident(c.name()) + " AS text)" : Sql.ident(c.name());
        }
        String e = c.transform().expression(c.name(), spec.columnRules(), params);
        return (asText ? "CAST(" + e + " AS text)" : e) + " AS " + Sql.ident(c.name());
    }

    /** Binds a copy query's values to session settings, before the COPY (COPY itself takes no parameters). */
    public static void bindSettings(java.sql.Connection source, List<Object> values) throws java.sql.SQLException {
        if (values.isEmpty()) {
            return;
        }
        try (java.sql.PreparedStatement ps = source.prepareStatement(settingsStatement(values.size()))) {
            for (int i = 0; i < values.size(); i++) {
                ps.setString(i + 1, String.valueOf(values.get(i)));
            }
            ps.execute();
        }
    }

    /** {@code (a, b) > (CAST(p1 AS ta), CAST(p2 AS tb))}: the rows after a position in the given order. */
    static String after(SourceTable t, List<String> columns, List<String> values, Params params) {
        StringJoiner casts = new StringJoiner(", ", "(", ")");
        for (int i = 0; i < columns.size(); i++) {
            casts.add(cast(t, columns.get(i), values.get(i), params));
        }
        return "(" + Sql.idents(columns) + ") > " + casts;
    }

    /**
     * Where a run starts: at the committed watermark, or {@code lookback} before it so that rows committed late by
     * long source transactions, with cursor values behind the watermark, are read again (the merge makes that
     * harmless). With no lookback, strictly after the last committed row.
     */
    static String lookbackStart(SourceTable t, TransferSpec spec, TableRead read, Params params) {
        String cursor = spec.cursor();
        CursorKind kind = CursorKind.of(t.column(cursor));
        TransferSpec.Lookback lb = spec.lookback();
        if (lb == TransferSpec.Lookback.DEFAULT && kind != CursorKind.TEMPORAL) {
            lb = new TransferSpec.Lookback(null, BigDecimal.ZERO, "0"); // the default lookback is a duration
        }
        if (lb.isZero()) {
            if (read.startKey() != null) {
                List<String> keyset = new ArrayList<>();
                keyset.add(cursor);
                keyset.addAll(t.key());
                List<String> values = new ArrayList<>();
                values.add(read.startCursor());
                values.addAll(read.startKey());
                return after(t, keyset, values, params);
            }
            return Sql.ident(cursor) + " >= " + cast(t, cursor, read.startCursor(), params);
        }
        if (kind == CursorKind.TEMPORAL && lb.duration() != null) {
            String start = cast(t, cursor, read.startCursor(), params);
            return Sql.ident(cursor) + " >= CAST(" + start + " - CAST(" + params.add(lb.duration().toMillis() + " milliseconds")
                    + " AS interval) AS " + type(t, cursor) + ")";
        }
        if (kind == CursorKind.NUMERIC && lb.amount() != null) {
            return Sql.ident(cursor) + " >= " + cast(t, cursor, new BigDecimal(read.startCursor()).subtract(lb.amount()).toPlainString(), params);
        }
        throw new SourceTableException("transfer '" + spec.name() + "': lookback '" + lb.text() + "' does not fit cursor column "
                + Sql.displayIdent(cursor) + " of type " + type(t, cursor) + "; use a duration (e.g. 5m) for timestamp and date"
                + " cursors, a number for numeric ones, or 0");
    }

    private static String cast(SourceTable t, String column, Object value, Params params) {
        return "CAST(" + params.add(value) + " AS " + type(t, column) + ")";
    }

    private static String type(SourceTable t, String column) {
        return t.column(column).declaredType();
    }

    /**
     * The source's clock as a value of the cursor column's type, in text form ({@code now()} cast to it: a timestamptz,
     * the session's local timestamp, or today's date), for timestamp and date cursors; null for others. Read once per
     * table and run, for {@link dev.ferry.state.Watermarks#aheadOfClockWarning}.
     */
    public static String sourceClock(java.sql.Connection source, SourceTable t, TransferSpec spec) throws java.sql.SQLException {
        if (spec.cursor() == null || t.column(spec.cursor()) == null || CursorKind.of(t.column(spec.cursor())) != CursorKind.TEMPORAL) {
            return null;
        }
        try (java.sql.Statement st = source.createStatement();
             java.sql.ResultSet rs = st.executeQuery("SELECT CAST(CAST(now() AS " + type(t, spec.cursor()) + ") AS text)")) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    /**
     * Where the next run of {@code mode} (the transfer's own) resumes after a one-off full reload of the table: read
     * before the reload's copy starts, so that it is never past what the copy reads. Cursor modes: the greatest cursor
     * value among the rows the transfer reads (a row changed later gets a cursor value at or after it, so the next run
     * reads it; rows the copy already read again are merged, harmlessly). xmin: the oldest transaction still running
     * (the next run reads every row written by it or later).
     */
    public static TableRead.ResumeMark resumeMark(java.sql.Connection source, SourceTable t, TransferSpec spec,
                                                  dev.ferry.config.Mode mode) throws java.sql.SQLException {
        if (mode == dev.ferry.config.Mode.XMIN) {
            try (java.sql.Statement st = source.createStatement();
                 java.sql.ResultSet rs = st.executeQuery("SELECT txid_snapshot_xmin(txid_current_snapshot())")) {
                rs.next();
                return new TableRead.ResumeMark(null, rs.getLong(1));
            }
        }
        StringBuilder sql = new StringBuilder("SELECT CAST(max(" + Sql.ident(spec.cursor()) + ") AS text) FROM " + t.from());
        if (spec.filter() != null) {
            sql.append(" WHERE (").append(spec.filter().sql()).append(")");
        }
        try (java.sql.PreparedStatement ps = source.prepareStatement(sql.toString())) {
            if (spec.filter() != null) {
                int i = 1;
                for (String name : spec.filter().parameters()) {
                    ps.setObject(i++, spec.filterValues().get(name));
                }
            }
            try (java.sql.ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new TableRead.ResumeMark(rs.getString(1), null);
            }
        }
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
