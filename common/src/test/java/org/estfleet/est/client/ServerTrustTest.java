package org.estfleet.est.client;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.TestPki;
import org.junit.jupiter.api.Test;

/**
 * The key usage a server certificate needs for the key exchange the handshake makes, by the
 * {@code authType} each JSSE provider passes: SunJSSE {@code RSA}, BCJSSE {@code KE:RSA} for
 * TLS 1.2's RSA key exchange; both {@code UNKNOWN} for TLS 1.3.
 */
class ServerTrustTest {
  private final TestPki.Ca ca = TestPki.rootCa("Server Trust Root");
  private final ServerTrust trust = new ServerTrust(List.of(ca.certificate()), Clock.systemUTC(), false);

  private X509Certificate[] server(KeyAlgorithm algorithm, int keyUsage) {
    return chain(held(algorithm, keyUsage));
  }

  /** A server certificate of a new {@code algorithm} key, with these key usage bits (0: no extension). */
  private TestPki.Held held(KeyAlgorithm algorithm, int keyUsage) {
    return ca.issue("server.example", algorithm.generate(TestPki.RANDOM), b -> {
      if (keyUsage != 0) {
        b.keyUsage(keyUsage);
      }
      b.extendedKeyUsage(KeyPurposeId.id_kp_serverAuth);
    });
  }

  private static X509Certificate[] chain(TestPki.Held held) {
    return held.chain().toArray(X509Certificate[]::new);
  }

  @Test
  void aKeyThatMayOnlyDecrypt_servesTheRsaKeyExchangeAlone() {
    X509Certificate[] chain = server(KeyAlgorithm.RSA_2048, KeyUsage.keyEncipherment);

    assertDoesNotThrow(() -> trust.checkServerTrusted(chain, "RSA"));
    assertDoesNotThrow(() -> trust.checkServerTrusted(chain, "KE:RSA"));
    for (String signing : List.of("UNKNOWN", "ECDHE_RSA", "DHE_RSA")) {
      CertificateException refused = assertThrows(CertificateException.class,
          () -> trust.checkServerTrusted(chain, signing), signing);
      assertTrue(refused.getMessage().endsWith("may not sign its handshake (its key usage lacks digitalSignature)"),
          refused.getMessage());
    }
  }

  @Test
  void inARealRsaKeyExchange_eitherProvidersName_asksForKeyEncipherment() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeFalse(
        String.valueOf(java.security.Security.getProperty("jdk.tls.disabledAlgorithms")).contains("TLS_RSA_"),
        "this runtime disables TLS's RSA key exchange (Java 24 on)");
    for (java.security.Provider client : java.util.Arrays.asList(null, org.estfleet.pki.BouncyCastle.JSSE)) {
      String which = client == null ? "SunJSSE" : "BCJSSE";
      assertDoesNotThrow(() -> rsaKeyExchange(held(KeyAlgorithm.RSA_2048, KeyUsage.keyEncipherment), client), which);
      // Accepted above on either: so BCJSSE's KE:RSA reached ServerTrust as the RSA key exchange.
      // Refused here on either: BCJSSE checks this bit itself first (internal_error).
      java.io.IOException refused = assertThrows(java.io.IOException.class,
          () -> rsaKeyExchange(held(KeyAlgorithm.RSA_2048, KeyUsage.digitalSignature), client), which);
      if (client == null) {
        assertTrue(String.valueOf(refused.getMessage()).contains("may not decrypt the RSA key exchange (its key "
            + "usage lacks keyEncipherment)"), which + ": " + refused);
      }
    }
  }

  /**
   * A TLS 1.2 handshake on 127.0.0.1 with {@code server} that speaks the RSA key
   * exchange alone, the client on {@code provider} (null: the JDK's) trusting with {@link ServerTrust}.
   */
  private void rsaKeyExchange(TestPki.Held server, java.security.Provider provider) throws Exception {
    javax.net.ssl.SSLContext serverContext = javax.net.ssl.SSLContext.getInstance("TLS");
    serverContext.init(TestPki.keyManagers(server.privateKey(), chain(server)).getKeyManagers(), null, TestPki.RANDOM);
    javax.net.ssl.SSLContext clientContext = provider == null ? javax.net.ssl.SSLContext.getInstance("TLS")
        : javax.net.ssl.SSLContext.getInstance("TLS", provider);
    clientContext.init(null, new javax.net.ssl.TrustManager[] {trust}, TestPki.RANDOM);
    try (javax.net.ssl.SSLServerSocket listener = (javax.net.ssl.SSLServerSocket) serverContext.getServerSocketFactory()
        .createServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      listener.setEnabledProtocols(new String[] {"TLSv1.2"});
      listener.setEnabledCipherSuites(new String[] {"TLS_RSA_WITH_AES_128_GCM_SHA256"});
      Thread accepting = new Thread(() -> {
        try (javax.net.ssl.SSLSocket accepted = (javax.net.ssl.SSLSocket) listener.accept()) {
          accepted.setSoTimeout(10_000);
          accepted.startHandshake();
          accepted.getInputStream().read();
        } catch (java.io.IOException e) {
          // the client refused the handshake
        }
      });
      accepting.start();
      try (javax.net.ssl.SSLSocket socket = (javax.net.ssl.SSLSocket) clientContext.getSocketFactory()
          .createSocket("127.0.0.1", listener.getLocalPort())) {
        socket.setSoTimeout(10_000);
        socket.setEnabledProtocols(new String[] {"TLSv1.2"});
        socket.setEnabledCipherSuites(new String[] {"TLS_RSA_WITH_AES_128_GCM_SHA256"}); // not BCJSSE's default
        socket.startHandshake();
        assertTrue(socket.getSession().getCipherSuite().startsWith("TLS_RSA_"), socket.getSession().getCipherSuite());
      } finally {
        accepting.join(10_000);
      }
    }
  }

  @Test
  void aKeyThatMayOnlySign_servesEveryKeyExchangeButRsa() {
    X509Certificate[] chain = server(KeyAlgorithm.RSA_2048, KeyUsage.digitalSignature);

    assertDoesNotThrow(() -> trust.checkServerTrusted(chain, "UNKNOWN"));
    assertDoesNotThrow(() -> trust.checkServerTrusted(chain, "ECDHE_RSA"));
    CertificateException refused = assertThrows(CertificateException.class,
        () -> trust.checkServerTrusted(chain, "KE:RSA"));
    assertTrue(refused.getMessage().endsWith("may not decrypt the RSA key exchange (its key usage lacks "
        + "keyEncipherment)"), refused.getMessage());
  }

  @Test
  void aKeyThatMayOnlyAgree_servesStaticDiffieHellmanAlone_andNoKeyUsageServesAll() {
    X509Certificate[] agreeing = server(KeyAlgorithm.EC_P256, KeyUsage.keyAgreement);
    X509Certificate[] unrestricted = server(KeyAlgorithm.EC_P256, 0);

    assertDoesNotThrow(() -> trust.checkServerTrusted(agreeing, "ECDH_ECDSA"));
    assertThrows(CertificateException.class, () -> trust.checkServerTrusted(agreeing, "ECDHE_ECDSA"));
    for (String authType : List.of("UNKNOWN", "ECDHE_ECDSA", "ECDH_ECDSA", "RSA")) {
      assertDoesNotThrow(() -> trust.checkServerTrusted(unrestricted, authType), authType);
    }
  }
}
