package dev.ferry.operate;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;

/**
 * Who may use the console's actions (POST: test a connection, run a transfer). On a loopback address only local
 * processes reach the server, and no token is asked; every request must then name the server as localhost
 * ({@link #hostRefusal}), which a page of another site, its name pointed at 127.0.0.1, cannot. Beyond it, each action needs {@code Authorization: Bearer
 * <token>}, the token from env {@code FERRY_CONSOLE_TOKEN} or the file named by {@code ferry.console.tokenFile}; with
 * none configured, actions are refused. Reading pages and the JSON API needs no token: they show no secret.
 */
public final class ConsoleAuth {

    /** The environment variable holding the token. */
    public static final String TOKEN_ENV = "FERRY_CONSOLE_TOKEN";
    /** The property naming a file holding the token. */
    public static final String TOKEN_FILE = "ferry.console.tokenFile";

    private final boolean loopback;
    private final byte[] token;

    public ConsoleAuth(String host, String envToken, String tokenFile) {
        this.loopback = loopback(host);
        String t = envToken;
        if ((t == null || t.isBlank()) && tokenFile != null && !tokenFile.isBlank()) {
            try {
                t = Files.readString(Path.of(tokenFile.trim()), StandardCharsets.UTF_8).strip();
            } catch (IOException e) {
                throw new IllegalArgumentException(TOKEN_FILE + ": cannot read " + tokenFile + ": " + e.getMessage(), e);
            }
        }
        this.token = t == null || t.isBlank() ? null : t.strip().getBytes(StandardCharsets.UTF_8);
    }

    static boolean loopback(String host) {
        try {
            return host != null && !host.isBlank() && InetAddress.getByName(host.trim()).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    /** Whether actions are refused for want of a token: beyond loopback, none configured. */
    public boolean actionsLocked() {
        return !loopback && token == null;
    }

    /** Whether actions need a token (the page then shows a field for it). */
    public boolean tokenRequired() {
        return !loopback;
    }

    /**
     * Refuses an action sent by another site's page: a browser may POST to the console from any page it shows (on
     * loopback, where no token is asked), but it says where the page came from in {@code Origin}. Clients that are not
     * browsers send no Origin.
     *
     * @return null when allowed, else "403 message"
     */
    public static String crossSite(String origin, String host) {
        if (origin == null || origin.isBlank()) {
            return null;
        }
        try {
            java.net.URI o = java.net.URI.create(origin.trim());
            String authority = o.getPort() < 0 ? o.getHost() : o.getHost() + ":" + o.getPort();
            if (host != null && authority != null && authority.equalsIgnoreCase(host.trim())) {
                return null;
            }
        } catch (IllegalArgumentException e) {
            // refused below
        }
        return "403 an action from another site's page (Origin " + origin + ") is refused";
    }

    /**
     * Refuses, on loopback, a request whose {@code Host} is not this server's: 127.0.0.1, localhost or [::1], with the
     * server's port or none. DNS rebinding points another site's name at 127.0.0.1, and the operator's browser then
     * sends that site's page's requests here as same-origin ones, with that name as Host (and in Origin): reading the
     * console, or acting, where no token is asked. Beyond loopback the token guards actions, and any name may reach the
     * server.
     *
     * @param port the server's port; 0: any
     * @return null when allowed, else "403 message"
     */
    public String hostRefusal(String host, int port) {
        if (!loopback) {
            return null;
        }
        String h = host == null ? "" : host.trim().toLowerCase(java.util.Locale.ROOT);
        int colon = h.lastIndexOf(':');
        String name = h;
        String p = null;
        if (colon > h.lastIndexOf(']')) { // a port (an IPv6 literal's colons are inside its brackets)
            name = h.substring(0, colon);
            p = h.substring(colon + 1);
        }
        boolean named = name.equals("127.0.0.1") || name.equals("localhost") || name.equals("[::1]");
        boolean ported = p == null || port == 0 || p.equals(String.valueOf(port));
        return named && ported ? null : "403 this server on localhost answers requests for 127.0.0.1, localhost or [::1]"
                + " only (the request named another host)";
    }

    /**
     * Checks an action's Authorization header.
     *
     * @return null when allowed; else the HTTP status (401 or 403) and the message, as "status message"
     */
    public String refusal(String authorization) {
        if (loopback) {
            return null;
        }
        if (token == null) {
            return "403 actions are off: the console listens beyond localhost (ferry.http.host, camel.server.host or"
                    + " camel.management.host) and no token is set;"
                    + " set env " + TOKEN_ENV + " or " + TOKEN_FILE + " to a file holding one, and send it as"
                    + " 'Authorization: Bearer <token>'";
        }
        String prefix = "Bearer ";
        if (authorization == null || !authorization.regionMatches(true, 0, prefix, 0, prefix.length())) {
            return "401 this action needs 'Authorization: Bearer <token>' (the token of " + TOKEN_ENV + " or " + TOKEN_FILE + ")";
        }
        byte[] given = authorization.substring(prefix.length()).strip().getBytes(StandardCharsets.UTF_8);
        // constant time: how much of a guess matched does not show in how long the answer takes
        return MessageDigest.isEqual(given, token) ? null : "401 wrong token";
    }
}
