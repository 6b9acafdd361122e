package dev.ferry.pipeline;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.ExecutorService;

import dev.ferry.config.Sql;
import dev.ferry.connect.Connections;
import dev.ferry.destination.CopyPipe;
import dev.ferry.destination.CopyStreams;
import dev.ferry.source.BatchPlanner;
import dev.ferry.source.SourceTable;
import dev.ferry.source.TableRead;
import org.apache.camel.ExchangeProperty;

/**
 * A full refresh's read and write in one step, on the bulk path: {@code COPY ... TO STDOUT} on the source streamed
 * straight into {@code COPY ... FROM STDIN} into the load table (see {@link CopyPipe}), the whole table in one stream
 * and one snapshot, or in copyStreams streams sharing one snapshot (see {@link ParallelCopy}). No row is parsed on
 * the way; the metadata columns are added after the load, in the swap.
 */
public final class CopyTable {

    private final Connections connections;
    /** The threads of the extra COPY streams: Camel's, so that its shutdown sees them. */
    private final ExecutorService threads;
    private final CopyStreams streams;

    public CopyTable(Connections connections, ExecutorService threads, CopyStreams streams) {
        this.connections = connections;
        this.threads = threads;
        this.streams = streams;
    }

    public void copy(@ExchangeProperty(TableLoad.TABLE) TableLoad load) throws SQLException {
        boolean binary = CopyFormat.binary(connections, load);
        String path = CopyFormat.path(binary);
        Connection source = connections.dataSource(load.run().source()).getConnection();
        boolean clean = false;
        try {
            ParallelCopy.Plan plan = ParallelCopy.plan(load, source);
            load.readBy(plan.streams() > 1 ? path + " in " + plan.streams() + " streams" : path);
            clean = wholeTable(load, source, binary, plan);
        } finally {
            // a COPY abandoned midway leaves the session in an unknown state: never hand it to another run
            connections.release(load.run().source(), source, clean);
        }
    }

    /** The whole table into the load table. A shutdown abandons it (the old table stays); returns false then. */
    private boolean wholeTable(TableLoad load, Connection source, boolean binary, ParallelCopy.Plan plan) throws SQLException {
        TableRead read = load.read();
        if (plan.streams() > 1) {
            return done(load, ParallelCopy.run(connections, load, source, binary, plan, read::stopRequested, threads, streams));
        }
        SourceTable t = load.sourceTable();
        String format = binary ? "binary" : "text";
        String out;
        if (t.plainTable()) {
            out = "COPY " + t.ref().quoted() + " (" + Sql.idents(t.columnNames()) + ") TO STDOUT (FORMAT " + format + ")";
        } else {
            BatchPlanner.Query q = BatchPlanner.planCopy(read, false);
            BatchPlanner.bindSettings(source, q.params()); // a hash's key pads, a mask's constant
            out = "COPY (" + q.sql() + ") TO STDOUT (FORMAT " + format + ")";
        }
        // FREEZE: the table was created in this transaction, so its rows can be written frozen
        String in = "COPY " + Sql.qualified(load.schema(), load.loadTable()) + " (" + Sql.idents(t.columnNames())
                + ") FROM STDIN (FORMAT " + format + ", FREEZE)";
        return done(load, CopyPipe.run(streams, source, load.run().source(), out, load.connection(), load.run().destination(), in, binary,
                read::stopRequested, load.progress()));
    }

    /** Counts a whole-table copy; false when a shutdown stopped it. */
    private static boolean done(TableLoad load, CopyPipe.Result r) {
        load.addRows(r.rows());
        if (r.stopped()) {
            return false;
        }
        load.read().drainedInOne(r.rows());
        return true;
    }
}
