package org.estfleet.server.ca;

import java.util.Objects;
import org.estfleet.server.store.IssuedCertificates;
import org.estfleet.server.store.Role;

/**
 * Who a certificate is issued to and how they proved it, as recorded in the ledger.
 *
 * @param deviceId the authenticated identity; the CSR's CN equals it
 * @param authMethod token, idevid or certificate
 * @param authDetail which token, IDevID or certificate
 * @param tokenId the one-time token this issuance consumes, or null
 * @param forwardedBy the gateway that forwarded the request, or null
 * @param requestId the gateway's name for the request, or null
 * @param role a device, a gateway or this server
 * @param credential what an operator may revoke of what authenticated the request (a certificate
 *     of this CA, an IDevID's device): checked again when the issuance is recorded
 */
public record Requester(String deviceId, String authMethod, String authDetail, Long tokenId, String forwardedBy,
    String requestId, Role role, IssuedCertificates.Credential credential) {
  public Requester {
    Objects.requireNonNull(deviceId, "deviceId");
    Objects.requireNonNull(authMethod, "authMethod");
    Objects.requireNonNull(authDetail, "authDetail");
    Objects.requireNonNull(role, "role");
    Objects.requireNonNull(credential, "credential");
  }

  /** Authenticated by nothing an operator revokes (a token, checked as it is consumed; this server). */
  public Requester(String deviceId, String authMethod, String authDetail, Long tokenId, String forwardedBy,
      String requestId, Role role) {
    this(deviceId, authMethod, authDetail, tokenId, forwardedBy, requestId, role, IssuedCertificates.Credential.NONE);
  }
}
