package dev.ferry.operate;

import java.text.ParseException;
import java.time.Instant;
import java.util.Date;

import dev.ferry.config.TransferSpec;
import org.apache.camel.CamelContext;
import org.apache.camel.Route;
import org.apache.camel.component.quartz.QuartzEndpoint;
import org.quartz.CronExpression;
import org.quartz.SchedulerException;
import org.quartz.Trigger;

/** Where {@link StatusReader} gets next fire times from. */
public final class NextFires {

    private NextFires() {
    }

    /**
     * In a process without running schedules ({@code ferry status}): computed. A cron schedule's next time after now
     * (Quartz's own CronExpression, in this JVM's time zone, as the scheduler uses); an {@code every} schedule's is the
     * last run's start plus the interval (a {@code ferry run} fires every interval from its own start, which this
     * process cannot know), possibly in the past when the transfer is overdue; unknown before any run.
     */
    public static StatusReader.NextFire estimated() {
        return (spec, lastStart) -> estimate(spec, lastStart);
    }

    /** Under {@code ferry run}: the transfer's Quartz trigger's next fire time, estimated when it has none. */
    public static StatusReader.NextFire scheduler(CamelContext camel) {
        return (spec, lastStart) -> {
            Route route = camel.getRoute(spec.name());
            if (route != null && route.getEndpoint() instanceof QuartzEndpoint quartz) {
                try {
                    Trigger trigger = quartz.getComponent().getScheduler().getTrigger(quartz.getTriggerKey());
                    if (trigger != null && trigger.getNextFireTime() != null) {
                        return new StatusReader.Fire(trigger.getNextFireTime().toInstant(), false);
                    }
                } catch (SchedulerException e) {
                    // estimated below
                }
            }
            return estimate(spec, lastStart);
        };
    }

    private static StatusReader.Fire estimate(TransferSpec spec, Instant lastStart) {
        if (spec.cron() != null) {
            try {
                Date next = new CronExpression(spec.cron()).getNextValidTimeAfter(new Date());
                return next == null ? null : new StatusReader.Fire(next.toInstant(), true);
            } catch (ParseException e) {
                return null; // refused at startup: not reached
            }
        }
        return lastStart == null || spec.every() == null ? null : new StatusReader.Fire(lastStart.plus(spec.every()), true);
    }
}
