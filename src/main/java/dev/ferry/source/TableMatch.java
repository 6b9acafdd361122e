package dev.ferry.source;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import dev.ferry.config.ReservedNames;
import dev.ferry.config.TableRef;
import dev.ferry.config.TableSelection;

/**
 * A transfer's tables as the source has them now: its {@code tables} entries in the order written, a name as itself, a
 * pattern as the tables it matches (by schema, then name, in byte order), each table once, {@code excludeTables} left
 * out. The patterns are matched in ONE catalog query (hundreds of recipients each run it at each run's start).
 *
 * <p>A pattern matches ordinary and partitioned tables only: never a partition of a partitioned table (its rows are
 * read through the parent), never a view, materialized view or foreign table (name those explicitly), never a table
 * whose name starts with {@value ReservedNames#PREFIX} (Ferry's own), and never one in a system schema
 * ({@code pg_*}, {@code information_schema}). A name without a wildcard is taken as written: any relation, and a
 * missing one fails its table as before patterns.
 */
public final class TableMatch {

    private static final String MATCH = """
            SELECT p.i, n.nspname, c.relname
            FROM unnest(?::text[], ?::text[]) WITH ORDINALITY AS p(s, t, i)
            JOIN pg_catalog.pg_namespace n ON n.nspname LIKE p.s
            JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname LIKE p.t
            WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
              AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
              AND left(c.relname, ?) <> ?
              AND NOT EXISTS (SELECT 1 FROM unnest(?::text[], ?::text[]) AS x(s, t)
                              WHERE n.nspname LIKE x.s AND c.relname LIKE x.t)
            ORDER BY p.i, n.nspname COLLATE "C", c.relname COLLATE "C\"""";

    private TableMatch() {
    }

    /** The tables the selection picks on this source now (one query when it has patterns, none otherwise). */
    public static List<TableRef> resolve(Connection con, TableSelection selection) throws SQLException {
        List<TableSelection.Entry> patterns = selection.include().stream().filter(TableSelection.Entry::pattern).toList();
        List<List<TableRef>> matched = new ArrayList<>();
        for (int i = 0; i < patterns.size(); i++) {
            matched.add(new ArrayList<>());
        }
        if (!patterns.isEmpty()) {
            try (PreparedStatement ps = con.prepareStatement(MATCH)) {
                ps.setArray(1, con.createArrayOf("text", patterns.stream().map(TableSelection.Entry::schemaLike).toArray()));
                ps.setArray(2, con.createArrayOf("text", patterns.stream().map(TableSelection.Entry::nameLike).toArray()));
                ps.setInt(3, ReservedNames.PREFIX.length());
                ps.setString(4, ReservedNames.PREFIX);
                ps.setArray(5, con.createArrayOf("text", selection.exclude().stream().map(TableSelection.Entry::schemaLike).toArray()));
                ps.setArray(6, con.createArrayOf("text", selection.exclude().stream().map(TableSelection.Entry::nameLike).toArray()));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        matched.get(rs.getInt(1) - 1).add(new TableRef(rs.getString(2), rs.getString(3)));
                    }
                }
            }
        }
        Set<TableRef> out = new LinkedHashSet<>();
        int next = 0;
        for (TableSelection.Entry e : selection.include()) {
            if (e.pattern()) {
                out.addAll(matched.get(next++));
            } else if (!selection.excluded(e.exact())) {
                out.add(e.exact());
            }
        }
        return List.copyOf(out);
    }
}
