package dev.ferry.config;

import java.text.ParseException;
import java.util.Date;

import org.quartz.CronExpression;

/** Checks schedules with Quartz, which camel-quartz fires them with. */
final class Schedules {

    private Schedules() {
    }

    /**
     * Null when Quartz accepts the expression and it fires at some time from now on, else what is wrong and how to
     * fix it (camel-quartz refuses to schedule a trigger that never fires).
     */
    static String cronProblem(String cron) {
        try {
            if (new CronExpression(cron).getNextValidTimeAfter(new Date()) == null) {
                return "'" + cron + "' never fires: no date from now on matches it (a day the month does not have, such as"
                        + " 30 February, or a year in the past); check its day-of-month, month and year fields";
            }
            return null;
        } catch (ParseException e) {
            return "'" + cron + "' is not a valid Quartz cron expression (" + e.getMessage() + "); Quartz cron has six or seven"
                    + " fields starting with seconds, e.g. \"0 */15 * * * ?\"";
        }
    }
}
