package dev.ferry.testing;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import dev.ferry.app.Ferry;

/**
 * Ferry's command line run in this JVM on a Ferry folder ({@link FerryHarness#write}), as a user types it:
 * {@code ferry --config DIR/application.properties --routes DIR/routes ARGS...}.
 */
public final class FerryCommand {

    /** A command's exit status and what it printed. */
    public record Out(int status, String out, String err) {
    }

    private FerryCommand() {
    }

    /** Runs the command; returns its exit status. */
    public static int run(Path dir, String... args) {
        return Ferry.execute(withFolder(dir, args));
    }

    /** Runs the command, capturing standard output and error (one at a time: they are the JVM's). */
    public static synchronized Out capture(Path dir, String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        int status;
        try {
            status = run(dir, args);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        return new Out(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static String[] withFolder(Path dir, String... args) {
        String[] all = new String[args.length + 4];
        all[0] = "--config";
        all[1] = dir.resolve("application.properties").toString();
        all[2] = "--routes";
        all[3] = dir.resolve("routes").toString();
        System.arraycopy(args, 0, all, 4, args.length);
        return all;
    }
}
