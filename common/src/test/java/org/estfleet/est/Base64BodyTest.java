package org.estfleet.est;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.estfleet.pki.TestPki;
import org.junit.jupiter.api.Test;

class Base64BodyTest {
  private final byte[] der = new byte[300];

  {
    TestPki.RANDOM.nextBytes(der);
    der[0] = 0x30;
  }

  @Test
  void encode_wrapsAt64WithLfAndRoundTrips() {
    String text = new String(Base64Body.encode(der), StandardCharsets.US_ASCII);

    assertEquals(-1, text.indexOf('\r'), "no CR: coreutils' base64 -d refuses it");
    String[] lines = text.split("\n");
    assertEquals(7, lines.length, text); // 400 characters
    for (int i = 0; i < lines.length - 1; i++) {
      assertEquals(64, lines[i].length(), lines[i]);
    }
    assertTrue(text.endsWith("\n"));
    assertArrayEquals(der, Base64Body.decode(text.getBytes(StandardCharsets.US_ASCII)));
  }

  @Test
  void encodeMimePart_wrapsAt64WithCrlf() {
    String text = new String(Base64Body.encodeMimePart(der), StandardCharsets.US_ASCII);

    assertEquals(new String(Base64Body.encode(der), StandardCharsets.US_ASCII).replace("\n", "\r\n"), text);
  }

  @Test
  void decode_acceptsUnwrappedBase64() {
    byte[] body = Base64.getEncoder().encode(der);

    assertArrayEquals(der, Base64Body.decode(body));
  }

  @Test
  void decode_acceptsLfOnlyAndStrayWhitespace() {
    String wrapped = Base64.getMimeEncoder(76, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);

    assertArrayEquals(der, Base64Body.decode((" " + wrapped + "\n\t").getBytes(StandardCharsets.US_ASCII)));
  }

  @Test
  void decode_toleratesBinaryDer() {
    byte[] binary = {0x30, (byte) 0x82, 0x01, 0x00, (byte) 0xff};

    assertArrayEquals(binary, Base64Body.decode(binary));
  }

  @Test
  void decode_rejectsNonBase64WithOffset() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Base64Body.decode("MIIB$AAA".getBytes(StandardCharsets.US_ASCII)));

    assertEquals("body is not base64: byte 0x24 at offset 4", e.getMessage());
  }

  @Test
  void decode_rejectsBadPadding() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Base64Body.decode("MII=B".getBytes(StandardCharsets.US_ASCII)));

    assertTrue(e.getMessage().startsWith("body is not valid base64"), e.getMessage());
    IllegalArgumentException single = assertThrows(IllegalArgumentException.class,
        () -> Base64Body.decode("A".getBytes(StandardCharsets.US_ASCII)));
    assertEquals("body is not valid base64: a stray last character or misplaced '=' padding (1 base64 characters)",
        single.getMessage());
  }

  @Test
  void decode_aPemBody_isRefusedSayingSo() {
    for (String pem : new String[] {"-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n",
        "\ufeff\r\n-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n"}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> Base64Body.decode(pem.getBytes(StandardCharsets.UTF_8)));

      assertEquals("body is PEM, not the base64 of the DER alone that RFC 8951 asks for (without the -----BEGIN and "
          + "-----END lines)", e.getMessage());
    }
  }

  @Test
  void decode_rejectsEmptyAndBlankBodies() {
    assertThrows(IllegalArgumentException.class, () -> Base64Body.decode(new byte[0]));
    assertThrows(IllegalArgumentException.class, () -> Base64Body.decode(" \r\n".getBytes(StandardCharsets.US_ASCII)));
  }
}
