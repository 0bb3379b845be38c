package org.estfleet.est;

import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The {@code /serverkeygen} response (RFC 7030 section 4.4.2): a {@code multipart/mixed} body of
 * two parts, the private key the server generated as an unencrypted PKCS#8 PrivateKeyInfo
 * ({@code application/pkcs8}: TLS alone protects it) and its certificate as a certs-only CMS
 * ({@code application/pkcs7-mime; smime-type=certs-only}), each base64 (RFC 8951 section 3).
 *
 * @param privateKeyInfo the DER PKCS#8 PrivateKeyInfo
 * @param certificate the certificate issued for its public key
 */
public record ServerGeneratedKey(byte[] privateKeyInfo, X509Certificate certificate) {
  /**
   * The boundary of every response: neither base64 nor a header holds a hyphen run like it, so
   * it cannot occur inside a part (RFC 2046 section 5.1.1).
   */
  public static final String BOUNDARY = "estfleet-serverkeygen-part";
  /** The response's {@code Content-Type}. */
  public static final String CONTENT_TYPE = "multipart/mixed; boundary=" + BOUNDARY;

  public ServerGeneratedKey {
    privateKeyInfo = privateKeyInfo.clone();
    Objects.requireNonNull(certificate, "certificate");
  }

  /** The key and the certificate for it. */
  public static ServerGeneratedKey of(PrivateKey key, X509Certificate certificate) {
    if (!"PKCS#8".equals(key.getFormat())) {
      throw new IllegalArgumentException("the private key is not encodable as PKCS#8 (" + key.getFormat() + ")");
    }
    return new ServerGeneratedKey(key.getEncoded(), certificate);
  }

  @Override
  public byte[] privateKeyInfo() {
    return privateKeyInfo.clone();
  }

  /** The response body, CRLF line ends throughout (RFC 2046 section 5.1.1). */
  public byte[] encode() {
    String body = part(EstMediaType.PKCS8, privateKeyInfo)
        + part(EstMediaType.PKCS7_CERTS_ONLY, CertsOnly.encode(List.of(certificate)))
        + "--" + BOUNDARY + "--\r\n";
    return body.getBytes(StandardCharsets.US_ASCII);
  }

  private static String part(String contentType, byte[] der) {
    return "--" + BOUNDARY + "\r\n"
        + "Content-Type: " + contentType + "\r\n"
        + "Content-Transfer-Encoding: base64\r\n"
        + "\r\n"
        + new String(Base64Body.encodeMimePart(der), StandardCharsets.US_ASCII);
  }

  /**
   * Reads a {@code /serverkeygen} response: the multipart body a {@code Content-Type} with its
   * boundary introduces, whatever the order of its two parts.
   *
   * @throws IllegalArgumentException saying what is missing or malformed
   */
  public static ServerGeneratedKey decode(String contentType, byte[] body) {
    if (!EstMediaType.hasBaseType(contentType, "multipart/mixed")) {
      throw new IllegalArgumentException("Content-Type is '" + contentType + "', not multipart/mixed");
    }
    String boundary = null;
    for (String parameter : contentType.split(";")) {
      String[] pair = parameter.trim().split("=", 2);
      if (pair.length == 2 && pair[0].trim().equalsIgnoreCase("boundary")) {
        boundary = pair[1].trim();
        if (boundary.length() >= 2 && boundary.startsWith("\"") && boundary.endsWith("\"")) {
          boundary = boundary.substring(1, boundary.length() - 1);
        }
      }
    }
    if (boundary == null || boundary.isEmpty()) {
      throw new IllegalArgumentException("multipart/mixed without a boundary parameter");
    }
    String text = new String(body, StandardCharsets.ISO_8859_1);
    String delimiter = "--" + boundary;
    int end = text.indexOf(delimiter + "--");
    if (end < 0) {
      throw new IllegalArgumentException("the multipart body has no closing delimiter " + delimiter + "--");
    }
    byte[] key = null;
    X509Certificate certificate = null;
    String[] parts = text.substring(0, end).split(Pattern.quote(delimiter), -1);
    // parts[0] is the preamble, ignored (RFC 2046 section 5.1.1).
    for (int i = 1; i < parts.length; i++) {
      String part = parts[i];
      int headersEnd = part.indexOf("\r\n\r\n");
      int separator = 4;
      if (headersEnd < 0) {
        headersEnd = part.indexOf("\n\n");
        separator = 2;
      }
      if (headersEnd < 0) {
        throw new IllegalArgumentException("part " + i + " has no blank line after its headers");
      }
      String type = null;
      for (String header : part.substring(0, headersEnd).split("\r?\n")) {
        int colon = header.indexOf(':');
        if (colon > 0 && header.substring(0, colon).trim().equalsIgnoreCase("Content-Type")) {
          type = header.substring(colon + 1).trim();
        }
      }
      byte[] der = Base64Body.decode(part.substring(headersEnd + separator).getBytes(StandardCharsets.ISO_8859_1));
      if (EstMediaType.hasBaseType(type, EstMediaType.PKCS8) && key == null) {
        key = der;
      } else if (EstMediaType.hasBaseType(type, EstMediaType.PKCS7_MIME)
          && type.toLowerCase(Locale.ROOT).replace(" ", "").contains("smime-type=certs-only") && certificate == null) {
        certificate = CertsOnly.decode(der).get(0);
      } else if (key != null && EstMediaType.hasBaseType(type, EstMediaType.PKCS8)
          || certificate != null && EstMediaType.hasBaseType(type, EstMediaType.PKCS7_MIME)) {
        throw new IllegalArgumentException("part " + i + " is a second '" + type + "' part");
      } else {
        throw new IllegalArgumentException("part " + i + " is " + (type == null ? "without a Content-Type"
            : "'" + type.toLowerCase(Locale.ROOT) + "'") + ", neither application/pkcs8 nor application/pkcs7-mime; "
            + "smime-type=certs-only (an encrypted key is not read here)");
      }
    }
    if (key == null || certificate == null) {
      throw new IllegalArgumentException("the response lacks its " + (key == null ? "application/pkcs8 private key"
          : "application/pkcs7-mime certificate") + " part");
    }
    return new ServerGeneratedKey(key, certificate);
  }
}
