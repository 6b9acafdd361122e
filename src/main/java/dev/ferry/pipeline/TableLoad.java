package dev.ferry.pipeline;

import dev.ferry.destination.CopyPipe;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

import dev.ferry.config.Sql;
import dev.ferry.config.TableRef;
import dev.ferry.source.SourceTable;
import dev.ferry.source.TableRead;
import dev.ferry.state.TransferRun;

/**
 * The writing side of one table in one run: the destination connection and transaction, the table being loaded,
 * and the rows written so far. Lives on the exchange as {@code ferryTable} while the table's batches run.
 */
public final class TableLoad {

    /** The exchange property that holds the table being loaded. */
    public static final String TABLE = "ferryTable";
    /** The exchange property that carries a failed attempt's committed, unreported schema changes to its retry. */
    static final String SCHEMA_CHANGES = "ferrySchemaChanges";
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger("dev.ferry.transfer");

    private final TransferRun run;
    private final TableRef source;
    private SourceTable sourceTable;
    private final TableRead read;
    private final String schema;
    private final String table;
    private final String loadTable;
    private final long recordId;
    private final LoadMode mode;
    /** The destination's pool: for a second session, and to name who holds a lock the load waited on. */
    private final javax.sql.DataSource destinationPool;
    private final long startedNanos = System.nanoTime();
    private Connection connection;
    /** The session afterLoad's statements ran on: cleaned of what they left in it before it goes back to the pool. */
    private Connection hooked;
    // incremental batches: a second session stages the next batch while this one merges (see StageBatch)
    private Connection spare;
    private CopyPipe.Result staged;
    private long rows;
    private long changed;
    private List<String> destinationOnly = List.of();
    private boolean finished;
    private long deleted;
    /** Incremental: the destination table as provisioning found it (null: missing), before Ferry changed it. */
    private dev.ferry.destination.TableIdentity foundTable;
    /** Incremental: where the batch being merged ended. */
    private BatchEnd batchEnd;
    /** Incremental: whether the batch being merged was staged with its metadata columns (the query path). */
    private boolean metadataStaged;
    /** Incremental: whether the next batch is staged in the spare session while this one merges. */
    private boolean stagingNext;
    /** Failures of the branches of the incremental route's multicast, by branch (see BranchFailures). */
    private final java.util.concurrent.ConcurrentSkipListMap<Integer, Exception> branchFailures =
            new java.util.concurrent.ConcurrentSkipListMap<>();
    /** What provisioning changed or found that the user should know, until written to the run record. */
    private final List<String> notes = new java.util.ArrayList<>();
    private Boolean binaryCopy;
    /** The differences between the source's columns and the destination table's that provisioning found (onSchemaChange). */
    private List<dev.ferry.destination.SchemaEvolution.Change> schemaChanges = List.of();
    /** Of these, the changes committed before the table's own transaction (see {@link #typeChangesCommitted}). */
    private List<dev.ferry.destination.SchemaEvolution.Change> committedEarly = List.of();
    /** Whether onSchemaChange stopped the table on them, before anything was written. */
    private boolean schemaStopped;
    /** Whether the changes applied are committed (the merge modes commit them before the first batch: see Resume). */
    private boolean schemaCommitted;
    /** Whether they went out as a schema_change event (once per table and run). */
    private boolean schemaReported;
    private boolean loadTableCommitted;
    /** Merge modes: whether the destination table has {@code _ferry_deleted_at}, which the merge clears in the rows it writes. */
    private boolean clearsDeletedAt;
    private final java.util.Set<String> readPaths = new java.util.LinkedHashSet<>();
    /** How far the table has got, live, while it is on the board of tables in flight (see ProgressReport). */
    private dev.ferry.observe.TableProgress progress;
    private dev.ferry.observe.ProgressBoard board;

    TableLoad(TransferRun run, TableRef source, SourceTable sourceTable, TableRead read, String schema, String table,
              String loadTable, long recordId, LoadMode mode, javax.sql.DataSource destinationPool, Connection connection) {
        this.run = run;
        this.source = source;
        this.sourceTable = sourceTable;
        this.read = read;
        this.schema = schema;
        this.table = table;
        this.loadTable = loadTable;
        this.recordId = recordId;
        this.mode = mode;
        this.destinationPool = destinationPool;
        this.connection = connection;
    }

    /** Puts the table on the board of tables in flight, until {@link #close()}. */
    void track(dev.ferry.observe.TableProgress p, dev.ferry.observe.ProgressBoard on) {
        this.progress = p;
        this.board = on;
        on.start(p);
    }

    /** How far the table has got (null when not tracked). */
    dev.ferry.observe.TableProgress progress() {
        return progress;
    }

