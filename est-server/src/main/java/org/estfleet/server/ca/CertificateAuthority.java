package org.estfleet.server.ca;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import org.estfleet.est.CsrAttributes;
import org.estfleet.est.EstException;

/**
 * What issues certificates for the EST operations: this server's own CA ({@link LocalCa}) or,
 * in gateway mode, the upstream EST server. The caller has already authenticated the requester,
 * checked proof-of-possession and applied the EST rules; the CA signs, and records what it
 * issued before returning it.
 */
public interface CertificateAuthority {
  /**
   * The certificates a client should use as explicit trust anchors, plus those it needs to
   * build a path from an issued certificate to them (RFC 7030 section 4.1.3).
   *
   * @param label the EST label, {@code ""} for the default
   */
  List<X509Certificate> caCertificates(String label) throws EstException;

  /**
   * What clients should put in their CSRs (RFC 7030 section 4.5); empty when nothing.
   *
   * @param label the EST label, {@code ""} for the default
   */
  Optional<CsrAttributes> csrAttributes(String label) throws EstException;

  /**
   * Issues a certificate for the request (RFC 7030 sections 4.2.1 and 4.2.2), or defers it.
   *
   * @throws EstException when the request must be refused or cannot be served now
   */
  IssueResult issue(IssueRequest request) throws EstException;

  /**
   * What was issued before for this very request (its answer lost), issuing nothing: asked
   * instead of {@link #issue} when the requester may not be issued another certificate now (its
   * hourly limit), which a certificate sent again does not count toward.
   */
  Optional<IssueResult> resend(IssueRequest request) throws EstException;
}
