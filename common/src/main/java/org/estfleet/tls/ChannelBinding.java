package org.estfleet.tls;

import java.security.MessageDigest;
import java.util.Base64;
import java.util.Optional;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSocket;
import org.bouncycastle.jsse.BCSSLConnection;
import org.bouncycastle.jsse.BCSSLEngine;
import org.bouncycastle.jsse.BCSSLSocket;

/**
 * The TLS channel binding that links a CSR to the connection it travels on (RFC 7030 section
 * 3.5): {@code tls-unique} (RFC 5929), the first Finished message of the connection's handshake.
 * The client puts its base64 in the CSR's challengePassword; the server compares it with the
 * binding of its end of the connection.
 *
 * <p>Only TLS 1.2 connections of Bouncy Castle's TLS provider (BCJSSE) have one here. The JDK's
 * SunJSSE exposes no channel binding. TLS 1.3 does not define {@code tls-unique}; its binding,
 * {@code tls-exporter} (RFC 9266), cannot be read from BCJSSE once the handshake is over (it
 * clears the exporter secret: bcgit/bc-java issue 1535), so a TLS 1.3 connection has none.
 */
public record ChannelBinding(byte[] value) {
  public static final String TLS_UNIQUE = "tls-unique";

  public ChannelBinding {
    value = value.clone();
  }

  /** The binding of an established connection, if it has one. */
  public static Optional<ChannelBinding> of(SSLSocket socket) {
    return socket instanceof BCSSLSocket bc ? of(bc.getConnection()) : Optional.empty();
  }

  /** The binding of an established connection, if it has one. */
  public static Optional<ChannelBinding> of(SSLEngine engine) {
    return engine instanceof BCSSLEngine bc ? of(bc.getConnection()) : Optional.empty();
  }

  private static Optional<ChannelBinding> of(BCSSLConnection connection) {
    if (connection == null || !"TLSv1.2".equals(connection.getSession().getProtocol())) {
      return Optional.empty();
    }
    byte[] value = connection.getChannelBinding(TLS_UNIQUE);
    return value == null ? Optional.empty() : Optional.of(new ChannelBinding(value));
  }

  /** What goes into the CSR's challengePassword: the base64 of the binding. */
  public String challengePassword() {
    return Base64.getEncoder().encodeToString(value);
  }

  /** Whether a challengePassword carries this binding (compared in constant time). */
  public boolean matches(String challengePassword) {
    byte[] decoded;
    try {
      decoded = Base64.getDecoder().decode(challengePassword.trim());
    } catch (IllegalArgumentException e) {
      return false;
    }
    return MessageDigest.isEqual(decoded, value);
  }

  @Override
  public byte[] value() {
    return value.clone();
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof ChannelBinding binding && MessageDigest.isEqual(value, binding.value);
  }

  @Override
  public int hashCode() {
    return value.length;
  }

  @Override
  public String toString() {
    return TLS_UNIQUE + ":" + challengePassword();
  }
}
