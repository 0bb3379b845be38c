package org.estfleet.est;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * The body encoding of every EST message: base64 of DER (RFC 7030 section 4, as clarified by RFC
 * 8951 section 3: base64 always, whatever the {@code Content-Transfer-Encoding} header says).
 */
public final class Base64Body {
  private static final byte[] LF = {'\n'};
  private static final byte[] CRLF = {'\r', '\n'};
  private static final Base64.Encoder LINES = Base64.getMimeEncoder(64, LF);
  private static final Base64.Encoder MIME_LINES = Base64.getMimeEncoder(64, CRLF);

  private Base64Body() {}

  /**
   * An HTTP body: base64 in lines of 64 characters, each ending in LF, as {@code openssl base64}
   * writes it. OpenSSL, libest and the JDK's MIME decoder read CRLF as well, but coreutils'
   * {@code base64 -d} refuses the CR: {@code curl ... | base64 -d} would fail.
   */
  public static byte[] encode(byte[] der) {
    return terminated(LINES.encode(der), LF);
  }

  /**
   * A part of a MIME multipart body: as {@link #encode}, with CRLF line ends (RFC 2045 section
   * 6.8, RFC 2046 section 5.1.1: the line break before a boundary is CRLF).
   */
  public static byte[] encodeMimePart(byte[] der) {
    return terminated(MIME_LINES.encode(der), CRLF);
  }

  private static byte[] terminated(byte[] lines, byte[] end) {
    byte[] body = java.util.Arrays.copyOf(lines, lines.length + end.length);
    System.arraycopy(end, 0, body, lines.length, end.length);
    return body;
  }

  /**
   * Decodes a request or response body: base64 with or without line breaks or other whitespace.
   * Binary DER (a body that starts with an ASN.1 SEQUENCE and contains bytes outside the base64
   * alphabet) is accepted too: a few old clients send it, and it cannot be mistaken for base64.
   *
   * @throws IllegalArgumentException saying where the body stops being base64
   */
  public static byte[] decode(byte[] body) {
    if (body.length == 0) {
      throw new IllegalArgumentException("empty body; expected base64-encoded DER");
    }
    byte[] compact = new byte[body.length];
    int length = 0;
    for (int i = 0; i < body.length; i++) {
      byte b = body[i];
      if (b == ' ' || b == '\t' || b == '\r' || b == '\n') {
        continue;
      }
      if (!isBase64(b)) {
        if (body[0] == 0x30) {
          return body.clone();
        }
        if (isPem(body)) {
          throw new IllegalArgumentException("body is PEM, not the base64 of the DER alone that RFC 8951 asks for "
              + "(without the -----BEGIN and -----END lines)");
        }
        throw new IllegalArgumentException(
            String.format("body is not base64: byte 0x%02x at offset %d", b & 0xff, i));
      }
      compact[length++] = b;
    }
    if (length == 0) {
      throw new IllegalArgumentException("body holds only whitespace; expected base64-encoded DER");
    }
    try {
      return Base64.getDecoder().decode(new String(compact, 0, length, StandardCharsets.US_ASCII));
    } catch (IllegalArgumentException e) {
      // The JDK's reasons ("Input byte[] should at least have 2 bytes for base64 bytes") speak of
      // its own API; what a client can fix is the length or the padding.
      throw new IllegalArgumentException("body is not valid base64: a stray last character or misplaced '=' "
          + "padding (" + length + " base64 characters)", e);
    }
  }

  /** Whether the body begins, after any whitespace or UTF-8 byte order mark, with a PEM header. */
  private static boolean isPem(byte[] body) {
    int start = body.length >= 3 && (body[0] & 0xff) == 0xef && (body[1] & 0xff) == 0xbb && (body[2] & 0xff) == 0xbf
        ? 3 : 0;
    while (start < body.length && Character.isWhitespace(body[start])) {
      start++;
    }
    String header = "-----BEGIN";
    if (body.length - start < header.length()) {
      return false;
    }
    for (int i = 0; i < header.length(); i++) {
      if (body[start + i] != header.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  private static boolean isBase64(byte b) {
    return (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9')
        || b == '+' || b == '/' || b == '=';
  }
}
