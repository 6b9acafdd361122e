package dev.ferry.pipeline;

import dev.ferry.destination.DestinationException;
import dev.ferry.destination.DestinationSchema;
import dev.ferry.destination.TableIdentity;
import dev.ferry.destination.DestinationTypes;
import dev.ferry.destination.FullRefreshSwap;
import dev.ferry.destination.LockWaits;
import dev.ferry.destination.SchemaEvolution;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import javax.sql.DataSource;

import dev.ferry.connect.Connections;
import dev.ferry.config.Mode;
import dev.ferry.config.TableRef;
import dev.ferry.config.TransferSpec;
import dev.ferry.source.BatchPlanner;
import dev.ferry.source.SourceCatalog;
import dev.ferry.source.SourceTable;
import dev.ferry.source.SourceTableException;
import dev.ferry.source.TableRead;
import dev.ferry.state.RunHistory;
import dev.ferry.state.RunInterrupted;
import dev.ferry.state.Shutdown;
import dev.ferry.state.TransferRun;
import dev.ferry.state.Watermarks;
import org.apache.camel.Body;
import org.apache.camel.Exchange;
import org.apache.camel.ExchangeProperty;
import org.apache.camel.support.SynchronizationAdapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens and finishes the destination side of each table: provisioning before the first batch (the
 * schema-provisioning step of the route), the swap or final commit after the last, and cleanup after a failure.
 */
public final class TableLoads {

    public static final String TABLE = "ferryTable";
    private static final Logger LOG = LoggerFactory.getLogger("dev.ferry.transfer");
    /** Past this many transaction ids, an xmin horizon may have wrapped around: read everything again. */
    static final long XMIN_SAFE_SPAN = (1L << 31) - 10_000_000L;

    private final Connections connections;
    private final Shutdown shutdown;
    private final dev.ferry.destination.CopyStreams streams;

    public TableLoads(Connections connections, Shutdown shutdown, dev.ferry.destination.CopyStreams streams) {
        this.connections = connections;
        this.shutdown = shutdown;
        this.streams = streams;
    }

