package org.estfleet.est.client;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/** How a {@code simpleenroll} or {@code simplereenroll} request ended. */
public sealed interface EnrollOutcome {
  /**
   * 200: the issued certificate (not yet checked by the caller).
   *
   * @param others the other certificates the answer held, unauthenticated: RFC 7030 section 4.2.3
   *     asks for the issued certificate alone, but some servers add the CA certificates above it,
   *     which a caller may offer as intermediates when it builds a path to its trust anchors
   */
  record Issued(X509Certificate certificate, List<X509Certificate> others) implements EnrollOutcome {
    public Issued {
      Objects.requireNonNull(certificate, "certificate");
      others = List.copyOf(others);
    }

    /** The issued certificate alone. */
    public Issued(X509Certificate certificate) {
      this(certificate, List.of());
    }
  }

  /** 202: accepted; send the same CSR again after {@code retryAfter}. */
  record Pending(Duration retryAfter) implements EnrollOutcome {
    public Pending {
      Objects.requireNonNull(retryAfter, "retryAfter");
    }
  }

  /** Anything else. */
  record Failed(Failure failure) implements EnrollOutcome {
    public Failed {
      Objects.requireNonNull(failure, "failure");
    }
  }
}
