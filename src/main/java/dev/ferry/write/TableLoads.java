package dev.ferry.write;

import java.sql.Connection;
import java.sql.SQLException;

import javax.sql.DataSource;

import dev.ferry.config.Connections;
import dev.ferry.config.TableRef;
import dev.ferry.read.BatchPlanner;
import dev.ferry.read.SourceCatalog;
import dev.ferry.read.SourceTable;
import dev.ferry.read.TableRead;
import dev.ferry.state.Failures;
import dev.ferry.state.RunHistory;
import dev.ferry.state.TransferRun;
import org.apache.camel.Body;
import org.apache.camel.Exchange;
import org.apache.camel.ExchangeProperty;
import org.apache.camel.support.SynchronizationAdapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens and finishes the destination side of each table: provisioning before the first batch (the
 * schema-provisioning step of the route), the atomic swap or commit after the last, and cleanup after a failure.
 */
public final class TableLoads {

    public static final String TABLE = "ferryTable";
    private static final Logger LOG = LoggerFactory.getLogger("dev.ferry.transfer");

    private final Connections connections;

    public TableLoads(Connections connections) {
        this.connections = connections;
    }

    /** Describes the source table, records the table's run as started, and creates the table to load into. */
    public void open(@ExchangeProperty("ferryRun") TransferRun run, @Body TableRef table, Exchange exchange) throws SQLException {
        exchange.removeProperty(TABLE);
        exchange.removeProperty(BatchPlanner.READ);
        exchange.removeProperty(Failures.RECORD);
        exchange.setProperty(Failures.SOURCE_TABLE, table);
        String schema = run.destination().schema();
        DataSource destination = connections.dataSource(run.destination());
        long recordId;
        try (Connection c = destination.getConnection()) {
            recordId = RunHistory.start(c, schema, run, table, schema + "." + table.name());
        }
        // the record exists from here on: a failure below is written into it
        exchange.setProperty(Failures.RECORD, recordId);
        SourceTable source;
        try (Connection c = connections.dataSource(run.source()).getConnection()) {
            source = SourceCatalog.describe(c, table);
        }
        Connection con = destination.getConnection();
        con.setAutoCommit(false);
        TableRead read = new TableRead(source, Connections.beanName(run.source()), run.spec().batchSize(), run.spec().fetchSize());
        TableLoad load = new TableLoad(run, table, source, read, schema, table.name(),
                DestinationSchema.loadTableName(table.name(), run.id()), recordId, con);
        exchange.setProperty(TABLE, load);
        exchange.setProperty(BatchPlanner.READ, read);
        // whatever happens to the exchange, the connection goes back to the pool and nothing half-done is committed
        exchange.getExchangeExtension().addOnCompletion(new SynchronizationAdapter() {
            @Override
            public void onDone(Exchange done) {
                load.close();
            }
        });
        DestinationSchema.createTable(con, schema, load.loadTable(), source);
    }

    /** Swaps the loaded table in and records the table's run as succeeded, in one transaction. */
    public void finish(@ExchangeProperty(TABLE) TableLoad load) throws SQLException {
        Connection con = load.connection();
        FullRefreshSwap.swap(con, load.schema(), load.table(), load.loadTable(), load.sourceTable(),
                load.run().id().toString().substring(0, 8));
        RunHistory.succeed(con, load.schema(), load.recordId(), load.rows());
        con.commit();
        load.markFinished();
        load.close();
        load.run().tableDone(load.source(), load.rows());
        double secs = load.seconds();
        LOG.info("transfer {}: {} -> {}: {} rows in {}s ({} rows/s), {} batch(es), full refresh swapped in",
                load.run().spec().name(), load.source().display(), load.destinationDisplay(), load.rows(),
                String.format("%.2f", secs), String.format("%.0f", load.rows() / Math.max(secs, 1e-3)), load.read().batches());
    }
}
