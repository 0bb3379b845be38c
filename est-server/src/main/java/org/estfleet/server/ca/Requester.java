package org.estfleet.server.ca;

import java.util.Objects;

/**
 * Who a certificate is issued to and how they proved it, as recorded in the ledger.
 *
 * @param deviceId the authenticated identity; the CSR's CN equals it
 * @param authMethod token, idevid or certificate
 * @param authDetail which token, IDevID or certificate
 * @param tokenId the one-time token this issuance consumes, or null
 * @param forwardedBy the gateway that forwarded the request, or null
 */
public record Requester(String deviceId, String authMethod, String authDetail, Long tokenId, String forwardedBy) {
  public Requester {
    Objects.requireNonNull(deviceId, "deviceId");
    Objects.requireNonNull(authMethod, "authMethod");
    Objects.requireNonNull(authDetail, "authDetail");
  }
}
