package dev.ferry.pipeline;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.List;
import java.util.StringJoiner;

import dev.ferry.config.ConnectionSettings;
import dev.ferry.config.Sql;
import dev.ferry.connect.Connections;
import dev.ferry.destination.CopyPipe;
import dev.ferry.destination.CopyStreams;
import dev.ferry.destination.CopyRows;
import dev.ferry.destination.DestinationSchema;
import dev.ferry.source.BatchPlanner;
import dev.ferry.source.SourceTable;
import dev.ferry.source.TableRead;
import org.apache.camel.ExchangeProperty;

/**
 * An incremental or append batch's read and write on the bulk path: one keyset page copied by COPY at both ends into
 * a temporary stage in the load's transaction, for the merge step. Where the batch ended is read from its last row:
 * in binary form straight from the cursor and key columns when Ferry can write their values as text itself (integers,
 * uuid, dates and timestamps), otherwise from the text of the cursor and key that the query then appends to every row.
 *
 * <p>Pipelined (see the ferry-incremental route): the merge is most of a batch's time, and all of it on the
 * destination's server, so while the load's session merges and commits a batch, {@link #stageNext} stages the next
 * one in a second session (the load's spare), since its start is known as soon as this batch is staged; {@link #stage}
 * then takes it, the two sessions swapping roles. Batches still commit one after the other, each with its watermark;
 * a staged batch that is never merged (a failure, a shutdown) is rolled back with its session.
 */
public final class StageBatch {

    private final Connections connections;
    private final CopyStreams streams;

    public StageBatch(Connections connections, CopyStreams streams) {
        this.connections = connections;
        this.streams = streams;
    }

    /** Stages this batch (or takes the one staged while the previous batch merged) and moves the read past it. */
    public void stage(@ExchangeProperty(TableLoad.TABLE) TableLoad load) throws SQLException {
        boolean binary = CopyFormat.binary(connections, load);
        load.readBy(CopyFormat.path(binary));
        TableRead read = load.read();
        Keyset keyset = Keyset.of(read, binary);
        CopyPipe.Result r = load.takeStaged();
        if (r == null) {
            r = stage(load.run().source(), load.run().destination(), load.connection(), Plan.of(load, keyset, binary), load.progress());
        }
        load.addRows(r.rows());
        String lastCursor = null;
        List<String> lastKey = null;
        if (r.lastRow() != null) {
            List<String> last = keyset.fromRow() ? CopyRows.binaryFields(r.lastRow(), keyset.indexes(), keyset.types())
                    : CopyRows.lastFields(r.lastRow(), binary, keyset.columns().size());
            // bulk batches are the cursor-ordered pass (TableRead#isBulkCopy): the keyset is the cursor, then the key
            lastCursor = last.get(0);
            lastKey = last.subList(1, last.size());
        }
        TableRead.Phase phase = read.phase();
        read.advance(r.rows(), lastCursor, lastKey);
        load.batchEnd(new BatchEnd(phase, lastCursor, lastKey), false);
        load.stageNextWhileMerging(read.isMore() && read.isBulkCopy());
    }

    /** Stages the next batch in the load's spare session, while this one merges in the load's session. */
    public void stageNext(@ExchangeProperty(TableLoad.TABLE) TableLoad load) throws SQLException {
        boolean binary = load.binaryCopy();
        Plan plan = Plan.of(load, Keyset.of(load.read(), binary), binary); // the read's position is this batch's end
        load.staged(stage(load.run().source(), load.run().destination(), load.spare(), plan, load.progress()));
    }

    /** The columns that order batches (cursor, then key) and how the last row's values are read. */
    private record Keyset(List<String> columns, int[] indexes, int[] types, boolean fromRow) {
        static Keyset of(TableRead read, boolean binary) {
            SourceTable t = read.table();
            List<String> columns = BatchPlanner.keyset(read);
            int[] indexes = columns.stream().mapToInt(t::indexOf).toArray();
            int[] types = Arrays.stream(indexes).map(i -> i < 0 ? 0 : t.columns().get(i).typeOid()).toArray();
            return new Keyset(columns, indexes, types, binary && Arrays.stream(types).allMatch(CopyRows::decodes));
        }
    }

    /** The statements that stage one batch, planned from the read's current position. */
    private record Plan(List<Object> settings, String createStage, String copyOut, String copyIn, boolean binary) {
        static Plan of(TableLoad load, Keyset keyset, boolean binary) {
            SourceTable t = load.sourceTable();
            BatchPlanner.Query q = BatchPlanner.planCopy(load.read(), !keyset.fromRow());
            StringJoiner columns = DestinationSchema.columnDefinitions(t);
            for (int i = 0; !keyset.fromRow() && i < keyset.columns().size(); i++) {
                columns.add(Sql.ident(BatchPlanner.KEYSET_COLUMN + i) + " text");
            }
            String format = binary ? "binary" : "text";
            return new Plan(List.copyOf(q.params()), "CREATE TEMP TABLE " + Merge.STAGE + " " + columns + " ON COMMIT DROP",
                    "COPY (" + q.sql() + ") TO STDOUT (FORMAT " + format + ")",
                    "COPY pg_temp." + Merge.STAGE + " FROM STDIN (FORMAT " + format + ", FREEZE)", binary);
        }
    }

    /**
     * Copies one batch from the source into a new temporary stage in the destination session's open transaction; its rows
     * and bytes count as the table's progress as they stream (staged, not yet merged).
     */
    private CopyPipe.Result stage(ConnectionSettings sourceSettings, ConnectionSettings destinationSettings, Connection destination,
                                  Plan plan, dev.ferry.observe.TableProgress progress) throws SQLException {
        Connection source = connections.dataSource(sourceSettings).getConnection();
        boolean clean = false;
        try {
            BatchPlanner.bindSettings(source, plan.settings());
            try (Statement st = destination.createStatement()) {
                st.execute(plan.createStage());
            }
            CopyPipe.Result r = CopyPipe.run(streams, source, sourceSettings, plan.copyOut(), destination, destinationSettings, plan.copyIn(),
                    plan.binary(), () -> false, progress);
            clean = true;
            return r;
        } finally {
            connections.release(sourceSettings, source, clean);
        }
    }

}
