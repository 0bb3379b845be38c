package org.estfleet.server.http;

import java.security.cert.Certificate;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.estfleet.pki.Certificates;

/**
 * The client's certificate chain of a TLS session, as the JDK parses it (the PKIX validation
 * that judges it is the JDK's).
 *
 * <p>Jetty parses the chain the TLS provider received once more, and when that fails (a URI
 * subjectAltName the JDK refuses, say) logs a warning with a full stack trace and goes on as if
 * no certificate had been presented: any client could have the log written sixty lines a request,
 * and the refusal would name the wrong cause. {@link #factory} reads the chain without logging;
 * {@link EnrollHandler} refuses a chain it cannot read, saying why.
 */
final class PeerChain {
  private PeerChain() {}

  /**
   * The chain the client presented, leaf first; empty if none.
   *
   * @throws IllegalArgumentException naming the certificate that cannot be parsed, and why
   */
  static List<X509Certificate> of(SSLSession session) {
    Certificate[] presented;
    try {
      presented = session.getPeerCertificates();
    } catch (SSLPeerUnverifiedException none) {
      return List.of();
    }
    List<X509Certificate> chain = new ArrayList<>();
    for (int i = 0; presented != null && i < presented.length; i++) {
      try {
        chain.add(Certificates.fromDer(presented[i].getEncoded()));
      } catch (CertificateEncodingException | IllegalArgumentException e) {
        throw new IllegalArgumentException((i == 0 ? "the client certificate" : "certificate " + (i + 1)
            + " of the client's chain") + " cannot be read (" + e.getMessage() + ")", e);
      }
    }
    return chain;
  }

  /**
   * Jetty's TLS settings, reading client chains with {@link #of} (an unreadable one: none,
   * quietly), each new engine finished by {@code engineSettings} once Jetty's settings are on it.
   */
  static SslContextFactory.Server factory(Consumer<SSLEngine> engineSettings) {
    return new SslContextFactory.Server() {
      @Override
      public void customize(SSLEngine engine) {
        super.customize(engine);
        engineSettings.accept(engine);
      }

      @Override
      public X509Certificate[] getX509CertChain(SSLSession session) {
        try {
          List<X509Certificate> chain = of(session);
          return chain.isEmpty() ? null : chain.toArray(X509Certificate[]::new);
        } catch (IllegalArgumentException unreadable) {
          return null; // EnrollHandler asks again and refuses, with the reason
        }
      }
    };
  }
}
