package dev.ferry.config;

import java.text.ParseException;

import org.quartz.CronExpression;

/** Checks schedules with Quartz, which camel-quartz fires them with. */
final class Schedules {

    private Schedules() {
    }

    /** Null when Quartz accepts the expression, else what it objects to. */
    static String cronProblem(String cron) {
        try {
            CronExpression.validateExpression(cron);
            return null;
        } catch (ParseException e) {
            return e.getMessage();
        }
    }
}
