package dev.ferry.pipeline;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Iterator;

import dev.ferry.state.TransferRun;
import org.apache.camel.Exchange;
import org.apache.camel.ExchangeProperty;

/**
 * The transform step: gives each source row the destination's shape by appending the metadata columns
 * ({@code _ferry_synced_at}, {@code _ferry_run_id}). Their values are the same for a whole run, so they are encoded
 * once per batch rather than once per row.
 */
public final class MetadataColumns {

    @SuppressWarnings("unchecked")
    public void apply(@ExchangeProperty("ferryRun") TransferRun run, Exchange exchange) {
        Object body = exchange.getIn().getBody();
        Iterator<byte[][]> rows = body instanceof Iterator<?> it ? (Iterator<byte[][]>) it : Collections.emptyIterator();
        byte[] suffix = ("\t" + run.syncedAt() + "\t" + run.id()).getBytes(StandardCharsets.UTF_8);
        exchange.getIn().setBody(new RowBatch(rows, suffix));
    }
}
