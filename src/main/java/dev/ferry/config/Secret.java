package dev.ferry.config;

/**
 * A password or key that must never be printed. Its {@code toString()} is a fixed mask, so passing one
 * to a logger or into a message by mistake shows {@code ******} rather than the value.
 */
public final class Secret {

    public static final Secret EMPTY = new Secret("");

    private final String value;

    public Secret(String value) {
        this.value = value == null ? "" : value;
    }

    /** The clear value; call only where it is handed to a driver or library. */
    public String reveal() {
        return value;
    }

    /**
     * A secret kept in a file (a password file, a key file): its whole text in UTF-8 but a trailing newline, which
     * editors add.
     */
    public static Secret fromFile(String path) throws java.io.IOException {
        String text = java.nio.file.Files.readString(java.nio.file.Path.of(path), java.nio.charset.StandardCharsets.UTF_8);
        if (text.endsWith("\r\n")) {
            text = text.substring(0, text.length() - 2);
        } else if (text.endsWith("\n")) {
            text = text.substring(0, text.length() - 1);
        }
        return new Secret(text);
    }

    public boolean isEmpty() {
        return value.isEmpty();
    }

    /** Equal values: connections that differ in nothing else share a pool. */
    @Override
    public boolean equals(Object o) {
        return o instanceof Secret other && value.equals(other.value);
    }

    @Override
    public int hashCode() {
        return value.hashCode();
    }

    @Override
    public String toString() {
        return "******";
    }
}
