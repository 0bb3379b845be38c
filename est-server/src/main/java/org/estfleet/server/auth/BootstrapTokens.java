package org.estfleet.server.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.estfleet.est.EstException;
import org.estfleet.est.EstPath;
import org.estfleet.server.store.Role;
import org.estfleet.server.store.TokenRecords;

/**
 * One-time enrollment tokens. A token is 128 random bits, shown once when created and stored
 * only as its SHA-256 hash; with that much entropy a fast hash is enough, since guessing is
 * hopeless either way. Checking compares the hash with every token of the device in constant
 * time, so timing tells an attacker nothing.
 */
public final class BootstrapTokens {
  /**
   * Device ids are one CN and the user-id of HTTP Basic, which cannot hold a colon (RFC 7617).
   */
  private static final Pattern DEVICE_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._~@+=-]{0,63}");
  private static final int TOKEN_BYTES = 16;

  private final TokenRecords records;
  private final Clock clock;
  private final SecureRandom random;

  public BootstrapTokens(TokenRecords records, Clock clock, SecureRandom random) {
    this.records = records;
    this.clock = clock;
    this.random = random;
  }

  /**
   * A token just created; the secret exists nowhere else.
   *
   * @param label the EST label it enrolls under, {@code ""} for requests without one
   */
  public record NewToken(long id, String deviceId, String secret, Instant expiresAt, Role role, String label) {
    @Override
    public String toString() {
      return "NewToken[#" + id + " for " + role.column() + " " + deviceId + ", expires " + expiresAt + "]";
    }
  }

  /**
   * A token that checked out: which one, whom it enrolls (a device or a gateway), and under which
   * EST label ({@code ""}: requests without one; null: any, a token made before tokens had labels).
   */
  public record CheckedToken(long id, Role role, String label) {}

  /**
   * Checks that a device id can be used in a token and as a certificate's CN.
   *
   * @throws IllegalArgumentException saying which characters are allowed
   */
  public static String checkDeviceId(String deviceId) {
    if (deviceId == null || !DEVICE_ID.matcher(deviceId).matches()) {
      throw new IllegalArgumentException("invalid device id '"
          + (deviceId == null || deviceId.length() <= 80 ? deviceId : deviceId.substring(0, 80) + "...")
          + "': use 1-64 letters, digits and . _ ~ @ + = -, starting with a letter or digit");
    }
    return deviceId;
  }

  /**
   * How a revoked device {@code deviceId} enrolls again: with a token made after the revocation,
   * under its own id if a token can carry it, else under another.
   */
  public static String afterRevocation(String deviceId) {
    return DEVICE_ID.matcher(deviceId).matches() ? "enroll it with a new token"
        : "it enrolls again only with a new token, under another device id (a token's id has only letters, digits "
            + "and . _ ~ @ + = -)";
  }

  /** Creates a token for a device's requests without a label, valid for {@code ttl}. */
  public NewToken create(String deviceId, Duration ttl) {
    return create(deviceId, ttl, Role.DEVICE, "");
  }

  /**
   * Creates a token valid for {@code ttl} under EST label {@code label} ({@code ""}: requests
   * without one); with {@link Role#GATEWAY} it enrolls a gateway, whose certificate lets it
   * forward requests for devices, and gateways enroll without a label.
   */
  public NewToken create(String deviceId, Duration ttl, Role role, String label) {
    return createAll(List.of(deviceId), ttl, role, label).get(0);
  }

  /**
   * Creates a token for each device, all under {@code label}, all stored in one transaction:
   * every device id is checked before anything is stored, and either all the tokens are stored or
   * none.
   */
  public List<NewToken> createAll(List<String> deviceIds, Duration ttl, Role role, String label) {
    if (role == Role.SERVER) {
      throw new IllegalArgumentException("tokens enroll devices and gateways, not servers");
    }
    if (!label.isEmpty()) {
      EstPath.checkLabel(label);
      if (role == Role.GATEWAY) {
        throw new IllegalArgumentException("gateways enroll without a label, not with '" + label + "'");
      }
    }
    deviceIds.forEach(BootstrapTokens::checkDeviceId);
    if (ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException("token lifetime must be positive");
    }
    List<String> secrets = new java.util.ArrayList<>(deviceIds.size());
    List<byte[]> hashes = new java.util.ArrayList<>(deviceIds.size());
    for (int i = 0; i < deviceIds.size(); i++) {
      byte[] bytes = new byte[TOKEN_BYTES];
      random.nextBytes(bytes);
      String secret = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
      secrets.add(secret);
      hashes.add(sha256(secret));
    }
    Instant now = clock.instant();
    Instant expiresAt = now.plus(ttl);
    List<Long> ids = records.insertAll(deviceIds, hashes, now, expiresAt, role, label);
    List<NewToken> tokens = new java.util.ArrayList<>(deviceIds.size());
    for (int i = 0; i < deviceIds.size(); i++) {
      tokens.add(new NewToken(ids.get(i), deviceIds.get(i), secrets.get(i), expiresAt, role, label));
    }
    return tokens;
  }

  /**
   * Checks a device's token without consuming it; issuance consumes it atomically.
   *
   * @throws EstException 401 when the token is wrong, used, revoked or expired
   */
  public CheckedToken check(String deviceId, String secret) throws EstException {
    TokenRecords.TokenRecord match = match(deviceId, secret);
    if (match == null) {
      throw EstException.unauthorized("unknown device or wrong enrollment token for '" + deviceId + "'");
    }
    if (match.usedAt() != null) {
      throw EstException.unauthorized("the enrollment token for '" + deviceId + "' was already used at "
          + match.usedAt() + "; tokens are single use, ask for a new one");
    }
    if (match.revokedAt() != null) {
      throw EstException.unauthorized("the enrollment token for '" + deviceId + "' was revoked at "
          + match.revokedAt() + " (" + match.revokedReason() + "); ask for a new one");
    }
    if (clock.instant().isAfter(match.expiresAt())) {
      throw EstException.unauthorized("the enrollment token for '" + deviceId + "' expired at "
          + match.expiresAt() + "; ask for a new one");
    }
    return new CheckedToken(match.id(), match.role(), match.label());
  }

  /**
   * The device's used token that {@code secret} is, expired since or not: what a retry of the
   * request that used it presents. Compared in constant time, as {@link #check}.
   */
  public Optional<CheckedToken> used(String deviceId, String secret) {
    TokenRecords.TokenRecord match = match(deviceId, secret);
    return match == null || match.usedAt() == null ? Optional.empty()
        : Optional.of(new CheckedToken(match.id(), match.role(), match.label()));
  }

  /** The device's token that {@code secret} is, or null. */
  private TokenRecords.TokenRecord match(String deviceId, String secret) {
    byte[] hash = sha256(secret);
    TokenRecords.TokenRecord match = null;
    for (TokenRecords.TokenRecord token : records.byDevice(deviceId)) {
      // Compare with every token, not stopping at the first match: constant time per device.
      if (MessageDigest.isEqual(hash, token.sha256())) {
        match = token;
      }
    }
    return match;
  }

  private static byte[] sha256(String secret) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }
}
