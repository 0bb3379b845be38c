package org.estfleet.server.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.concurrent.Callable;
import org.estfleet.json.DurationText;
import org.estfleet.pki.Certificates;
import org.estfleet.server.ca.CaRollover;
import org.estfleet.server.config.DataDir;
import org.estfleet.server.config.ServerConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code est-server rollover}: starts a root key rollover (RFC 7030 section 4.1.3). See
 * {@link CaRollover#start}; a running server takes it up at its next check of the CA's files.
 */
@Command(name = "rollover", mixinStandardHelpOptions = true,
    description = {"Start a CA root rollover: a new root and issuing CA, the link certificates NewWithOld and "
        + "OldWithNew, and a TLS server certificate under the new chain. /cacerts publishes old and new roots and "
        + "the links; certificates are issued under the new chain from the activation time.",
        "A running 'serve' takes it up within ca.checkInterval (10s by default), without a restart. End it with "
            + "retire-root once the overlap is over."})
final class RolloverCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--data", required = true, paramLabel = "DIR", description = "The CA's data directory.")
  Path data;

  @Option(names = "--activate-at", paramLabel = "TIME",
      description = "When to start issuing under the new chain: an instant such as 2027-01-01T00:00:00Z, "
          + "or +DURATION from now such as +30d (default: now).")
  String activateAt;

  @Option(names = "--overlap", paramLabel = "DURATION",
      description = "How long after the activation the old root stays published and the link certificates "
          + "stay valid (default: 365d). Devices offline longer than this must bootstrap again.")
  Duration overlap;

  @Override
  public Integer call() throws Exception {
    Clock clock = Clock.systemUTC();
    Instant activation = parseTime(activateAt, clock.instant());
    Duration window = overlap == null ? CaRollover.DEFAULT_OVERLAP : overlap;
    if (window.isZero() || window.isNegative()) {
      throw new ParameterException(spec.commandLine(), "--overlap: must be positive");
    }
    DataDir dataDir = DataDir.open(data);
    CaRollover.Outcome outcome = CaRollover.start(dataDir, activation, window, clock, new SecureRandom());
    try (OperatorAudit audit = OperatorAudit.open(dataDir, spec.commandLine().getErr())) {
      Map<String, Object> line = OperatorAudit.fields();
      line.put("root", outcome.root().getSubjectX500Principal().getName());
      line.put("rootSha256", Certificates.fingerprint(outcome.root()));
      line.put("oldRootSha256", Certificates.fingerprint(outcome.oldRoot()));
      line.put("activateAt", outcome.activateAt());
      line.put("overlapEndsAt", outcome.overlapEndsAt());
      audit.record("rollover", line);
    }
    // The overlap as it is: it ends with the old root at the latest.
    warnIfShorterThanALifetime(dataDir.config(), Duration.between(outcome.activateAt(), outcome.overlapEndsAt()));
    PrintWriter out = spec.commandLine().getOut();
    out.println("rollover started in " + data);
    out.println("  new root:    " + outcome.root().getSubjectX500Principal().getName() + " (sha256 "
        + Certificates.fingerprint(outcome.root()) + ")");
    out.println("  issuing:     under the new chain from " + outcome.activateAt());
    out.println("  overlap:     link certificates valid until " + outcome.overlapEndsAt());
    out.println("  TLS server:  new certificate under the new chain, valid until " + outcome.tls().getNotAfter().toInstant());
    out.println("  next:        a running est-server serve takes it up within ca.checkInterval; after "
        + outcome.overlapEndsAt() + ": est-server retire-root --data " + data);
    return EstServerCommand.EXIT_OK;
  }

  /**
   * Warns of an overlap shorter than a profile's certificate lifetime: a device or gateway moves
   * to the new chain when it renews, and one that renews only after the overlap can no longer
   * follow the links (README, Rotating the CA root).
   */
  private void warnIfShorterThanALifetime(ServerConfig config, Duration window) {
    Map<String, Duration> lifetimes = new java.util.LinkedHashMap<>();
    lifetimes.put("defaultProfile", config.defaultProfile().lifetime());
    config.labels().forEach((label, profile) -> lifetimes.put("labels." + label, profile.lifetime()));
    lifetimes.put("gatewayProfile", config.gatewayProfile().lifetime());
    lifetimes.entrySet().stream().max(Map.Entry.comparingByValue())
        .filter(longest -> window.compareTo(longest.getValue()) < 0)
        .ifPresent(longest -> spec.commandLine().getErr().println("est-server: warning: the overlap ("
            + DurationText.format(window) + ") is shorter than the certificate lifetime of " + longest.getKey() + " ("
            + DurationText.format(longest.getValue()) + "): a device or gateway that renews only after the overlap "
            + "can no longer follow the link certificates to the new root; an overlap longer than every lifetime "
            + "lets each renew under the new chain first"));
  }

  private Instant parseTime(String text, Instant now) {
    if (text == null || text.equals("now")) {
      return now;
    }
    try {
      return text.startsWith("+") ? now.plus(DurationText.parse(text.substring(1))) : Instant.parse(text);
    } catch (DateTimeParseException | IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--activate-at: " + EstServerCommand.quoted(text)
          + " is neither an instant such as 2027-01-01T00:00:00Z nor +DURATION such as +30d");
    }
  }
}
