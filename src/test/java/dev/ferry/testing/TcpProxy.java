package dev.ferry.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP proxy on loopback that a test puts between Ferry and a database, to cut connections at chosen moments
 * ({@link #cutAll}) or refuse new ones for a while ({@link #refuse}), as a network failure would; or to turn into a
 * black hole ({@link #blackHole}, {@link #blackHoleAfter}): it then accepts connections, forwards nothing and closes
 * nothing, as a dead network path (a NAT that dropped its state, a paused VM, a pulled cable) looks to both ends.
 */
public final class TcpProxy implements AutoCloseable {

    private final ServerSocket server;
    private final String targetHost;
    private final int targetPort;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private volatile boolean refusing;
    private volatile boolean closed;
    private volatile boolean blackHole;
    private volatile byte[] marker;
    private volatile long bytesAfterMarker;
    /** Bytes per second from the server to the client, per connection; 0: as fast as it goes. */
    private volatile long throttle;

    /** One proxied connection: whether the marker went through it, and the bytes since. */
    private static final class Flow {
        volatile boolean marked;
        long after;
    }

    public TcpProxy(String targetHost, int targetPort) throws IOException {
        this.targetHost = targetHost;
        this.targetPort = targetPort;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(this::acceptLoop, "tcp-proxy-" + server.getLocalPort());
        t.setDaemon(true);
        t.start();
    }

    public int port() {
        return server.getLocalPort();
    }

    /** Closes every connection going through the proxy now; later connections work. */
    public void cutAll() {
        for (Socket s : sockets) {
            try {
                s.close();
            } catch (IOException ignored) {
                // already closed
            }
        }
        sockets.clear();
    }

    /** While true, new connections are closed at once, as if the database were down. */
    public void refuse(boolean refuse) {
        this.refusing = refuse;
    }

    /** From now on nothing is forwarded either way, on open connections and new ones, and nothing is closed. */
    public void blackHole() {
        this.blackHole = true;
    }

    /**
     * Turns into a black hole once a connection has sent {@code marker} (text in a statement, sent from the client
     * side; forwarded) and then moved more than {@code bytes} more bytes either way: 0 for right after the statement
     * went through, unanswered.
     */
    public void blackHoleAfter(String marker, long bytes) {
        this.bytesAfterMarker = bytes;
        this.marker = marker.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * Slows what the server sends to {@code bytesPerSecond} per connection (0: no limit), for tests that need a copy
     * to take a while whatever the machine's speed.
     */
    public void throttle(long bytesPerSecond) {
        this.throttle = bytesPerSecond;
    }

    public boolean isBlackHole() {
        return blackHole;
    }

    /** The network comes back: forwarding resumes for new connections; those the black hole swallowed are closed. */
    public void heal() {
        marker = null;
        cutAll(); // first: a swallowed chunk must never be delivered late
        blackHole = false;
    }

    public int connections() {
        return sockets.size() / 2;
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket client = server.accept();
                if (refusing) {
                    client.close();
                    continue;
                }
                sockets.add(client);
                if (blackHole) {
                    continue; // held open, never answered
                }
                Socket upstream = new Socket(targetHost, targetPort);
                sockets.add(upstream);
                Flow flow = new Flow();
                pump(client, upstream, flow, true);
                pump(upstream, client, flow, false);
            } catch (IOException e) {
                if (closed) {
                    return;
                }
            }
        }
    }

    private void pump(Socket from, Socket to, Flow flow, boolean fromClient) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[64 * 1024];
            try {
                // not closed by a try-with-resources: closing a socket's stream closes the socket
                InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream();
                int n;
                long since = 0;
                long sent = 0;
                while ((n = in.read(buf)) >= 0) {
                    long rate = fromClient ? 0 : throttle;
                    if (rate > 0) {
                        if (since == 0) {
                            since = System.nanoTime();
                        }
                        sent += n;
                        long ahead = since + sent * 1_000_000_000L / rate - System.nanoTime();
                        if (ahead < -50_000_000L) {
                            // idle for a while (a pooled connection): no credit for the pause, the rate holds from now
                            since = System.nanoTime();
                            sent = n;
                            ahead = n * 1_000_000_000L / rate;
                        }
                        if (ahead > 0) {
                            Thread.sleep(ahead / 1_000_000, (int) (ahead % 1_000_000));
                        }
                    }
                    while (blackHole) {
                        // what was read is lost, and nothing more is read: the sender's buffers fill up and it blocks
                        if (from.isClosed()) {
                            return;
                        }
                        Thread.sleep(20);
                    }
                    out.write(buf, 0, n);
                    watch(flow, fromClient, buf, n);
                }
            } catch (InterruptedException ignored) {
                // the proxy is closing
            } catch (IOException ignored) {
                // one side went away
            } finally {
                // a black hole does not pass a close on either: the other end waits on (heal or close ends it)
                if (!blackHole || closed) {
                    try {
                        from.close();
                        to.close();
                    } catch (IOException ignored) {
                        // closing both is all we can do
                    }
                    sockets.remove(from);
                    sockets.remove(to);
                }
            }
        }, "tcp-proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    private void watch(Flow flow, boolean fromClient, byte[] buf, int n) {
        byte[] m = marker;
        if (m == null) {
            return;
        }
        synchronized (flow) {
            if (!flow.marked && fromClient && indexOf(buf, n, m) >= 0) {
                flow.marked = true;
            }
            if (flow.marked) {
                flow.after += n;
                if (flow.after > bytesAfterMarker) {
                    blackHole = true;
                }
            }
        }
    }

    private static int indexOf(byte[] buf, int n, byte[] m) {
        outer:
        for (int i = 0; i + m.length <= n; i++) {
            for (int j = 0; j < m.length; j++) {
                if (buf[i + j] != m[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
        cutAll();
    }
}
