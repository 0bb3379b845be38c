package org.estfleet.server.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.Callable;
import org.estfleet.server.auth.BootstrapTokens;
import org.estfleet.server.config.ConfigException;
import org.estfleet.server.config.DataDir;
import org.estfleet.server.config.ServerConfig;
import org.estfleet.server.store.Database;
import org.estfleet.server.store.TokenRecords;
import org.estfleet.server.store.TokenRecords.TokenRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code est-server tokens}: the bootstrap tokens this CA made and what became of each, one per
 * line, tab-separated, after a header line (for people and for {@code cut}/{@code awk}). Secrets
 * are not stored, so none is shown. Safe to run while the server runs.
 */
@Command(name = "tokens", mixinStandardHelpOptions = true,
    description = {"List the bootstrap tokens this CA made, oldest first, one per line: number, device, role, label "
        + "('-' none, '*' any: made before tokens had labels), made, expires, and state: usable, used (with the "
        + "certificate's serial), expired, or revoked (with the reason).",
        "Tab-separated after a header line. End one with: est-server revoke --token NUMBER."})
final class TokensCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--data", required = true, paramLabel = "DIR", description = "The CA's data directory.")
  Path data;

  @Option(names = "--device", paramLabel = "ID", description = "Only the tokens of this device.")
  String device;

  @Option(names = "--usable", description = "Only the tokens that would enroll now: not used, revoked or expired.")
  boolean usable;

  @Override
  public Integer call() throws Exception {
    if (device != null) {
      try {
        BootstrapTokens.checkDeviceId(device);
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), "--device: " + e.getMessage());
      }
    }
    DataDir dataDir = DataDir.open(data);
    if (dataDir.config().mode() == ServerConfig.Mode.GATEWAY) {
      throw new ConfigException(data + " is a gateway; tokens are made and kept on its upstream CA ("
          + dataDir.config().gateway().upstream() + ")");
    }
    Instant now = Clock.systemUTC().instant();
    PrintWriter out = spec.commandLine().getOut();
    long[] listed = {0};
    try (Database database = Database.openExisting(dataDir.resolve(dataDir.config().database().file()))) {
      out.println("token\tdevice\trole\tlabel\tmade\texpires\tstate");
      new TokenRecords(database).forEach(device, token -> {
        String state = state(token, now);
        if (!usable || state.equals("usable")) {
          out.println("#" + token.id() + "\t" + token.deviceId() + "\t" + token.role().column() + "\t"
              + (token.label() == null ? "*" : token.label().isEmpty() ? "-" : token.label()) + "\t"
              + token.createdAt() + "\t" + token.expiresAt() + "\t" + state);
          listed[0]++;
        }
        // The reader went away (tokens | head): stop reading. Asked every 100 lines (it flushes).
        return listed[0] % 100 != 0 || !out.checkError();
      });
    }
    out.flush();
    if (listed[0] == 0) {
      spec.commandLine().getErr().println("est-server: no " + (usable ? "usable " : "") + "token"
          + (device == null ? "" : " for '" + device + "'"));
    }
    return EstServerCommand.EXIT_OK;
  }

  /** What became of a token, as of {@code now}. */
  private static String state(TokenRecord token, Instant now) {
    if (token.usedAt() != null) {
      return "used " + token.usedAt() + " serial " + token.usedBySerial();
    }
    if (token.revokedAt() != null) {
      return "revoked " + token.revokedAt() + " (" + token.revokedReason() + ")";
    }
    return now.isAfter(token.expiresAt()) ? "expired" : "usable";
  }
}
