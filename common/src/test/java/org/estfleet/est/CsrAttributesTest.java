package org.estfleet.est;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.junit.jupiter.api.Test;

class CsrAttributesTest {
  @Test
  void encodeDecode_roundTripsOidsAndAttributes() {
    CsrAttributes attributes = new CsrAttributes(List.of(
        CsrAttributes.Item.oid(CsrAttributes.CHALLENGE_PASSWORD),
        CsrAttributes.Item.attribute(X9ObjectIdentifiers.id_ecPublicKey, SECObjectIdentifiers.secp256r1),
        CsrAttributes.Item.oid(X9ObjectIdentifiers.ecdsa_with_SHA256)));

    CsrAttributes decoded = CsrAttributes.decode(attributes.encode());

    assertEquals(attributes, decoded);
  }

  @Test
  void keyNotMetBy_namesTheKeyTheServerAsksFor_whenTheDevicesIsNotOne() {
    // The example response of RFC 7030 section 4.5.2: an EC key on secp384r1.
    CsrAttributes rfcExample = CsrAttributes.decode(java.util.Base64.getDecoder().decode(
        "MEEGCSqGSIb3DQEJBzASBgcqhkjOPQIBMQcGBSuBBAAiMBYGCSqGSIb3DQEJDjEJBgcrBgEBAQEWBggqhkjOPQQDAw=="));
    CsrAttributes rsa3072 = new CsrAttributes(List.of(CsrAttributes.Item.attribute(
        org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers.rsaEncryption, new org.bouncycastle.asn1.ASN1Integer(3072))));
    CsrAttributes anyEc = new CsrAttributes(List.of(CsrAttributes.Item.oid(X9ObjectIdentifiers.id_ecPublicKey)));
    CsrAttributes linkingOnly = new CsrAttributes(List.of(CsrAttributes.Item.oid(CsrAttributes.CHALLENGE_PASSWORD)));

    assertEquals(java.util.Optional.of("an EC key on secp384r1"),
        rfcExample.keyNotMetBy(org.estfleet.pki.KeyAlgorithm.EC_P256));
    assertEquals(java.util.Optional.empty(), rfcExample.keyNotMetBy(org.estfleet.pki.KeyAlgorithm.EC_P384));
    assertEquals(java.util.Optional.of("an RSA key of 3072 bits"),
        rsa3072.keyNotMetBy(org.estfleet.pki.KeyAlgorithm.RSA_2048));
    assertEquals(java.util.Optional.empty(), rsa3072.keyNotMetBy(org.estfleet.pki.KeyAlgorithm.RSA_3072));
    assertEquals(java.util.Optional.of("an EC key"), anyEc.keyNotMetBy(org.estfleet.pki.KeyAlgorithm.RSA_3072));
    assertEquals(java.util.Optional.empty(), anyEc.keyNotMetBy(org.estfleet.pki.KeyAlgorithm.EC_P384));
    assertEquals(java.util.Optional.empty(), linkingOnly.keyNotMetBy(org.estfleet.pki.KeyAlgorithm.RSA_2048),
        "no key type named");
  }

  @Test
  void rfc7030Example_decodes() {
    // The example response of RFC 7030 section 4.5.2, base64 as printed there.
    byte[] der = java.util.Base64.getDecoder().decode(
        "MEEGCSqGSIb3DQEJBzASBgcqhkjOPQIBMQcGBSuBBAAiMBYGCSqGSIb3DQEJDjEJBgcrBgEBAQEWBggqhkjOPQQDAw==");

    CsrAttributes decoded = CsrAttributes.decode(der);

    assertEquals(4, decoded.items().size());
    assertEquals(CsrAttributes.CHALLENGE_PASSWORD, decoded.items().get(0).type());
    assertTrue(decoded.items().get(0).isOid());
    assertEquals(new ASN1ObjectIdentifier("1.2.840.10045.2.1"), decoded.items().get(1).type());
    assertEquals(List.of(new ASN1ObjectIdentifier("1.3.132.0.34")), decoded.items().get(1).values());
  }

  @Test
  void empty_encodesAsEmptySequence() {
    CsrAttributes empty = new CsrAttributes(List.of());

    assertTrue(CsrAttributes.decode(empty.encode()).isEmpty());
  }

  @Test
  void decode_rejectsGarbage() {
    assertThrows(IllegalArgumentException.class, () -> CsrAttributes.decode(new byte[] {0x04, 0x01, 0x00}));
    assertThrows(IllegalArgumentException.class, () -> CsrAttributes.decode(new byte[] {0x30, 0x05, 0x01}));
  }

  @Test
  void attribute_needsAValue() {
    assertThrows(IllegalArgumentException.class,
        () -> CsrAttributes.Item.attribute(X9ObjectIdentifiers.id_ecPublicKey));
  }
}
