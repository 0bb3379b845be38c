package org.estfleet.est;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The path of an EST request: {@code /.well-known/est/[label/]operation} (RFC 7030 section
 * 3.2.2). A label selects one of several CAs or profiles on the same server; the empty label is
 * the default.
 *
 * @param label the label, or the empty string for the default CA
 */
public record EstPath(String label, EstOperation operation) {
  /** The prefix every EST path starts with (RFC 8615 well-known URI). */
  public static final String PREFIX = "/.well-known/est/";

  /**
   * Labels are one path segment of URI unreserved characters; 64 characters is more than any
   * deployment uses and keeps labels usable as database keys and log fields.
   */
  private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9._~-]{1,64}");

  public EstPath {
    Objects.requireNonNull(operation, "operation");
    Objects.requireNonNull(label, "label");
    if (!label.isEmpty()) {
      checkLabel(label);
    }
  }

  /** The default-label path of an operation. */
  public static EstPath of(EstOperation operation) {
    return new EstPath("", operation);
  }

  /**
   * Parses a request path.
   *
   * @throws IllegalArgumentException if the path is not an EST path or names an unknown
   *     operation; the message says which
   */
  public static EstPath parse(String path) {
    if (path == null || !path.startsWith(PREFIX)) {
      throw new IllegalArgumentException("not an EST path (expected " + PREFIX + "...): " + path);
    }
    String rest = path.substring(PREFIX.length());
    String[] segments = rest.split("/", -1);
    String label;
    String operation;
    if (segments.length == 1) {
      label = "";
      operation = segments[0];
    } else if (segments.length == 2) {
      label = checkLabel(segments[0]);
      operation = segments[1];
    } else {
      throw new IllegalArgumentException("EST paths have at most a label and an operation: " + path);
    }
    EstOperation op = EstOperation.fromSegment(operation)
        .orElseThrow(() -> new IllegalArgumentException("unknown EST operation '" + operation + "'"));
    return new EstPath(label, op);
  }

  /** Checks that a label is one segment of URI unreserved characters. */
  public static String checkLabel(String label) {
    if (label.equals(".") || label.equals("..")) {
      // Path steps, not segments: a request's path is normalized without them.
      throw new IllegalArgumentException("invalid EST label '" + label + "': '.' and '..' are path steps");
    }
    if (!LABEL.matcher(label).matches()) {
      throw new IllegalArgumentException(
          "invalid EST label '" + label + "': use 1-64 letters, digits, '.', '_', '~' or '-'");
    }
    return label;
  }

  /** Whether this path names a label rather than the default CA. */
  public boolean hasLabel() {
    return !label.isEmpty();
  }

  /** The request path, e.g. {@code /.well-known/est/factory/simpleenroll}. */
  public String path() {
    return PREFIX + (label.isEmpty() ? "" : label + "/") + operation.segment();
  }

  @Override
  public String toString() {
    return path();
  }

  /**
   * Whether {@code uri} names an EST server as {@code https://host[:port]}: the EST paths are
   * {@code /.well-known/est/...} on the host (RFC 7030 section 3.2.2), so a path, query or
   * fragment would be ignored, and user info would end up in logs.
   */
  public static boolean isServerUrl(java.net.URI uri) {
    return "https".equals(uri.getScheme()) && uri.getHost() != null && uri.getRawUserInfo() == null
        && (uri.getRawPath() == null || uri.getRawPath().isEmpty() || uri.getRawPath().equals("/"))
        && uri.getRawQuery() == null && uri.getRawFragment() == null && uri.getPort() <= 65535 && uri.getPort() != 0;
  }
}
