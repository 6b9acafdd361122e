package dev.ferry.read;

import java.util.List;

/**
 * The reading side of one table in one run: what to read and how far it has got.
 *
 * <p>Batches are keyset pages in key order: each starts strictly after the last key of the previous one, so no
 * row is read twice or skipped across batch boundaries, and each query is an index range scan however deep into
 * the table it is. A table without a key is read in one streamed batch.
 */
public final class TableRead {

    private final SourceTable table;
    private final String sourceBean;
    private final int batchSize;
    private final int fetchSize;
    private List<String> lastKey;
    private boolean more = true;
    private long batches;

    public TableRead(SourceTable table, String sourceBean, int batchSize, int fetchSize) {
        this.table = table;
        this.sourceBean = sourceBean;
        this.batchSize = batchSize;
        this.fetchSize = fetchSize;
    }

    public SourceTable table() {
        return table;
    }

    /** The registry name of the source's DataSource, for the camel-sql endpoint. */
    public String getSourceBean() {
        return sourceBean;
    }

    public int getFetchSize() {
        return fetchSize;
    }

    public int batchSize() {
        return batchSize;
    }

    /** Whether another batch may hold rows; the route's loop runs while this is true. */
    public boolean isMore() {
        return more;
    }

    public List<String> lastKey() {
        return lastKey;
    }

    public long batches() {
        return batches;
    }

    /**
     * Records a batch as written.
     *
     * @param rows    rows the batch held
     * @param lastKey the text form of the last row's key columns, or null when the batch was empty
     */
    public void advance(long rows, List<String> lastKey) {
        batches++;
        if (lastKey != null) {
            this.lastKey = List.copyOf(lastKey);
        }
        more = table.hasKey() && rows >= batchSize;
    }
}
