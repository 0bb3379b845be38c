package org.estfleet.est;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * The body encoding of every EST message: base64 of DER (RFC 7030 section 4, as clarified by RFC
 * 8951 section 3: base64 always, whatever the {@code Content-Transfer-Encoding} header says).
 */
public final class Base64Body {
  private static final Base64.Encoder MIME = Base64.getMimeEncoder(64, new byte[] {'\r', '\n'});

  private Base64Body() {}

  /** Base64 with CRLF line breaks every 64 characters, ending in CRLF, as OpenSSL and libest read it. */
  public static byte[] encode(byte[] der) {
    byte[] lines = MIME.encode(der);
    byte[] body = new byte[lines.length + 2];
    System.arraycopy(lines, 0, body, 0, lines.length);
    body[lines.length] = '\r';
    body[lines.length + 1] = '\n';
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
