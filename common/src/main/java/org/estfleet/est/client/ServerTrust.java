package org.estfleet.est.client;

import java.io.IOException;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.X509ExtendedTrustManager;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.est.jcajce.JsseDefaultHostnameAuthorizer;
import org.estfleet.pki.CertificatePath;
import org.estfleet.pki.Certificates;

/**
 * Server authentication against the explicit anchors only, at the client's clock. As an
 * {@link X509ExtendedTrustManager} it is trusted by the JDK to check the server's name too: when
 * asked to ({@code verifyHost}, the JDK's HTTP client) it checks the peer host of the engine or
 * socket against the certificate; Bouncy Castle's EST client checks the name itself once the
 * handshake is done.
 */
final class ServerTrust extends X509ExtendedTrustManager {
  private final List<X509Certificate> anchors;
  private final Clock clock;
  private final boolean verifyHost;
  private final AtomicReference<Instant> validUntil = new AtomicReference<>(Instant.MAX);

  ServerTrust(List<X509Certificate> anchors, Clock clock, boolean verifyHost) {
    this.anchors = List.copyOf(anchors);
    this.clock = clock;
    this.verifyHost = verifyHost;
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    if (chain == null || chain.length == 0) {
      throw new CertificateException("the server sent no certificate");
    }
    try {
      CertificatePath.validate(chain[0], List.of(chain).subList(1, chain.length), anchors, clock.instant());
    } catch (GeneralSecurityException e) {
      throw new CertificateException("server " + e.getMessage(), e);
    }
    List<String> usages = chain[0].getExtendedKeyUsage();
    if (usages != null && !usages.contains(KeyPurposeId.id_kp_serverAuth.getId())) {
      throw new CertificateException("server certificate " + Certificates.describe(chain[0])
          + " is not for TLS servers (no extended key usage serverAuth)");
    }
    checkKeyUsage(chain[0], authType);
    for (X509Certificate certificate : chain) {
      Instant notAfter = certificate.getNotAfter().toInstant();
      validUntil.accumulateAndGet(notAfter, (a, b) -> a.isBefore(b) ? a : b);
    }
  }

  /**
   * The server's key must be certified for what the handshake does with it (RFC 5280 section
   * 4.2.1.3, as the JDK's own trust manager checks it): sign, in TLS 1.3 (RFC 8446 section
   * 4.4.2.2: digitalSignature) and in TLS 1.2's ephemeral key exchanges; decrypt the client's
   * secret in TLS 1.2's RSA key exchange (keyEncipherment); agree on it in the static
   * Diffie-Hellman ones (keyAgreement). Without a key usage extension the key may do anything.
   */
  private static void checkKeyUsage(X509Certificate certificate, String authType) throws CertificateException {
    String type = authType == null ? "" : authType;
    int bit;
    String name;
    String use;
    if (type.equals("RSA") || type.equals("KE:RSA")) { // SunJSSE's name, BCJSSE's
      bit = 2;
      name = "keyEncipherment";
      use = "decrypt the RSA key exchange";
    } else if (type.startsWith("ECDH_") || type.startsWith("DH_")) {
      bit = 4;
      name = "keyAgreement";
      use = "agree on keys";
    } else {
      bit = 0;
      name = "digitalSignature";
      use = "sign its handshake";
    }
    if (!Certificates.allowsKeyUsage(certificate, bit)) {
      throw new CertificateException("server certificate " + Certificates.describe(certificate)
          + " may not " + use + " (its key usage lacks " + name + ")");
    }
  }

  /**
   * The earliest expiry among the server chains this trust manager accepted: connections and
   * sessions it authenticated must not be used beyond it.
   */
  Instant validUntil() {
    return validUntil.get();
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    checkServerTrusted(chain, authType);
    if (verifyHost) {
      SSLSession session = socket instanceof SSLSocket ssl ? ssl.getHandshakeSession() : null;
      checkHost(chain[0], session == null ? null : session.getPeerHost());
    }
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    checkServerTrusted(chain, authType);
    if (verifyHost) {
      checkHost(chain[0], engine == null ? null : engine.getPeerHost());
    }
  }

  /** RFC 6125 name matching, as Bouncy Castle's EST client does it (its default authorizer). */
  private static void checkHost(X509Certificate certificate, String host) throws CertificateException {
    if (host == null || host.isEmpty()) {
      throw new CertificateException("no host name to check the server certificate against");
    }
    boolean named;
    try {
      named = new JsseDefaultHostnameAuthorizer(null).verify(host, certificate);
    } catch (IOException e) {
      throw new CertificateException("the server certificate's names cannot be read: " + e.getMessage(), e);
    }
    if (!named) {
      throw new CertificateException("the server certificate does not name the host: " + host + " is not in "
          + Certificates.describe(certificate));
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    throw new CertificateException("this is a TLS client only");
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    checkClientTrusted(chain, authType);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    checkClientTrusted(chain, authType);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return anchors.toArray(X509Certificate[]::new);
  }
}
