package dev.ferry.pipeline;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An Error in the thread that reads the source's COPY stream (here a real OutOfMemoryError: one row larger than a
 * small heap) fails the run at once, naming the cause; it used to leave the writer waiting for the reader forever,
 * holding the destination's COPY open and the transfer's lock.
 */
class ReaderErrorTest {

    @Test
    void aRowLargerThanTheHeapFailsTheRunInsteadOfHangingIt() throws Exception {
        TestDb src = TestDb.source("readererr");
        TestDb dst = TestDb.destination("readererr");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.t (id int PRIMARY KEY, v text)",
                "INSERT INTO app.t VALUES (1, 'small'), (2, repeat('x', 160 * 1024 * 1024))");
        src.grantRead("app");
        Path dir = FerryHarness.write(src, dst, "export", FerryHarness.transfer("t", "app.t"), Map.of());
        Process p = new ProcessBuilder(List.of(CrashRecoveryTest.javaBin(), "-Xmx96m", "-cp", System.getProperty("java.class.path"),
                "dev.ferry.app.Ferry", "--config", dir.resolve("application.properties").toString(),
                "--routes", dir.resolve("routes").toString(), "sync", "t"))
                .redirectErrorStream(true).redirectOutput(dir.resolve("sync.log").toFile()).start();
        boolean ended = p.waitFor(120, TimeUnit.SECONDS);
        if (!ended) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        String log = Files.readString(dir.resolve("sync.log"), StandardCharsets.UTF_8);
        assertThat(ended).as("the sync ended; log:\n%s", log).isTrue();
        assertThat(p.exitValue()).as("log:\n%s", log).isEqualTo(1);
        assertThat(log).contains("the Java heap ran out").contains("-Xmx");
        try (Connection d = dst.admin()) {
            assertThat(Dumps.scalar(d, "SELECT status FROM export._ferry_runs WHERE source_table IS NOT NULL")).isEqualTo("failed");
            assertThat(Dumps.scalar(d, "SELECT count(*) FROM pg_tables WHERE schemaname = 'export' AND tablename NOT LIKE '\\_ferry\\_%'"))
                    .as("no table was swapped in").isEqualTo("0");
        }
    }
}
