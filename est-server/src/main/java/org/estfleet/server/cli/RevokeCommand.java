package org.estfleet.server.cli;

import java.io.PrintWriter;
import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.DeviceIdentity;
import org.estfleet.server.auth.BootstrapTokens;
import org.estfleet.server.auth.RevocationList;
import org.estfleet.server.config.ConfigException;
import org.estfleet.server.config.DataDir;
import org.estfleet.server.config.ServerConfig;
import org.estfleet.server.store.Database;
import org.estfleet.server.store.Revocations;
import org.estfleet.server.store.TokenRecords;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code est-server revoke}: certificates that must not renew any more (a device stolen, its key
 * leaked), or unused tokens that must not enroll. Safe to run while the server runs, which takes
 * it up within {@link RevocationList#REFRESH}.
 */
@Command(name = "revoke", mixinStandardHelpOptions = true,
    description = {"Revoke certificates this CA issued, a device, or unused bootstrap tokens: revoked certificates "
        + "no longer authenticate to it (re-enrollment, enrollment with a certificate, a gateway's forwarding) and are "
        + "not sent again as a retry's answer; revoked tokens enroll nothing.",
        "This server publishes no CRL or OCSP: a revoked certificate ends when it expires, without renewal.",
        "A running 'serve' takes it up within 2 seconds."})
final class RevokeCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--data", required = true, paramLabel = "DIR", description = "The CA's data directory.")
  Path data;

  @ArgGroup(multiplicity = "1")
  Which which;

  static final class Which {
    @Option(names = "--serial", required = true, paramLabel = "HEX",
        description = "A certificate's serial number in hex (colons and case do not matter); repeatable.")
    List<String> serials;

    @Option(names = "--device", required = true, paramLabel = "ID",
        description = "Device ID (a token's device id, or the identity an IDevID enrolled under, quoted if it has "
            + "spaces): every certificate issued to this id, its unused tokens, and its manufacturer certificate "
            + "(IDevID) under any name it carries; it enrolls again only with a token made after this, so an identity "
            + "no token can carry (a space, a colon) enrolls again only under another id.")
    String device;

    @Option(names = "--token", required = true, paramLabel = "NUMBER",
        description = "An unused bootstrap token by its number (as 'est-server token' and 'est-server tokens' show "
            + "it, #12 or 12): it enrolls nothing from then on; repeatable.")
    List<String> tokens;
  }

  @Option(names = "--reason", paramLabel = "TEXT", defaultValue = "revoked by an operator",
      description = "Why, recorded and told to the device when it tries to renew (default: ${DEFAULT-VALUE}).")
  String reason;

  @Override
  public Integer call() throws Exception {
    if (reason.isBlank() || reason.length() > 200 || reason.chars().anyMatch(Character::isISOControl)) {
      throw new ParameterException(spec.commandLine(), "--reason: 1-200 characters on one line");
    }
    List<String> serials = new ArrayList<>();
    List<Long> tokenIds = new ArrayList<>();
    if (which.tokens != null) {
      for (String token : which.tokens) {
        long id = tokenId(token);
        if (!tokenIds.contains(id)) {
          tokenIds.add(id);
        }
      }
    } else if (which.serials != null) {
      for (String serial : which.serials) {
        String normalized = serial(serial);
        if (!serials.contains(normalized)) {
          serials.add(normalized); // the same serial written twice is revoked once
        }
      }
    } else {
      // Any identity a device can enroll under: a token's device id, or what names the device in
      // its IDevID (a CN with spaces, a URN, an 802.1AR serial number such as "PID:X SN:Y").
      Optional<String> unusable = DeviceIdentity.problem(which.device);
      if (unusable.isPresent()) {
        throw new ParameterException(spec.commandLine(), "--device: " + EstServerCommand.quoted(which.device)
            + " " + unusable.get() + ", which no device id does; give the id a token was made for or the identity "
            + "its manufacturer certificate (IDevID) enrolled under");
      }
    }
    DataDir dataDir = DataDir.open(data);
    if (dataDir.config().mode() == ServerConfig.Mode.GATEWAY) {
      throw new ConfigException(data + " is a gateway; certificates are revoked on their CA ("
          + dataDir.config().gateway().upstream() + "), which checks them");
    }
    Instant now = Clock.systemUTC().instant();
    PrintWriter out = spec.commandLine().getOut();
    try (Database database = Database.openExisting(dataDir.resolve(dataDir.config().database().file()))) {
      Revocations revocations = new Revocations(database);
      List<Revocations.Revoked> revoked;
      Revocations.DeviceRevoked device = null;
      if (which.tokens != null) {
        List<TokenRecords.Revoked> tokens;
        try {
          tokens = new TokenRecords(database).revoke(tokenIds, now, reason);
        } catch (IllegalArgumentException e) {
          throw new IllegalStateException(e.getMessage() + "; nothing was revoked", e);
        }
        try (OperatorAudit audit = OperatorAudit.open(dataDir, spec.commandLine().getErr())) {
          for (TokenRecords.Revoked token : tokens) {
            if (!token.already()) {
              Map<String, Object> line = auditLine("token", token.token().deviceId());
              line.put("token", "#" + token.token().id());
              audit.record("revoke", line);
            }
          }
        }
        for (TokenRecords.Revoked token : tokens) {
          TokenRecords.TokenRecord record = token.token();
          out.println("token #" + record.id() + " of " + record.deviceId() + ": "
              + (token.already() ? "revoked before, at " + record.revokedAt() + " (" + record.revokedReason() + ")"
                  : "revoked" + (record.expiresAt().isBefore(now) ? " (it had expired at " + record.expiresAt() + ")"
                      : "")));
        }
        return EstServerCommand.EXIT_OK;
      } else if (which.serials != null) {
        try {
          revoked = revocations.revoke(serials, now, reason);
        } catch (IllegalArgumentException e) {
          throw new IllegalStateException(e.getMessage() + "; nothing was revoked", e);
        }
      } else {
        device = revocations.revokeDevice(which.device, now, reason);
        revoked = device.certificates();
        out.println("device " + which.device + ": " + (!device.already() ? "revoked"
            : "revoked before, at " + device.device().revokedAt() + " (" + device.device().reason() + ")")
            + "; its manufacturer certificate enrolls no more, under any name it carries: "
            + BootstrapTokens.afterRevocation(which.device));
        out.println("  unused tokens ended: " + device.tokensEnded());
        if (device.certificates().isEmpty() && device.tokensEver() == 0) {
          spec.commandLine().getErr().println("est-server: warning: this CA issued no certificate and made no token "
              + "for '" + which.device + "'; check the id (it is revoked all the same)");
        }
      }
      try (OperatorAudit audit = OperatorAudit.open(dataDir, spec.commandLine().getErr())) {
        if (device != null && !device.already()) {
          Map<String, Object> line = auditLine("device", which.device);
          line.put("tokensEnded", device.tokensEnded());
          audit.record("revoke", line);
        }
        for (Revocations.Revoked certificate : revoked) {
          if (!certificate.already()) {
            Map<String, Object> line = auditLine("certificate", certificate.certificate().deviceId());
            line.put("serial", certificate.certificate().serial());
            audit.record("revoke", line);
          }
        }
      }
      for (Revocations.Revoked certificate : revoked) {
        out.println("  serial " + certificate.certificate().serial() + " of " + certificate.certificate().deviceId()
            + " (valid until " + certificate.certificate().notAfter() + "): "
            + (certificate.already() ? "revoked before, at " + certificate.revocation().revokedAt()
                + " (" + certificate.revocation().reason() + ")" : "revoked"));
      }
    }
    return EstServerCommand.EXIT_OK;
  }

  /** The audit line of one revocation made now: what, of which device, why; the caller adds which. */
  private Map<String, Object> auditLine(String what, String identity) {
    Map<String, Object> line = OperatorAudit.fields();
    line.put("what", what);
    line.put("identity", identity);
    line.put("reason", reason);
    return line;
  }

  /** A token's number, as {@code token} prints it ({@code #12}) or bare. */
  private long tokenId(String text) {
    String digits = text.startsWith("#") ? text.substring(1) : text;
    if (!digits.isEmpty() && digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
      try {
        long id = Long.parseLong(digits);
        if (id >= 1) {
          return id;
        }
      } catch (NumberFormatException tooLong) {
        // beyond any token number: refused below as the others
      }
    }
    throw new ParameterException(spec.commandLine(), "--token: " + EstServerCommand.quoted(text)
        + " is not a token number (1 or more, as 'est-server tokens' lists them: #12 or 12)");
  }

  /** A serial as the ledger writes it ({@link Certificates#serialHex}). */
  private String serial(String text) {
    String hex = text.replace(":", "").trim();
    try {
      if (hex.isEmpty() || hex.startsWith("-") || hex.startsWith("+")) {
        throw new NumberFormatException();
      }
      return Certificates.serialHex(new BigInteger(hex, 16));
    } catch (NumberFormatException e) {
      throw new ParameterException(spec.commandLine(), "--serial: " + EstServerCommand.quoted(text)
          + " is not a hexadecimal serial number");
    }
  }
}
