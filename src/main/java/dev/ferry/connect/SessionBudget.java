package dev.ferry.connect;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.ArrayDeque;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sessions Ferry may hold on one server, shared by every connection declared to it.
 *
 * <p>Design: a run reserves, before it opens anything, the most sessions it can hold at once on the server (its
 * transfer's lock, its run records, one per COPY stream of each table it copies in parallel: see
 * {@code TransferSpec.destinationSessions}), of {@code maxSessions}. A run that cannot get them waits in a queue,
 * first come first served (a large reservation is not passed over by smaller ones for ever), instead of failing; and since a run never needs more than it reserved,
 * runs never wait on each other halfway (no deadlock). The sessions themselves come from one HikariCP pool per
 * endpoint (host, port, database, user, TLS, tunnel), whatever the number of connection names or destination schemas
 * that share it; a pool's idle sessions close after {@code idleTimeout}, and at once when another endpoint on the same
 * server needs the room.
 */
public final class SessionBudget {

    private static final Logger LOG = LoggerFactory.getLogger("dev.ferry.connect");

    private final String server;
    private final int max;
    /** Guards {@link #free} and {@link #queue}; {@link #changed} wakes the waiting runs. */
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    /** The runs waiting, in the order they came: only the first may take sessions, so none is passed over for ever. */
    private final ArrayDeque<Object> queue = new ArrayDeque<>();
    private int free;
    private final List<HikariDataSource> pools = new CopyOnWriteArrayList<>();

    SessionBudget(String server, int max) {
        this.server = server;
        this.max = max;
        this.free = max;
    }

    /** The server, as {@code host:port} (and the bastion, when tunnelled). */
    public String server() {
        return server;
    }

    /** {@code maxSessions}: the most sessions Ferry holds on the server. */
    public int max() {
        return max;
    }

    /** Sessions open on the server now, in use or idle, over all of Ferry's pools to it. */
    public int open() {
        int open = 0;
        for (HikariDataSource pool : pools) {
            HikariPoolMXBean bean = pool.getHikariPoolMXBean();
            open += bean == null ? 0 : bean.getTotalConnections();
        }
        return open;
    }

    /** Sessions reserved by runs now. */
    public int reserved() {
        lock.lock();
        try {
            return max - free;
        } finally {
            lock.unlock();
        }
    }

    void add(HikariDataSource pool) {
        pools.add(pool);
    }

    void remove(HikariDataSource pool) {
        pools.remove(pool);
    }

    /**
     * Waits for {@code sessions} of the budget, in turn; gives up (returning false) only when {@code stopping} says so.
     *
     * @param who what is waiting, for the log
     */
    boolean acquire(int sessions, String who, List<HikariDataSource> mine, BooleanSupplier stopping) throws InterruptedException {
        int n = Math.min(sessions, max);
        Object ticket = new Object();
        lock.lockInterruptibly();
        try {
            queue.addLast(ticket);
            try {
                boolean logged = false;
                while (queue.peekFirst() != ticket || free < n) {
                    if (!logged) {
                        LOG.info("{}: waiting for {} session(s) on {}: its budget of {} (maxSessions) is reserved by other"
                                + " runs", who, n, server, max);
                        logged = true;
                    }
                    changed.await(1, TimeUnit.SECONDS);
                    if (stopping.getAsBoolean()) {
                        return false;
                    }
                }
                free -= n;
            } finally {
                queue.remove(ticket);
                changed.signalAll(); // the next in line may fit now
            }
        } finally {
            lock.unlock();
        }
        makeRoom(n, mine);
        return true;
    }

    void release(int sessions) {
        lock.lock();
        try {
            free += Math.min(sessions, max);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Closes idle sessions of the server's other pools while they would take the room just reserved: sessions a pool
     * keeps after its runs ended count on the server but not in the budget. Bounded: closing is asynchronous.
     */
    private void makeRoom(int reservedNow, List<HikariDataSource> mine) {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (open() + reservedNow > max + mineIdle(mine) && System.nanoTime() < deadline) {
            for (HikariDataSource pool : pools) {
                HikariPoolMXBean bean = pool.getHikariPoolMXBean();
                if (!mine.contains(pool) && bean != null && bean.getIdleConnections() > 0) {
                    bean.softEvictConnections();
                }
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Sessions open in the run's own pools: the run reuses their idle ones rather than opening more. */
    private static int mineIdle(List<HikariDataSource> mine) {
        int open = 0;
        for (HikariDataSource pool : mine) {
            HikariPoolMXBean bean = pool.getHikariPoolMXBean();
            open += bean == null ? 0 : bean.getIdleConnections();
        }
        return open;
    }
}
