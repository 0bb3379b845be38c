package org.estfleet.bench.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.Socket;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.estfleet.pki.BouncyCastle;
import org.estfleet.pki.TestClock;
import org.estfleet.pki.TestPki;
import org.junit.jupiter.api.Test;

/**
 * est-load's trust manager: a server chain validated in full once a minute, with real
 * certificates and Bouncy Castle's PKIX trust manager underneath (counted, not replaced).
 */
class RememberedServerChainsTest {
  private final TestPki.Ca root = TestPki.rootCa("est-load root");
  private final TestPki.Ca other = TestPki.rootCa("another root");
  private final TestClock clock = new TestClock(Instant.now());
  private final Counting pkix = new Counting(trustManager(root.certificate()));
  private final RememberedServerChains trust = new RememberedServerChains(pkix, clock);

  @Test
  void aTrustedChain_isValidatedOnceAMinute() throws Exception {
    X509Certificate[] chain = server(root, Duration.ofDays(30));

    trust.checkServerTrusted(chain, "UNKNOWN");
    trust.checkServerTrusted(chain, "UNKNOWN");
    clock.advance(RememberedServerChains.REMEMBERED.minusSeconds(1));
    trust.checkServerTrusted(chain, "UNKNOWN");
    assertEquals(1, pkix.validations);

    clock.advance(Duration.ofSeconds(1));
    trust.checkServerTrusted(chain, "UNKNOWN");
    assertEquals(2, pkix.validations);
  }

  @Test
  void aChainValidatedDuringAHandshake_isRememberedForTheNext_andAClockSetBackValidatesAgain() throws Exception {
    X509Certificate[] chain = server(root, Duration.ofDays(30));
    Socket notConnected = new Socket();

    trust.checkServerTrusted(chain, "UNKNOWN", notConnected);
    trust.checkServerTrusted(chain, "UNKNOWN", notConnected);
    assertEquals(1, pkix.validations);

    clock.advance(Duration.ofSeconds(-1));
    trust.checkServerTrusted(chain, "UNKNOWN", notConnected);
    assertEquals(2, pkix.validations);
  }

  @Test
  void anUntrustedChain_isRefusedEveryTime() {
    X509Certificate[] chain = server(other, Duration.ofDays(30));

    assertThrows(CertificateException.class, () -> trust.checkServerTrusted(chain, "UNKNOWN"));
    assertThrows(CertificateException.class, () -> trust.checkServerTrusted(chain, "UNKNOWN"));
    assertEquals(2, pkix.validations);
  }

  @Test
  void anotherChain_isValidatedInFull() throws Exception {
    trust.checkServerTrusted(server(root, Duration.ofDays(30)), "UNKNOWN");
    X509Certificate[] untrusted = server(other, Duration.ofDays(30));

    assertThrows(CertificateException.class, () -> trust.checkServerTrusted(untrusted, "UNKNOWN"));
    assertEquals(2, pkix.validations);
  }

  @Test
  void aRememberedChainThatExpires_isRefused() throws Exception {
    X509Certificate[] chain = server(root, Duration.ofSeconds(30));
    trust.checkServerTrusted(chain, "UNKNOWN");

    clock.advance(Duration.ofSeconds(31));

    assertThrows(CertificateException.class, () -> trust.checkServerTrusted(chain, "UNKNOWN"));
    assertEquals(1, pkix.validations);
  }

  /** A TLS server chain under {@code ca}, valid from an hour ago until {@code left} from the clock's now. */
  private X509Certificate[] server(TestPki.Ca ca, Duration left) {
    TestPki.Held server = ca.issue("server", b -> b
        .validity(clock.instant().minus(Duration.ofHours(1)), clock.instant().plus(left))
        .keyUsage(KeyUsage.digitalSignature)
        .extendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
    return server.chain().toArray(X509Certificate[]::new);
  }

  private static X509ExtendedTrustManager trustManager(X509Certificate root) {
    try {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      store.setCertificateEntry("root", root);
      TrustManagerFactory factory = TrustManagerFactory.getInstance("PKIX", BouncyCastle.JSSE);
      factory.init(store);
      return (X509ExtendedTrustManager) factory.getTrustManagers()[0];
    } catch (java.io.IOException | java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Bouncy Castle's trust manager, its full validations counted. */
  private static final class Counting extends X509ExtendedTrustManager {
    private final X509ExtendedTrustManager delegate;
    int validations;

    Counting(X509ExtendedTrustManager delegate) {
      this.delegate = delegate;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      validations++;
      delegate.checkServerTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
      validations++;
      delegate.checkServerTrusted(chain, authType, socket);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      validations++;
      delegate.checkServerTrusted(chain, authType, engine);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      delegate.checkClientTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
      delegate.checkClientTrusted(chain, authType, socket);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      delegate.checkClientTrusted(chain, authType, engine);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return delegate.getAcceptedIssuers();
    }
  }
}
