package org.estfleet.est;

import java.util.Optional;

/** The EST operations of RFC 7030 section 3.2.2, with the path segment and method of each. */
public enum EstOperation {
  /** RFC 7030 section 4.1: distribution of CA certificates. */
  CACERTS("cacerts", "GET"),
  /** RFC 7030 section 4.2.1: enrollment of a client. */
  SIMPLE_ENROLL("simpleenroll", "POST"),
  /** RFC 7030 section 4.2.2: re-enrollment (renewal or rekey) of a client. */
  SIMPLE_REENROLL("simplereenroll", "POST"),
  /** RFC 7030 section 4.5: the CSR attributes the server wants. */
  CSR_ATTRS("csrattrs", "GET"),
  /** RFC 7030 section 4.4: server-side key generation. */
  SERVER_KEYGEN("serverkeygen", "POST");

  private final String segment;
  private final String method;

  EstOperation(String segment, String method) {
    this.segment = segment;
    this.method = method;
  }

  /** The path segment, e.g. {@code simpleenroll}. */
  public String segment() {
    return segment;
  }

  /** The HTTP method the operation uses. */
  public String method() {
    return method;
  }

  /** The operation whose path segment is {@code segment}, compared exactly (paths are case-sensitive). */
  public static Optional<EstOperation> fromSegment(String segment) {
    for (EstOperation operation : values()) {
      if (operation.segment.equals(segment)) {
        return Optional.of(operation);
      }
    }
    return Optional.empty();
  }
}
