package org.estfleet.server.cli;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import org.estfleet.est.EstPath;
import org.estfleet.server.auth.BootstrapTokens;
import org.estfleet.server.config.ConfigException;
import org.estfleet.server.config.DataDir;
import org.estfleet.server.config.ServerConfig;
import org.estfleet.server.store.Database;
import org.estfleet.server.store.Role;
import org.estfleet.server.store.TokenRecords;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code est-server token}: a new one-time enrollment token for a device. The token goes to
 * stdout alone (for scripts); what it is for goes to stderr. Safe to run while the server runs.
 */
@Command(name = "token", mixinStandardHelpOptions = true,
    description = "Print a new one-time bootstrap token for a device (HTTP Basic deviceId:token on simpleenroll).")
final class TokenCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--data", required = true, paramLabel = "DIR", description = "The server's data directory.")
  Path data;

  @Option(names = "--device", required = true, paramLabel = "ID", description = "The device id: the CN it will enroll for.")
  String device;

  @Option(names = "--count", paramLabel = "N",
      description = "Make N tokens, for the devices ID-1 to ID-N, printed as ID-i:TOKEN lines (provisioning a "
          + "batch, a load test).")
  Integer count;

  @Option(names = "--ttl", paramLabel = "DURATION",
      description = "How long the token stays usable, e.g. 24h or 7d (default: bootstrap.tokenTtl, 7d).")
  Duration ttl;

  @Option(names = "--gateway",
      description = "A token that enrolls a gateway (registration authority) with the id --device, not a device.")
  boolean gateway;

  @Option(names = "--label", paramLabel = "LABEL",
      description = "The EST label the device enrolls under, one of the server's labels; the token is refused "
          + "(403) under any other (default: requests without a label).")
  String label;

  /** Tokens stored per transaction by --count. */
  private static final int BATCH = 10_000;

  @Override
  public Integer call() throws Exception {
    try {
      BootstrapTokens.checkDeviceId(device);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--device: " + e.getMessage());
    }
    if (ttl != null && ServerConfig.tokenTtlProblem(ttl).isPresent()) {
      throw new ParameterException(spec.commandLine(), "--ttl: " + ServerConfig.tokenTtlProblem(ttl).get());
    }
    DataDir dataDir = DataDir.open(data);
    if (dataDir.config().mode() == ServerConfig.Mode.GATEWAY) {
      throw new ConfigException(data + " is a gateway; tokens are made on its upstream CA ("
          + dataDir.config().gateway().upstream() + "), which checks them");
    }
    String enrollsUnder = checkLabel(dataDir.config());
    Duration lifetime = ttl == null ? dataDir.config().bootstrap().tokenTtl() : ttl;
    if (count != null && (count < 1 || count > 1_000_000)) {
      throw new ParameterException(spec.commandLine(), "--count: must be between 1 and 1000000");
    }
    if (count != null) {
      try {
        BootstrapTokens.checkDeviceId(device + "-" + count); // the longest id --count makes
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), "--count " + count + " makes device ids up to '" + device
            + "-" + count + "', longer than 64 characters: use a shorter --device");
      }
    }
    try (Database database = Database.openExisting(dataDir.resolve(dataDir.config().database().file()));
        OperatorAudit audit = OperatorAudit.open(dataDir, spec.commandLine().getErr())) {
      BootstrapTokens tokens = new BootstrapTokens(new TokenRecords(database), Clock.systemUTC(), new SecureRandom());
      Role role = gateway ? Role.GATEWAY : Role.DEVICE;
      if (count != null) {
        // Stored a batch per transaction (not one per token, each with its fsync), printed once
        // stored; a batch never holds a running server's write lock for long.
        int made = 0;
        try {
          while (made < count) {
            List<String> batch = new ArrayList<>();
            for (int i = made + 1; i <= Math.min(count, made + BATCH); i++) {
              batch.add(device + "-" + i);
            }
            List<BootstrapTokens.NewToken> stored = tokens.createAll(batch, lifetime, role, enrollsUnder);
            for (BootstrapTokens.NewToken token : stored) {
              spec.commandLine().getOut().println(token.deviceId() + ":" + token.secret());
            }
            // One audit line per stored batch, not per token (up to a million).
            BootstrapTokens.NewToken last = stored.get(stored.size() - 1);
            Map<String, Object> line = auditLine(stored.get(0));
            line.put("lastIdentity", last.deviceId());
            line.put("lastToken", "#" + last.id());
            line.put("count", stored.size());
            audit.record("token", line);
            made += batch.size();
          }
        } catch (RuntimeException e) {
          spec.commandLine().getOut().flush();
          throw new IllegalStateException((made == 0 ? "no token was stored"
              : "only the " + made + " tokens printed, " + device + "-1 to " + device + "-" + made + ", were stored")
              + ": " + e.getMessage(), e);
        }
        spec.commandLine().getOut().flush();
        spec.commandLine().getErr().println(count + " tokens for " + device + "-1 to " + device + "-" + count
            + ", each for its device, one line ID:TOKEN each, enrolling " + where(enrollsUnder) + "; they expire "
            + Clock.systemUTC().instant().plus(lifetime));
        return EstServerCommand.EXIT_OK;
      }
      BootstrapTokens.NewToken token = tokens.create(device, lifetime, role, enrollsUnder);
      audit.record("token", auditLine(token));
      spec.commandLine().getOut().println(token.secret());
      spec.commandLine().getErr().println(gateway
          ? "token #" + token.id() + " for gateway " + device + " expires " + token.expiresAt()
              + "; on the gateway: est-server init --gateway --token " + device + ":<token> ..."
          : "token #" + token.id() + " for device " + device + " expires " + token.expiresAt()
              + "; the device enrolls " + where(enrollsUnder) + " with HTTP Basic " + device + ":<token>");
    }
    return EstServerCommand.EXIT_OK;
  }

  /** The audit line of a token made (never its secret): for which device, its number, where it enrolls. */
  private static Map<String, Object> auditLine(BootstrapTokens.NewToken token) {
    Map<String, Object> line = OperatorAudit.fields();
    line.put("identity", token.deviceId());
    line.put("token", "#" + token.id());
    line.put("role", token.role().column());
    line.put("label", token.label());
    line.put("expiresAt", token.expiresAt());
    return line;
  }

  /** The label the tokens are for: {@code --label}, which the server must have, or none. */
  private String checkLabel(ServerConfig config) {
    if (label == null || label.isEmpty()) {
      return "";
    }
    if (gateway) {
      throw new ParameterException(spec.commandLine(), "--label: gateways enroll without a label");
    }
    if (!config.labels().containsKey(label)) {
      throw new ParameterException(spec.commandLine(), "--label: this server has no label "
          + EstServerCommand.quoted(label) + " ("
          + (config.labels().isEmpty() ? "it has none"
              : "it has " + String.join(", ", new TreeSet<>(config.labels().keySet())))
          + "); add it to the settings' labels first");
    }
    return label;
  }

  private static String where(String label) {
    return label.isEmpty() ? "without a label (" + EstPath.PREFIX + ")"
        : "under label '" + label + "' (" + EstPath.PREFIX + label + "/)";
  }
}
