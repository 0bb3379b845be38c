package org.estfleet.pki;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.math.BigInteger;
import java.util.Optional;
import org.bouncycastle.asn1.x500.X500Name;
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
}
