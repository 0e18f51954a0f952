package impactgraph;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.BoltConnectorInternalSettings;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.graphdb.config.Setting;
import org.neo4j.logging.Level;
import org.neo4j.logging.log4j.Log4jLogProvider;

/**
 * Starts a Neo4j Community DBMS in this JVM with Bolt on 127.0.0.1 and auth enabled, for
 * the impact-graph test suite (see impact_graph.testing.neo4j_server).
 *
 * <p>Why embedded: it needs nothing but Maven Central, and one process is one database that
 * the test session owns and throws away. Auth stays on so wrong-credential tests hit the
 * real Bolt authentication path.
 *
 * <p>Usage: {@code java impactgraph.Launcher --port 7687 --home /tmp/neo4j-test} with the
 * password in env {@code NEO4J_LAUNCHER_PASSWORD} (kept out of the process list). Prints
 * {@code READY bolt://127.0.0.1:<port>} when Bolt accepts connections and stops cleanly
 * on SIGTERM or when its stdin is closed (so it dies with the Python process that owns it).
 */
public final class Launcher {
  private Launcher() {}

  public static void main(String[] args) throws Exception {
    int port = -1;
    Path home = null;
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--port" -> port = Integer.parseInt(args[i + 1]);
        case "--home" -> home = Path.of(args[i + 1]).toAbsolutePath();
        default -> fail("unknown argument " + args[i] + "; expected --port N --home DIR");
      }
    }
    String password = System.getenv("NEO4J_LAUNCHER_PASSWORD");
    if (port <= 0 || home == null) {
      fail("usage: Launcher --port N --home DIR (password in env NEO4J_LAUNCHER_PASSWORD)");
    }
    if (password == null || password.length() < 8) {
      fail("set NEO4J_LAUNCHER_PASSWORD to a password of at least 8 characters");
    }
    Files.createDirectories(home);

    Map<Setting<?>, Object> config = new HashMap<>();
    config.put(BoltConnector.enabled, true);
    config.put(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port));
    config.put(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED);
    config.put(GraphDatabaseSettings.auth_enabled, true);
    // Test data is small; leave the shared machine's memory to others.
    config.put(GraphDatabaseSettings.pagecache_memory, 128L * 1024 * 1024);
    config.put(GraphDatabaseSettings.preallocate_logical_logs, false);
    // One query must not exhaust the heap: past these Neo4j refuses the transaction
    // (Neo.TransientError.General.MemoryPoolOutOfMemoryError, a sentence in neo4j_store)
    // instead of an OutOfMemoryError that can take the JVM down. Relative to -Xmx so the
    // benchmarks' bigger heaps get bigger limits (1g: 256 MB a transaction, 512 MB all).
    long heap = Runtime.getRuntime().maxMemory();
    config.put(GraphDatabaseSettings.memory_transaction_max_size, heap / 4);
    config.put(GraphDatabaseSettings.memory_transaction_global_max_size, heap / 2);
    // Nothing may reach the network, and queries may not read files.
    config.put(GraphDatabaseSettings.udc_enabled, false);
    config.put(GraphDatabaseSettings.allow_file_urls, false);
    // Stop in about a second instead of netty's and Bolt's graceful waits (~10 s).
    config.put(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0);
    config.put(GraphDatabaseInternalSettings.netty_server_shutdown_timeout, Duration.ofSeconds(2));
    config.put(BoltConnectorInternalSettings.thread_pool_shutdown_wait_time, Duration.ofSeconds(1));
    config.put(BoltConnectorInternalSettings.connection_shutdown_wait_time, Duration.ofSeconds(1));

    DatabaseManagementService dbms =
        new DatabaseManagementServiceBuilder(home)
            .setUserLogProvider(new Log4jLogProvider(System.out, Level.INFO))
            .setConfig(config)
            .build();

    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  System.out.println("STOPPING");
                  System.out.flush();
                  dbms.shutdown();
                  System.out.println("STOPPED");
                  System.out.flush();
                  stopped.countDown();
                },
                "neo4j-launcher-shutdown"));

    // The default user 'neo4j' starts with password 'neo4j' and "change required"; set the
    // requested password directly so clients can log in with it at once.
    // A restart on an existing home (same password) is refused with "Old password and new
    // password cannot be the same": the password is already the requested one then.
    GraphDatabaseService system = dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME);
    try {
      system.executeTransactionally(
          "ALTER USER neo4j SET PASSWORD $pw CHANGE NOT REQUIRED", Map.of("pw", password));
    } catch (RuntimeException e) {
      String msg = String.valueOf(e.getMessage());
      Throwable cause = e.getCause();
      while (cause != null) {
        msg += " " + cause.getMessage();
        cause = cause.getCause();
      }
      if (!msg.contains("cannot be the same")) {
        throw e;
      }
    }

    System.out.println("READY bolt://127.0.0.1:" + port);
    System.out.flush();

    // Exit when the owner closes our stdin (or dies): the shutdown hook stops the DBMS.
    Thread watcher =
        new Thread(
            () -> {
              InputStream in = System.in;
              byte[] buf = new byte[256];
              try {
                while (in.read(buf) >= 0) {
                  // ignore input; we only wait for end-of-file
                }
              } catch (IOException e) {
                // a broken pipe means the owner is gone, same as EOF
              }
              System.exit(0);
            },
            "neo4j-launcher-stdin");
    watcher.setDaemon(true);
    watcher.start();
    stopped.await();
  }

  private static void fail(String message) {
    System.err.println("neo4j-launcher: " + message);
    System.exit(2);
  }
}
