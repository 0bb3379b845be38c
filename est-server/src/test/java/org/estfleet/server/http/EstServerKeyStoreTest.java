package org.estfleet.server.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.security.KeyPair;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.estfleet.pki.CertificateBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.Pem;
import org.estfleet.pki.TestPki;
import org.junit.jupiter.api.Test;

/** The key store the server's TLS context is made from, on Bouncy Castle's TLS provider. */
class EstServerKeyStoreTest {
  @Test
  void bouncyCastle_holdsItsOwnKeyObjectAndTheChainAsGiven() throws Exception {
    TestPki.Ca root = TestPki.rootCa("Root");
    TestPki.Held server = root.subCa("Issuing").issue("localhost", b -> {});
    EstServer.Tls tls = new EstServer.Tls(asRead(server), server.chain(), List.of());

    KeyStore store = EstServer.keyStore(tls, true);
    String alias = store.aliases().nextElement();

    assertInstanceOf(org.bouncycastle.jce.interfaces.ECPrivateKey.class, store.getKey(alias, EstServer.IN_MEMORY_PASSWORD));
    assertArrayEquals(server.chain().toArray(), store.getCertificateChain(alias));
  }

  @Test
  void bouncyCastle_keepsAChainInWhichTwoCertificatesShareAKey() throws Exception {
    // The root's key certified a second time under another name, which issues the server's
    // certificate: Bouncy Castle's key store rebuilds chains by key and loses one of the two.
    TestPki.Ca root = TestPki.rootCa("Root");
    TestPki.Held sameKey = root.issue("Issuing", root.held().keys(), b -> b.ca(0));
    KeyPair serverKeys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    Instant now = Instant.now();
    X509Certificate server = new CertificateBuilder().subject(new X500Name("CN=localhost"))
        .publicKey(serverKeys.getPublic()).serial(CertificateBuilder.randomSerial(TestPki.RANDOM))
        .validity(now, now.plus(Duration.ofDays(1))).signWith(sameKey.certificate(), root.held().privateKey());
    List<X509Certificate> chain = List.of(server, sameKey.certificate(), root.certificate());
    EstServer.Tls tls = new EstServer.Tls(
        Pem.readPrivateKey(Pem.encodePrivateKey(serverKeys.getPrivate()), "server key"), chain, List.of());

    KeyStore store = EstServer.keyStore(tls, true);

    assertArrayEquals(chain.toArray(), store.getCertificateChain(store.aliases().nextElement()));
  }

  private static java.security.PrivateKey asRead(TestPki.Held held) {
    return Pem.readPrivateKey(Pem.encodePrivateKey(held.privateKey()), "server key");
  }
}
