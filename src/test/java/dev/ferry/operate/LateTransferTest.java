package dev.ferry.operate;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * When a transfer's health check calls it late: no run started by the schedule's next fire time after the last
 * start, plus one more period (at least a minute).
 */
class LateTransferTest {

    private static final Instant SINCE = LocalDateTime.of(2026, 3, 10, 14, 20, 0).atZone(ZoneId.systemDefault()).toInstant();

    @Test
    @Timeout(10)
    void anIntervalScheduleIsLateTwoIntervalsAfterTheLastStart() {
        assertThat(FerryHealth.deadline(null, Duration.ofMinutes(15), SINCE)).isEqualTo(SINCE.plus(Duration.ofMinutes(30)));
    }

    @Test
    @Timeout(10)
    void aShortIntervalGetsAMinuteOfGrace() {
        assertThat(FerryHealth.deadline(null, Duration.ofSeconds(10), SINCE)).isEqualTo(SINCE.plusSeconds(10 + 60));
    }

    @Test
    @Timeout(10)
    void aCronScheduleIsLateOnePeriodAfterTheNextFire() {
        // hourly at :00; last start 14:20: the next fire is 15:00, late from 16:00
        Instant late = LocalDateTime.of(2026, 3, 10, 16, 0, 0).atZone(ZoneId.systemDefault()).toInstant();
        assertThat(FerryHealth.deadline("0 0 * * * ?", null, SINCE)).isEqualTo(late);
        // daily at 02:00: next fire tomorrow 02:00, late a day after that
        Instant daily = LocalDateTime.of(2026, 3, 12, 2, 0, 0).atZone(ZoneId.systemDefault()).toInstant();
        assertThat(FerryHealth.deadline("0 0 2 * * ?", null, SINCE)).isEqualTo(daily);
    }
}
