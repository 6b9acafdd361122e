package dev.ferry.connect;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import dev.ferry.config.ConnectionSettings;
import dev.ferry.config.Secret;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Runs reserve their sessions of every server they reach, in turn; a reservation cut short gives back what it was
 * granted. No session is opened: reserving is bookkeeping before a run connects.
 */
class SessionBudgetTest {

    private static ConnectionSettings on(ConnectionSettings.Role role, String name, String host, int max) {
        return new ConnectionSettings(role, name, host, 5432, "db", "u", new Secret("p"), role == ConnectionSettings.Role.DESTINATION
                ? "s" : null, 10, null, null, ConnectionSettings.Timeouts.DEFAULT,
                new ConnectionSettings.Sessions(max, Duration.ofSeconds(10)));
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void aReservationInterruptedWhileWaitingForItsSecondServerGivesBackItsFirst() throws Exception {
        ConnectionSettings source = on(ConnectionSettings.Role.SOURCE, "src", "a.example", 5);
        ConnectionSettings destination = on(ConnectionSettings.Role.DESTINATION, "dst", "b.example", 4);
        try (Connections connections = new Connections(Map.of("src", source), Map.of("dst", destination), "test")) {
            // another run holds the whole destination budget
            Connections.Reservation other = connections.reserve("other", source, 1, destination, 4, () -> false);
            assertThat(connections.budget(destination).reserved()).isEqualTo(4);

            AtomicReference<Throwable> ended = new AtomicReference<>();
            Thread waiting = new Thread(() -> {
                try {
                    connections.reserve("waiting", source, 2, destination, 3, () -> false);
                } catch (Throwable t) {
                    ended.set(t);
                }
            });
            waiting.start();
            // it holds its source sessions while it waits for the destination's ("a.example" sorts first)
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (connections.budget(source).reserved() < 3 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(connections.budget(source).reserved()).isEqualTo(3);
            waiting.interrupt();
            waiting.join(10_000);

            assertThat(ended.get()).isInstanceOf(InterruptedException.class);
            assertThat(connections.budget(source).reserved()).as("the waiting run's source sessions are given back").isEqualTo(1);
            other.close();
            assertThat(connections.budget(source).reserved()).isZero();
            assertThat(connections.budget(destination).reserved()).isZero();
        }
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void runsWaitInTurnAndAStopEndsTheWait() throws Exception {
        ConnectionSettings source = on(ConnectionSettings.Role.SOURCE, "src", "one.example", 6);
        ConnectionSettings destination = on(ConnectionSettings.Role.DESTINATION, "dst", "one.example", 6);
        try (Connections connections = new Connections(Map.of("src", source), Map.of("dst", destination), "test")) {
            // one server: a run's source and destination sessions come from the same budget
            Connections.Reservation first = connections.reserve("first", source, 1, destination, 3, () -> false);
            assertThat(connections.budget(source).reserved()).isEqualTo(4);
            assertThat(connections.budget(source)).isSameAs(connections.budget(destination));

            java.util.concurrent.atomic.AtomicBoolean stopping = new java.util.concurrent.atomic.AtomicBoolean();
            AtomicReference<Connections.Reservation> second = new AtomicReference<>();
            Thread waiting = reserveLater(connections, "second", source, 1, destination, 3, stopping::get, second);
            waiting.join(1_500);
            assertThat(waiting.isAlive()).as("4 + 4 > 6: the second run waits").isTrue();
            stopping.set(true);
            waiting.join(5_000);
            assertThat(waiting.isAlive()).isFalse();
            assertThat(second.get()).as("a stop ends the wait without a reservation").isNull();
            assertThat(connections.budget(source).reserved()).isEqualTo(4);
            first.close();
            assertThat(connections.budget(source).reserved()).isZero();
        }
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void aLargeReservationIsNotPassedOverBySmallerOnesThatCameLater() throws Exception {
        ConnectionSettings source = on(ConnectionSettings.Role.SOURCE, "src", "fifo.example", 6);
        ConnectionSettings destination = on(ConnectionSettings.Role.DESTINATION, "dst", "fifo.example", 6);
        try (Connections connections = new Connections(Map.of("src", source), Map.of("dst", destination), "test")) {
            Connections.Reservation small = connections.reserve("small", source, 1, destination, 3, () -> false);
            AtomicReference<Connections.Reservation> large = new AtomicReference<>();
            Thread first = reserveLater(connections, "large", source, 1, destination, 5, () -> false, large);
            Thread.sleep(300); // the large one is waiting, first in line
            AtomicReference<Connections.Reservation> later = new AtomicReference<>();
            Thread second = reserveLater(connections, "later", source, 1, destination, 1, () -> false, later);
            second.join(1_500);
            assertThat(later.get()).as("2 sessions are free, but the large reservation came first").isNull();

            small.close();
            first.join(5_000);
            assertThat(large.get()).as("the large reservation goes first").isNotNull();
            assertThat(later.get()).isNull();
            large.get().close();
            second.join(5_000);
            assertThat(later.get()).isNotNull();
            later.get().close();
            assertThat(connections.budget(source).reserved()).isZero();
        }
    }

    /** Reserves on a thread of its own, as a run would, and keeps what it was granted (null: none). */
    private static Thread reserveLater(Connections connections, String who, ConnectionSettings source, int sourceSessions,
                                       ConnectionSettings destination, int destinationSessions,
                                       java.util.function.BooleanSupplier stopping, AtomicReference<Connections.Reservation> granted) {
        Thread t = new Thread(() -> {
            try {
                granted.set(connections.reserve(who, source, sourceSessions, destination, destinationSessions, stopping));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        t.start();
        return t;
    }
}
