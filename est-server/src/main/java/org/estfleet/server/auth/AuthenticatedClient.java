package org.estfleet.server.auth;

import java.security.cert.X509Certificate;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
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
 * @param labels the EST labels its credentials are good for ({@code ""}: requests without one):
 *     a token's, the one a certificate of this CA was issued under, {@code bootstrap.idevidLabels}
 *     for an IDevID; null for any (a token made before tokens had labels, an IDevID where that is
 *     not set, or where the upstream judges it)
 */
public record AuthenticatedClient(String deviceId, AuthMethod method, String detail, Long tokenId,
    X509Certificate certificate, Role role, Set<String> labels) {
  public AuthenticatedClient {
    Objects.requireNonNull(deviceId, "deviceId");
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(detail, "detail");
    Objects.requireNonNull(role, "role");
    labels = labels == null ? null : Set.copyOf(labels);
  }

  /** The labels of credentials good for {@code label} only, or for any if it is null. */
  public static Set<String> only(String label) {
    return label == null ? null : Set.of(label);
  }

  /**
   * Refuses a request under {@code requested} that its credentials are not good for (RFC 7030
   * section 3.2.2: the server decides what each label serves, and to whom).
   *
   * @throws EstException 403 naming the label the credentials are for
   */
  public void checkLabel(String requested) throws EstException {
    if (labels == null || labels.contains(requested)) {
      return;
    }
    String request = requested.isEmpty() ? "this request has no label"
        : "this request is for label '" + requested + "'";
    String where = new TreeSet<>(labels).stream().map(AuthenticatedClient::where).collect(Collectors.joining(" or "));
    throw EstException.forbidden(switch (method) {
      case TOKEN -> "the enrollment token for '" + deviceId + "' enrolls only " + where + "; " + request;
      case IDEVID -> "manufacturer certificates (IDevIDs) enroll only " + where + " (bootstrap.idevidLabels); "
          + request;
      default -> detail + " was issued " + where + ", and enrolls or renews only there; " + request;
    });
  }

  private static String where(String label) {
    return label.isEmpty() ? "without a label, at " + EstPath.PREFIX
        : "under label '" + label + "', at " + EstPath.PREFIX + label + "/";
  }

  public Optional<X509Certificate> clientCertificate() {
    return Optional.ofNullable(certificate);
  }
}
