package dev.ferry.pipeline;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

import dev.ferry.source.TableRead;
import dev.ferry.state.CrashPoints;
import dev.ferry.state.Lease;
import dev.ferry.state.RunHistory;
import dev.ferry.state.Watermarks;
import org.apache.camel.ExchangeProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The merge modes' commit step: a merged batch's watermark (where the next batch or run starts, see
 * {@link LoadMode#saveWatermark}), the run record's row count and the lease check, then the commit that makes the
 * batch and all of that durable together: each batch lands whole, with the watermark that covers it, or not at all.
 */
public final class BatchCommit {

    private static final Logger LOG = LoggerFactory.getLogger("dev.ferry.transfer");

    public void commit(@ExchangeProperty(TableLoad.TABLE) TableLoad load) throws SQLException {
        Connection con = load.connection();
        load.mode().saveWatermark(load, load.batchEnd());
        RunHistory.progress(con, load.schema(), load.recordId(), load.rows());
        Lease.check(con, load.schema(), load.run().spec().name(), load.run().id());
        CrashPoints.reached("before-commit");
        con.commit();
        CrashPoints.reached("between-batches");
    }

    /**
     * Warns, once per table and run, when the watermark is ahead of the source's clock (future-dated cursor values,
     * clock skew): in the log, and in the run record with the transaction that wrote or resumed from it.
     */
    static void warnIfAheadOfClock(TableLoad load, String watermark) throws SQLException {
        TableRead read = load.read();
        String warning = Watermarks.aheadOfClockWarning(load.schema(), read.spec().name(), load.source().display(),
                read.spec().cursor(), watermark, read.sourceClock(), read.sinceSourceClock());
        if (warning != null && read.firstAheadOfClock()) {
            LOG.warn(warning);
            RunHistory.note(load.connection(), load.schema(), load.recordId(), List.of(warning));
        }
    }
}
