package dev.ferry.pipeline;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import dev.ferry.config.Mode;
import dev.ferry.config.TableRef;
import dev.ferry.destination.DestinationSchema;
import dev.ferry.destination.FullRefreshSwap;
import dev.ferry.destination.LockWaits;
import dev.ferry.destination.SchemaChangeStop;
import dev.ferry.destination.SchemaEvolution;
import dev.ferry.source.TableRead;
import dev.ferry.state.RunHistory;
import dev.ferry.state.Watermarks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a transfer's mode decides on the destination side, one implementation per mode, so that each mode's rules live
 * in one place: which table the rows are loaded into and how it is provisioned, where an incremental read resumes,
 * what a merge does with rows already there, the watermark each batch commits, and what the log says at the end. The
 * reading side's counterpart is {@link dev.ferry.source.ReadOrder}; the routes choose the steps (ferry-pipeline.yaml).
 */
public abstract class LoadMode {

    private static final Logger LOG = LoggerFactory.getLogger("dev.ferry.transfer");

    /** Past this many transaction ids, an xmin horizon may have wrapped around: read everything again. */
    static final long XMIN_SAFE_SPAN = (1L << 31) - 10_000_000L;

    public static LoadMode of(Mode mode) {
        return switch (mode) {
            case FULL_REFRESH -> FULL_REFRESH;
            case INCREMENTAL -> INCREMENTAL;
            case APPEND -> APPEND;
            case XMIN -> XMIN;
        };
    }

    /**
     * The table COPY writes into: the destination table itself ({@code destinationTable}, the source table's name at the
     * destination), or a fresh load table for a full refresh.
     */
    String loadTable(String destinationTable, UUID runId) {
        return destinationTable;
    }

    /**
     * Provisions the table the rows go into, on the load's connection and in its transaction, adding a note for each
     * change the user should know about.
     */
    abstract void provision(TableLoad load, Connection con, List<String> notes) throws SQLException;

    /**
     * Sets where the read starts from the table's committed watermark ({@code state}, null when there is none or the
     * table starts over).
     */
    void startRead(TableLoad load, Watermarks.State state) throws SQLException {
    }

    /** Whether a merge leaves rows already at the destination as they are (append) rather than updating them. */
    boolean keepsExistingRows() {
        return false;
    }

    /** Writes where the next batch or run starts, in the batch's transaction; {@code end} is where the batch ended. */
    void saveWatermark(TableLoad load, BatchEnd end) throws SQLException {
    }

    /** After the last batch, in the table's last transaction: what the mode commits for the next run. */
    void complete(TableLoad load) throws SQLException {
    }

    /** Whether rows gone from the source are marked (hardDeletes: soft) rather than deleted. */
    boolean softDeletes(TableLoad load) {
        return false;
    }

    /**
     * A full refresh under freeze: the load table gets the destination's shape, so the read leaves out the source's new
     * columns and the load keeps the destination's types; a kept type the source's binary form does not match is read
     * as text, which the destination's COPY converts.
     */
    static void narrow(TableLoad load, SchemaEvolution.Result found) {
        if (found.leftOut().isEmpty() && found.keptTypes().isEmpty()) {
            return;
        }
        load.narrow(load.sourceTable().narrowed(found.leftOut(), found.keptTypes()));
        if (!found.keptTypes().isEmpty()) {
            load.binaryCopy(false);
        }
    }

    /** What happened to the destination table, for the log line at the table's end. */
    abstract String outcome(TableLoad load);

    /** What stays at the destination when the table fails or stops midway. */
    abstract String kept();

