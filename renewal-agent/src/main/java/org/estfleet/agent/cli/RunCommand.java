package org.estfleet.agent.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.estfleet.agent.AgentException;
import org.estfleet.agent.AgentStatus;
import org.estfleet.agent.BuildInfo;
import org.estfleet.agent.Renewer;
import org.estfleet.agent.schedule.AgentScheduler;
import org.estfleet.agent.store.AgentState;
import org.estfleet.agent.store.StateDir;
import org.estfleet.io.AtomicFile;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code renewal-agent run}: the daemon. Renews when due, refreshes the trust anchors, retries
 * with backoff, and stops cleanly on SIGTERM (an attempt in progress completes first). Several
 * {@code --state} directories (a hub holding several identities) share one scheduler. With
 * {@code --prometheus-file}, their status is written there for a metrics collector.
 */
@Command(name = "run", mixinStandardHelpOptions = true, description = "Run the agent: renew on schedule until stopped.")
final class RunCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(RunCommand.class);

  @Spec
  CommandSpec spec;

  @Option(names = "--state", required = true, paramLabel = "DIR",
      description = "The agent's state directory; repeat to run several identities in one process.")
  List<Path> states;

  @Option(names = "--prometheus-file", paramLabel = "FILE", description = "Write every identity's status as "
      + "Prometheus gauges to FILE (node_exporter's textfile collector), at start and every minute.")
  Path prometheusFile;

  /** How often {@code --prometheus-file} is written again. */
  static final java.time.Duration PROMETHEUS_INTERVAL = java.time.Duration.ofMinutes(1);

  @Override
  public Integer call() throws Exception {
    List<Renewer> renewers = new ArrayList<>();
    Set<String> identities = new HashSet<>();
    for (Path state : states) {
      StateDir dir = StateDir.open(state);
      dir.holdForDaemon();
      Renewer renewer = Renewer.open(dir, Clock.systemUTC(), new SecureRandom());
      try {
        renewer.checkTrustAnchors();
      } catch (AgentException damaged) {
        // As a damaged pair below: each renewal and trust refresh fails on the file (nothing is
        // guessed in its place), is recorded and tried again, so a hub's other identities go on and
        // the file is taken up once it is restored.
        LOG.error("{}: {}; renewals fail until it is restored (renewal-agent status --state {})",
            renewer.config().identity(), damaged.getMessage(), state);
      }
      AgentState agentState = dir.readState();
      boolean enrolled;
      try {
        enrolled = dir.credentials().current().isPresent();
      } catch (java.io.IOException damaged) {
        // Scheduled all the same: each attempt fails on the file, is recorded for status and
        // tried again after the backoff, so a pair put right is renewed without a restart, and
        // one damaged identity of a hub does not stop the others.
        LOG.error("{}: {}; renewals fail until it is put right (renewal-agent status --state {})",
            renewer.config().identity(), damaged.getMessage(), state);
        enrolled = true;
      }
      dir.exposedKey().ifPresent(warning -> LOG.warn("{}: {}", renewer.config().identity(), warning));
      renewer.repairAnchorsExport();
      if (!enrolled && agentState.pending() == null) {
        throw AgentException.notEnrolled(state + " holds no certificate and no pending enrollment; run renewal-agent enroll"
            + dir.credentials().restoreHint());
      }
      if (!identities.add(renewer.config().identity())) {
        throw AgentException.usage("--state " + state + ": identity '" + renewer.config().identity()
            + "' is given twice; each state directory is one identity");
      }
      renewers.add(renewer);
    }
    AgentScheduler scheduler = new AgentScheduler(Math.min(8, 1 + renewers.size()), Clock.systemUTC(), new SecureRandom());
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      LOG.info("stopping");
      try {
        scheduler.close();
      } catch (Exception e) {
        LOG.warn("scheduler did not stop cleanly: {}", e.getMessage());
      }
      if (prometheusFile != null) {
        // A stopped daemon renews nothing: its figures go absent rather than stay as they were.
        try {
          java.nio.file.Files.deleteIfExists(prometheusFile.toAbsolutePath());
        } catch (java.io.IOException e) {
          LOG.warn("cannot remove {}: {}", prometheusFile, e.getMessage());
        }
      }
      stopped.countDown();
    }, "renewal-agent-shutdown"));
    for (Renewer renewer : renewers) {
      scheduler.add(renewer.config().identity(), renewer);
      spec.commandLine().getOut().println("running for " + renewer.config().identity() + " (state "
          + renewer.stateDir().root() + ")");
    }
    spec.commandLine().getOut().flush();
    if (prometheusFile != null) {
      writeStatusEvery(renewers, prometheusFile.toAbsolutePath());
    }
    stopped.await();
    return 0;
  }

  /**
   * Writes the identities' status to {@code file} (atomically, readable by all: node_exporter runs
   * as a user of its own) at once and every {@link #PROMETHEUS_INTERVAL}, on a daemon thread. An
   * identity whose status cannot be read at all is left out (its series go absent) and logged, once for
   * each new reason; a file that cannot be written is logged the same way and tried again.
   */
  private static void writeStatusEvery(List<Renewer> renewers, Path file) {
    java.util.concurrent.ScheduledExecutorService writer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
        runnable -> {
          Thread thread = new Thread(runnable, "renewal-agent-prometheus");
          thread.setDaemon(true);
          return thread;
        });
    java.util.Map<String, String> reported = new java.util.HashMap<>();
    writer.scheduleWithFixedDelay(() -> {
      List<AgentStatus> statuses = new ArrayList<>();
      java.time.Instant now = Clock.systemUTC().instant();
      for (Renewer renewer : renewers) {
        String identity = renewer.config().identity();
        try {
          statuses.add(AgentStatus.of(renewer.stateDir(), renewer.config(), renewer, now, BuildInfo.timestamp()));
          reported.remove(identity);
        } catch (AgentException | java.io.IOException | RuntimeException e) {
          if (!String.valueOf(e.getMessage()).equals(reported.put(identity, String.valueOf(e.getMessage())))) {
            LOG.warn("{}: status not written to {}: {}", identity, file, e.getMessage());
          }
        } catch (Throwable e) {
          // Anything else would end the scheduled writing silently, the file keeping its last figures.
          LOG.error("{}: status not written to {}", identity, file, e);
        }
      }
      try {
        AtomicFile.write(file, AgentStatus.prometheus(statuses).getBytes(java.nio.charset.StandardCharsets.UTF_8),
            AtomicFile.PUBLIC);
        // Readable by node_exporter's user whatever this process's umask.
        java.nio.file.Files.setPosixFilePermissions(file, AtomicFile.PUBLIC);
        reported.remove("");
      } catch (java.io.IOException | RuntimeException e) {
        if (!String.valueOf(e.getMessage()).equals(reported.put("", String.valueOf(e.getMessage())))) {
          LOG.warn("cannot write {}: {}", file, e instanceof java.io.IOException io
              ? org.estfleet.io.IoMessages.reason(io) : e.getMessage());
        }
      } catch (Throwable e) {
        LOG.error("cannot write {}", file, e);
      }
    }, 0, PROMETHEUS_INTERVAL.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
  }
}
