package org.estfleet.server;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.security.auth.x500.X500Principal;

/**
 * The CAs a server names in its TLS 1.2 CertificateRequest: what a client's key manager chooses a
 * certificate by. A handshake on 127.0.0.1 with a key manager that writes down what it is offered
 * and presents nothing (the server asks for a certificate, it does not require one).
 */
public final class AdvertisedIssuers {
  private AdvertisedIssuers() {}

  public static List<X500Principal> of(TestServer server) throws Exception {
    List<X500Principal> seen = new CopyOnWriteArrayList<>();
    SSLContext context = SSLContext.getInstance("TLSv1.2");
    context.init(new KeyManager[] {new Recording(seen)}, new TrustManager[] {new AnyServer()}, null);
    try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", server.port())) {
      socket.setEnabledProtocols(new String[] {"TLSv1.2"});
      socket.startHandshake();
    }
    return List.copyOf(seen);
  }

  private static final class Recording extends X509ExtendedKeyManager {
    private final List<X500Principal> seen;

    Recording(List<X500Principal> seen) {
      this.seen = seen;
    }

    private String record(Principal[] issuers) {
      if (issuers != null && seen.isEmpty()) {
        for (Principal issuer : issuers) {
          seen.add(new X500Principal(issuer.getName()));
        }
      }
      return null;
    }

    @Override
    public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
      return record(issuers);
    }

    @Override
    public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
      return record(issuers);
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      record(issuers);
      return null;
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return null;
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return null;
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return null;
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      return null;
    }
  }

  /** The probe asks what the server names, not who the server is. */
  private static final class AnyServer extends X509ExtendedTrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {}

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
