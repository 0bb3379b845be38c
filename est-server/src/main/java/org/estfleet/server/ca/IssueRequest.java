package org.estfleet.server.ca;

import java.util.Objects;
import org.estfleet.pki.Csr;
import org.estfleet.server.auth.Credentials;

/**
 * A request to issue, after authentication and policy checks.
 *
 * @param label the EST label, {@code ""} for the default profile
 * @param csr the client's CSR, whose signature has been verified
 * @param reenroll whether this is a re-enrollment (RFC 7030 section 4.2.2)
 * @param presented what the requester authenticated with, for a gateway to pass on upstream
 * @param popLinked whether the CSR was checked to be linked to the requester's TLS connection
 *     (RFC 7030 section 3.5), for a gateway to say upstream
 */
public record IssueRequest(String label, Csr csr, Requester requester, boolean reenroll, Credentials presented,
    boolean popLinked) {
  public IssueRequest {
    Objects.requireNonNull(label, "label");
    Objects.requireNonNull(csr, "csr");
    Objects.requireNonNull(requester, "requester");
    presented = presented == null ? Credentials.none() : presented;
  }

  public IssueRequest(String label, Csr csr, Requester requester, boolean reenroll, Credentials presented) {
    this(label, csr, requester, reenroll, presented, false);
  }
}