    /**
     * Describes the source table, records the table's run as started, and provisions the destination: a fresh table
     * for a full refresh; for incremental modes the destination table (created when missing) and where to resume.
     */
    public void open(@ExchangeProperty("ferryRun") TransferRun run, @Body TableRef table, Exchange exchange) throws SQLException {
        // a retry of this table: the previous attempt's connection is rolled back, its run record reused
        TableLoad previous = exchange.getProperty(TABLE, TableLoad.class);
        if (previous != null) {
            previous.close();
        }
        Long previousRecord = table.equals(exchange.getProperty(Failures.SOURCE_TABLE)) ? exchange.getProperty(Failures.RECORD, Long.class) : null;
        exchange.removeProperty(TABLE);
        exchange.removeProperty(BatchPlanner.READ);
        exchange.removeProperty(Failures.RECORD);
        exchange.setProperty(Failures.SOURCE_TABLE, table);
        if (shutdown.requested()) {
            throw new RunInterrupted("not started: Ferry is shutting down; the next run covers it");
        }
        TransferSpec spec = run.spec();
        String schema = run.destination().schema();
        DataSource destination = connections.dataSource(run.destination());
        String loadTable = spec.mode() == Mode.FULL_REFRESH ? DestinationSchema.loadTableName(table.name(), run.id()) : table.name();
        long recordId;
        if (previousRecord != null) {
            recordId = previousRecord;
        } else {
            try (Connection c = destination.getConnection()) {
                recordId = RunHistory.start(c, schema, run, table, schema + "." + table.name(),
                        spec.mode() == Mode.FULL_REFRESH ? loadTable : null);
            }
        }
        // the record exists from here on: a failure below is written into it
        exchange.setProperty(Failures.RECORD, recordId);
        SourceTable source;
        long[] horizon = null;
        String sourceClock;
        try (Connection c = connections.dataSource(run.source()).getConnection()) {
            source = SourceCatalog.describe(c, table).select(spec);
            if (spec.mode() == Mode.XMIN) {
                horizon = xminHorizon(c);
            }
            sourceClock = spec.mode().incremental() ? BatchPlanner.sourceClock(c, source, spec) : null;
        }
        if (spec.mode().incremental() && !source.hasKey()) {
            throw new SourceTableException("transfer '" + spec.name() + "': " + table.display() + " has no primary key, and mode "
                    + spec.mode().key() + " merges rows by key; set the 'key' parameter to columns that identify a row");
        }
        List<String> notes = new ArrayList<>();
        try (Connection c = destination.getConnection()) {
            DestinationTypes.Resolved types;
            try {
                types = DestinationTypes.resolve(c, schema, source);
            } catch (SQLException e) {
                if (!LockWaits.timedOut(e)) {
                    throw e;
                }
                throw LockWaits.failure(destination, run.destination(), "changing the enum or composite types of", schema,
                        table.name(), LockWaits.pid(c), "No row was written");
            }
            source = source.withDestinationTypes(types.types());
            notes.addAll(types.notes());
        }
        Connection con = destination.getConnection();
        con.setAutoCommit(false);
        TableRead read = new TableRead(source, spec, Connections.beanName(run.source()), shutdown::requested);
        read.sourceClock(sourceClock);
        TableLoad load = new TableLoad(run, table, source, read, schema, table.name(), loadTable, recordId, con);
        exchange.setProperty(TABLE, load);
        exchange.setProperty(BatchPlanner.READ, read);
        // whatever happens to the exchange, the connection goes back to the pool and nothing half-done is committed
        exchange.getExchangeExtension().addOnCompletion(new SynchronizationAdapter() {
            @Override
            public void onDone(Exchange done) {
                load.close();
            }
        });
        if (spec.mode() == Mode.FULL_REFRESH) {
            List<SchemaEvolution.Column> kept = new ArrayList<>();
            boolean exists = DestinationSchema.tableExists(con, schema, table.name());
            if (exists) {
                Set<String> copied = new HashSet<>(source.columnNames());
                for (SchemaEvolution.Column c : SchemaEvolution.columns(con, schema, table.name()).values()) {
                    if (!copied.contains(c.name())) {
                        kept.add(c);
                        notes.add("column " + dev.ferry.config.Sql.displayIdent(c.name()) + " is no longer copied from the source"
                                + " (dropped there, or left out by the transfer): kept at the destination, NULL from now on");
                    }
                }
            }
            RunHistory.dropLeftoverLoads(con, schema, spec.name(), table.name());
            // the bulk path adds the metadata columns after the load (see finish); the query path writes them
            DestinationSchema.createTable(con, schema, load.loadTable(), source, kept, !read.isBulkCopy());
            if (exists) {
                FullRefreshSwap.prepareLoad(con, schema, table.name(), load.loadTable(), source);
            }
        } else {
            // the table as found, before Ferry's own changes below (a widening rewrites it) can change its identity
            TableIdentity found = DestinationSchema.tableIdentity(con, schema, table.name());
            if (found != null) {
                SchemaEvolution.Result evolved;
                try {
                    evolved = SchemaEvolution.reconcile(con, schema, table.name(), source);
                } catch (SQLException e) {
                    if (!LockWaits.timedOut(e)) {
                        throw e;
                    }
                    throw LockWaits.failure(destination, run.destination(), "the schema evolution of", schema, table.name(),
                            LockWaits.pid(con), "Nothing was changed: the table and its watermark stay as they were");
                }
                load.destinationOnly(evolved.destinationOnlyNames());
                notes.addAll(evolved.notes());
            }
            DestinationSchema.ensureMergeTable(con, schema, table.name(), source);
            String startedOver = resume(load, horizon, found, DestinationSchema.tableIdentity(con, schema, table.name()));
            if (startedOver != null) {
                notes.add(startedOver);
            }
            con.commit();
        }
        if (!notes.isEmpty()) {
            for (String n : notes) {
                LOG.warn("transfer {}: {} -> {}: {}", spec.name(), table.display(), load.destinationDisplay(), n);
            }
            try (Connection c = destination.getConnection()) {
                RunHistory.note(c, schema, recordId, notes);
            }
        }
    }

