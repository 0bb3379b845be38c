package org.estfleet.server.enroll;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.List;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.DERSet;
import org.bouncycastle.asn1.DERTaggedObject;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.DERUniversalString;
import org.bouncycastle.asn1.pkcs.CertificationRequest;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.oiw.OIWObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.RSASSAPSSparams;
import org.bouncycastle.asn1.x500.AttributeTypeAndValue;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.estfleet.est.EstException;
import org.estfleet.pki.BouncyCastle;
import org.estfleet.pki.Csr;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.TestPki;
import org.estfleet.server.ca.CertificateProfile;
import org.estfleet.server.config.ProfileConfig.SanType;
import org.junit.jupiter.api.Test;

class CsrPolicyTest {
  private final CsrPolicy policy = new CsrPolicy(List.of(SanType.DNS, SanType.URI));
  private final KeyPair ec = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);

  @Test
  void check_acceptsEcP256RsaAndEd25519() throws Exception {
    KeyPair ed25519 = KeyPairGenerator.getInstance("Ed25519", BouncyCastle.PROVIDER).generateKeyPair();

    policy.check(new CsrBuilder().commonName("a").sign(ec));
    policy.check(new CsrBuilder().commonName("a").sign(KeyAlgorithm.EC_P384.generate(TestPki.RANDOM)));
    policy.check(new CsrBuilder().commonName("a").sign(KeyAlgorithm.RSA_2048.generate(TestPki.RANDOM)));
    policy.check(new CsrBuilder().commonName("a").sign(ed25519));
  }

  @Test
  void check_refusesSanTypeOutsideTheProfileWith403() {
    Csr csr = new CsrBuilder().commonName("a").subjectAltName(new GeneralName(GeneralName.iPAddress, "10.1.2.3")).sign(ec);

    EstException e = assertThrows(EstException.class, () -> policy.check(csr));

    assertEquals(403, e.status());
    assertEquals("subjectAltName ip:10.1.2.3 is not allowed by this profile (allowed types: [DNS, URI])", e.getMessage());
  }

  @Test
  void check_allowsListedSanTypes() throws Exception {
    policy.check(new CsrBuilder().commonName("a")
        .subjectAltName(new GeneralName(GeneralName.dNSName, "a.example"))
        .subjectAltName(new GeneralName(GeneralName.uniformResourceIdentifier, "urn:dev:a")).sign(ec));
  }

  @Test
  void check_refusesMd5AndSha1SignaturesWith400() throws Exception {
    KeyPair rsa = KeyAlgorithm.RSA_2048.generate(TestPki.RANDOM);
    for (String algorithm : List.of("MD5withRSA", "SHA1withRSA")) {
      Csr csr = signedWith(algorithm, rsa);

      EstException e = assertThrows(EstException.class, () -> policy.check(csr));

      assertEquals(400, e.status(), algorithm);
    }
  }

  @Test
  void check_acceptsSha2AndSha3Signatures_ofEveryStrength() throws Exception {
    KeyPair rsa = KeyAlgorithm.RSA_2048.generate(TestPki.RANDOM);
    KeyPair p384 = KeyAlgorithm.EC_P384.generate(TestPki.RANDOM);
    for (String algorithm : List.of("SHA256withECDSA", "SHA384withECDSA", "SHA512withECDSA", "SHA3-256withECDSA",
        "SHA3-384withECDSA", "SHA3-512withECDSA", "SHA256withRSA", "SHA512withRSA", "SHA3-256withRSA",
        "SHA3-384withRSA", "SHA3-512withRSA")) {
      KeyPair keys = algorithm.endsWith("RSA") ? rsa : p384;
      Csr csr = signedWith(algorithm, keys);

      assertDoesNotThrow(() -> policy.check(csr), algorithm);
    }
  }

  @Test
  void check_rsassaPss_refusedWithSha1_itsDefault_acceptedWithSha256() throws Exception {
    KeyPair rsa = KeyAlgorithm.RSA_2048.generate(TestPki.RANDOM);
    for (String algorithm : List.of("SHA1withRSAandMGF1", "SHA256withRSAandMGF1")) {
      Csr csr = signedWith(algorithm, rsa);
      assertEquals(PKCSObjectIdentifiers.id_RSASSA_PSS, csr.signatureAlgorithm(), algorithm);

      if (algorithm.startsWith("SHA1")) {
        EstException refused = assertThrows(EstException.class, () -> policy.check(csr));
        assertEquals(400, refused.status());
        assertTrue(refused.getMessage().startsWith("CSR signature RSASSA-PSS with hash 1.3.14.3.2.26"),
            refused.getMessage());
      } else {
        assertDoesNotThrow(() -> policy.check(csr));
      }
    }
  }

  @Test
  void check_rsassaPss_withASha1Mask_orMalformedParameters_is400() throws Exception {
    KeyPair rsa = KeyAlgorithm.RSA_2048.generate(TestPki.RANDOM);
    // Judged before the signature is verified: a request relabelled with other parameters will do.
    CertificationRequest good = CertificationRequest.getInstance(signedWith("SHA256withRSAandMGF1", rsa).der());
    Csr sha1Mask = Csr.fromDer(new CertificationRequest(good.getCertificationRequestInfo(),
        new AlgorithmIdentifier(PKCSObjectIdentifiers.id_RSASSA_PSS, new RSASSAPSSparams(
            new AlgorithmIdentifier(NISTObjectIdentifiers.id_sha256, DERNull.INSTANCE),
            new AlgorithmIdentifier(PKCSObjectIdentifiers.id_mgf1,
                new AlgorithmIdentifier(OIWObjectIdentifiers.idSHA1, DERNull.INSTANCE)),
            new ASN1Integer(32), new ASN1Integer(1))), good.getSignature()).getEncoded());
    List<AlgorithmIdentifier> malformed = List.of(
        // MGF1 without its hash
        new AlgorithmIdentifier(PKCSObjectIdentifiers.id_RSASSA_PSS, new DERSequence(new ASN1Encodable[] {
            new DERTaggedObject(true, 1, new AlgorithmIdentifier(PKCSObjectIdentifiers.id_mgf1))})),
        // an element that is not tagged
        new AlgorithmIdentifier(PKCSObjectIdentifiers.id_RSASSA_PSS, new DERSequence(DERNull.INSTANCE)),
        // a tag holding the wrong type
        new AlgorithmIdentifier(PKCSObjectIdentifiers.id_RSASSA_PSS, new DERSequence(
            new DERTaggedObject(true, 0, new ASN1Integer(1)))));

    EstException refused = assertThrows(EstException.class, () -> policy.check(sha1Mask));
    assertEquals(400, refused.status());
    assertTrue(refused.getMessage().contains("and mask generation MGF1 with 1.3.14.3.2.26"), refused.getMessage());
    for (AlgorithmIdentifier algorithm : malformed) {
      Csr csr = Csr.fromDer(new CertificationRequest(good.getCertificationRequestInfo(), algorithm,
          good.getSignature()).getEncoded());

      EstException e = assertThrows(EstException.class, () -> policy.check(csr), algorithm.toString());

      // 400 either way (once Bouncy Castle threw what the server answered with a 500).
      assertEquals(400, e.status(), e.getMessage());
    }
  }

  @Test
  void checkNewNames_refusesEmptyMultiValuedAndNonStringRdns_with400() {
    RDN cn = new RDN(BCStyle.CN, new DERUTF8String("a"));
    List<X500Name> subjects = List.of(new X500Name(new RDN[] {RDN.getInstance(new DERSet()), cn}),
        new X500Name(new RDN[] {new RDN(new AttributeTypeAndValue[] {
            new AttributeTypeAndValue(BCStyle.O, new DERUTF8String("Acme")),
            new AttributeTypeAndValue(BCStyle.OU, new DERUTF8String("Eng"))}), cn}),
        new X500Name(new RDN[] {new RDN(BCStyle.SERIALNUMBER, new ASN1Integer(7)), cn}),
        new X500Name(new RDN[] {new RDN(BCStyle.O, new DERUniversalString(new byte[] {0, 0, 0, 0x41})), cn}));
    List<String> reasons = List.of("CSR subject has an empty RDN (a SET without attribute)",
        "CSR subject has a multi-valued RDN (OU=Eng+O=Acme); put each attribute in an RDN of its own",
        "CSR subject attribute SERIALNUMBER is not a text string; use a UTF8String (or a PrintableString)",
        "CSR subject attribute O is not a text string; use a UTF8String (or a PrintableString)");
    for (int i = 0; i < subjects.size(); i++) {
      Csr csr = new CsrBuilder().subject(subjects.get(i)).sign(ec);

      EstException refused = assertThrows(EstException.class, () -> policy.checkNewNames(csr));

      assertEquals(400, refused.status());
      assertEquals(reasons.get(i), refused.getMessage());
    }
  }

  @Test
  void keyUsage_ofTheProfile_asEachKeyTypeMayCarryIt() throws Exception {
    int all = KeyUsage.digitalSignature | KeyUsage.keyEncipherment | KeyUsage.keyAgreement | KeyUsage.nonRepudiation;
    KeyPair rsa = KeyAlgorithm.RSA_2048.generate(TestPki.RANDOM);
    KeyPair pss = KeyPairGenerator.getInstance("RSASSA-PSS", BouncyCastle.PROVIDER).generateKeyPair();
    KeyPair ed25519 = KeyPairGenerator.getInstance("Ed25519", BouncyCastle.PROVIDER).generateKeyPair();

    assertEquals(KeyUsage.digitalSignature | KeyUsage.keyEncipherment | KeyUsage.nonRepudiation,
        CertificateProfile.usableBy(all, algorithmOf(rsa)));
    assertEquals(KeyUsage.digitalSignature | KeyUsage.nonRepudiation, CertificateProfile.usableBy(all, algorithmOf(pss)));
    assertEquals(KeyUsage.digitalSignature | KeyUsage.keyAgreement | KeyUsage.nonRepudiation,
        CertificateProfile.usableBy(all, algorithmOf(ec)));
    assertEquals(KeyUsage.digitalSignature | KeyUsage.nonRepudiation,
        CertificateProfile.usableBy(all, algorithmOf(ed25519)));
  }

  /** A CSR for CN=a signed with {@code algorithm}, by name (Bouncy Castle's provider). */
  private static Csr signedWith(String algorithm, KeyPair keys) throws Exception {
    return Csr.fromDer(new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=a"), keys.getPublic())
        .build(new JcaContentSignerBuilder(algorithm).setProvider(BouncyCastle.PROVIDER).build(keys.getPrivate()))
        .getEncoded());
  }

  private static AlgorithmIdentifier algorithmOf(KeyPair keys) {
    return SubjectPublicKeyInfo.getInstance(keys.getPublic().getEncoded()).getAlgorithm();
  }

  @Test
  void check_refusesTwoCommonNames() {
    Csr csr = new CsrBuilder().subject(new X500Name("CN=a,CN=b")).sign(ec);

    assertEquals(400, assertThrows(EstException.class, () -> policy.check(csr)).status());
  }

  @Test
  void check_refusesBadSignatureBeforeLookingAtNames() {
    byte[] der = new CsrBuilder().commonName("a").subjectAltName(new GeneralName(GeneralName.iPAddress, "10.1.2.3")).sign(ec).der();
    der[der.length - 2] ^= 0x10;

    EstException e = assertThrows(EstException.class, () -> policy.check(Csr.fromDer(der)));

    assertEquals(400, e.status());
    assertEquals("CSR signature does not verify with its public key (proof-of-possession failed)", e.getMessage());
  }

  /** A CSR for CN=a requesting these extensions. */
  private Csr requesting(Extension... extensions) throws Exception {
    JcaPKCS10CertificationRequestBuilder builder = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=a"),
        ec.getPublic());
    builder.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest,
        new Extensions(extensions));
    return Csr.fromDer(builder.build(new JcaContentSignerBuilder("SHA256withECDSA").setProvider(BouncyCastle.PROVIDER)
        .build(ec.getPrivate())).getEncoded());
  }

  private final CsrPolicy profilePolicy = new CsrPolicy(List.of(SanType.DNS), KeyUsage.digitalSignature,
      List.of(KeyPurposeId.id_kp_clientAuth));

  @Test
  void extensionRequests_withinTheProfileAccepted_beyondItRefusedWith403() throws Exception {
    Extension signing = new Extension(
        Extension.keyUsage, true,
        new KeyUsage(KeyUsage.digitalSignature).getEncoded());
    Extension certSign = new Extension(
        Extension.keyUsage, true, new KeyUsage(
            KeyUsage.digitalSignature | KeyUsage.keyCertSign)
            .getEncoded());
    Extension serverAuth = new Extension(
        Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
            KeyPurposeId.id_kp_serverAuth).getEncoded());
    Extension criticalUnknown = new Extension(
        new ASN1ObjectIdentifier("1.3.6.1.4.1.99999.1"), true,
        new DEROctetString(new byte[] {5, 0}).getEncoded());
    Extension nonCriticalUnknown = new Extension(
        new ASN1ObjectIdentifier("1.3.6.1.4.1.99999.1"), false,
        new DEROctetString(new byte[] {5, 0}).getEncoded());

    profilePolicy.check(requesting(signing, nonCriticalUnknown));
    EstException ku = assertThrows(EstException.class, () -> profilePolicy.check(requesting(certSign)));
    EstException eku = assertThrows(EstException.class, () -> profilePolicy.check(requesting(serverAuth)));
    EstException unknown = assertThrows(EstException.class, () -> profilePolicy.check(requesting(criticalUnknown)));
    policy.check(requesting(certSign, serverAuth)); // a policy without a profile leaves usages to the CA

    assertEquals(403, ku.status());
    assertEquals("CSR requests key usage keyCertSign, which this profile does not issue (it issues: digitalSignature)",
        ku.getMessage());
    assertEquals(403, eku.status());
    assertEquals("CSR requests extended key usage 1.3.6.1.5.5.7.3.1, which this profile does not issue "
        + "(it issues: [1.3.6.1.5.5.7.3.2])", eku.getMessage());
    assertEquals(403, unknown.status());
    assertEquals("CSR requests extension 1.3.6.1.4.1.99999.1 as critical; this profile does not issue it "
        + "(request it non-critical, or not at all)", unknown.getMessage());
  }
}
