package org.estfleet.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.bouncycastle.asn1.x500.X500Name;
import org.estfleet.pki.BouncyCastle;
import org.estfleet.pki.CertificateBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.junit.jupiter.api.Test;

/** The curve of a certificate's key as a TLS group: what TLS 1.2 needs among the groups in force. */
class KeyExchangeGroupsTest {
  private final SecureRandom random = new SecureRandom();

  @Test
  void curveOf_namesTheTlsGroupOfAnEcKey_andNothingForOtherKeys() throws Exception {
    assertEquals(Optional.of("secp256r1"), KeyExchangeGroups.curveOf(selfSigned(KeyAlgorithm.EC_P256.generate(random))));
    assertEquals(Optional.of("secp384r1"), KeyExchangeGroups.curveOf(selfSigned(KeyAlgorithm.EC_P384.generate(random))));
    assertEquals(Optional.of("brainpoolP256r1"), KeyExchangeGroups.curveOf(selfSigned(ec("brainpoolP256r1"))));
    assertEquals(Optional.empty(), KeyExchangeGroups.curveOf(selfSigned(KeyAlgorithm.RSA_2048.generate(random))));
    assertEquals(Optional.of("secp256k1"), KeyExchangeGroups.curveOf(selfSigned(ec("secp256k1"))));
    // A curve TLS has no group for.
    assertEquals(Optional.empty(), KeyExchangeGroups.curveOf(selfSigned(ec("prime192v2"))));
  }

  @Test
  void leftOut_namesWhatBouncyCastleCannotUse_withoutItsOwnWarnings() throws Exception {
    java.util.List<java.util.logging.LogRecord> published = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.logging.Handler recorder = new java.util.logging.Handler() {
      @Override
      public void publish(java.util.logging.LogRecord record) {
        published.add(record);
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    java.util.logging.Logger bouncyCastle = java.util.logging.Logger.getLogger("org.bouncycastle.jsse");
    bouncyCastle.addHandler(recorder);
    try {
      javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLS", BouncyCastle.JSSE);
      context.init(null, null, random);

      // GOST groups have IANA names, but BCJSSE does not negotiate them (alone: it says SEVERE).
      assertEquals(java.util.List.of("GC256A"),
          KeyExchangeGroups.leftOut(context, new String[] {"GC256A", "secp256r1"}, "TLSv1.3", "TLSv1.2"));
      assertEquals(java.util.List.of("GC256A"), KeyExchangeGroups.leftOut(context, new String[] {"GC256A"}, "TLSv1.3"));
    } finally {
      bouncyCastle.removeHandler(recorder);
    }
    assertEquals(java.util.List.of(), published.stream().map(java.util.logging.LogRecord::getMessage).toList(),
        "the caller says what is left out, once");
  }

  private KeyPair ec(String curve) throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC", BouncyCastle.PROVIDER);
    generator.initialize(new ECGenParameterSpec(curve), random);
    return generator.generateKeyPair();
  }

  private X509Certificate selfSigned(KeyPair keys) throws Exception {
    Instant now = Instant.now();
    return new CertificateBuilder().subject(new X500Name("CN=server")).publicKey(keys.getPublic())
        .serial(CertificateBuilder.randomSerial(random)).validity(now, now.plus(Duration.ofDays(1)))
        .selfSign(keys.getPrivate());
  }
}