    /** A full refresh: the whole table into a fresh load table, swapped in at the end. */
    static final LoadMode FULL_REFRESH = new LoadMode() {
        @Override
        String loadTable(String destinationTable, UUID runId) {
            return DestinationSchema.loadTableName(destinationTable, runId);
        }

        @Override
        void provision(TableLoad load, Connection con, List<String> notes) throws SQLException {
            String schema = load.schema();
            boolean soft = load.run().spec().changes().softDeletes();
            if (soft && !load.sourceTable().hasKey()) {
                throw new dev.ferry.destination.DestinationException("hardDeletes: soft on " + load.source().display() + " needs a key"
                        + " to tell which destination rows are gone from the source, and the table has no primary key. Nothing was"
                        + " written. Fix: name its key columns in the transfer's 'key' parameter, or remove hardDeletes");
            }
            List<SchemaEvolution.Column> kept = new ArrayList<>();
            boolean exists = DestinationSchema.tableExists(con, schema, load.table());
            if (exists) {
                // the load table takes the shape the transfer's onSchemaChange allows: evolve, the source's (the
                // destination's other columns kept, NULL); freeze, the destination's; fail, none but the same
                SchemaEvolution.Result found;
                try {
                    found = SchemaEvolution.reconcile(con, schema, load.table(), load.sourceTable(),
                            load.run().spec().changes().onSchemaChange(), true);
                } catch (SchemaChangeStop e) {
                    load.schemaChanges(e.changes(), true);
                    throw e;
                }
                kept.addAll(found.destinationOnly());
                notes.addAll(found.notes());
                load.schemaChanges(found.changes(), false);
                narrow(load, found);
            }
            RunHistory.dropLeftoverLoads(con, schema, load.run().spec().name(), load.table());
            // the bulk path adds the metadata columns after the load (see Swap); the query path writes them
            DestinationSchema.createTable(con, schema, load.loadTable(), load.sourceTable(), kept, !load.read().isBulkCopy());
            if (soft) {
                DestinationSchema.addDeletedAt(con, schema, load.loadTable()); // NULL: every row loaded is at the source
            }
            if (exists) {
                FullRefreshSwap.prepareLoad(con, schema, load.table(), load.loadTable(), load.sourceTable());
                if (soft) {
                    FullRefreshSwap.checkCarry(con, schema, load.table(), load.loadTable());
                }
            }
        }

        @Override
        String outcome(TableLoad load) {
            return "full refresh swapped in" + (load.run().spec().changes().softDeletes()
                    ? ", " + load.deleted() + " row(s) gone from the source kept, marked deleted" : "");
        }

        @Override
        String kept() {
            return "the destination table keeps its previous contents";
        }
    };

    /** The merge modes: batches merged by key into the destination table, each committed with its watermark. */
    private abstract static class Merging extends LoadMode {
        @Override
        void provision(TableLoad load, Connection con, List<String> notes) throws SQLException {
            // the table as found, before Ferry's own changes (a widening rewrites it) can change its identity
            load.foundTable(DestinationSchema.tableIdentity(con, load.schema(), load.table()));
            boolean soft = load.run().spec().changes().softDeletes();
            if (load.foundTable() != null) {
                SchemaEvolution.Result evolved;
                try {
                    evolved = SchemaEvolution.reconcile(con, load.schema(), load.table(), load.sourceTable(),
                            load.run().spec().changes().onSchemaChange(), false);
                    notes.addAll(DestinationSchema.addMissingMetadataColumns(con, load.schema(), load.table()));
                    if (soft && DestinationSchema.addDeletedAt(con, load.schema(), load.table())) {
                        notes.add("Ferry's metadata column " + DestinationSchema.DELETED_AT + " added (hardDeletes: soft): set when a"
                                + " row's key is gone from the source");
                    }
                } catch (SchemaChangeStop e) {
                    load.schemaChanges(e.changes(), true);
                    throw e;
                } catch (SQLException e) {
                    if (!LockWaits.timedOut(e)) {
                        throw e;
                    }
                    throw LockWaits.failure(load.destinationPool(), load.run().destination(), "the schema evolution of", load.schema(),
                            load.table(), LockWaits.pid(con), "Nothing was changed: the table and its watermark stay as they were");
                }
                load.destinationOnly(evolved.destinationOnlyNames());
                notes.addAll(evolved.notes());
                load.schemaChanges(evolved.changes(), false);
                if (!evolved.leftOut().isEmpty()) {
                    // freeze: the source's new columns are not read (the merge casts kept types, so those stay as read)
                    load.narrow(load.sourceTable().narrowed(evolved.leftOut(), java.util.Map.of()));
                }
            }
            DestinationSchema.ensureMergeTable(con, load.schema(), load.table(), load.sourceTable());
            if (soft && load.foundTable() == null) {
                DestinationSchema.addDeletedAt(con, load.schema(), load.table());
            }
            // a row the merge writes is at the source: never deleted, whether soft deletes are on now or marked it in
            // runs when they were (turned off since, nothing else would ever clear those marks)
            load.clearsDeletedAt(soft || DestinationSchema.hasDeletedAt(con, load.schema(), load.table()));
        }

