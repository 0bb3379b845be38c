package org.estfleet.server.auth;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;

/**
 * What a request presented, before anything is checked: the TLS client certificate chain (leaf
 * first; empty if none) and HTTP Basic credentials (null if none).
 */
public record Credentials(List<X509Certificate> clientChain, BasicCredentials basic) {
  public Credentials {
    clientChain = clientChain == null ? List.of() : List.copyOf(clientChain);
  }

  /** No certificate, no password. */
  public static Credentials none() {
    return new Credentials(List.of(), null);
  }

  public Optional<BasicCredentials> basicCredentials() {
    return Optional.ofNullable(basic);
  }

  public Optional<X509Certificate> clientCertificate() {
    return clientChain.isEmpty() ? Optional.empty() : Optional.of(clientChain.get(0));
  }
}
