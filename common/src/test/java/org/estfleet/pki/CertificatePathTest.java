package org.estfleet.pki;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.Signature;
import java.security.SignatureException;
import java.security.SignatureSpi;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.junit.jupiter.api.Test;

class CertificatePathTest {
  private final TestPki.Ca root = TestPki.rootCa("Path Root");
  private final TestPki.Ca issuing = root.subCa("Path Issuing");
  private final TestPki.Held leaf = issuing.issueClient("device-1");

  @Test
  void validate_buildsPathThroughIntermediate() throws Exception {
    List<X509Certificate> path = CertificatePath.validate(
        leaf.certificate(), List.of(issuing.certificate()), List.of(root.certificate()), Instant.now());

    assertEquals(List.of(leaf.certificate(), issuing.certificate(), root.certificate()), path);
  }

  @Test
  void validate_rejectsUnknownRootAndNamesTheLeaf() {
    TestPki.Ca other = TestPki.rootCa("Other Root");

    GeneralSecurityException e = assertThrows(GeneralSecurityException.class, () -> CertificatePath.validate(
        leaf.certificate(), List.of(issuing.certificate()), List.of(other.certificate()), Instant.now()));

    assertTrue(e.getMessage().contains("does not chain to a trusted root"), e.getMessage());
    assertTrue(e.getMessage().contains("CN=device-1"), e.getMessage());
  }

  @Test
  void validate_rejectsExpiredLeafAtLaterInstant() {
    Instant later = leaf.certificate().getNotAfter().toInstant().plus(Duration.ofMinutes(1));

    GeneralSecurityException e = assertThrows(GeneralSecurityException.class, () -> CertificatePath.validate(
        leaf.certificate(), List.of(issuing.certificate()), List.of(root.certificate()), later));

    assertTrue(e.getMessage().contains("has expired"), e.getMessage());
  }

  @Test
  void validate_rejectsLeafSignedByAnotherKeyUnderSameName() {
    TestPki.Ca impostor = root.subCa("Impostor");
    TestPki.Held forged = impostor.issueClient("device-1");

    assertThrows(GeneralSecurityException.class, () -> CertificatePath.validate(
        forged.certificate(), List.of(issuing.certificate()), List.of(root.certificate()), Instant.now()));
  }

  @Test
  void validate_verifiesAnEcdsaLeafWithTheGivenProviderOnce() throws Exception {
    CountingProvider counting = new CountingProvider();

    List<X509Certificate> path = CertificatePath.validate(
        leaf.certificate(), List.of(issuing.certificate()), List.of(root.certificate()), Instant.now(), counting);
    CertificatePath.validate(
        leaf.certificate(), List.of(issuing.certificate()), List.of(root.certificate()), Instant.now(), counting);

    assertEquals(1, counting.verifications.get(), "the second validation remembers the first");
    assertSame(leaf.certificate(), path.get(0), "the path holds the certificate given, not a wrapper");
  }

  @Test
  void ecdsaVerifiedCertificate_rememberedVerificationHoldsForItsKeyOnly() throws Exception {
    CountingProvider counting = new CountingProvider();
    X509Certificate wrapped = EcdsaVerifiedCertificate.of(leaf.certificate(), counting);
    PublicKey other = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM).getPublic();

    wrapped.verify(issuing.certificate().getPublicKey());

