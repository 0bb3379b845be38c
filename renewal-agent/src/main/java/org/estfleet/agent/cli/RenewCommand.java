package org.estfleet.agent.cli;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.estfleet.agent.AgentException;
import org.estfleet.agent.Renewer;
import org.estfleet.agent.store.StateDir;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code renewal-agent renew}: one renewal attempt now if it is due (or always with
 * {@code --force}). Exit 0 when renewed, pending or not due; 3 when the certificate expired and
 * could not be renewed; 1 when the attempt failed.
 */
@Command(name = "renew", mixinStandardHelpOptions = true, description = "One renewal attempt, if due (or --force).")
final class RenewCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--state", required = true, paramLabel = "DIR", description = "The agent's state directory.")
  Path state;

  @Option(names = "--force", description = "Renew now, even if not due, ignoring backoff and Retry-After.")
  boolean force;

  @Option(names = "--verbose", description = "Log each step on stderr at INFO, as 'run' does (by default only "
      + "warnings about anything but the outcome, which is printed).")
  boolean verbose; // acted on by RenewalAgentCommand.configureLogging, from the arguments, before parsing

  @Override
  public Integer call() throws Exception {
    Renewer renewer = Renewer.open(StateDir.open(state), Clock.systemUTC(), new SecureRandom());
    renewer.checkTrustAnchors();
    Renewer.Result result = renewer.renew(force);
    String line = switch (result.outcome()) {
      case RENEWED, ENROLLED, CLOCK_SKEW -> result.message(); // the skew's message says what it is
      default -> result.outcome().name().toLowerCase(Locale.ROOT).replace('_', ' ') + ": " + result.message();
    };
    return switch (result.outcome()) {
      case RENEWED, ENROLLED, PENDING, NOT_DUE, WAITING -> {
        spec.commandLine().getOut().println(line);
        yield 0;
      }
      case EXPIRED -> throw AgentException.notEnrolled(line);
      case FAILED, CLOCK_SKEW -> throw AgentException.failure(line);
    };
  }
}
