package dev.ferry.state;

/**
 * This Ferry process, as the run history ({@code _ferry_runs.node}) and a cluster's scheduler name it: the host's name
 * and the process id, so that an operator can tell which node ran (or was running) what. Unique among the processes
 * alive at one time, which is what Quartz asks of a cluster's instance ids.
 */
public final class Node {

    /** This process's node name, e.g. {@code ferry-7c9f:4182}. */
    public static final String ID = hostName() + ":" + ProcessHandle.current().pid();

    private Node() {
    }

    private static String hostName() {
        String env = System.getenv("HOSTNAME");
        if (env != null && !env.isBlank()) {
            return env.strip();
        }
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            return "localhost"; // no name resolvable: the process id still tells this node's runs apart
        }
    }
}
