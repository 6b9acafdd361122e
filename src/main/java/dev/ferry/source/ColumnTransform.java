package dev.ferry.source;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.ferry.config.ColumnRules;
import dev.ferry.config.Mode;
import dev.ferry.config.Sql;
import dev.ferry.config.TransferSpec;

/**
 * What the read query does to a column's values, on the source: a transfer's {@code hash}, {@code mask.*},
 * {@code nullify} and {@code cast.*} rules, as they apply to one column. The column is read as an SQL expression
 * computed by the source's server (see {@link BatchPlanner}), so the bulk path stays a byte stream and a hidden value
 * never leaves the source in clear.
 *
 * @param hide       the hash, mask or nullify rule, or null
 * @param cast       the type the value is cast to last, as {@code format_type} writes it on the source, or null
 * @param sourceType the column's declared type on the source
 * @param sourceOid  and its oid
 */
public record ColumnTransform(ColumnRules.Rule hide, String cast, String sourceType, int sourceOid) {

    private static final int TEXT = 25;
    private static final int TIMESTAMPTZ = 1184;
    private static final Pattern MODIFIERS = Pattern.compile("\\(([^)]*)\\)");

    /**
     * The expression that reads the column, with the transfer's values (the hash key's pads, a mask's constant) added
     * to {@code params} in the order they appear.
     */
    String expression(String column, ColumnRules rules, BatchPlanner.Params params) {
        String col = Sql.ident(column);
        String e = col;
        if (hide != null) {
            e = switch (hide.kind()) {
                case HASH -> {
                    String[] pads = rules.hashPads();
                    // HMAC-SHA256 (RFC 2104) of the value's text in UTF-8; a timestamptz's text in UTC, so that the
                    // hash does not follow the session's TimeZone (the JVM's zone, which pgjdbc sets)
                    String text = sourceOid == TIMESTAMPTZ ? "CAST(" + col + " AT TIME ZONE 'UTC' AS text)" : "CAST(" + col + " AS text)";
                    // scalar subqueries: init plans, evaluated once per query rather than once per row
                    String opad = "(SELECT pg_catalog.decode(CAST(" + params.add(pads[1]) + " AS text), 'hex'))";
                    String ipad = "(SELECT pg_catalog.decode(CAST(" + params.add(pads[0]) + " AS text), 'hex'))";
                    yield "pg_catalog.encode(pg_catalog.sha256(" + opad + " || pg_catalog.sha256(" + ipad
                            + " || pg_catalog.convert_to(" + text + ", 'UTF8'))), 'hex')";
                }
                case MASK_CONSTANT -> "CASE WHEN " + col + " IS NULL THEN NULL ELSE CAST(" + params.add(hide.text()) + " AS text) END";
                case MASK_PARTIAL -> {
                    String v = "CAST(" + col + " AS text)";
                    String len = "pg_catalog.char_length(" + v + ")";
                    int kept = hide.keepFirst() + hide.keepLast();
                    // no longer than the kept part: masked whole, so that a short value never shows in clear
                    yield "CASE WHEN " + len + " <= " + kept + " THEN pg_catalog.repeat('*', " + len + ") ELSE pg_catalog.left(" + v
                            + ", " + hide.keepFirst() + ") || pg_catalog.repeat('*', " + len + " - " + kept + ") || pg_catalog.right("
                            + v + ", " + hide.keepLast() + ") END";
                }
                case NULLIFY -> "CAST(NULL AS " + sourceType + ")";
                case CAST -> throw new IllegalStateException("a cast does not hide");
            };
        }
        return cast == null ? e : "CAST(" + e + " AS " + cast + ")";
    }

    /** What the rule does to the column's values, for the record kept with a watermark: e.g. {@code hash}, {@code mask:***}. */
    public String describe() {
        String d = hide == null ? "" : switch (hide.kind()) {
            case HASH -> "hash";
            case MASK_CONSTANT -> "mask:" + hide.text();
            case MASK_PARTIAL -> "mask:partial(" + hide.keepFirst() + "," + hide.keepLast() + ")";
            case NULLIFY -> "nullify";
            case CAST -> "";
        };
        return cast == null ? d : (d.isEmpty() ? "" : d + " ") + "cast:" + cast;
    }

    /**
     * The table with the transfer's column rules applied: each column they name read through its expression, with the
     * result's type. Cast types are resolved on the source here.
     *
     * @throws SourceTableException naming the column and rule: a cast type the source does not know, two rules hiding
     *                              one column, a rule on a key column that the mode needs in clear
     */
    public static SourceTable apply(Connection c, SourceTable t, TransferSpec spec) throws SQLException {
        ColumnRules rules = spec.columnRules();
        if (rules.isEmpty()) {
            return t;
        }
        String where = "transfer '" + spec.name() + "', table " + t.ref().display() + ": ";
        List<SourceColumn> columns = new ArrayList<>();
        List<String> types = new ArrayList<>(t.destinationTypes());
        SourceTypes resolver = new SourceTypes(c);
        for (int i = 0; i < t.columns().size(); i++) {
            SourceColumn col = t.columns().get(i);
            List<ColumnRules.Rule> found = rules.forColumn(t.ref(), col.name());
            if (found.isEmpty()) {
                columns.add(col);
                continue;
            }
            ColumnRules.Rule hide = found.get(0).hides() ? found.get(0) : null;
            ColumnRules.Rule cast = found.get(found.size() - 1).hides() ? null : found.get(found.size() - 1);
            if (found.size() > (hide != null && cast != null ? 2 : 1)) {
                throw new SourceTableException(SourceTableException.Kind.SHAPE, where + "column " + Sql.displayIdent(col.name())
                        + " is named by " + String.join(" and ", found.stream().map(ColumnRules.Rule::display).toList())
                        + "; keep one rule per column", found.get(1).parameter());
            }
            if (t.key().contains(col.name())) {
                keyRule(where, spec, col.name(), hide != null ? hide : cast);
            }
            String declared = col.declaredType();
            SourceType type = col.type();
            int oid = col.typeOid();
            boolean notNull = col.notNull();
            if (hide != null && hide.kind() != ColumnRules.Kind.NULLIFY) {
                declared = "text";
                type = new SourceType.BuiltIn(TEXT, "text");
                oid = TEXT;
            } else if (hide != null) {
                notNull = false;
            }
            String castType = null;
            if (cast != null) {
                int[] resolved = resolveType(c, where, col.name(), cast);
                castType = formatType(c, resolved[0], resolved[1]);
                declared = castType;
                type = resolver.resolve(resolved[0], resolved[1], castType);
                oid = resolved[0];
            }
            columns.add(new SourceColumn(col.name(), declared, type, notNull, oid,
                    new ColumnTransform(hide, castType, col.declaredType(),
                            // a domain's base type decides how its values print (a timestamptz in UTC)
                            col.type() instanceof SourceType.BuiltIn b ? b.oid() : col.typeOid())));
            types.set(i, declared);
        }
        return new SourceTable(t.ref(), columns, t.key(), types, t.copyable(), t.ordinary());
    }

