package dev.ferry.pipeline;

import java.sql.Connection;
import java.sql.SQLException;

import dev.ferry.config.TableRef;
import dev.ferry.connect.Connections;
import dev.ferry.source.BatchPlanner;
import dev.ferry.state.RunHistory;
import dev.ferry.state.RunInterrupted;
import dev.ferry.state.Runs;
import dev.ferry.state.Shutdown;
import dev.ferry.state.TransferRun;
import org.apache.camel.Body;
import org.apache.camel.Exchange;
import org.apache.camel.ExchangeProperty;

/**
 * The table pipeline's first step: releases what a failed attempt of the table left (a retry), and records the table's
 * run as started in the run history, before anything that can fail, so that every failure lands in the record.
 */
public final class TableStart {

    private final Connections connections;
    private final Shutdown shutdown;

    public TableStart(Connections connections, Shutdown shutdown) {
        this.connections = connections;
        this.shutdown = shutdown;
    }

    public void start(@ExchangeProperty(Runs.RUN) TransferRun run, @Body TableRef table, Exchange exchange) throws SQLException {
        // a retry of this table: the previous attempt's sessions are rolled back, its run record reused
        TableLoad previous = exchange.getProperty(TableLoad.TABLE, TableLoad.class);
        if (previous != null) {
            previous.close();
            if (!previous.unreportedSchemaChanges().isEmpty()) {
                exchange.setProperty(TableLoad.SCHEMA_CHANGES, previous.unreportedSchemaChanges()); // for the retry to report
            }
        }
        Long previousRecord = table.equals(exchange.getProperty(Failures.SOURCE_TABLE)) ? exchange.getProperty(Failures.RECORD, Long.class) : null;
        exchange.removeProperty(TableLoad.TABLE);
        exchange.removeProperty(BatchPlanner.READ);
        exchange.removeProperty(Failures.RECORD);
        exchange.setProperty(Failures.SOURCE_TABLE, table);
        dev.ferry.observe.LogContext.table(run.spec().name(), run.id(), table.display());
        if (shutdown.requested()) {
            throw new RunInterrupted("not started: Ferry is shutting down; the next run covers it");
        }
        long recordId;
        if (previousRecord != null) {
            recordId = previousRecord;
        } else {
            String schema = run.destination().schema();
            LoadMode mode = LoadMode.of(run.spec().mode());
            String target = run.spec().names().nameOf(table);
            String loadTable = mode.loadTable(target, run.id());
            try (Connection c = connections.dataSource(run.destination()).getConnection()) {
                recordId = RunHistory.start(c, schema, run, table, schema + "." + target, loadTable.equals(target) ? null : loadTable);
                RunHistory.note(c, schema, recordId, run.takeNotes(table)); // new at the source, a table gone (RunTables)
            }
        }
        // the record exists from here on: a failure below is written into it
        exchange.setProperty(Failures.RECORD, recordId);
    }
}
