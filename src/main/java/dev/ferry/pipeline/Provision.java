package dev.ferry.pipeline;

import java.sql.Connection;
import java.sql.SQLException;

import javax.sql.DataSource;

import dev.ferry.config.ChangePolicy;
import dev.ferry.config.TableRef;
import dev.ferry.connect.Connections;
import dev.ferry.destination.DestinationSchema;
import dev.ferry.destination.DestinationTypes;
import dev.ferry.destination.SchemaEvolution;
import dev.ferry.destination.LockWaits;
import dev.ferry.source.BatchPlanner;
import dev.ferry.source.SourceTable;
import dev.ferry.source.TableRead;
import dev.ferry.state.Runs;
import dev.ferry.state.TransferRun;
import org.apache.camel.Body;
import org.apache.camel.Exchange;
import org.apache.camel.ExchangeProperty;
import org.apache.camel.support.SynchronizationAdapter;

/**
 * The schema-provisioning processor: gets the destination ready for the table's rows. The enum and composite types
 * its columns need, then, by mode ({@link LoadMode#provision}): a fresh load table for a full refresh, or the
 * destination table created when missing and evolved to the source's columns (added, widened) for the merge modes.
 * Opens the load: the destination session and transaction the table's rows are written in.
 */
public final class Provision {

    private final Connections connections;
    private final dev.ferry.observe.ProgressBoard board;

    public Provision(Connections connections, dev.ferry.observe.ProgressBoard board) {
        this.connections = connections;
        this.board = board;
    }

    public void provision(@ExchangeProperty(Runs.RUN) TransferRun run, @ExchangeProperty(BatchPlanner.READ) TableRead read,
                          @ExchangeProperty(Failures.RECORD) long recordId, @Body TableRef table, Exchange exchange) throws SQLException {
        String schema = run.destination().schema();
        DataSource destination = connections.dataSource(run.destination());
        LoadMode mode = LoadMode.of(run.spec().mode());
        SourceTable source = read.table();
        Connection con = destination.getConnection();
        String target = run.spec().names().nameOf(table);
        TableLoad load = new TableLoad(run, table, source, read, schema, target, mode.loadTable(target, run.id()), recordId,
                mode, destination, con);
        exchange.setProperty(TableLoad.TABLE, load);
        @SuppressWarnings("unchecked")
        java.util.List<dev.ferry.destination.SchemaEvolution.Change> committed =
                exchange.getProperty(TableLoad.SCHEMA_CHANGES, java.util.List.class);
        if (committed != null) {
            load.inheritSchemaChanges(committed);
            exchange.removeProperty(TableLoad.SCHEMA_CHANGES);
        }
        // whatever happens to the exchange, the sessions go back to the pool and nothing half-done is committed
        exchange.getExchangeExtension().addOnCompletion(new SynchronizationAdapter() {
            @Override
            public void onDone(Exchange done) {
                load.close();
            }
        });
        dev.ferry.observe.TableProgress progress = new dev.ferry.observe.TableProgress(run.spec().name(), table.display(),
                load.destinationDisplay(), run.id(), load.isFullRefresh(), read.estimatedRows(), read.estimatedBytes());
        if (load.isFullRefresh()) {
            // its rows commit with the swap: the report writes them as they go; the merge modes' batches write their own
            progress.recordWith(rows -> recordProgress(run, schema, recordId, rows));
        }
        load.track(progress, board);
        load.narrow(source.withDestinationTypes(types(load, con)));
        con.setAutoCommit(false);
        mode.provision(load, con, load.notes());
        if (load.isFullRefresh()) {
            load.flushNotes(); // the merge modes' notes go with their first commit (see Resume)
        }
    }

    /**
     * The destination type of each source column, the enum and composite types they need created or extended first, in
     * a transaction of their own, committed (on the load's session, before its transaction opens) as
     * onSchemaChange allows when the destination table exists: evolve changes them, each change reported; fail
     * changes none and stops on anything missing; freeze changes none either, leaves out the types of the columns it
     * does not copy (new at the source), and stops on anything missing for the others (their type cannot hold the
     * source's values). A table not there yet gets what it needs whatever the policy: creating it is no change.
     */
    private static java.util.List<String> types(TableLoad load, Connection con) throws SQLException {
        TransferRun run = load.run();
        String schema = load.schema();
        ChangePolicy.SchemaChange policy = run.spec().changes().onSchemaChange();
        SourceTable source = load.sourceTable();
        boolean exists = DestinationSchema.tableExists(con, schema, load.table());
        java.util.Set<String> skip = new java.util.HashSet<>();
        if (exists && policy == ChangePolicy.SchemaChange.FREEZE) {
            skip.addAll(source.columnNames());
            skip.removeAll(SchemaEvolution.columns(con, schema, load.table()).keySet());
        }
        DestinationTypes.Resolved types;
        try {
            types = DestinationTypes.resolve(con, schema, source, exists && policy != ChangePolicy.SchemaChange.EVOLVE, skip);
        } catch (SQLException e) {
            if (!LockWaits.timedOut(e)) {
                throw e;
            }
            throw LockWaits.failure(load.destinationPool(), run.destination(), "changing the enum or composite types of", schema,
                    load.table(), LockWaits.pid(con), "No row was written");
        }
        load.notes().addAll(types.notes());
        java.util.List<SchemaEvolution.Change> changes = types.changes().stream()
                .filter(c -> exists || !c.kind().equals(DestinationTypes.TYPE_CREATED)).toList(); // a new table's types: no change
        if (policy != ChangePolicy.SchemaChange.EVOLVE && !changes.isEmpty()) {
            load.schemaChanges(changes, true);
            throw DestinationTypes.stop(schema, load.table(), changes, policy);
        }
        for (SchemaEvolution.Change c : changes) {
            load.notes().add(DestinationTypes.describe(c));
        }
        load.schemaChanges(changes, false);
        load.typeChangesCommitted(changes);
        return types.types();
    }

    /** How long a progress write waits for a session of the destination's pool, and for the server's answer. */
    private static final java.time.Duration PROGRESS_SESSION_WAIT = java.time.Duration.ofSeconds(1);
    private static final int PROGRESS_ANSWER_MILLIS = 10_000;

    /**
     * A full refresh's rows so far into its running record, on a session of the destination's pool taken only if one
     * comes within a second (the pool is sized to the server's budget: no session beyond it), with a bounded wait for
     * the answer: a destination that stops answering costs this write and no more (not the lock's session, whose loss
     * would end the run's hold on its transfer). A report skipped this way changes nothing: the table's end writes the
     * exact count.
     */
    private void recordProgress(TransferRun run, String schema, long recordId, long rows) {
        try (Connection c = connections.tryConnection(run.destination(), PROGRESS_SESSION_WAIT)) {
            if (c == null) {
                return;
            }
            c.setNetworkTimeout(Runnable::run, PROGRESS_ANSWER_MILLIS);
            try {
                dev.ferry.state.RunHistory.progressWhileRunning(c, schema, recordId, rows);
                c.commit();
            } finally {
                c.rollback();
            }
        } catch (java.sql.SQLException e) {
            org.slf4j.LoggerFactory.getLogger(Provision.class).debug("progress of record {} not written: {}", recordId, e.getMessage());
        }
    }
}
