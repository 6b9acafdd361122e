package dev.ferry.config;

import java.util.HashSet;
import java.util.Set;
import java.util.regex.Pattern;

import org.apache.camel.CamelContext;
import org.apache.camel.spi.PropertiesComponent;
import org.apache.camel.spi.PropertiesFunction;
import org.apache.camel.util.IOHelper;

/**
 * Ferry's own settings ({@code ferry.*}), with their {@code {{...}}} placeholders resolved exactly once.
 *
 * <p>Camel would resolve placeholders again inside whatever a placeholder yields, so a password such as
 * {@code p{{a}}b}} in an environment variable stopped the start (and Camel's message printed it). Here only text
 * written in the configuration (the properties file, or a JVM system property) is parsed: {@code {{env:NAME}}} and
 * other functions, {@code {{other.key}}} (that key's configured text is parsed in turn) and {@code {{key:default}}}.
 * What an environment variable (named in a placeholder, or overriding a key as Camel allows:
 * {@code FERRY_WEBHOOK_TOKEN}), a function or a file yields is a value, used as it is. In configured text, a
 * backslash before two opening braces stands for those braces (written with two backslashes in a .properties file,
 * whose format eats one); two closing braces outside a placeholder are literal as they are.
 *
 * <p>Problems never quote the value: for a secret they name at most the environment variable to set.
 */
public final class Placeholders {

    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_.-]*");
    private static final Pattern KEY = Pattern.compile("[A-Za-z0-9_.-]+");

    private Placeholders() {
    }

    /** A value that cannot be resolved; the message names the cause and never quotes the value. */
    public static final class Unresolved extends IllegalArgumentException {
        Unresolved(String message) {
            super(message);
        }
    }

    /**
     * The value of a key, resolved once, or null when the key is not set. The lookup order is Camel's: an environment
     * variable named after the key ({@code FERRY_WEBHOOK_TOKEN}), a JVM system property, then the properties file.
     *
     * @param secret whether the value must not be hinted at in a problem (passwords, keys, tokens, webhook URLs)
     */
    public static String value(CamelContext camel, String key, boolean secret) {
        return lookup(camel.getPropertiesComponent(), key, secret, new HashSet<>());
    }

    /** Configured text (a route parameter's, say) with its placeholders resolved once. */
    public static String resolve(CamelContext camel, String text, boolean secret) {
        return resolve(camel.getPropertiesComponent(), text, secret, new HashSet<>());
    }

    private static String lookup(PropertiesComponent pc, String key, boolean secret, Set<String> seen) {
        String env = IOHelper.lookupEnvironmentVariable(key);
        if (env != null) {
            return env; // what a variable holds is a value, never parsed
        }
        String text = System.getProperty(key);
        if (text == null) {
            Object o = pc.loadProperties(key::equals).get(key);
            text = o == null ? null : o.toString();
        }
        return text == null ? null : resolve(pc, text, secret, seen);
    }

    private static String resolve(PropertiesComponent pc, String text, boolean secret, Set<String> seen) {
        if (!text.contains("{{")) {
            return text;
        }
        StringBuilder out = new StringBuilder(text.length());
        int i = 0;
        while (i < text.length()) {
            if (text.startsWith("\\{{", i)) {
                out.append("{{");
                i += 3;
            } else if (text.startsWith("{{", i)) {
                int end = text.indexOf("}}", i + 2);
                if (end < 0) {
                    throw new Unresolved("its value has a '{{' without a closing '}}'; a placeholder is written {{env:NAME}},"
                            + " and a literal '{{' is written \\\\{{ in the properties file");
                }
                out.append(placeholder(pc, text.substring(i + 2, end), secret, seen));
                i = end + 2;
            } else {
                out.append(text.charAt(i++));
            }
        }
        return out.toString();
    }

    private static String placeholder(PropertiesComponent pc, String inner, boolean secret, Set<String> seen) {
        boolean optional = inner.startsWith("?");
        String body = optional ? inner.substring(1) : inner;
        int colon = body.indexOf(':');
        String prefix = colon > 0 ? body.substring(0, colon) : null;
        if (prefix != null && pc.hasPropertiesFunction(prefix)) {
            PropertiesFunction function = pc.getPropertiesFunction(prefix);
            String remainder = body.substring(colon + 1);
            String v = function.apply(remainder);
            if (v != null || optional || function.optional(remainder)) {
                return v == null ? "" : v;
            }
            String name = remainder.contains(":") ? remainder.substring(0, remainder.indexOf(':')) : remainder;
            if (prefix.equals("env") && ENV_NAME.matcher(name).matches()) {
                return fail("environment variable " + name + " is not set", secret);
            }
            return fail("its placeholder {{" + body + "}} resolves to nothing", secret);
        }
        String key = colon > 0 ? body.substring(0, colon) : body;
        String dflt = colon > 0 ? body.substring(colon + 1) : null;
        if (!seen.add(key)) {
            return fail("its placeholder {{" + key + "}} refers back to itself", secret);
        }
        try {
            String v = lookup(pc, key, secret, seen);
            if (v != null) {
                return v;
            }
        } finally {
            seen.remove(key);
        }
        if (dflt != null) {
            return dflt;
        }
        if (optional) {
            return "";
        }
        return fail(KEY.matcher(key).matches() ? "property " + key + " is not set" : "its placeholder resolves to nothing", secret);
    }

    private static String fail(String problem, boolean secret) {
        if (secret && !problem.startsWith("environment variable")) {
            // the text may be a password with an unescaped '{{' in it: say nothing about it
            throw new Unresolved("its value has a {{...}} placeholder that cannot be resolved (the value is secret, so"
                    + " it is not shown); to write a literal '{{', escape it as \\\\{{ in the properties file");
        }
        throw new Unresolved(problem);
    }
}