    assertThrows(SignatureException.class, () -> wrapped.verify(other));
    assertEquals(2, counting.verifications.get());
  }

  @Test
  void validate_verifiesAP384SignatureWithTheGivenProvider() throws Exception {
    CountingProvider counting = new CountingProvider();
    TestPki.Ca p384 = root.subCa("P-384 Issuing", KeyAlgorithm.EC_P384.generate(TestPki.RANDOM));
    TestPki.Held device = p384.issueClient("device-4");

    CertificatePath.validate(device.certificate(), List.of(p384.certificate()), List.of(root.certificate()),
        Instant.now(), counting);

    assertEquals("SHA384withECDSA", device.certificate().getSigAlgName());
    assertEquals(1, counting.verifications.get());
  }

  @Test
  void validate_rejectsEcdsaLeafWithAlteredSignature() throws Exception {
    CountingProvider counting = new CountingProvider();
    byte[] der = leaf.certificate().getEncoded();
    der[der.length - 1] ^= 1;
    X509Certificate altered = Certificates.fromDer(der);

    assertThrows(GeneralSecurityException.class, () -> CertificatePath.validate(
        altered, List.of(issuing.certificate()), List.of(root.certificate()), Instant.now(), counting));
    assertThrows(GeneralSecurityException.class, () -> CertificatePath.validate(
        altered, List.of(issuing.certificate()), List.of(root.certificate()), Instant.now(), counting));
    assertEquals(2, counting.verifications.get(), "a failed verification is not remembered");
  }

  @Test
  void validate_leavesOtherSignaturesAndCurvesToTheJdk() throws Exception {
    CountingProvider counting = new CountingProvider();
    TestPki.Ca rsaRoot = TestPki.rootCa("RSA Root", KeyAlgorithm.RSA_2048.generate(TestPki.RANDOM));
    TestPki.Held rsaSigned = rsaRoot.issueClient("device-2");
    KeyPairGenerator k1 = KeyPairGenerator.getInstance("EC", BouncyCastle.PROVIDER);
    k1.initialize(new ECGenParameterSpec("secp256k1"), TestPki.RANDOM);
    TestPki.Ca k1Issuing = root.subCa("secp256k1 Issuing", k1.generateKeyPair());
    TestPki.Held k1Signed = k1Issuing.issueClient("device-3");

    assertEquals(List.of(rsaSigned.certificate(), rsaRoot.certificate()), CertificatePath.validate(
        rsaSigned.certificate(), List.of(), List.of(rsaRoot.certificate()), Instant.now(), counting));
    // SunEC verifies no secp256k1 signature on Java 17 or 25, and so neither does this class.
    assertThrows(GeneralSecurityException.class, () -> CertificatePath.validate(
        k1Signed.certificate(), List.of(k1Issuing.certificate()), List.of(root.certificate()), Instant.now(), counting));
    assertEquals(0, counting.verifications.get());
  }

  @Test
  void validate_keepsTheJdkAlgorithmConstraints() throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
    generator.initialize(512);
    TestPki.Held weak = issuing.issue("weak-key", generator.generateKeyPair(), b -> b.keyUsage(KeyUsage.digitalSignature));
    TestPki.Held strong = issuing.issue("strong-key", KeyAlgorithm.RSA_2048.generate(TestPki.RANDOM),
        b -> b.keyUsage(KeyUsage.digitalSignature));

    // jdk.certpath.disabledAlgorithms has "RSA keySize < 1024": only the key size differs.
    assertThrows(GeneralSecurityException.class, () -> CertificatePath.validate(
        weak.certificate(), List.of(issuing.certificate()), List.of(root.certificate()), Instant.now()));
    assertEquals(3, CertificatePath.validate(
        strong.certificate(), List.of(issuing.certificate()), List.of(root.certificate()), Instant.now()).size());
  }

  /** Bouncy Castle's ECDSA, counting the verifications asked of it. */
  private static final class CountingProvider extends Provider {
    final AtomicInteger verifications = new AtomicInteger();

    CountingProvider() {
      super("Counting", "1", "Bouncy Castle's ECDSA verification, counted");
      for (String algorithm : List.of("SHA256withECDSA", "SHA384withECDSA")) {
        putService(new Service(this, "Signature", algorithm, CountingSignature.class.getName(), null, null) {
          @Override
          public Object newInstance(Object parameter) throws NoSuchAlgorithmException {
            return new CountingSignature(Signature.getInstance(algorithm, BouncyCastle.PROVIDER), verifications);
          }
        });
      }
    }
  }

  private static final class CountingSignature extends SignatureSpi {
    private final Signature signature;
    private final AtomicInteger verifications;

    CountingSignature(Signature signature, AtomicInteger verifications) {
      this.signature = signature;
      this.verifications = verifications;
    }

    @Override
    protected void engineInitVerify(PublicKey key) throws InvalidKeyException {
      signature.initVerify(key);
    }

    @Override
    protected void engineUpdate(byte b) throws SignatureException {
      signature.update(b);
    }

    @Override
    protected void engineUpdate(byte[] bytes, int offset, int length) throws SignatureException {
      signature.update(bytes, offset, length);
    }

    @Override
    protected boolean engineVerify(byte[] signatureBytes) throws SignatureException {
      verifications.incrementAndGet();
      return signature.verify(signatureBytes);
    }

    @Override
    protected void engineInitSign(PrivateKey key) {
      throw new UnsupportedOperationException("verification only");
    }

    @Override
    protected byte[] engineSign() {
      throw new UnsupportedOperationException("verification only");
    }

    @Override
    @Deprecated
    protected void engineSetParameter(String param, Object value) {
      throw new UnsupportedOperationException();
    }

    @Override
    @Deprecated
    protected Object engineGetParameter(String param) {
      throw new UnsupportedOperationException();
    }
  }
}
