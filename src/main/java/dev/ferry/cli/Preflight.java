package dev.ferry.cli;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import dev.ferry.config.ConnectionSettings;
import dev.ferry.config.Connections;
import dev.ferry.config.TableRef;
import dev.ferry.config.TransferCatalog;
import dev.ferry.config.TransferSpec;
import dev.ferry.read.SourceCatalog;
import dev.ferry.read.SourceTable;
import dev.ferry.read.SourceTableException;
import dev.ferry.state.Errors;
import dev.ferry.state.PrivilegeHints;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * At startup, before any transfer runs: every transfer's source tables exist and have the columns and key it names.
 * A missing table or column is a configuration problem, reported with the others; a missing grant or an
 * unreachable source is only a warning here (it may be fixed by the time the transfer runs, and the run reports it).
 */
final class Preflight {

    private static final Logger LOG = LoggerFactory.getLogger("dev.ferry");

    private Preflight() {
    }

    static List<String> sourceTables(TransferCatalog catalog, Connections connections) {
        List<String> problems = new ArrayList<>();
        for (TransferSpec spec : catalog.all()) {
            ConnectionSettings source = connections.source(spec.source());
            try (Connection c = connections.openDirect(source, 10)) {
                for (TableRef table : spec.tables()) {
                    try {
                        SourceTable t = SourceCatalog.describe(c, table).select(spec);
                        if (spec.mode().incremental() && !t.hasKey()) {
                            problems.add(catalog.where(spec.name(), "tables") + ": transfer '" + spec.name() + "': " + table.display()
                                    + " has no primary key, and mode " + spec.mode().key() + " merges rows by key; set the 'key'"
                                    + " parameter to columns that identify a row");
                        }
                    } catch (SourceTableException e) {
                        if (e.kind() == SourceTableException.Kind.PRIVILEGE) {
                            LOG.warn("transfer {}: {}", spec.name(), e.getMessage());
                        } else {
                            String param = e.kind() == SourceTableException.Kind.MISSING ? "tables" : e.parameter();
                            String msg = e.getMessage().startsWith("transfer '") ? e.getMessage()
                                    : "transfer '" + spec.name() + "': " + e.getMessage();
                            problems.add(catalog.where(spec.name(), param) + ": " + msg);
                        }
                    }
                }
            } catch (SQLException e) {
                String hint = PrivilegeHints.hint(e, source, null);
                LOG.warn("transfer {}: could not check its source tables now ({}{}); they are checked again when it runs",
                        spec.name(), Errors.describe(e), hint != null ? "; fix: " + hint : "");
            }
        }
        return problems;
    }
}
