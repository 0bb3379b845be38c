package org.estfleet.est.client;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;

/** How a {@code /cacerts} request ended. */
public sealed interface CaCertsOutcome {
  /** The certificates, from a server the TLS client authenticated. */
  record Fetched(List<X509Certificate> certificates) implements CaCertsOutcome {
    public Fetched {
      certificates = List.copyOf(certificates);
    }
  }

  record Failed(Failure failure) implements CaCertsOutcome {
    public Failed {
      Objects.requireNonNull(failure, "failure");
    }
  }
}
