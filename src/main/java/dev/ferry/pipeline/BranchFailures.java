package dev.ferry.pipeline;

import org.apache.camel.AggregationStrategy;
import org.apache.camel.Exchange;
import org.apache.camel.ExchangePropertyKey;
import org.apache.camel.ExchangeProperty;

/**
 * The incremental route's multicast (merge and commit this batch, stage the next) in two parts: the multicast's
 * aggregation, which takes each branch's failure off its exchange and keeps it on the table's load, and the step after
 * the multicast ({@link #rethrow}), which fails the table with it.
 *
 * <p>Why not let the multicast fail: its default aggregation keeps the failure of whichever branch ended last, so a row
 * the destination rejected in the merge could be reported as the staging's lost connection instead (and retried);
 * here the first branch's failure is thrown when both fail, the merge's, and the other is added to it as suppressed.
 * And Camel flags an exchange whose multicast failed as having exhausted its redeliveries (meant for branches with
 * error handlers of their own): thrown by an ordinary step, the failure meets the transfer's retry rule as any other
 * step's does, whatever that flag does.
 */
public final class BranchFailures implements AggregationStrategy {

    @Override
    public Exchange aggregate(Exchange oldExchange, Exchange newExchange) {
        Exception failure = newExchange.getException();
        if (failure != null) {
            newExchange.setException(null);
            TableLoad load = newExchange.getProperty(TableLoad.TABLE, TableLoad.class);
            load.branchFailed(newExchange.getProperty(ExchangePropertyKey.MULTICAST_INDEX, 0, Integer.class), failure);
        }
        return oldExchange != null ? oldExchange : newExchange;
    }

    /** Fails the table with what a branch of the multicast threw, if one did. */
    public void rethrow(@ExchangeProperty(TableLoad.TABLE) TableLoad load) throws Exception {
        Exception failure = load.takeBranchFailure();
        if (failure != null) {
            throw failure;
        }
    }
}