    /** Whether bulk copies of this table use the binary format; null until the first batch decides. */
    Boolean binaryCopy() {
        return binaryCopy;
    }

    void binaryCopy(boolean binary) {
        this.binaryCopy = binary;
    }

    /**
     * Notes that the load table was committed before the swap (so that several COPY streams can fill it): a failure
     * must then drop it, since rolling back no longer does.
     */
    void loadTableCommitted() {
        this.loadTableCommitted = true;
    }

    /** Notes how a batch was read: {@code copy binary}, {@code copy text} or {@code query}. */
    void readBy(String path) {
        readPaths.add(path);
    }

    /** How this table's batches were read, e.g. {@code copy binary, query}; null when no batch ran. */
    String readPath() {
        return readPaths.isEmpty() ? null : String.join(", ", readPaths);
    }

    /**
     * The table as copied after provisioning left out source columns the destination does not take (onSchemaChange:
     * freeze), or gave some the destination's types: the read follows it.
     */
    void narrow(SourceTable copied) {
        this.sourceTable = copied;
        read.table(copied);
    }

    boolean clearsDeletedAt() {
        return clearsDeletedAt;
    }

    void clearsDeletedAt(boolean clears) {
        this.clearsDeletedAt = clears;
    }

    List<dev.ferry.destination.SchemaEvolution.Change> schemaChanges() {
        return schemaChanges;
    }

    void schemaChanges(List<dev.ferry.destination.SchemaEvolution.Change> changes, boolean stopped) {
        List<dev.ferry.destination.SchemaEvolution.Change> all = new java.util.ArrayList<>(schemaChanges);
        all.addAll(changes);
        this.schemaChanges = List.copyOf(all);
        this.schemaStopped = stopped;
    }

    /**
     * The changes a previous attempt of this table committed and did not report (a retry finds the table changed
     * already): reported with this attempt's.
     */
    void inheritSchemaChanges(List<dev.ferry.destination.SchemaEvolution.Change> committed) {
        this.schemaChanges = List.copyOf(committed);
        this.committedEarly = this.schemaChanges;
        this.schemaCommitted = true;
    }

    /**
     * The destination type changes provisioning applied: committed on their own, before the table's transaction (see
     * Provision), so they stand whatever becomes of the table.
     */
    void typeChangesCommitted(List<dev.ferry.destination.SchemaEvolution.Change> changes) {
        List<dev.ferry.destination.SchemaEvolution.Change> all = new java.util.ArrayList<>(committedEarly);
        all.addAll(changes);
        this.committedEarly = List.copyOf(all);
    }

    /**
     * The changes that stand when the table fails: all of them once committed (or when onSchemaChange stopped on
     * them), else those committed before the table's transaction (a previous attempt's, the destination types').
     */
    List<dev.ferry.destination.SchemaEvolution.Change> standingSchemaChanges() {
        return schemaStopped || schemaCommitted ? schemaChanges : committedEarly;
    }

    /** The changes this attempt committed and has not reported, for a retry to report: empty when none. */
    List<dev.ferry.destination.SchemaEvolution.Change> unreportedSchemaChanges() {
        return schemaReported || schemaStopped ? List.of() : schemaCommitted ? schemaChanges : committedEarly;
    }

    boolean schemaStopped() {
        return schemaStopped;
    }

    void schemaCommitted() {
        this.schemaCommitted = true;
    }


    /** True the first time only: the schema_change event goes out once per table and run. */
    boolean reportSchemaChanges() {
        boolean first = !schemaReported;
        schemaReported = true;
        return first;
    }

    public TransferRun run() {
        return run;
    }

    public TableRef source() {
        return source;
    }

    public SourceTable sourceTable() {
        return sourceTable;
    }

    public TableRead read() {
        return read;
    }

    public String schema() {
        return schema;
    }

    /** The destination table's name (in {@link #schema()}). */
    public String table() {
        return table;
    }

    /** The table COPY writes into: a fresh one for a full refresh. */
    public String loadTable() {
        return loadTable;
    }

    public String destinationDisplay() {
        return Sql.displayIdent(schema) + "." + Sql.displayIdent(table);
    }

    public long recordId() {
        return recordId;
    }

    public Connection connection() {
        return connection;
    }

    public long rows() {
        return rows;
    }

    void addRows(long n) {
        rows += n;
    }

    /** Destination columns the source no longer has: they stay, written as NULL. */
    public List<String> destinationOnly() {
        return destinationOnly;
    }

    void destinationOnly(List<String> columns) {
        destinationOnly = List.copyOf(columns);
    }

    /** Rows the merges inserted or updated (incremental modes). */
    public long changed() {
        return changed;
    }

    void addChanged(long n) {
        changed += n;
    }

    public double seconds() {
        return (System.nanoTime() - startedNanos) / 1e9;
    }

