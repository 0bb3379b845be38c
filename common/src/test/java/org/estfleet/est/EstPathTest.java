package org.estfleet.est;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class EstPathTest {
  @Test
  void parse_defaultLabel() {
    EstPath path = EstPath.parse("/.well-known/est/simpleenroll");

    assertEquals(EstOperation.SIMPLE_ENROLL, path.operation());
    assertFalse(path.hasLabel());
    assertEquals("/.well-known/est/simpleenroll", path.path());
  }

  @Test
  void parse_withLabel() {
    EstPath path = EstPath.parse("/.well-known/est/factory-7/cacerts");

    assertEquals(new EstPath("factory-7", EstOperation.CACERTS), path);
    assertTrue(path.hasLabel());
    assertEquals("/.well-known/est/factory-7/cacerts", path.toString());
  }

  @Test
  void parse_rejectsUnknownOperationAndDeepPaths() {
    assertEquals("unknown EST operation 'fullcmc'",
        assertThrows(IllegalArgumentException.class, () -> EstPath.parse("/.well-known/est/fullcmc")).getMessage());
    assertThrows(IllegalArgumentException.class, () -> EstPath.parse("/.well-known/est/a/b/cacerts"));
    assertThrows(IllegalArgumentException.class, () -> EstPath.parse("/.well-known/est/CACERTS"));
    assertThrows(IllegalArgumentException.class, () -> EstPath.parse("/est/cacerts"));
    assertThrows(IllegalArgumentException.class, () -> EstPath.parse("/.well-known/est//cacerts"));
  }

  @Test
  void label_mustBeUnreservedCharacters() {
    assertThrows(IllegalArgumentException.class, () -> new EstPath("a b", EstOperation.CACERTS));
    assertThrows(IllegalArgumentException.class, () -> new EstPath("x".repeat(65), EstOperation.CACERTS));
    assertEquals("a.b_c~d-e", EstPath.checkLabel("a.b_c~d-e"));
    assertEquals("..a", EstPath.checkLabel("..a"));
    for (String step : new String[] {".", ".."}) {
      IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> EstPath.checkLabel(step));
      assertEquals("invalid EST label '" + step + "': '.' and '..' are path steps", refused.getMessage());
    }
  }

  @Test
  void mediaType_matchesIgnoringParametersAndCase() {
    assertTrue(EstMediaType.hasBaseType("Application/PKCS10; charset=us-ascii", EstMediaType.PKCS10));
    assertTrue(EstMediaType.hasBaseType(" application/pkcs10 ", EstMediaType.PKCS10));
    assertFalse(EstMediaType.hasBaseType("application/pkcs7-mime", EstMediaType.PKCS10));
    assertFalse(EstMediaType.hasBaseType(null, EstMediaType.PKCS10));
  }
}
