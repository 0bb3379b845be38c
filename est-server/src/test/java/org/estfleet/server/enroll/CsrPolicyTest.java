package org.estfleet.server.enroll;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.estfleet.est.EstException;
import org.estfleet.pki.BouncyCastle;
import org.estfleet.pki.Csr;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.TestPki;
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
      Csr csr = Csr.fromDer(new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=a"), rsa.getPublic())
          .build(new JcaContentSignerBuilder(algorithm).setProvider(BouncyCastle.PROVIDER).build(rsa.getPrivate()))
          .getEncoded());

      EstException e = assertThrows(EstException.class, () -> policy.check(csr));

      assertEquals(400, e.status(), algorithm);
    }
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
}