    void markFinished() {
        finished = true;
    }

    List<String> notes() {
        return notes;
    }

    /** Logs the pending notes and adds them to the table's run record (in a session of their own). */
    void flushNotes() throws SQLException {
        if (notes.isEmpty()) {
            return;
        }
        for (String n : notes) {
            LOG.warn("transfer {}: {} -> {}: {}", run.spec().name(), source.display(), destinationDisplay(), n);
        }
        try (Connection c = destinationPool.getConnection()) {
            dev.ferry.state.RunHistory.note(c, schema, recordId, notes);
        }
        notes.clear();
    }

    void branchFailed(int branch, Exception failure) {
        branchFailures.put(branch, failure);
    }

    /** The first branch's failure, with the others suppressed in it; null when none failed. Clears them. */
    Exception takeBranchFailure() {
        Exception first = null;
        for (Exception e : branchFailures.values()) {
            if (first == null) {
                first = e;
            } else if (e != first) {
                first.addSuppressed(e);
            }
        }
        branchFailures.clear();
        return first;
    }

    LoadMode mode() {
        return mode;
    }

    /** Whether this is a full refresh (loaded into a fresh table, swapped in at the end): the route chooses by it. */
    public boolean isFullRefresh() {
        return mode == LoadMode.FULL_REFRESH;
    }

    javax.sql.DataSource destinationPool() {
        return destinationPool;
    }

    dev.ferry.destination.TableIdentity foundTable() {
        return foundTable;
    }

    void foundTable(dev.ferry.destination.TableIdentity table) {
        this.foundTable = table;
    }

    BatchEnd batchEnd() {
        return batchEnd;
    }

    void batchEnd(BatchEnd end, boolean withMetadata) {
        this.batchEnd = end;
        this.metadataStaged = withMetadata;
    }

    boolean metadataStaged() {
        return metadataStaged;
    }

    /** Whether the next batch is staged while this one merges: the route's choice between merging alone or both at once. */
    public boolean isStagingNext() {
        return stagingNext;
    }

    void stageNextWhileMerging(boolean staging) {
        this.stagingNext = staging;
    }

    /** Whether rows gone from the source are deleted at the destination (hardDeletes): the route's filter on that step. */
    public boolean isHardDeletes() {
        return run.spec().hardDeletes();
    }

    /** Destination rows deleted because their key is gone from the source (hardDeletes). */
    long deleted() {
        return deleted;
    }

    void deleted(long n) {
        this.deleted = n;
    }

    /** The second destination session, opened on first use and released with the load. */
    Connection spare() throws SQLException {
        if (spare == null) {
            Connection c = destinationPool.getConnection();
            c.setAutoCommit(false);
            spare = c;
        }
        return spare;
    }

    /** Notes a batch staged, not yet merged, in the spare session. */
    void staged(CopyPipe.Result batch) {
        this.staged = batch;
    }

    /**
     * The batch staged in the spare session, or null; when there is one, the sessions swap roles, so that
     * {@link #connection()} is the one holding it.
     */
    CopyPipe.Result takeStaged() {
        CopyPipe.Result batch = staged;
        if (batch != null) {
            staged = null;
            Connection c = connection;
            connection = spare;
            spare = c;
        }
        return batch;
    }

    /** Rolls back whatever is uncommitted and returns the connections; safe to call more than once. */
    public void close() {
        if (board != null) {
            board.end(progress);
        }
        Connection s = spare;
        spare = null;
        staged = null;
        if (s != null) {
            rollbackAndClose(s, false); // a staged batch that was never merged
        }
        Connection c = connection;
        connection = null;
        if (c != null) {
            rollbackAndClose(c, loadTableCommitted && !finished);
        }
    }

    /** Notes that afterLoad's statements run on {@link #connection()}: it is cleaned when the load closes. */
    void hooksRunOnConnection() {
        hooked = connection;
    }

    /** Rolls back, drops the load table when asked (one committed before the load outlives a rollback), and closes. */
    private void rollbackAndClose(Connection c, boolean dropLoadTable) {
        try {
            if (!c.getAutoCommit()) {
                c.rollback();
            }
            if (dropLoadTable) {
                try (java.sql.Statement st = c.createStatement()) {
                    st.execute("DROP TABLE IF EXISTS " + Sql.qualified(schema, loadTable));
                }
                if (!c.getAutoCommit()) {
                    c.commit();
                }
            }
        } catch (SQLException e) {
            // the connection may be the broken one; closing it below discards it, and the next run drops the load table
        }
        if (c == hooked) {
            hooked = null;
            HookSteps.clean(c);
        }
        try {
            c.close();
        } catch (SQLException e) {
            // nothing more to release
        }
    }
}
