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
    return ca.issue("server.example", algorithm.generate(TestPki.RANDOM), b -> {
      if (keyUsage != 0) {
        b.keyUsage(keyUsage);
      }
      b.extendedKeyUsage(KeyPurposeId.id_kp_serverAuth);
    }).chain().toArray(X509Certificate[]::new);
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
