package org.estfleet.est.client;

import java.util.Objects;
import java.util.Optional;

/** How a {@code /csrattrs} request ended. */
public sealed interface CsrAttrsOutcome {
  /**
   * The server's answer.
   *
   * @param der the DER body of a 200 answer; empty for 204 (the server asks for nothing)
   */
  record Fetched(Optional<byte[]> der) implements CsrAttrsOutcome {
    public Fetched {
      der = der.map(byte[]::clone);
    }

    @Override
    public Optional<byte[]> der() {
      return der.map(byte[]::clone);
    }
  }

  record Failed(Failure failure) implements CsrAttrsOutcome {
    public Failed {
      Objects.requireNonNull(failure, "failure");
    }
  }
}
