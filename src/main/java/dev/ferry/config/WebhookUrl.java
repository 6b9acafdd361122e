package dev.ferry.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpRequest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Webhook URLs, which may carry a token in their user info, query or fragment: checked once at startup, and shown
 * everywhere (logs, exception messages, problems) as {@code scheme://host[:port]/path} only.
 */
public final class WebhookUrl {

    private WebhookUrl() {
    }

    /**
     * What is wrong with a webhook URL, or null if Java's HTTP client can POST to it. The answer never quotes the URL
     * beyond its scheme, host, port and path, and not even those when it does not parse.
     */
    public static String problem(String url) {
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            // getMessage() would quote the whole URL; the reason and the position are enough to find the mistake
            return "is not a valid URL (" + e.getReason() + (e.getIndex() >= 0 ? " at character " + (e.getIndex() + 1) : "")
                    + "); percent-encode such characters (a space is %20)";
        }
        String scheme = uri.getScheme();
        if (scheme == null || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))) {
            return "must be an http:// or https:// URL";
        }
        if (uri.getHost() == null) {
            return "has no valid host name";
        }
        try {
            HttpRequest.newBuilder(uri);
        } catch (IllegalArgumentException e) {
            return "is not a URL Java's HTTP client accepts (" + display(url) + ")";
        }
        return null;
    }

    /**
     * What is wrong with a bearer token (already stripped of surrounding whitespace, such as the newline a secret file
     * or variable often ends with), or null: a header value is one line of visible characters. Never quotes it.
     */
    public static String tokenProblem(String token) {
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            if (c < 0x20 || c > 0x7e) {
                return "has a control or non-ASCII character at character " + (i + 1) + " (a line break, say); a bearer"
                        + " token is one line of visible ASCII characters";
            }
        }
        return null;
    }

    /**
     * The URL for logs and messages: scheme, host, port and the path's first segment only. User info, query and
     * fragment may hold tokens, and so may the rest of the path (Slack, Teams and Discord put theirs there).
     */
    public static String display(String url) {
        try {
            URI u = new URI(url);
            if (u.getScheme() == null || u.getHost() == null) {
                return "(a malformed URL)";
            }
            return u.getScheme() + "://" + u.getHost() + (u.getPort() >= 0 ? ":" + u.getPort() : "") + firstSegment(u.getRawPath());
        } catch (URISyntaxException e) {
            return "(a malformed URL)";
        }
    }

    /** {@code /services/...} for {@code /services/T0/B0/secret}; a one-segment path as it is. */
    private static String firstSegment(String path) {
        if (path == null || path.isEmpty()) {
            return "";
        }
        int next = path.indexOf('/', 1);
        return next < 0 || next == path.length() - 1 ? path : path.substring(0, next) + "/...";
    }

    /**
     * Text (an exception's message, say) with the URL in it, if any, shown as {@link #display} shows it, and any piece
     * of its user info, query or fragment (a parameter's value, say) masked.
     */
    public static String redact(String text, String url) {
        if (text == null || url == null) {
            return text;
        }
        String out = text.replace(url, display(url));
        List<String> parts = new ArrayList<>();
        try {
            URI u = new URI(url);
            for (String info : new String[] {u.getRawUserInfo(), u.getUserInfo()}) {
                if (info != null) {
                    parts.add(info);
                    parts.add(info.substring(info.indexOf(':') + 1)); // the password
                }
            }
            for (String query : new String[] {u.getRawQuery(), u.getQuery()}) {
                if (query != null) {
                    parts.add(query);
                    for (String param : query.split("[&;]")) {
                        parts.add(param.substring(param.indexOf('=') + 1)); // the value, not the parameter's name
                    }
                }
            }
            String path = u.getRawPath();
            int next = path == null ? -1 : path.indexOf('/', 1);
            if (next > 0 && next < path.length() - 1) {
                parts.add(path.substring(next)); // the path past its first segment, as display hides it
            }
            parts.add(u.getRawFragment());
            parts.add(u.getFragment());
        } catch (URISyntaxException e) {
            return out; // a URL that does not parse was refused at startup
        }
        // longest first, so that a whole query goes before the values inside it; values too short to be a token are
        // left, or a message would be riddled with masks
        for (String p : parts.stream().filter(x -> x != null && x.length() >= 4).distinct()
                .sorted(Comparator.comparingInt(String::length).reversed()).toList()) {
            out = out.replace(p, "***");
        }
        return out;
    }
}