        @Override
        boolean softDeletes(TableLoad load) {
            return load.run().spec().changes().softDeletes();
        }

        @Override
        String outcome(TableLoad load) {
            return load.changed() + " inserted or updated" + (!load.run().spec().hardDeletes() ? ""
                    : ", " + load.deleted() + (softDeletes(load) ? " marked deleted" : " deleted"));
        }

        @Override
        String kept() {
            return "batches committed before the failure are kept, and the next run resumes after them";
        }
    }

    /** Incremental and append: keyset batches by cursor, the watermark the last committed row's cursor and key. */
    private static class CursorMerging extends Merging {
        private final boolean append;

        CursorMerging(boolean append) {
            this.append = append;
        }

        @Override
        void startRead(TableLoad load, Watermarks.State state) throws SQLException {
            if (state != null && state.cursorValue() != null) {
                load.read().startAfter(state.cursorValue(), state.keyValue());
                BatchCommit.warnIfAheadOfClock(load, state.cursorValue()); // even when the run reads nothing new
            }
        }

        @Override
        boolean keepsExistingRows() {
            return append;
        }

        @Override
        void saveWatermark(TableLoad load, BatchEnd end) throws SQLException {
            if (end.phase() != TableRead.Phase.MAIN || end.key() == null) {
                return; // the NULL-cursor pass moves no watermark: it is read again every run
            }
            Connection con = load.connection();
            String transfer = load.run().spec().name();
            String sourceTable = load.source().display();
            String cursor = load.run().spec().cursor();
            Watermarks.save(con, load.schema(), transfer, sourceTable, load.run().id(), new Watermarks.State(
                    load.run().spec().mode().key(), cursor, load.sourceTable().key(), end.cursor(), end.key(), null, null));
            String warning = Watermarks.endOfTimeWarning(load.schema(), transfer, sourceTable, cursor, end.cursor());
            if (warning != null && load.read().firstEndOfTime()) {
                LOG.warn(warning);
                RunHistory.note(con, load.schema(), load.recordId(), List.of(warning)); // with the batch that moved it there
            }
            BatchCommit.warnIfAheadOfClock(load, end.cursor());
        }

        @Override
        String outcome(TableLoad load) {
            return append ? load.changed() + " new" : super.outcome(load);
        }
    }

    static final LoadMode INCREMENTAL = new CursorMerging(false);
    static final LoadMode APPEND = new CursorMerging(true);

    /**
     * xmin: passes over the rows written by transactions since the last pass's horizon, in key order; a pass's horizon
     * becomes the next run's start only when the pass completes, and an unfinished pass resumes after its last key.
     */
    static final LoadMode XMIN = new Merging() {
        @Override
        void startRead(TableLoad load, Watermarks.State state) {
            long[] horizon = load.read().sourceHorizon();
            Long from = state == null ? null : state.xminHorizon();
            if (from != null && horizon[1] - from > XMIN_SAFE_SPAN) {
                LOG.warn("transfer {}: {}: more than 2^31 transactions since the last run; transaction ids may have wrapped,"
                        + " so the whole table is read again", load.run().spec().name(), load.source().display());
                from = null;
            }
            if (state != null && state.passHorizon() != null) {
                load.read().xminPass(from, state.passHorizon(), state.keyValue()); // an unfinished pass: resume it
            } else {
                load.read().xminPass(from, horizon[0], null);
            }
        }

        @Override
        void saveWatermark(TableLoad load, BatchEnd end) throws SQLException {
            if (end.key() == null) {
                return;
            }
            // an unfinished pass: where to resume it after a crash
            Connection con = load.connection();
            String transfer = load.run().spec().name();
            String sourceTable = load.source().display();
            Watermarks.State prev = Watermarks.load(con, load.schema(), transfer, sourceTable);
            Watermarks.save(con, load.schema(), transfer, sourceTable, load.run().id(), new Watermarks.State(Mode.XMIN.key(),
                    null, load.sourceTable().key(), null, end.key(), prev == null ? null : prev.xminHorizon(), load.read().xminTo()));
        }

        @Override
        void complete(TableLoad load) throws SQLException {
            Watermarks.save(load.connection(), load.schema(), load.run().spec().name(), load.source().display(), load.run().id(),
                    new Watermarks.State(Mode.XMIN.key(), null, load.sourceTable().key(), null, null, load.read().xminTo(), null));
        }
    };
}
