package org.estfleet.est;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.security.cert.X509Certificate;
import java.util.HashSet;
import java.util.List;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.TestPki;
import org.junit.jupiter.api.Test;

class CertsOnlyTest {
  @Test
  void encodeDecode_roundTripsTheSetOfCertificates() {
    TestPki.Ca root = TestPki.rootCa("CertsOnly Root");
    TestPki.Ca issuing = root.subCa("CertsOnly Issuing");
    List<X509Certificate> certificates = List.of(root.certificate(), issuing.certificate());

    List<X509Certificate> decoded = CertsOnly.decode(CertsOnly.encode(certificates));

    assertEquals(new HashSet<>(certificates), new HashSet<>(decoded));
  }

  @Test
  void decode_rejectsBareCertificate() {
    X509Certificate certificate = TestPki.rootCa("Bare").certificate();

    assertThrows(IllegalArgumentException.class, () -> CertsOnly.decode(Certificates.der(certificate)));
  }

  @Test
  void decode_rejectsTruncatedResponse() {
    byte[] der = CertsOnly.encode(List.of(TestPki.rootCa("Truncated").certificate()));
    byte[] truncated = java.util.Arrays.copyOf(der, der.length / 2);

    assertThrows(IllegalArgumentException.class, () -> CertsOnly.decode(truncated));
  }

  @Test
  void encode_refusesEmptyList() {
    assertThrows(IllegalArgumentException.class, () -> CertsOnly.encode(List.of()));
  }
}
