package org.estfleet.pki;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.Signature;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERPrintableString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.DERSet;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.oiw.OIWObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.RSASSAPSSparams;
import org.bouncycastle.asn1.x500.AttributeTypeAndValue;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequestBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.Test;

class CsrTest {
  private final KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);

  @Test
  void buildAndParse_roundTripsSubjectSanAndChallengePassword() {
    Csr built = new CsrBuilder()
        .commonName("device-7")
        .subjectAltName(new GeneralName(GeneralName.dNSName, "device-7.example"))
        .challengePassword("binding")
        .sign(keys);

    Csr parsed = Csr.fromDer(built.der());

    assertEquals(Optional.of("device-7"), parsed.commonName());
    assertEquals(List.of(new GeneralName(GeneralName.dNSName, "device-7.example")), parsed.subjectAltNames());
    assertEquals(Optional.of("binding"), parsed.challengePassword());
    assertArrayEquals(keys.getPublic().getEncoded(), parsed.publicKey().getEncoded());
    assertTrue(parsed.isSignatureValid());
    assertEquals("SHA256WITHECDSA", parsed.signatureAlgorithmName());
  }

  @Test
  void commonName_isTakenAsItIs_evenBeginningWithHashOrBackslash() {
    for (String name : List.of("#42", "\\43", "PID:EF-200 SN:7781", "a,b+c=d")) {
      assertEquals(Optional.of(name), Csr.fromDer(new CsrBuilder().commonName(name).sign(keys).der()).commonName());
    }
  }

  @Test
  void isSignatureValid_falseWhenOneByteOfTheSignatureChanges() {
    byte[] der = new CsrBuilder().commonName("device-7").sign(keys).der();
    der[der.length - 5] ^= 0x01;

    assertFalse(Csr.fromDer(der).isSignatureValid());
  }

  @Test
  void isSignatureValid_falseWhenSignedByAnotherKeyThanItsOwn() throws Exception {
    KeyPair other = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    byte[] der = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=device-7"), keys.getPublic())
        .build(new JcaContentSignerBuilder("SHA256withECDSA").setProvider(BouncyCastle.PROVIDER)
            .build(other.getPrivate()))
        .getEncoded();

    assertFalse(Csr.fromDer(der).isSignatureValid());
  }

  @Test
  void isSignatureValid_falseForAnEcdsaSignatureLabelledAsAnotherAlgorithm() throws Exception {
    // ECDSA over SHA-1 labelled RSASSA-PSS with SHA-1, and ECDSA over SHA-256 labelled
    // sha256WithRSAEncryption: made with the key, yet not what they claim to be.
    AlgorithmIdentifier sha1 = new AlgorithmIdentifier(OIWObjectIdentifiers.idSHA1, DERNull.INSTANCE);
    AlgorithmIdentifier pssSha1 = new AlgorithmIdentifier(PKCSObjectIdentifiers.id_RSASSA_PSS,
        new RSASSAPSSparams(sha1, new AlgorithmIdentifier(PKCSObjectIdentifiers.id_mgf1, sha1),
            new ASN1Integer(20), new ASN1Integer(1)));
    AlgorithmIdentifier rsaSha256 = new AlgorithmIdentifier(PKCSObjectIdentifiers.sha256WithRSAEncryption,
        DERNull.INSTANCE);

    assertFalse(Csr.fromDer(mislabelled(pssSha1, "SHA1withECDSA")).isSignatureValid());
    assertFalse(Csr.fromDer(mislabelled(rsaSha256, "SHA256withECDSA")).isSignatureValid());
  }

  private byte[] mislabelled(AlgorithmIdentifier label, String realAlgorithm) throws Exception {
    Signature signature = Signature.getInstance(realAlgorithm, BouncyCastle.PROVIDER);
    signature.initSign(keys.getPrivate());
    ByteArrayOutputStream signed = new ByteArrayOutputStream();
    ContentSigner signer = new ContentSigner() {
      @Override
      public AlgorithmIdentifier getAlgorithmIdentifier() {
        return label;
      }

      @Override
      public OutputStream getOutputStream() {
        return signed;
      }

      @Override
      public byte[] getSignature() {
        try {
          signature.update(signed.toByteArray());
          return signature.sign();
        } catch (GeneralSecurityException e) {
          throw new IllegalStateException(e);
        }
      }
    };
    return new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=device-7"), keys.getPublic()).build(signer)
        .getEncoded();
  }

  @Test
  void isSignatureValid_p384KeyWithSha384() {
    Csr csr = Csr.fromDer(new CsrBuilder().commonName("device-7").sign(KeyAlgorithm.EC_P384.generate(TestPki.RANDOM))
        .der());

    assertTrue(csr.isSignatureValid());
    assertEquals("SHA384WITHECDSA", csr.signatureAlgorithmName());
  }

  @Test
  void fromDer_rejectsGarbageWithClearMessage() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Csr.fromDer(new byte[] {0x30, 0x03, 0x02, 0x01, 0x01}));

    assertEquals("body is not a DER PKCS#10 certification request", e.getMessage());
  }

  @Test
  void fromDer_rejectsCertificateInsteadOfCsr() {
    TestPki.Held held = TestPki.rootCa("Not a CSR").held();

    assertThrows(IllegalArgumentException.class, () -> Csr.fromDer(Certificates.der(held.certificate())));
  }

  @Test
  void fromDer_refusesWhatWouldFailWhenRead_eachWithItsReason_andParsesOddButReadableSubjects() throws Exception {
    // Each signed by its own key: well-formed PKCS#10 around a malformed part.
    assertRefused("CSR subject attribute CN is not a valid UTF8String", withSubject(new X500Name(new RDN[] {
        new RDN(BCStyle.CN, DERUTF8String.getInstance(new byte[] {0x0c, 0x02, (byte) 0xff, (byte) 0xfe}))})));
    assertRefused("CSR requests a malformed subjectAltName extension", withExtensionRequest(
        new DERSequence(new Extension(Extension.subjectAlternativeName, false, new DEROctetString(new byte[] {1, 2, 3})))));
    assertRefused("CSR requests a malformed subjectAltName extension", withExtensionRequest(
        new DERSequence(new Extension(Extension.subjectAlternativeName, false, new ASN1Integer(5).getEncoded()))));
    assertRefused("CSR requests a malformed keyUsage extension", withExtensionRequest(
        new DERSequence(new Extension(Extension.keyUsage, true, new DEROctetString(new byte[] {0x03, 0x02, 0x07})))));
    assertRefused("CSR's extensionRequest is malformed", withExtensionRequest(new DERSet()));
    assertRefused("CSR's extensionRequest is malformed", withExtensionRequest(new DERSequence(new DERSequence(
        Extension.subjectAlternativeName))));
    Extension san = new Extension(Extension.subjectAlternativeName, false,
        new GeneralNames(new GeneralName(GeneralName.dNSName, "a.example")).getEncoded());
    assertRefused("CSR's extensionRequest is malformed", withExtensionRequest(new DERSequence(
        new ASN1Encodable[] {san, san})));
    PKCS10CertificationRequestBuilder twice = new PKCS10CertificationRequestBuilder(new X500Name("CN=device-1"),
        SubjectPublicKeyInfo.getInstance(keys.getPublic().getEncoded()));
    twice.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, new DERSequence(san));
    twice.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, new DERSequence(san));
    assertRefused("CSR has more than one extensionRequest attribute", sign(twice));

    PKCS10CertificationRequestBuilder badPassword = new PKCS10CertificationRequestBuilder(new X500Name("CN=device-1"),
        SubjectPublicKeyInfo.getInstance(keys.getPublic().getEncoded()));
    badPassword.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_challengePassword,
        DERUTF8String.getInstance(new byte[] {0x0c, 0x02, (byte) 0xff, (byte) 0xfe}));
    assertRefused("CSR's challengePassword is not a valid UTF8String", sign(badPassword));

    // What a CA should not put in a new certificate, but a certificate issued with it before must
    // renew with: parsed (the CA's policy refuses it for a first enrollment).
    RDN cn = new RDN(BCStyle.CN, new DERUTF8String("device-1"));
    for (X500Name subject : List.of(new X500Name(new RDN[] {RDN.getInstance(new DERSet()), cn}),
        new X500Name(new RDN[] {new RDN(new AttributeTypeAndValue[] {
            new AttributeTypeAndValue(BCStyle.O, new DERUTF8String("Acme")),
            new AttributeTypeAndValue(BCStyle.OU, new DERUTF8String("Eng"))}), cn}),
        new X500Name(new RDN[] {new RDN(BCStyle.SERIALNUMBER, new ASN1Integer(7)), cn}))) {
      assertEquals(Optional.of("device-1"), Csr.fromDer(withSubject(subject)).commonName(), subject.toString());
    }

    // An empty list of extensions requests nothing, and is no error.
    assertEquals(Optional.empty(), Csr.fromDer(withExtensionRequest(new DERSequence())).requestedExtensions());
  }

  private void assertRefused(String reason, byte[] der) {
    IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> Csr.fromDer(der));
    assertTrue(refused.getMessage().startsWith(reason), refused.getMessage());
  }

  private byte[] withSubject(X500Name subject) throws Exception {
    return sign(new PKCS10CertificationRequestBuilder(subject,
        SubjectPublicKeyInfo.getInstance(keys.getPublic().getEncoded())));
  }

  /** A CSR for device-1 whose extensionRequest holds {@code extensionRequestValue}. */
  private byte[] withExtensionRequest(ASN1Encodable extensionRequestValue) throws Exception {
    PKCS10CertificationRequestBuilder builder = new PKCS10CertificationRequestBuilder(new X500Name("CN=device-1"),
        SubjectPublicKeyInfo.getInstance(keys.getPublic().getEncoded()));
    builder.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensionRequestValue);
    return sign(builder);
  }

  private byte[] sign(PKCS10CertificationRequestBuilder builder) throws Exception {
    return builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())).getEncoded();
  }

  @Test
  void commonName_emptyWhenSubjectHasTwoCns() {
    Csr csr = new CsrBuilder().subject(new X500Name("CN=a,CN=b")).sign(keys);

    assertEquals(Optional.empty(), csr.commonName());
  }

  @Test
  void rsaKeys_signWithSha256() {
    Csr csr = new CsrBuilder().commonName("rsa-device").sign(KeyAlgorithm.RSA_2048.generate(TestPki.RANDOM));

    assertTrue(csr.isSignatureValid());
    assertEquals("SHA256WITHRSA", csr.signatureAlgorithmName());
  }

  @Test
  void sameRequestAs_ignoresOnlyTheChallengePassword() {
    GeneralName san = new GeneralName(GeneralName.dNSName, "device-7.example");
    Csr first = new CsrBuilder().commonName("device-7").subjectAltName(san).challengePassword("AAEC").sign(keys);
    Csr relinked = new CsrBuilder().commonName("device-7").subjectAltName(san).challengePassword("BBED").sign(keys);
    Csr unlinked = new CsrBuilder().commonName("device-7").subjectAltName(san).sign(keys);
    Csr otherName = new CsrBuilder().commonName("device-7")
        .subjectAltName(new GeneralName(GeneralName.dNSName, "other.example")).sign(keys);
    Csr otherKey = new CsrBuilder().commonName("device-7").subjectAltName(san)
        .sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM));

    assertTrue(first.sameRequestAs(relinked));
    assertTrue(first.sameRequestAs(unlinked));
    assertFalse(first.sameRequestAs(otherName));
    assertFalse(first.sameRequestAs(otherKey));
  }

  @Test
  void builderWithoutChallengePassword_signsTheSameRequestWithANewPassword() {
    Csr stored = new CsrBuilder().commonName("device-7")
        .subjectAltName(new GeneralName(GeneralName.dNSName, "device-7.example")).sign(keys);

    Csr linked = Csr.fromDer(assertDoesNotThrow(() -> stored.builderWithoutChallengePassword()
        .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_challengePassword,
            new DERPrintableString("dGxzLXVuaXF1ZQ=="))
        .build(CsrBuilder.signer(keys.getPrivate(), keys.getPublic())).getEncoded()));

    assertTrue(linked.isSignatureValid());
    assertTrue(linked.sameRequestAs(stored));
    assertEquals(Optional.of("dGxzLXVuaXF1ZQ=="), linked.challengePassword());
  }
}
