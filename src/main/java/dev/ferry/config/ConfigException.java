package dev.ferry.config;

import java.util.List;

/**
 * Bad configuration: every problem found, each naming the file and key that holds it and how to fix it.
 * Thrown before any transfer runs; the command line prints all problems and exits non-zero.
 */
public class ConfigException extends RuntimeException {

    private final List<String> problems;

    public ConfigException(List<String> problems) {
        super(format(problems));
        this.problems = List.copyOf(problems);
    }

    public ConfigException(String problem) {
        this(List.of(problem));
    }

    public List<String> problems() {
        return problems;
    }

    private static String format(List<String> problems) {
        if (problems.size() == 1) {
            return "Configuration problem: " + problems.get(0);
        }
        StringBuilder sb = new StringBuilder(problems.size() + " configuration problems:");
        for (String p : problems) {
            sb.append("\n  - ").append(p);
        }
        return sb.toString();
    }
}
