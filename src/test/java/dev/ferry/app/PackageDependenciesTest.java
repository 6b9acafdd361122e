package dev.ferry.app;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Ferry's packages depend one way: each only on those before it in {@link #ORDER}, so there is no cycle. Read from the
 * sources (imports and fully qualified names in code; comments do not count).
 */
class PackageDependenciesTest {

    static final List<String> ORDER = List.of("config", "failure", "connect", "observe", "source", "destination", "state", "pipeline", "cluster",
            "operate", "app");

    private static final Pattern REFERENCE = Pattern.compile("dev\\.ferry\\.([a-z]+)\\.[A-Z]");

    @Test
    void eachPackageUsesOnlyThePackagesBeforeIt() throws IOException {
        Path root = Path.of("src/main/java/dev/ferry");
        List<String> upward = new ArrayList<>();
        List<String> packages = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                String pkg = root.relativize(file).getName(0).toString();
                packages.add(pkg);
                String code = withoutComments(Files.readString(file));
                Matcher m = REFERENCE.matcher(code);
                while (m.find()) {
                    String used = m.group(1);
                    if (!used.equals(pkg) && ORDER.indexOf(used) >= ORDER.indexOf(pkg)) {
                        upward.add(root.relativize(file) + " uses dev.ferry." + used);
                    }
                }
            }
        }
        assertThat(packages).as("every package has its place in the order").allMatch(ORDER::contains);
        assertThat(upward).as("references against the order " + ORDER).isEmpty();
    }

    /**
     * The code without comments and string and char literals (a class named in a message is not a dependency), read
     * token by token: a "//" inside a string ("http://...") starts no comment.
     */
    static String withoutComments(String java) {
        StringBuilder code = new StringBuilder(java.length());
        int i = 0;
        int n = java.length();
        while (i < n) {
            char c = java.charAt(i);
            if (c == '/' && i + 1 < n && java.charAt(i + 1) == '/') {
                while (i < n && java.charAt(i) != '\n') {
                    i++;
                }
            } else if (c == '/' && i + 1 < n && java.charAt(i + 1) == '*') {
                int end = java.indexOf("*/", i + 2);
                i = end < 0 ? n : end + 2;
            } else if (c == '"' || c == '\'') {
                boolean block = c == '"' && java.startsWith("\"\"\"", i);
                i += block ? 3 : 1;
                while (i < n && !(block ? java.startsWith("\"\"\"", i) : java.charAt(i) == c)) {
                    i += java.charAt(i) == '\\' ? 2 : 1;
                }
                i += block ? 3 : 1;
                code.append("\"\"");
            } else {
                code.append(c);
                i++;
            }
        }
        return code.toString();
    }
}
