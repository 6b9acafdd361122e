package dev.ferry.pipeline;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TcpProxy;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The threads of COPY streams are Camel's (ExecutorServiceManager), so that its shutdown sees them: each COPY's source
 * reader runs on a pooled Camel thread, one Camel thread watches every open COPY for stalls, and once Camel has
 * stopped none of them is left.
 */
class CopyThreadsTest {

    /** Camel's default thread name pattern, {@code Camel (name) thread #counter - name}. */
    private static final String CAMEL_THREAD = "Camel \\(.+\\) thread #\\d+ - ";

    @Test
    void copyThreadsAreCamelsOneWatchdogWatchesEveryCopyAndNoneOutlivesCamel() throws Exception {
        Set<Thread> before = copyThreads();
        ExecutorService syncs = Executors.newFixedThreadPool(2);
        try (FaultTest.Setup s = FaultTest.setup("copythreads", 150_000);
             TcpProxy src2Proxy = new TcpProxy(s.src().server().host(), s.src().server().port())) {
            // a second source behind its own proxy, so that two COPY streams can be held open at once, one per proxy
            Map<String, String> props = new java.util.HashMap<>(s.props());
            TestDb src = s.src();
            props.put("ferry.source.src2.hostname", "127.0.0.1");
            props.put("ferry.source.src2.port", String.valueOf(src2Proxy.port()));
            props.put("ferry.source.src2.database", src.database());
            props.put("ferry.source.src2.user", src.user());
            props.put("ferry.source.src2.password", src.password());
            props.put("ferry.source.src2.connectTimeout", "3s");
            props.putAll(FerryHarness.destination("dst2", s.dst(), "export2"));
            String yaml = transfer("a", "app.orders", "retryDelay", "200ms")
                    + transfer("b", "app.orders", "retryDelay", "200ms").replace("value: 'src'", "value: 'src2'")
                    .replace("value: 'dst'", "value: 'dst2'");
            try (FerryHarness ferry = FerryHarness.start(s.src(), s.dst(), "export", yaml, props)) {
                // each source goes silent in the middle of its COPY (the stallTimeout, 5 minutes, is not reached here):
                // both COPY streams then stay open, their readers blocked on the source
                s.srcProxy().blackHoleAfter("COPY ", 2 << 20);
                src2Proxy.blackHoleAfter("COPY ", 2 << 20);
                Future<TransferRun> a = syncs.submit(() -> ferry.sync("a"));
                Future<TransferRun> b = syncs.submit(() -> ferry.sync("b"));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (!(s.srcProxy().isBlackHole() && src2Proxy.isBlackHole()) && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertThat(s.srcProxy().isBlackHole() && src2Proxy.isBlackHole()).as("both COPY streams are open").isTrue();

                List<String> names = names(copyThreads(), before);
                assertThat(names.stream().filter(n -> n.endsWith("ferry-copy-reader")))
                        .as("a reader per open COPY, on Camel's threads: %s", names)
                        .hasSize(2).allMatch(n -> n.matches(CAMEL_THREAD + "ferry-copy-reader"));
                assertThat(names.stream().filter(n -> n.endsWith("ferry-copy-watchdog")))
                        .as("one watchdog thread for both COPY streams, Camel's: %s", names)
                        .singleElement().matches(n -> n.matches(CAMEL_THREAD + "ferry-copy-watchdog"));

                // the path comes back: the swallowed connections are closed, and the retries copy the table
                s.srcProxy().heal();
                src2Proxy.heal();
                assertThat(a.get(120, TimeUnit.SECONDS).status()).isEqualTo(TransferRun.Status.SUCCEEDED);
                assertThat(b.get(120, TimeUnit.SECONDS).status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            }
            // Camel has stopped: it ended every COPY thread (idle pooled ones included)
            Set<Thread> left = copyThreads();
            left.removeAll(before);
            for (Thread t : left) {
                t.join(TimeUnit.SECONDS.toMillis(30));
            }
            assertThat(names(left.stream().filter(Thread::isAlive).collect(Collectors.toSet()), Set.of()))
                    .as("COPY threads alive after Camel stopped").isEmpty();
        } finally {
            syncs.shutdownNow();
        }
    }

    /** The live threads named for COPY streams (ferry-copy, ferry-copy-reader, ferry-copy-watchdog). */
    private static Set<Thread> copyThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().contains("ferry-copy"))
                .collect(Collectors.toSet());
    }

    private static List<String> names(Set<Thread> threads, Set<Thread> except) {
        return threads.stream().filter(t -> !except.contains(t)).map(Thread::getName).sorted().toList();
    }
}