    /**
     * A rule on a key column: incremental modes match rows and page by the key's clear values, and a mask or NULL would
     * make a full refresh's primary key repeat; a hash keeps values distinct, and a full refresh may cast.
     */
    private static void keyRule(String where, TransferSpec spec, String column, ColumnRules.Rule rule) {
        Mode mode = spec.mode();
        if (mode.incremental()) {
            throw new SourceTableException(SourceTableException.Kind.SHAPE, where + rule.display() + " would change column "
                    + Sql.displayIdent(column) + ", the table's primary key, and mode " + mode.key() + " pages and merges rows by"
                    + " the key's clear values; remove the rule, or set the 'key' parameter to other columns that identify a row",
                    rule.parameter());
        }
        if (rule.hides() && spec.changes().softDeletes()) {
            // the rows a full refresh keeps are matched by key: against an old table written under other rules (or
            // none), every old row would be kept, its key in clear
            throw new SourceTableException(SourceTableException.Kind.SHAPE, where + rule.display() + " would change column "
                    + Sql.displayIdent(column) + ", the table's primary key, and hardDeletes: soft keeps the old table's rows"
                    + " by matching their key; remove the rule, or hardDeletes: soft", rule.parameter());
        }
        if (rule.kind() == ColumnRules.Kind.MASK_CONSTANT || rule.kind() == ColumnRules.Kind.MASK_PARTIAL
                || rule.kind() == ColumnRules.Kind.NULLIFY) {
            throw new SourceTableException(SourceTableException.Kind.SHAPE, where + rule.display() + " would make values of column "
                    + Sql.displayIdent(column) + ", the table's primary key, repeat or be NULL, and the destination table keeps"
                    + " the primary key; hash it instead (hashes stay distinct), or exclude it with 'excludeColumns'",
                    rule.parameter());
        }
    }

    /** A cast's type on the source: its oid and type modifier. */
    private static int[] resolveType(Connection c, String where, String column, ColumnRules.Rule cast) throws SQLException {
        String text = cast.text();
        int oid;
        String typmodin;
        try (PreparedStatement ps = c.prepareStatement("SELECT t.oid::int, CASE WHEN t.typmodin <> 0 THEN t.typmodin::regproc::text END"
                + " FROM pg_catalog.pg_type t WHERE t.oid = pg_catalog.to_regtype(?)")) {
            ps.setString(1, text);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new SourceTableException(SourceTableException.Kind.SHAPE, where + cast.display() + ": the source knows"
                            + " no type " + text + " for column " + Sql.displayIdent(column) + "; write a type it has, e.g. text,"
                            + " numeric(12,2), jsonb (schema-qualified when it is not on the search_path)", cast.parameter());
                }
                oid = rs.getInt(1);
                typmodin = rs.getString(2);
            }
        } catch (SQLException e) {
            throw new SourceTableException(SourceTableException.Kind.SHAPE, where + cast.display() + ": '" + text + "' is not a type"
                    + " the source can read (" + e.getMessage() + ")", cast.parameter());
        }
        Matcher m = MODIFIERS.matcher(text);
        if (!m.find()) {
            return new int[] {oid, -1};
        }
        if (typmodin == null) {
            throw new SourceTableException(SourceTableException.Kind.SHAPE, where + cast.display() + ": type " + text
                    + " takes no modifiers; remove the parenthesized part", cast.parameter());
        }
        String[] mods = Arrays.stream(m.group(1).split(",")).map(String::trim).toArray(String[]::new);
        // the type's own modifier function turns (12,2) into its typmod: the one way that works on every version
        try (PreparedStatement ps = c.prepareStatement("SELECT " + typmodin + "(CAST(? AS cstring[]))")) {
            ps.setString(1, "{" + String.join(",", mods) + "}");
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new int[] {oid, rs.getInt(1)};
            }
        } catch (SQLException e) {
            throw new SourceTableException(SourceTableException.Kind.SHAPE, where + cast.display() + ": " + text + " is not a valid"
                    + " type (" + e.getMessage() + ")", cast.parameter());
        }
    }

    private static String formatType(Connection c, int oid, int typmod) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_catalog.format_type(CAST(? AS oid), ?)")) {
            ps.setInt(1, oid);
            if (typmod < 0) {
                ps.setNull(2, java.sql.Types.INTEGER);
            } else {
                ps.setInt(2, typmod);
            }
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        }
    }
}
