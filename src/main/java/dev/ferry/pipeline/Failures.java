package dev.ferry.pipeline;

import dev.ferry.failure.Errors;
import dev.ferry.state.RunHistory;
import dev.ferry.state.RunInterrupted;
import dev.ferry.state.Runs;
import dev.ferry.state.TransferRun;
import java.sql.Connection;
import java.sql.SQLException;

import dev.ferry.connect.Connections;
import dev.ferry.config.TableRef;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The error route's step: rolls back what the failed table left uncommitted, and records the failure in the
 * run history and the log, with a message that names the cause.
 */
public final class Failures {

    /** Exchange property: the {@code _ferry_runs} row of the table being moved. */
    public static final String RECORD = "ferryRecord";
    /** Exchange property: the source table being moved. */
    public static final String SOURCE_TABLE = "ferrySourceTable";

    private static final Logger LOG = LoggerFactory.getLogger("dev.ferry.transfer");

    private final Connections connections;
    private final Runs runs;
    private final Retries retries;

    public Failures(Connections connections, Runs runs, Retries retries) {
        this.connections = connections;
        this.runs = runs;
        this.retries = retries;
    }

    public void record(Exchange exchange) {
        Throwable error = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        if (error == null) {
            error = exchange.getException();
        }
        TransferRun run = exchange.getProperty(Runs.RUN, TransferRun.class);
        String message = TransferRun.describe(error, run);
        boolean interrupted = Errors.find(error, RunInterrupted.class) != null;
        if (!interrupted && retries.stoppedForShutdown(error)) {
            interrupted = true;
            message = "stopped for shutdown after a transient failure (the next run covers it); the last attempt failed: "
                    + TransferRun.describe(Retries.retried(error), run);
        }
        TableLoad load = exchange.getProperty(TableLoad.TABLE, TableLoad.class);
        TableRef table = exchange.getProperty(SOURCE_TABLE, TableRef.class);
        Long recordId = exchange.getProperty(RECORD, Long.class);
        long rows = load != null ? load.rows() : 0;
        if (load != null) {
            load.close(); // roll back now: nothing uncommitted of this table survives the failure
        }
        if (run != null && table != null) {
            dev.ferry.observe.LogContext.table(run.spec().name(), run.id(), table.display());
        } else if (run != null) {
            dev.ferry.observe.LogContext.run(run.spec().name(), run.id());
        }
        if (run == null) {
            LOG.error(dev.ferry.observe.LogContext.CAUSE, "transfer {}: failed before it started: {}", exchange.getFromRouteId(), message, error);
            return;
        }
        if (table != null && interrupted) {
            run.tableInterrupted(table, rows, message);
            LOG.warn(dev.ferry.observe.LogContext.CAUSE, "transfer {}: {}: {}", run.spec().name(), table.display(), message, error);
        } else if (table != null) {
            run.tableFailed(table, rows, message);
            String kept = LoadMode.of(run.spec().mode()).kept();
            LOG.error(dev.ferry.observe.LogContext.CAUSE, "transfer {}: {} failed after {} rows ({}): {}", run.spec().name(),
                    table.display(), rows, kept, message, error);
        } else {
            run.runFailed(message);
            runs.failed(run);
            LOG.error(dev.ferry.observe.LogContext.CAUSE, "transfer {}: run {} failed: {}", run.spec().name(), run.id(), message, error);
        }
        String schema = run.destination().schema();
        // a direct connection with a short timeout: when the destination itself is the problem, fail fast
        try (Connection c = connections.openDirect(run.destination(), 5)) {
            boolean recorded;
            try {
                write(c, schema, run, table, recordId, interrupted, rows, message);
                // a table whose record could not even be created, because the run history was missing
                recorded = recordId != null || table == null || !missingObject(error);
            } catch (SQLException e) {
                if (!missingObject(e)) {
                    throw e;
                }
                recorded = false;
            }
            if (!recorded) {
                // the run history (or its schema) was dropped under the run, likely the very failure being recorded:
                // create it again and record the failure in a new row (the table's row, if any, went with it)
                Runs.ensureBookkeeping(c, schema);
                Long id = table == null ? null : RunHistory.start(c, schema, run, table,
                        schema + "." + run.spec().names().nameOf(table), null);
                write(c, schema, run, table, id, interrupted, rows, message);
                LOG.warn("transfer {}: the run history {}.{} was missing; created it again to record this failure",
                        run.spec().name(), schema, RunHistory.TABLE);
            }
        } catch (SQLException | RuntimeException e) {
            runs.unrecorded(run);
            LOG.warn("transfer {}: could not record the failure in {}.{}: {}", run.spec().name(), schema, RunHistory.TABLE,
                    Errors.describe(e));
        }
    }

    /** Whether a failure is a missing relation or schema (42P01, 3F000). */
    private static boolean missingObject(Throwable error) {
        SQLException sql = Errors.deepest(error);
        return sql != null && ("42P01".equals(sql.getSQLState()) || "3F000".equals(sql.getSQLState()));
    }

    private static void write(Connection c, String schema, TransferRun run, TableRef table, Long recordId, boolean interrupted,
                              long rows, String message) throws SQLException {
        if (recordId != null && interrupted) {
            RunHistory.interrupted(c, schema, recordId, rows, message);
        } else if (recordId != null) {
            RunHistory.fail(c, schema, recordId, rows, message);
        } else if (table == null) {
            RunHistory.runFailed(c, schema, run, message);
        }
    }
}
