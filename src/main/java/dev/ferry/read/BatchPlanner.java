package dev.ferry.read;

import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;

import dev.ferry.config.Sql;
import org.apache.camel.Exchange;
import org.apache.camel.ExchangeProperty;
import org.apache.camel.component.sql.SqlConstants;

/**
 * Writes the query for a table's next batch, for the camel-sql endpoint that reads it: the SQL goes in the message
 * body, its bind parameters in the {@code CamelSqlParameters} header. Identifiers are quoted; every value (the
 * last key read, the batch size) is a bind parameter.
 */
public final class BatchPlanner {

    public static final String READ = "ferryRead";

    public void next(@ExchangeProperty(READ) TableRead read, Exchange exchange) {
        SourceTable t = read.table();
        StringBuilder sql = new StringBuilder("SELECT ").append(Sql.idents(t.columnNames()))
                .append(" FROM ").append(t.ref().quoted());
        List<Object> params = new ArrayList<>();
        if (t.hasKey()) {
            if (read.lastKey() != null) {
                StringJoiner casts = new StringJoiner(", ", "(", ")");
                for (int i = 0; i < t.key().size(); i++) {
                    casts.add("CAST(? AS " + t.column(t.key().get(i)).declaredType() + ")");
                    params.add(read.lastKey().get(i));
                }
                sql.append(" WHERE (").append(Sql.idents(t.key())).append(") > ").append(casts);
            }
            sql.append(" ORDER BY ").append(Sql.idents(t.key())).append(" LIMIT ?");
            params.add(read.batchSize());
        }
        exchange.getIn().setBody(sql.toString());
        exchange.getIn().setHeader(SqlConstants.SQL_PARAMETERS, params);
    }
}
