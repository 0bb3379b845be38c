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
import org.estfleet.agent.Renewer;
import org.estfleet.agent.schedule.AgentScheduler;
import org.estfleet.agent.store.AgentState;
import org.estfleet.agent.store.StateDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code renewal-agent run}: the daemon. Renews when due, refreshes the trust anchors, retries
 * with backoff, and stops cleanly on SIGTERM (an attempt in progress completes first). Several
 * {@code --state} directories (a hub holding several identities) share one scheduler.
 */
@Command(name = "run", mixinStandardHelpOptions = true, description = "Run the agent: renew on schedule until stopped.")
final class RunCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(RunCommand.class);

  @Spec
  CommandSpec spec;

  @Option(names = "--state", required = true, paramLabel = "DIR",
      description = "The agent's state directory; repeat to run several identities in one process.")
  List<Path> states;

  @Override
  public Integer call() throws Exception {
    List<Renewer> renewers = new ArrayList<>();
    Set<String> identities = new HashSet<>();
    for (Path state : states) {
      StateDir dir = StateDir.open(state);
      dir.holdForDaemon();
      Renewer renewer = Renewer.open(dir, Clock.systemUTC(), new SecureRandom());
      renewer.checkTrustAnchors();
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
      stopped.countDown();
    }, "renewal-agent-shutdown"));
    for (Renewer renewer : renewers) {
      scheduler.add(renewer.config().identity(), renewer);
      spec.commandLine().getOut().println("running for " + renewer.config().identity() + " (state "
          + renewer.stateDir().root() + ")");
    }
    spec.commandLine().getOut().flush();
    stopped.await();
    return 0;
  }
}
