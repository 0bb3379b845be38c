package org.estfleet.server.store;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Objects;

/**
 * A request a gateway accepted from a device, kept until the upstream CA has answered and the
 * device has collected the answer.
 *
 * @param requestId the name the gateway gives the request upstream, so that a request forwarded
 *     twice is issued once
 * @param operation simpleenroll or simplereenroll
 * @param authMethod how the device authenticated to the gateway: token, idevid or certificate
 * @param deviceToken the device's one-time token (deviceId:token), kept only until the upstream
 *     has answered, for a token device; else null
 * @param deviceChainPem the device's certificate chain, for a certificate device; else null
 * @param status pending, issued or refused
 * @param resultStatus the upstream's refusal status (HTTP), for a refused request
 * @param certificatePem the certificate the upstream issued, for an issued request
 * @param popLinked whether the gateway checked that the CSR was linked to the device's TLS
 *     connection (RFC 7030 section 3.5)
 * @param credentialsSha256 a digest of the credentials the request was sent with
 *     ({@link #credentialsDigest}), kept after the token is wiped; null for a request stored
 *     before migration V10
 */
public record PendingEnrollment(
    long id,
    String requestId,
    String deviceId,
    String publicKeySha256,
    String label,
    String operation,
    byte[] csrDer,
    String authMethod,
    String deviceToken,
    String deviceChainPem,
    Status status,
    Instant createdAt,
    Instant updatedAt,
    int attempts,
    Instant nextAttemptAt,
    String lastError,
    Integer resultStatus,
    String resultMessage,
    String certificatePem,
    boolean popLinked,
    byte[] credentialsSha256) {

  /** Where a request stands. */
  public enum Status {
    /** Waiting for the upstream. */
    PENDING,
    /** The upstream issued a certificate; the device collects it on its next retry. */
    ISSUED,
    /** The upstream refused; the device learns why on its next retry. */
    REFUSED;

    static Status of(String column) {
      return valueOf(column.toUpperCase(java.util.Locale.ROOT));
    }
  }

  public PendingEnrollment {
    Objects.requireNonNull(requestId, "requestId");
    Objects.requireNonNull(deviceId, "deviceId");
    Objects.requireNonNull(publicKeySha256, "publicKeySha256");
    Objects.requireNonNull(label, "label");
    Objects.requireNonNull(operation, "operation");
    csrDer = csrDer.clone();
    Objects.requireNonNull(authMethod, "authMethod");
    Objects.requireNonNull(status, "status");
    credentialsSha256 = credentialsSha256 == null ? null : credentialsSha256.clone();
  }

  @Override
  public byte[] csrDer() {
    return csrDer.clone();
  }

  @Override
  public byte[] credentialsSha256() {
    return credentialsSha256 == null ? null : credentialsSha256.clone();
  }

  /**
   * Whether this request was sent with these credentials, compared in constant time. A request
   * stored before migration V10 and answered before it has no digest: it counts as sent with any.
   */
  public boolean sentWith(String deviceToken, String deviceChainPem) {
    return credentialsSha256 == null
        || MessageDigest.isEqual(credentialsSha256, credentialsDigest(deviceToken, deviceChainPem));
  }

  /**
   * The SHA-256 of a request's credentials: its token (deviceId:token) for a token device, else its
   * certificate chain (PEM). A token is a random secret, so its digest tells nothing of it.
   */
  public static byte[] credentialsDigest(String deviceToken, String deviceChainPem) {
    String credentials = deviceToken != null ? "token\n" + deviceToken
        : deviceChainPem != null ? "chain\n" + deviceChainPem : "none";
    try {
      return MessageDigest.getInstance("SHA-256").digest(credentials.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }

  @Override
  public String toString() {
    return "PendingEnrollment[#" + id + " " + deviceId + " " + operation + " " + status + "]";
  }
}
