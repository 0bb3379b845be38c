package org.estfleet.pki;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.math.BigInteger;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.DERBMPString;
import org.bouncycastle.asn1.DERIA5String;
import org.bouncycastle.asn1.DERPrintableString;
import org.bouncycastle.asn1.DERSet;
import org.bouncycastle.asn1.DERT61String;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.x500.AttributeTypeAndValue;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.junit.jupiter.api.Test;

class CertificatesTest {
  @Test
  void serialHex_isWholeOctetsLikeOpenssl() {
    assertEquals("075ac83c", Certificates.serialHex(new BigInteger("75ac83c", 16)));
    assertEquals("ff", Certificates.serialHex(BigInteger.valueOf(255)));
    assertEquals("01", Certificates.serialHex(BigInteger.ONE));
  }

  @Test
  void commonName_onlyWhenExactlyOne() {
    assertEquals(Optional.of("a"), Certificates.commonName(new X500Name("O=x,CN=a")));
    assertEquals(Optional.empty(), Certificates.commonName(new X500Name("O=x")));
    assertEquals(Optional.empty(), Certificates.commonName(new X500Name("CN=a,CN=b")));
  }

  @Test
  void fromDer_rejectsGarbage() {
    assertThrows(IllegalArgumentException.class, () -> Certificates.fromDer(new byte[] {0x30, 0x00}));
  }

  @Test
  void randomSerials_arePositiveAndAtLeast64Bits() {
    for (int i = 0; i < 200; i++) {
      BigInteger serial = CertificateBuilder.randomSerial(TestPki.RANDOM);
      assertEquals(1, serial.signum());
      assertEquals(true, serial.bitLength() > 64 && serial.bitLength() <= 127, serial.toString(16));
    }
  }

  @Test
  void canonicalName_encodesStringsAsCertificatesShould_andLeavesTheRestAsItCame() throws Exception {
    RDN empty = RDN.getInstance(new DERSet());
    RDN multiValued = new RDN(new AttributeTypeAndValue[] {
        new AttributeTypeAndValue(BCStyle.O, new DERT61String("Acme")),
        new AttributeTypeAndValue(BCStyle.OU, new DERUTF8String("Eng"))});
    X500Name sent = new X500Name(new RDN[] {
        new RDN(BCStyle.C, new DERUTF8String("DE")),
        new RDN(BCStyle.SERIALNUMBER, new DERUTF8String("A-42")),
        new RDN(BCStyle.SERIALNUMBER, new DERIA5String("SN_1")),
        new RDN(BCStyle.DC, new DERUTF8String("example")),
        new RDN(BCStyle.EmailAddress, new DERPrintableString("ops")),
        new RDN(BCStyle.O, new DERPrintableString("Acme")),
        new RDN(BCStyle.OU, new DERT61String("Eng")),
        new RDN(BCStyle.L, new DERBMPString("Köln")),
        empty,
        multiValued,
        new RDN(BCStyle.CN, new DERIA5String("device-1")),
        new RDN(BCStyle.UNIQUE_IDENTIFIER, new ASN1Integer(7))});

    X500Name canonical = Certificates.canonicalName(sent);

    List<ASN1Encodable> values = Arrays.stream(canonical.getRDNs())
        .map(rdn -> rdn.isMultiValued() ? (ASN1Encodable) rdn.toASN1Primitive() : rdn.getFirst().getValue()).toList();
    // "SN_1" is no PrintableString ('_'): as any other value, a UTF8String.
    assertEquals(List.of(new DERPrintableString("DE"), new DERPrintableString("A-42"), new DERUTF8String("SN_1"),
        new DERIA5String("example"),
        new DERIA5String("ops"), new DERPrintableString("Acme"), new DERUTF8String("Eng"), new DERUTF8String("Köln"),
        multiValued.toASN1Primitive(), new DERUTF8String("device-1"), new ASN1Integer(7)), values);
    assertArrayEquals(canonical.getEncoded(), Certificates.canonicalName(canonical).getEncoded(), "canonical already");
  }
}