    /**
     * Sets where an incremental read starts, from the table's committed watermark, unless the destination table is
     * not the one the watermark was recorded for ({@code found}, as the run found it; null when it was missing): then
     * the table starts over from the start, and the returned note says why. Records {@code current}, the table as
     * the run writes it, with the watermark.
     */
    private static String resume(TableLoad load, long[] horizon, TableIdentity found,
                                 TableIdentity current) throws SQLException {
        TransferSpec spec = load.run().spec();
        TableRead read = load.read();
        Connection con = load.connection();
        String sourceTable = load.source().display();
        Watermarks.State state = Watermarks.load(con, load.schema(), spec.name(), sourceTable);
        if (state != null && !state.sameShape(spec.mode().key(), spec.cursor(), load.sourceTable().key())) {
            LOG.warn("transfer {}: {}: the transfer's mode, cursor or key changed since its last run ({}, cursor {}, key {});"
                    + " reading the table again from the start", spec.name(), load.source().display(), state.mode(),
                    state.cursorColumn(), state.keyColumns());
            state = null;
        }
        String startedOver = null;
        TableIdentity recorded = state == null ? null
                : Watermarks.recordedTable(con, load.schema(), spec.name(), sourceTable);
        if (state != null && state.started()) {
            String change = changed(recorded, found);
            if (change != null) {
                startedOver = "the destination table " + change + " since this transfer's watermark was recorded, so rows"
                        + " written before may be gone: the table is read again from the start (a backfill) instead of"
                        + " resuming";
                state = null;
            }
        }
        if (state == null) {
            Watermarks.restart(con, load.schema(), spec.name(), sourceTable, load.run().id(), spec.mode().key(), spec.cursor(),
                    load.sourceTable().key(), current);
        } else if (!current.equals(recorded)) {
            // recorded for the first time (a watermark from an older Ferry), or Ferry itself just rewrote the table
            Watermarks.recordTable(con, load.schema(), spec.name(), sourceTable, current);
        }
        if (spec.mode() != Mode.XMIN) {
            if (state != null && state.cursorValue() != null) {
                read.startAfter(state.cursorValue(), state.keyValue());
                CopyWriter.warnIfAheadOfClock(load, state.cursorValue()); // even when the run reads nothing new
            }
            return startedOver;
        }
        Long from = state == null ? null : state.xminHorizon();
        if (from != null && horizon[1] - from > XMIN_SAFE_SPAN) {
            LOG.warn("transfer {}: {}: more than 2^31 transactions since the last run; transaction ids may have wrapped,"
                    + " so the whole table is read again", spec.name(), load.source().display());
            from = null;
        }
        if (state != null && state.passHorizon() != null) {
            read.xminPass(from, state.passHorizon(), state.keyValue()); // an unfinished pass: resume it
        } else {
            read.xminPass(from, horizon[0], null);
        }
        return startedOver;
    }

    /**
     * How the destination table differs from the one a watermark was recorded for, or null when it does not (or
     * cannot be told: a watermark from before tables were recorded, of a table that is still there).
     */
    static String changed(TableIdentity recorded, TableIdentity found) {
        if (found == null) {
            return "was missing (dropped, or its schema was)";
        }
        if (recorded == null) {
            return null;
        }
        if (recorded.oid() != found.oid()) {
            return "is another table than before (dropped and created again, or replaced by a copy)";
        }
        if (!java.util.Objects.equals(recorded.storage(), found.storage())) {
            return "was emptied or rewritten (TRUNCATE, or VACUUM FULL or CLUSTER, which cannot be told apart from it)";
        }
        return null;
    }

