package org.estfleet.est;

import java.util.Locale;

/** The media types of RFC 7030 section 3.2.4 and RFC 8951, exactly as deployed clients expect them. */
public final class EstMediaType {
  /** Response to {@code /cacerts}: a certs-only CMS SignedData (RFC 7030 section 4.1.3). */
  public static final String PKCS7_MIME = "application/pkcs7-mime";
  /**
   * Response to {@code /simpleenroll} and {@code /simplereenroll}. Written with the space after
   * the semicolon: some clients compare the header as a string.
   */
  public static final String PKCS7_CERTS_ONLY = "application/pkcs7-mime; smime-type=certs-only";
  /** Request body of the enroll operations. */
  public static final String PKCS10 = "application/pkcs10";
  /** Response to {@code /csrattrs} (RFC 7030 section 4.5.2). */
  public static final String CSR_ATTRS = "application/csrattrs";
  /** The private key part of a {@code /serverkeygen} response. */
  public static final String PKCS8 = "application/pkcs8";

  private EstMediaType() {}

  /**
   * Whether a {@code Content-Type} header value has the base type {@code expected}, ignoring
   * case, whitespace and parameters ({@code application/pkcs10; charset=x} matches).
   */
  public static boolean hasBaseType(String contentType, String expected) {
    if (contentType == null) {
      return false;
    }
    int semicolon = contentType.indexOf(';');
    String base = semicolon < 0 ? contentType : contentType.substring(0, semicolon);
    return base.trim().toLowerCase(Locale.ROOT).equals(expected);
  }
}
