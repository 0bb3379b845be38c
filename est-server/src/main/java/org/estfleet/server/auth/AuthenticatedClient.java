package org.estfleet.server.auth;

import java.security.cert.X509Certificate;
import java.util.Objects;
import java.util.Optional;
import org.estfleet.server.store.Role;

/**
 * A client whose credentials checked out.
 *
 * @param deviceId the identity it proved; certificates are issued only for this identity
 * @param detail which token or certificate it used, for the ledger and the logs
 * @param tokenId the one-time token to consume when a certificate is issued, or null
 * @param certificate the client certificate it authenticated with, or null
 * @param role a device, or a gateway (enrolling or renewing its own certificate)
 */
public record AuthenticatedClient(String deviceId, AuthMethod method, String detail, Long tokenId,
    X509Certificate certificate, Role role) {
  public AuthenticatedClient {
    Objects.requireNonNull(deviceId, "deviceId");
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(detail, "detail");
    Objects.requireNonNull(role, "role");
  }

  public Optional<X509Certificate> clientCertificate() {
    return Optional.ofNullable(certificate);
  }
}
