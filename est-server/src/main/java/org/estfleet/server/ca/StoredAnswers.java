package org.estfleet.server.ca;

import java.security.cert.X509Certificate;
import java.util.Optional;
import org.estfleet.est.EstException;
import org.estfleet.pki.Csr;

/**
 * A CA that keeps requests and their answers (a gateway): a client sending the very same CSR
 * again gets the stored answer (RFC 7030 section 4.2.3), even if the certificate it authenticated
 * with has expired since the request was accepted. That is safe without authenticating again:
 * the request was authenticated when it was accepted, the CSR's signature proves possession of
 * its key, and a certificate is no secret.
 */
@FunctionalInterface
public interface StoredAnswers {
  /**
   * The answer to a request with this CSR, if one was stored and the client does not hold it yet.
   *
   * @param presented the client certificate of the request, if any: a stored certificate the
   *     client authenticates with was collected, and this CSR is a new request
   * @throws EstException the stored refusal
   */
  Optional<IssueResult> answer(String label, Csr csr, Optional<X509Certificate> presented) throws EstException;

  /** For a CA that stores nothing. */
  static StoredAnswers none() {
    return (label, csr, presented) -> Optional.empty();
  }
}
