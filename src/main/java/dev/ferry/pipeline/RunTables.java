package dev.ferry.pipeline;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.ferry.config.Sql;
import dev.ferry.config.TableRef;
import dev.ferry.config.TableSelection;
import dev.ferry.config.TransferSpec;
import dev.ferry.connect.Connections;
import dev.ferry.source.SourceTableException;
import dev.ferry.source.TableMatch;
import dev.ferry.state.RunHistory;
import dev.ferry.state.Runs;
import dev.ferry.state.TransferRun;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The transfer route's step after the run's start ({@code ferryTables}): the run's tables, its {@code tables} patterns
 * matched against the source now (one catalog query, {@link TableMatch}), set as the body for the split. A table new
 * at the source since the transfer's previous run (read from {@code _ferry_runs}, one query) is logged and noted in its
 * run record; one the previous run copied that is gone (dropped, renamed, or no longer matching) is logged and noted in
 * the run's first table record, and its destination table stays. A transfer that names its tables without patterns
 * reads nothing here.
 */
public final class RunTables {

    private static final Logger LOG = LoggerFactory.getLogger("dev.ferry.transfer");

    private final Connections connections;

    public RunTables(Connections connections) {
        this.connections = connections;
    }

    public void resolve(Exchange exchange) throws SQLException {
        TransferRun run = exchange.getProperty(Runs.RUN, TransferRun.class);
        TransferSpec spec = run.spec();
        TableSelection selection = spec.tableSelection();
        if (!selection.hasPatterns()) {
            checkColumnRules(run, run.getTables());
            exchange.getIn().setBody(run.getTables());
            return;
        }
        List<TableRef> tables;
        try (Connection c = connections.dataSource(run.source()).getConnection()) {
            tables = TableMatch.resolve(c, selection);
        }
        if (tables.isEmpty()) {
            // most often a typo: a run that copies nothing should not pass for a success
            throw new SourceTableException(SourceTableException.Kind.MISSING, "parameter 'tables' (" + selection
                    + ") matches no table at source " + spec.source() + " (" + run.source().describe() + ")"
                    + (selection.exclude().isEmpty() ? "" : " once 'excludeTables' is applied")
                    + "; check the patterns (bare names fold to lower case, quote mixed-case ones: \"Sales Data\".*), or run"
                    + " ferry discover " + spec.source() + " to see its tables", "tables");
        }
        Set<String> previous;
        try (Connection c = connections.dataSource(run.destination()).getConnection()) {
            previous = RunHistory.previousTables(c, run.destination().schema(), spec.name());
        }
        checkDestinationNames(spec, tables);
        checkColumnRules(run, tables);
        // logged and noted once the step can no longer fail: a retry of it would say it all twice
        if (!previous.isEmpty()) {
            Set<String> now = new java.util.HashSet<>();
            for (TableRef t : tables) {
                now.add(t.display());
                if (!previous.contains(t.display())) {
                    LOG.info("transfer {}: {} is new at the source since the previous run (it matches 'tables'); copying it from"
                            + " this run on", spec.name(), t.display());
                    run.note(t, "new at the source since the previous run: copied from this run on");
                }
            }
            String schema = run.destination().schema();
            for (String gone : previous) {
                if (!now.contains(gone)) {
                    LOG.warn("transfer {}: {}, copied by the previous run, is no longer at the source or no longer matches"
                            + " 'tables' / 'excludeTables' (dropped or renamed?); it is not copied any more, and its destination"
                            + " table in {} stays as it is", spec.name(), gone, Sql.displayIdent(schema));
                    run.note(null, "gone from the source since the previous run (or no longer matching): " + gone
                            + " is not copied any more; its destination table stays");
                }
            }
        }
        for (TableRef renamed : spec.names().renames().keySet()) {
            if (!tables.contains(renamed)) {
                // a rename the patterns allow but that matches no table now: most often a typo, the table then lands
                // under its default name
                LOG.warn("transfer {}: parameter 'rename.{}' names no table the patterns match now; check it against"
                        + " ferry discover {}", spec.name(), renamed.display(), spec.source());
            }
        }
        run.tables(tables);
        exchange.getIn().setBody(tables);
    }

    /**
     * Two of the run's tables that would land on one destination name, or a name PostgreSQL would cut: with patterns
     * that can only be known here, after expansion (declared tables are checked at startup). Fails the run before any
     * table is written.
     */
    static void checkDestinationNames(TransferSpec spec, List<TableRef> tables) {
        List<String> problems = spec.names().problems(tables);
        if (!problems.isEmpty()) {
            throw new SourceTableException(SourceTableException.Kind.SHAPE, "transfer '" + spec.name() + "': the tables that"
                    + " 'tables' matches now cannot all be written: " + String.join("; ", problems) + "; no table was copied",
                    "tables");
        }
    }

    /**
     * Fails the run before any write when a column rule (hash, mask, nullify, cast) names a column that none of its
     * tables has: a typo must never let a clear value through. A table that is not there is left to its own step, which
     * says why.
     */
    private void checkColumnRules(TransferRun run, List<TableRef> tables) throws SQLException {
        dev.ferry.config.ColumnRules rules = run.spec().columnRules();
        if (rules.isEmpty()) {
            return;
        }
        // the tables found (one that is not is left to its own step, which says so), one catalog query for all
        Map<TableRef, List<String>> columns;
        try (Connection c = connections.dataSource(run.source()).getConnection()) {
            columns = dev.ferry.source.SourceCatalog.columnNames(c, tables);
        }
        List<String> problems = rules.unmatched(columns);
        if (!problems.isEmpty()) {
            throw new SourceTableException(SourceTableException.Kind.SHAPE, "transfer '"
                    + run.spec().name() + "': " + String.join("; ", problems));
        }
    }

}
