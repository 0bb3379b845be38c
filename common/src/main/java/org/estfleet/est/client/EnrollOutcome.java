package org.estfleet.est.client;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Objects;

/** How a {@code simpleenroll} or {@code simplereenroll} request ended. */
public sealed interface EnrollOutcome {
  /** 200: the issued certificate (not yet checked by the caller). */
  record Issued(X509Certificate certificate) implements EnrollOutcome {
    public Issued {
      Objects.requireNonNull(certificate, "certificate");
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
