package org.estfleet.server.store;

import java.time.Instant;
import java.util.Objects;

/**
 * One row of the issuance ledger.
 *
 * @param label the EST label, {@code ""} for the default profile
 * @param authMethod how the requester authenticated: token, idevid, certificate or local
 * @param authDetail which token, IDevID or certificate it was
 * @param tokenId the bootstrap token consumed by this issuance, or null
 * @param forwardedBy the gateway (RA) that forwarded the request, or null
 * @param requestId the gateway's name for the forwarded request, or null
 */
public record IssuanceRecord(
    String serial,
    String deviceId,
    String subject,
    String label,
    Instant notBefore,
    Instant notAfter,
    Instant issuedAt,
    String authMethod,
    String authDetail,
    Long tokenId,
    String publicKeySha256,
    String certificatePem,
    String forwardedBy,
    String requestId,
    Role role) {

  public IssuanceRecord {
    Objects.requireNonNull(serial, "serial");
    Objects.requireNonNull(deviceId, "deviceId");
    Objects.requireNonNull(subject, "subject");
    Objects.requireNonNull(label, "label");
    Objects.requireNonNull(notBefore, "notBefore");
    Objects.requireNonNull(notAfter, "notAfter");
    Objects.requireNonNull(issuedAt, "issuedAt");
    Objects.requireNonNull(authMethod, "authMethod");
    Objects.requireNonNull(authDetail, "authDetail");
    Objects.requireNonNull(publicKeySha256, "publicKeySha256");
    Objects.requireNonNull(certificatePem, "certificatePem");
    Objects.requireNonNull(role, "role");
    if (requestId != null && forwardedBy == null) {
      throw new IllegalArgumentException("a request id names a forwarded request; forwardedBy is missing");
    }
  }
}
