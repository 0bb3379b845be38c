package org.estfleet.pki;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
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
}
