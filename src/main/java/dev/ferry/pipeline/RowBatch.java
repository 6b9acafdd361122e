package dev.ferry.pipeline;

import java.util.Iterator;

/**
 * A batch on its way to the destination: the source rows, each an array of values in PostgreSQL text form (null
 * for SQL NULL), and the COPY-encoded fields the transform appends to every row.
 */
public record RowBatch(Iterator<byte[][]> rows, byte[] appendedFields) {
}
