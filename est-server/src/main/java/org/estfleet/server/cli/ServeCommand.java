package org.estfleet.server.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.concurrent.Callable;
import org.estfleet.server.ServerRuntime;
import org.estfleet.server.config.DataDir;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code est-server serve}: runs the EST server until SIGTERM or Ctrl-C, then stops cleanly
 * (connections closed, database closed).
 */
@Command(name = "serve", mixinStandardHelpOptions = true, description = "Run the EST server on a data directory.")
final class ServeCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--data", required = true, paramLabel = "DIR", description = "The data directory made by init.")
  Path data;

  @Option(names = "--port", paramLabel = "N",
      description = "TLS port (default: server.json's, 8443 unless changed); 0 picks a free port.")
  Integer port;

  @Option(names = "--monitoring-port", paramLabel = "N",
      description = "Serve /health and /metrics over plain HTTP on this port (at monitoring.bindAddress, "
          + "127.0.0.1 unless changed) instead of the TLS port; 0 picks a free port (default: server.json's "
          + "monitoring.port, unset: on the TLS port).")
  Integer monitoringPort;

  @Override
  public Integer call() throws Exception {
    if (port != null && (port < 0 || port > 65535)) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--port: " + port + " is not between 0 and 65535");
    }
    if (monitoringPort != null && (monitoringPort < 0 || monitoringPort > 65535)) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(),
          "--monitoring-port: " + monitoringPort + " is not between 0 and 65535");
    }
    DataDir dataDir = DataDir.open(data);
    try {
      if (port != null || monitoringPort != null) {
        dataDir = DataDir.of(dataDir.root(), dataDir.config().withPorts(port, monitoringPort));
      }
    } catch (IllegalArgumentException e) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    ServerRuntime runtime = ServerRuntime.start(dataDir, Clock.systemUTC(), new SecureRandom());
    Thread stopper = new Thread(() -> {
      LoggerFactory.getLogger(ServeCommand.class).info("stopping: closing {} and the database", runtime.baseUri());
      runtime.close();
    }, "est-server-shutdown");
    Runtime.getRuntime().addShutdownHook(stopper);
    PrintWriter out = spec.commandLine().getOut();
    out.println("listening on " + runtime.baseUri());
    runtime.monitoringUri().ifPresent(uri -> out.println("monitoring on " + uri));
    out.flush();
    runtime.join();
    return EstServerCommand.EXIT_OK;
  }
}
