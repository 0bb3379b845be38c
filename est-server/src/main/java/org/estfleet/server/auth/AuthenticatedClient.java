package org.estfleet.server.auth;

import java.security.cert.X509Certificate;
import java.util.Objects;
import java.util.Optional;
import org.estfleet.est.EstException;
import org.estfleet.est.EstPath;
import org.estfleet.server.store.Role;

/**
 * A client whose credentials checked out.
 *
 * @param deviceId the identity it proved; certificates are issued only for this identity
 * @param detail which token or certificate it used, for the ledger and the logs
 * @param tokenId the one-time token to consume when a certificate is issued, or null
 * @param certificate the client certificate it authenticated with, or null
 * @param role a device, or a gateway (enrolling or renewing its own certificate)
 * @param label the only EST label its credentials are good for ({@code ""}: requests without
 *     one): a token's, or the one a certificate of this CA was issued under; null for any (an
 *     IDevID, a token made before tokens had labels, or where the upstream judges it)
 */
public record AuthenticatedClient(String deviceId, AuthMethod method, String detail, Long tokenId,
    X509Certificate certificate, Role role, String label) {
  public AuthenticatedClient {
    Objects.requireNonNull(deviceId, "deviceId");
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(detail, "detail");
    Objects.requireNonNull(role, "role");
  }

  /**
   * Refuses a request under {@code requested} that its credentials are not good for (RFC 7030
   * section 3.2.2: the server decides what each label serves, and to whom).
   *
   * @throws EstException 403 naming the label the credentials are for
   */
  public void checkLabel(String requested) throws EstException {
    if (label == null || label.equals(requested)) {
      return;
    }
    String request = requested.isEmpty() ? "this request has no label" : "this request is for label '" + requested + "'";
    throw EstException.forbidden(method == AuthMethod.TOKEN
        ? "the enrollment token for '" + deviceId + "' enrolls only " + where(label) + "; " + request
        : detail + " was issued " + where(label) + ", and enrolls or renews only there; " + request);
  }

  private static String where(String label) {
    return label.isEmpty() ? "without a label, at " + EstPath.PREFIX
        : "under label '" + label + "', at " + EstPath.PREFIX + label + "/";
  }

  public Optional<X509Certificate> clientCertificate() {
    return Optional.ofNullable(certificate);
  }
}
