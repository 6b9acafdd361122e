package dev.ferry.cluster;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

import dev.ferry.config.ConnectionSettings;
import dev.ferry.config.Durations;
import dev.ferry.config.Placeholders;
import dev.ferry.connect.Connections;
import org.apache.camel.CamelContext;

/**
 * A Ferry cluster, as declared under {@code ferry.cluster.*} in application.properties: the database that holds
 * Quartz's tables (the fields of a source connection: hostname, port, database, user, password or passwordFile,
 * sslmode, ssh.*, ...), {@code tablePrefix} (Quartz's table names, default {@code qrtz_}) and
 * {@code checkinInterval} (how often a node tells the others it is alive, default 7.5s; a node silent for that long
 * plus 7.5 s counts as dead, and its runs are recovered elsewhere).
 */
public record ClusterSettings(ConnectionSettings connection, String tablePrefix, Duration checkinInterval) {

    static final String PREFIX = "ferry.cluster.";
    static final Set<String> OWN_FIELDS = Set.of("tablePrefix", "checkinInterval");
    static final String DEFAULT_TABLE_PREFIX = "qrtz_";
    static final Duration DEFAULT_CHECKIN = Duration.ofMillis(7500);
    /** Quartz writes its table names unquoted, so the prefix must read back as it is written. */
    private static final Pattern TABLE_PREFIX = Pattern.compile("[a-z_][a-z0-9_]{0,40}");

    /**
     * The cluster the properties declare, or null when they set no {@code ferry.cluster.*} key (one node, the
     * in-memory scheduler). Problems are added to {@code problems} (null is returned then).
     */
    public static ClusterSettings fromProperties(CamelContext camel, String configName, List<String> problems) {
        int before = problems.size();
        ConnectionSettings connection = Connections.cluster(camel, configName, OWN_FIELDS, problems);
        if (connection == null && problems.size() == before) {
            return null;
        }
        String prefix = value(camel, configName, "tablePrefix", problems);
        if (prefix == null) {
            prefix = DEFAULT_TABLE_PREFIX;
        } else if (!TABLE_PREFIX.matcher(prefix).matches()) {
            problems.add(configName + ": " + PREFIX + "tablePrefix: '" + prefix + "' is not a lower-case SQL name such as qrtz_"
                    + " (letters a-z, digits, '_'; Quartz writes it unquoted)");
        }
        Duration checkin = DEFAULT_CHECKIN;
        String text = value(camel, configName, "checkinInterval", problems);
        if (text != null) {
            try {
                checkin = Durations.parse(text);
                if (checkin.toMillis() < 100) {
                    throw new IllegalArgumentException("too short");
                }
            } catch (IllegalArgumentException e) {
                problems.add(configName + ": " + PREFIX + "checkinInterval: '" + text + "' is not a duration of at least 100ms"
                        + " such as 7500ms or 5s");
            }
        }
        return problems.size() > before ? null : new ClusterSettings(connection, prefix, checkin);
    }

    private static String value(CamelContext camel, String configName, String field, List<String> problems) {
        try {
            String v = Placeholders.value(camel, PREFIX + field, false);
            return v == null || v.isBlank() ? null : v.strip();
        } catch (Placeholders.Unresolved e) {
            problems.add(configName + ": " + PREFIX + field + ": cannot resolve its value: " + e.getMessage());
            return null;
        }
    }

    /** One of Quartz's tables (or Ferry's beside them), e.g. {@code qrtz_triggers}. */
    public String table(String name) {
        return tablePrefix + name;
    }
}
