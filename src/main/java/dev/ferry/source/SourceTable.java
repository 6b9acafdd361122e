package dev.ferry.source;

import java.util.ArrayList;
import java.util.List;

import dev.ferry.config.ReservedNames;
import dev.ferry.config.Sql;
import dev.ferry.config.TableRef;
import dev.ferry.config.TransferSpec;

/**
 * A source table's shape as a transfer copies it: the columns it reads, in order, their destination types, and the
 * key that orders its batches and matches rows at the destination (the primary key, or the transfer's {@code key}).
 * Destination types start as the source's declared types; the destination side replaces them with
 * {@link #withDestinationTypes} once it has provisioned what they need. {@code copyable} says whether
 * {@code COPY table TO} can read its columns directly: a plain table (not a view or partitioned) without generated columns.
 */
public record SourceTable(TableRef ref, List<SourceColumn> columns, List<String> key, List<String> destinationTypes,
                          boolean copyable, boolean ordinary) {

    public SourceTable {
        columns = List.copyOf(columns);
        key = List.copyOf(key);
        destinationTypes = List.copyOf(destinationTypes);
    }

    /**
     * The table as a query's FROM names it: an ordinary table {@code ONLY} itself, as {@code COPY table TO} and pg_dump
     * read it (an inheritance parent's children are tables of their own, which a pattern matches: read through the
     * parent too, their rows would be copied twice); a partitioned table with its partitions.
     */
    public String from() {
        return ordinary ? "ONLY " + ref.quoted() : ref.quoted();
    }

    public List<String> columnNames() {
        return columns.stream().map(SourceColumn::name).toList();
    }

    public SourceColumn column(String name) {
        return columns.stream().filter(c -> c.name().equals(name)).findFirst().orElse(null);
    }

    public int indexOf(String name) {
        for (int i = 0; i < columns.size(); i++) {
            if (columns.get(i).name().equals(name)) {
                return i;
            }
        }
        return -1;
    }

    public SourceTable withDestinationTypes(List<String> types) {
        return new SourceTable(ref, columns, key, types, copyable, ordinary);
    }

    /**
     * The table without the given columns (never key columns: the caller leaves out only columns the destination lacks,
     * and a key column is always there), and with the given destination types by column name.
     */
    public SourceTable narrowed(java.util.Collection<String> leftOut, java.util.Map<String, String> types) {
        List<SourceColumn> cols = new ArrayList<>();
        List<String> dest = new ArrayList<>();
        for (int i = 0; i < columns.size(); i++) {
            String name = columns.get(i).name();
            if (!leftOut.contains(name)) {
                cols.add(columns.get(i));
                dest.add(types.getOrDefault(name, destinationTypes.get(i)));
            }
        }
        return new SourceTable(ref, cols, key, dest, copyable, ordinary);
    }

    /** Whether every column copies in binary form (see {@link SourceColumn#binarySafe()}). */
    public boolean binarySafe() {
        return columns.stream().allMatch(SourceColumn::binarySafe);
    }

    /** Whether {@code COPY table TO} can read it directly: a plain table, no column needing a cast or an expression. */
    public boolean plainTable() {
        return copyable && columns.stream().noneMatch(c -> c.xml() || c.transform() != null);
    }

    /** Whether any column is read through an expression (see {@link ColumnTransform}). */
    public boolean transformed() {
        return columns.stream().anyMatch(c -> c.transform() != null);
    }

    /**
     * What the transfer's column rules do to each column this table reads: its name and the rule ("" for none; a hash
     * with the key's id, {@link dev.ferry.config.ColumnRules#keyId}), in name order. Kept with an incremental table's
     * watermark: rows merged under other rules would hold other values (see {@link #rulesChanged}).
     */
    public java.util.SortedMap<String, String> columnRules(String keyId) {
        java.util.SortedMap<String, String> rules = new java.util.TreeMap<>();
        for (SourceColumn c : columns) {
            String d = c.transform() == null ? "" : c.transform().describe();
            rules.put(c.name(), d.startsWith("hash") ? d + " key " + keyId : d);
        }
        return rules;
    }

    /**
     * The columns read before and now whose rule differs, each as {@code name: before -> now}. Only those: a column new
     * to the read was never copied under another rule, and one no longer read is not written. {@code before} is empty
     * for a watermark kept before rules were: every column was copied as it is then.
     */
    public static List<String> rulesChanged(java.util.Map<String, String> before, java.util.Map<String, String> now) {
        List<String> changed = new ArrayList<>();
        now.forEach((column, rule) -> {
            String was = before.isEmpty() ? "" : before.get(column);
            if (was != null && !was.equals(rule)) {
                changed.add(Sql.displayIdent(column) + ": " + (was.isEmpty() ? "none" : was) + " -> " + (rule.isEmpty() ? "none" : rule));
            }
        });
        return changed;
    }

    public boolean hasKey() {
        return !key.isEmpty();
    }

    /**
     * Narrows the table to what a transfer copies: its {@code columns} or all but its {@code excludeColumns}, keyed by
     * its {@code key} or the primary key.
     *
     * @throws SourceTableException naming the parameter and column when the transfer names a column the table lacks,
     *                              or leaves out a column it needs
     */
    public SourceTable select(TransferSpec spec) {
        String where = "transfer '" + spec.name() + "', table " + ref.display() + ": ";
        for (String param : List.of("columns", "excludeColumns", "key", "cursor", "deletedColumn")) {
            for (String name : named(spec, param)) {
                if (column(name) == null) {
                    throw new SourceTableException(SourceTableException.Kind.SHAPE, where + "parameter '" + param + "' names column "
                            + Sql.displayIdent(name) + ", which the table does not have; its columns are " + String.join(", ",
                            columnNames().stream().map(Sql::displayIdent).toList()), param);
                }
            }
        }
        List<String> k = spec.key().isEmpty() ? key : spec.key();
        List<String> keep = new ArrayList<>();
        for (String c : columnNames()) {
            boolean wanted = spec.columns().isEmpty() ? !spec.excludeColumns().contains(c) : spec.columns().contains(c);
            if (wanted) {
                keep.add(c);
            }
        }
        for (String c : keep) {
            if (ReservedNames.isFerrys(c)) {
                // it would clash with the metadata column or keyset column of that name: refused before any write
                boolean listed = !spec.columns().isEmpty();
                throw new SourceTableException(SourceTableException.Kind.SHAPE, where + "column " + Sql.displayIdent(c)
                        + " has a name Ferry keeps for itself: names starting with " + ReservedNames.PREFIX + " are "
                        + ReservedNames.COLUMNS + "; " + (listed ? "remove it from 'columns'" : "leave it out with"
                        + " { name: excludeColumns, value: " + Sql.displayIdent(c) + " }"), listed ? "columns" : "excludeColumns");
            }
        }
        for (String n : needed(spec.cursor(), k)) {
            if (!keep.contains(n)) {
                throw new SourceTableException(SourceTableException.Kind.SHAPE, where + "column " + Sql.displayIdent(n)
                        + " is the transfer's " + (k.contains(n) ? "key" : "cursor") + ", so it must be copied; add it to 'columns'"
                        + " or remove it from 'excludeColumns'", spec.columns().isEmpty() ? "excludeColumns" : "columns");
            }
        }
        List<SourceColumn> cols = new ArrayList<>();
        List<String> types = new ArrayList<>();
        for (int i = 0; i < columns.size(); i++) {
            if (keep.contains(columns.get(i).name())) {
                cols.add(columns.get(i));
                types.add(destinationTypes.get(i));
            }
        }
        return new SourceTable(ref, cols, k, types, copyable, ordinary);
    }

    /**
     * The columns a transfer cannot do without, as {@link #select} narrowed the table for it: its cursor, then the
     * key (a cursor that is also a key column counts once).
     */
    public List<String> neededColumns(TransferSpec spec) {
        return needed(spec.cursor(), key);
    }

    private static List<String> needed(String cursor, List<String> key) {
        java.util.Set<String> needed = new java.util.LinkedHashSet<>();
        if (cursor != null) {
            needed.add(cursor);
        }
        needed.addAll(key);
        return List.copyOf(needed);
    }

    private static List<String> named(TransferSpec spec, String param) {
        return switch (param) {
            case "columns" -> spec.columns();
            case "excludeColumns" -> spec.excludeColumns();
            case "key" -> spec.key();
            case "cursor" -> spec.cursor() == null ? List.of() : List.of(spec.cursor());
            default -> spec.deletedColumn() == null ? List.of() : List.of(spec.deletedColumn());
        };
    }
}
