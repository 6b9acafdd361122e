package dev.ferry.cluster;

import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import javax.sql.DataSource;

import dev.ferry.config.ConfigException;
import dev.ferry.config.TransferSpec;
import dev.ferry.connect.Connections;
import dev.ferry.failure.Errors;
import dev.ferry.state.Node;
import org.apache.camel.Endpoint;
import org.apache.camel.component.quartz.QuartzEndpoint;
import org.apache.camel.spi.EndpointStrategy;
import org.quartz.Scheduler;
import org.quartz.SchedulerException;
import org.quartz.TriggerKey;
import org.quartz.impl.matchers.GroupMatcher;
import org.quartz.utils.DBConnectionManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Several Ferry nodes as one: Quartz's own clustering, its JDBC job store on the cluster database
 * ({@link ClusterSettings}), so that each firing of a transfer runs on exactly one node.
 *
 * <ul>
 *   <li>Quartz's tables are created from its own DDL when missing ({@link QuartzTables});</li>
 *   <li>its connections come from Ferry's pool for the cluster database ({@link PooledConnections});</li>
 *   <li>each transfer's job is stateful (Quartz never starts it while it runs, on any node) and requests recovery
 *       (a run on a node that dies is fired again on another, and resumes from its last committed batch);</li>
 *   <li>a trigger is created once, by the first node, and left as it is by the others (camel-quartz reschedules it
 *       only when its cron or interval changed), so schedules neither drift nor double as nodes come and go;</li>
 *   <li>each node records its transfers and warns when they differ from the other live nodes' ({@link ClusterNodes}).</li>
 * </ul>
 */
public final class QuartzCluster {

    private static final Logger LOG = LoggerFactory.getLogger("dev.ferry");

    private final ClusterSettings settings;
    private final DataSource pool;
    /** Quartz's name for the data source: one per Camel context, as DBConnectionManager is one per JVM. */
    private final String dataSourceName;

    private QuartzCluster(ClusterSettings settings, DataSource pool) {
        this.settings = settings;
        this.pool = pool;
        this.dataSourceName = "ferry-cluster-" + Integer.toHexString(System.identityHashCode(this));
    }

    /** The cluster the properties declare, or null for none; problems are added to {@code problems}. */
    public static QuartzCluster fromProperties(org.apache.camel.CamelContext camel, String configName, Connections connections,
                                               List<String> problems) {
        ClusterSettings settings = ClusterSettings.fromProperties(camel, configName, problems);
        return settings == null ? null : new QuartzCluster(settings, connections.dataSource(settings.connection()));
    }

    public ClusterSettings settings() {
        return settings;
    }

    /**
     * Makes the cluster database ready for Quartz, before its scheduler is created: its tables, and the connection
     * provider its job store names.
     *
     * @throws ConfigException when the database cannot be reached or the tables cannot be created
     */
    public void prepare() {
        try (Connection c = pool.getConnection()) {
            if (QuartzTables.ensure(c, settings)) {
                LOG.info("cluster: created Quartz's tables ({}*) in the {}", settings.tablePrefix(), settings.connection().describe());
            }
        } catch (SQLException | IOException e) {
            throw new ConfigException(settings.connection().propertyPrefix() + "*: cannot prepare the cluster database"
                    + " (Quartz's tables): " + Errors.describe(e));
        }
        DBConnectionManager.getInstance().addConnectionProvider(dataSourceName, new PooledConnections(pool));
        LOG.info("cluster: node {} joins the cluster of the {} (check-in every {} ms)", Node.ID, settings.connection().describe(),
                settings.checkinInterval().toMillis());
    }

    /** The properties that make Quartz's scheduler one of the cluster's: no secret among them. */
    public Map<String, String> quartzProperties() {
        Map<String, String> p = new LinkedHashMap<>();
        // the node's name in _ferry_runs too; unique among live nodes, as Quartz requires
        p.put("org.quartz.scheduler.instanceId", Node.ID);
        // Ferry runs without JMX (Camel's is off), and the instance id's ':' is not valid in an MBean's name
        p.put("org.quartz.scheduler.jmx.export", "false");
        p.put("org.quartz.jobStore.class", "org.quartz.impl.jdbcjobstore.JobStoreTX");
        p.put("org.quartz.jobStore.driverDelegateClass", "org.quartz.impl.jdbcjobstore.PostgreSQLDelegate");
        p.put("org.quartz.jobStore.dataSource", dataSourceName);
        p.put("org.quartz.jobStore.tablePrefix", settings.tablePrefix());
        p.put("org.quartz.jobStore.isClustered", "true");
        p.put("org.quartz.jobStore.clusterCheckinInterval", String.valueOf(settings.checkinInterval().toMillis()));
        // each node looks for due firings every second instead of Quartz's 30 s: otherwise the node that just ran a
        // transfer, whose scheduler thread a finished run wakes at once, takes each next firing of it while the others
        // sleep, and a frequent transfer never runs anywhere else (a look-up is one indexed query on the cluster database)
        p.put("org.quartz.scheduler.idleWaitTime", "1000");
        return p;
    }

    /**
     * Makes every transfer's Quartz job stateful (never run twice at once, across the cluster) and recoverable (fired
     * again on another node when its node dies mid-run), whatever the route template's URI says.
     */
    public EndpointStrategy endpoints() {
        return (uri, endpoint) -> configure(endpoint);
    }

    private static Endpoint configure(Endpoint endpoint) {
        if (endpoint instanceof QuartzEndpoint quartz) {
            quartz.setStateful(true);
            quartz.setRecoverableJob(true);
        }
        return endpoint;
    }

    /**
     * Records this node's transfers, and warns when they differ from another live node's. Then removes the triggers
     * of transfers that no live node declares any more (in the trigger groups this node's transfers use): a transfer
     * removed from the routes would otherwise keep firing, on no node. A recipients list's transfers
     * ({@code <list>.<recipient>}) are left to the list's refresh: they are made after this check.
     */
    public void checkRoutes(List<TransferSpec> transfers, Set<String> lists, Scheduler scheduler, Set<TriggerKey> own) {
        ClusterNodes.Registered registered;
        try (Connection c = pool.getConnection()) {
            registered = ClusterNodes.register(c, settings, Node.ID, transfers);
        } catch (SQLException e) {
            LOG.warn("cluster: could not compare this node's transfers with the other nodes': {}", Errors.describe(e));
            return;
        }
        for (String difference : registered.differences()) {
            LOG.warn("cluster: this node's transfers differ from those of {}: every node should run the same routes (a firing"
                    + " that a node without the transfer picks up does not run, and a node's other schedule replaces the"
                    + " cluster's)", difference);
        }
        try {
            for (String group : own.stream().map(TriggerKey::getGroup).collect(java.util.stream.Collectors.toSet())) {
                for (TriggerKey key : scheduler.getTriggerKeys(GroupMatcher.triggerGroupEquals(group))) {
                    boolean recipient = lists.stream().anyMatch(list -> key.getName().startsWith(list + "."));
                    if (!own.contains(key) && !registered.declared().contains(key.getName()) && !recipient) {
                        scheduler.unscheduleJob(key);
                        LOG.info("cluster: removed the trigger of transfer {}, which no live node declares any more", key.getName());
                    }
                }
            }
        } catch (SchedulerException e) {
            LOG.warn("cluster: could not look for the triggers of removed transfers: {}", Errors.describe(e));
        }
    }
}
