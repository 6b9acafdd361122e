package dev.ferry.read;

import java.util.List;

import dev.ferry.config.TableRef;

/**
 * A source table's shape: its columns in order, and the key that orders its batches (the primary key, or none).
 *
 * @param destinationTypes for each column, the type the destination column gets
 */
public record SourceTable(TableRef ref, List<SourceColumn> columns, List<String> key, List<String> destinationTypes) {

    public SourceTable {
        columns = List.copyOf(columns);
        key = List.copyOf(key);
        destinationTypes = List.copyOf(destinationTypes);
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

    public boolean hasKey() {
        return !key.isEmpty();
    }
}
