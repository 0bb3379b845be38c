package org.estfleet.server.auth;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import org.estfleet.tls.ChannelBinding;

/**
 * What a request presented, before anything is checked: the TLS client certificate chain (leaf
 * first; empty if none), HTTP Basic credentials (null if none), what a gateway adds to a
 * request it forwards (null if none), and the channel binding of the TLS connection it came on
 * (null if the TLS provider exposes none).
 */
public record Credentials(List<X509Certificate> clientChain, BasicCredentials basic, Forwarding forwarding,
    ChannelBinding channelBinding) {
  public Credentials {
    clientChain = clientChain == null ? List.of() : List.copyOf(clientChain);
  }

  public Credentials(List<X509Certificate> clientChain, BasicCredentials basic) {
    this(clientChain, basic, null, null);
  }

  /** No certificate, no password. */
  public static Credentials none() {
    return new Credentials(List.of(), null);
  }

  public Optional<Forwarding> forwarded() {
    return Optional.ofNullable(forwarding);
  }

  public Optional<ChannelBinding> binding() {
    return Optional.ofNullable(channelBinding);
  }

  public Optional<BasicCredentials> basicCredentials() {
    return Optional.ofNullable(basic);
  }

  public Optional<X509Certificate> clientCertificate() {
    return clientChain.isEmpty() ? Optional.empty() : Optional.of(clientChain.get(0));
  }
}
