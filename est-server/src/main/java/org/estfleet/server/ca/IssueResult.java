package org.estfleet.server.ca;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Objects;

/** What became of an {@link IssueRequest}: a certificate now, or a promise to retry later. */
public sealed interface IssueResult {
  /**
   * Issued and recorded: answer 200 with the certificate.
   *
   * @param earlier whether it was issued before, for an earlier send of the same request (a
   *     client that lost the answer, a gateway forwarding again): nothing was issued now
   */
  record Issued(X509Certificate certificate, boolean earlier) implements IssueResult {
    public Issued {
      Objects.requireNonNull(certificate, "certificate");
    }

    /** Issued now. */
    public Issued(X509Certificate certificate) {
      this(certificate, false);
    }

    /** Issued before, for an earlier send of the same request. */
    public static Issued earlier(X509Certificate certificate) {
      return new Issued(certificate, true);
    }
  }

  /**
   * Accepted but not issued yet: answer 202 with {@code Retry-After}; the client sends the same
   * CSR again after that time (RFC 7030 section 4.2.3).
   */
  record Pending(Duration retryAfter) implements IssueResult {
    public Pending {
      Objects.requireNonNull(retryAfter, "retryAfter");
    }
  }
}
