package org.estfleet.server.ca;

import java.util.Objects;
import org.estfleet.pki.Csr;

/**
 * A request to issue, after authentication and policy checks.
 *
 * @param label the EST label, {@code ""} for the default profile
 * @param csr the client's CSR, whose signature has been verified
 * @param reenroll whether this is a re-enrollment (RFC 7030 section 4.2.2)
 */
public record IssueRequest(String label, Csr csr, Requester requester, boolean reenroll) {
  public IssueRequest {
    Objects.requireNonNull(label, "label");
    Objects.requireNonNull(csr, "csr");
    Objects.requireNonNull(requester, "requester");
  }
}