    /** PostgreSQL's statement_timeout ended the statement (57014 is also a cancel for other reasons, such as a stop). */
    static boolean statementTimedOut(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLException sql && "57014".equals(sql.getSQLState()) && sql.getMessage() != null
                    && sql.getMessage().contains("statement timeout")) {
                return true;
            }
        }
        return false;
    }

    /** The source's oldest running transaction and next transaction id, epoch-extended (never wrap). */
    static long[] xminHorizon(Connection source) throws SQLException {
        try (PreparedStatement ps = source.prepareStatement(
                "SELECT txid_snapshot_xmin(s), txid_snapshot_xmax(s) FROM txid_current_snapshot() s");
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            return new long[] {rs.getLong(1), rs.getLong(2)};
        }
    }

    /**
     * Full refresh: swaps the loaded table in. Incremental: completes an xmin pass and applies hard deletes. Either
     * way records the table's run as succeeded, in the same transaction.
     */
    public void finish(@ExchangeProperty(TABLE) TableLoad load) throws SQLException {
        Connection con = load.connection();
        TransferSpec spec = load.run().spec();
        TableRead read = load.read();
        if (!read.drained()) {
            // the loop ended at a batch boundary because Ferry is stopping
            throw new RunInterrupted(spec.mode() == Mode.FULL_REFRESH
                    ? "stopped for shutdown after " + load.rows() + " rows; the destination table keeps its previous contents"
                    + " and the next run refreshes it"
                    : "stopped for shutdown after " + load.rows() + " rows in " + read.batches() + " committed batch(es); the next"
                    + " run resumes after them");
        }
        long deleted = 0;
        if (spec.mode() == Mode.FULL_REFRESH) {
            if (read.isBulkCopy()) {
                DestinationSchema.addRunColumns(con, load.schema(), load.loadTable(), load.run().syncedAt(), load.run().id());
            }
            try {
                FullRefreshSwap.swap(con, load.schema(), load.table(), load.loadTable(), load.sourceTable(),
                        DestinationSchema.swapTag(load.run().id(), load.table()));
            } catch (SQLException e) {
                if (statementTimedOut(e)) {
                    // building the key or indexes, or checking constraints, outlasted the bound: a retry would copy the
                    // whole table again only to time out the same way
                    throw new DestinationException("the swap of " + load.destinationDisplay() + " ran one statement (building its"
                            + " primary key or indexes, or checking constraints) longer than the destination's statementTimeout ("
                            + load.run().destination().timeouts().statement() + "); nothing was swapped: the table keeps its"
                            + " previous contents. Raise ferry.destination." + load.run().destination().name() + ".statementTimeout");
                }
                if (!LockWaits.timedOut(e)) {
                    throw e;
                }
                throw LockWaits.failure(connections.dataSource(load.run().destination()), load.run().destination(), "the swap of",
                        load.schema(), load.table(), LockWaits.pid(con), "Nothing was swapped: " + load.destinationDisplay()
                                + " keeps its previous contents");
            }
        } else {
            if (spec.mode() == Mode.XMIN) {
                Watermarks.save(con, load.schema(), spec.name(), load.source().display(), load.run().id(),
                        new Watermarks.State(spec.mode().key(), null, load.sourceTable().key(), null, null, read.xminTo(), null));
            }
            if (spec.hardDeletes()) {
                deleted = HardDeletes.apply(load, connections.dataSource(load.run().source()), streams);
            }
        }
        RunHistory.succeed(con, load.schema(), load.recordId(), load.rows(), load.readPath());
        dev.ferry.state.Lease.check(con, load.schema(), spec.name(), load.run().id());
        con.commit();
        load.markFinished();
        load.close();
        load.run().tableDone(load.source(), load.rows());
        double secs = load.seconds();
        String how = switch (spec.mode()) {
            case FULL_REFRESH -> "full refresh swapped in";
            case APPEND -> load.changed() + " new";
            default -> load.changed() + " inserted or updated" + (spec.hardDeletes() ? ", " + deleted + " deleted" : "");
        };
        LOG.info("transfer {}: {} -> {}: {} rows in {}s ({} rows/s), {} batch(es), {}", spec.name(), load.source().display(),
                load.destinationDisplay(), load.rows(), String.format("%.2f", secs),
                String.format("%.0f", load.rows() / Math.max(secs, 1e-3)), read.batches(), how);
    }
}
