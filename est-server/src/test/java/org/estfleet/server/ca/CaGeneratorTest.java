package org.estfleet.server.ca;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.SecureRandom;
import java.time.Clock;
import org.estfleet.pki.Certificates;
import org.junit.jupiter.api.Test;

/** The names of a CA made by init or by a rollover from a root init did not make. */
class CaGeneratorTest {
  private final CaGenerator generator = new CaGenerator(Clock.systemUTC(), new SecureRandom());

  @Test
  void aShortStem_isKept() {
    CaGenerator.GeneratedCa ca = generator.generate("EST Fleet Development");

    assertTrue(cn(ca.root()).matches("EST Fleet Development Root CA [0-9a-f]{8}"), cn(ca.root()));
    assertTrue(cn(ca.issuing()).matches("EST Fleet Development Issuing CA [0-9a-f]{8}"), cn(ca.issuing()));
  }

  @Test
  void aLongStem_isCut_soThatTheNamesStayWithinRfc5280() {
    String stem = "Acme Industrial Automation Device Identity Root Authority"; // a root's whole CN, 57 characters

    CaGenerator.GeneratedCa ca = generator.generate(stem);

    assertEquals(64, cn(ca.issuing()).length(), cn(ca.issuing()));
    assertTrue(cn(ca.issuing()).startsWith(stem.substring(0, CaGenerator.MAX_STEM) + " Issuing CA "), cn(ca.issuing()));
    assertTrue(cn(ca.root()).startsWith(stem.substring(0, CaGenerator.MAX_STEM) + " Root CA "), cn(ca.root()));
  }

  @Test
  void aCutThroughACharacterOutsideTheBmp_dropsItWhole() {
    String stem = "x".repeat(CaGenerator.MAX_STEM - 1) + "\uD83D\uDD12 locked"; // U+1F512 across the cut

    String issuing = cn(generator.generate(stem).issuing());

    assertTrue(issuing.startsWith("x".repeat(CaGenerator.MAX_STEM - 1) + " Issuing CA "), issuing);
    assertTrue(issuing.length() <= 64, issuing);
  }

  private static String cn(java.security.cert.X509Certificate certificate) {
    return Certificates.commonName(certificate.getSubjectX500Principal()).orElseThrow();
  }
}
