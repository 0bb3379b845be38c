package org.estfleet.est.client;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;

/** How a request authenticates: not at all, with a one-time token, or with a TLS client certificate. */
public sealed interface ClientAuth {
  /** No credentials (for {@code /cacerts} and {@code /csrattrs}). */
  record None() implements ClientAuth {}

  /** HTTP Basic {@code deviceId:token}, sent when the server challenges (RFC 7030 3.2.3). */
  record Token(String deviceId, String secret) implements ClientAuth {
    public Token {
      Objects.requireNonNull(deviceId, "deviceId");
      Objects.requireNonNull(secret, "secret");
    }

    @Override
    public String toString() {
      return "Token[" + deviceId + ":***]";
    }
  }

  /** A TLS client certificate: the current certificate, or the manufacturer's IDevID. */
  record Certificate(PrivateKey key, List<X509Certificate> chain) implements ClientAuth {
    public Certificate {
      Objects.requireNonNull(key, "key");
      chain = List.copyOf(chain);
    }

    @Override
    public String toString() {
      return "Certificate[" + chain.get(0).getSubjectX500Principal().getName() + "]";
    }
  }

  static ClientAuth none() {
    return new None();
  }
}
