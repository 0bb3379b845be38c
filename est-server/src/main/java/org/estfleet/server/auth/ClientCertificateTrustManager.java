package org.estfleet.server.auth;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The server's TLS trust manager: it asks for a client certificate (advertising this CA and the
 * manufacturer CAs as acceptable issuers) and lets the handshake complete with whatever chain the
 * client sends. The handshake has already proved that the client holds the certificate's private
 * key; {@link Authenticator} then validates the chain per operation, which gives clients an HTTP
 * status and a reason instead of a failed handshake, and allows the re-enrollment grace period.
 */
public final class ClientCertificateTrustManager extends X509ExtendedTrustManager {
  private final X509Certificate[] acceptedIssuers;

  public ClientCertificateTrustManager(List<X509Certificate> acceptedIssuers) {
    this.acceptedIssuers = acceptedIssuers.toArray(X509Certificate[]::new);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    if (chain == null || chain.length == 0) {
      throw new CertificateException("empty client certificate chain");
    }
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
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    throw new CertificateException("this trust manager judges TLS clients only");
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    checkServerTrusted(chain, authType);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    checkServerTrusted(chain, authType);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return acceptedIssuers.clone();
  }
}
