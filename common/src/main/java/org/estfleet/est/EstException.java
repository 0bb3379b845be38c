package org.estfleet.est;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * A refusal that an EST server sends to its client: the HTTP status of RFC 7030 section 4.2.3,
 * a one-line message that says what is wrong and what to do, and, for 503, how long to wait.
 * The message is shown to the client, so it never contains secrets or stack traces; the cause,
 * if any, is for the server's log only.
 *
 * <p>Created only by the named factories, which form the closed set of refusals.
 */
public final class EstException extends Exception {
  private static final long serialVersionUID = 1L;
  /** The longest message sent: one that quotes a long request (a label, a subject) is cut. */
  static final int MAX_MESSAGE = 1000;

  private final int status;
  private final Duration retryAfter;
  private final String allow;

  private EstException(int status, String message, Duration retryAfter, String allow, Throwable cause) {
    super(oneLine(Objects.requireNonNull(message, "message")), cause);
    this.status = status;
    this.retryAfter = retryAfter;
    this.allow = allow;
  }

  /** 400: the request or the CSR is malformed, or proof-of-possession failed. */
  public static EstException badRequest(String message) {
    return new EstException(400, message, null, null, null);
  }

  /** 400 with the parse failure kept as the cause, for the log. */
  public static EstException badRequest(String message, Throwable cause) {
    return new EstException(400, message, null, null, cause);
  }

  /**
   * 401: no credentials, or credentials that do not authenticate. The server adds
   * {@code WWW-Authenticate} so that clients which send credentials only when challenged (libest)
   * retry with them.
   */
  public static EstException unauthorized(String message) {
    return new EstException(401, message, null, null, null);
  }

  /** 403: the authenticated client may not have the certificate it asked for. */
  public static EstException forbidden(String message) {
    return new EstException(403, message, null, null, null);
  }

  /** 404: no such label or operation. */
  public static EstException notFound(String message) {
    return new EstException(404, message, null, null, null);
  }

  /** 405: the operation exists but not with this method; {@code allow} is the method it takes. */
  public static EstException methodNotAllowed(String message, String allow) {
    return new EstException(405, message, null, Objects.requireNonNull(allow, "allow"), null);
  }

  /** 408: the client did not send its whole request in time; the connection is closed. */
  public static EstException requestTimeout(String message) {
    return new EstException(408, message, null, null, null);
  }

  /** 413: the request body is larger than the server accepts. */
  public static EstException payloadTooLarge(String message) {
    return new EstException(413, message, null, null, null);
  }

  /** 415: the request's Content-Type is missing or not the one the operation takes. */
  public static EstException unsupportedMediaType(String message) {
    return new EstException(415, message, null, null, null);
  }

  /**
   * 421 (RFC 9110 section 15.5.20): this server is not the one to answer the request (a gateway
   * sent a device's request to another gateway, or to itself, as if it were the CA); the sender
   * must send it elsewhere.
   */
  public static EstException misdirected(String message) {
    return new EstException(421, message, null, null, null);
  }

  /** 500: the server is configured so that it cannot serve the request; the operator must act. */
  public static EstException internalError(String message) {
    return new EstException(500, message, null, null, null);
  }

  /** 501: the operation is defined by RFC 7030 but this server does not offer it. */
  public static EstException notImplemented(String message) {
    return new EstException(501, message, null, null, null);
  }

  /** 503: the server cannot take the request now; the client should retry after {@code retryAfter}. */
  public static EstException serviceUnavailable(String message, Duration retryAfter) {
    return new EstException(503, message, Objects.requireNonNull(retryAfter, "retryAfter"), null, null);
  }

  /** The HTTP status code. */
  /**
   * 429 (RFC 6585): too many failed attempts from this client or for this identity; retry after
   * {@code retryAfter}.
   */
  public static EstException tooManyRequests(String message, Duration retryAfter) {
    return new EstException(429, message, retryAfter, null, null);
  }

  /**
   * An upstream EST server's 4xx refusal, passed on by a gateway: the same status, and its
   * reason (one line) prefixed with what it is.
   */
  public static EstException upstreamRefusal(int status, String reason) {
    if (status < 400 || status > 499) {
      throw new IllegalArgumentException("an upstream refusal is a 4xx status, not " + status);
    }
    String line = reason.replaceAll("[\\r\\n]+", " ").trim();
    return new EstException(status, "upstream CA refused: " + line, null, null, null);
  }

  /**
   * The message as one line of printable text, whatever it quotes from the request (a claimed
   * identity, a CN, a label): control and format characters and the backslash are written as
   * escapes (a line break as backslash-n, others as backslash-u and four hex digits), and a
   * message longer than
   * {@value #MAX_MESSAGE} characters is cut.
   */
  public static String oneLine(String message) {
    if (message.length() <= MAX_MESSAGE && message.chars().noneMatch(EstException::escaped)) {
      return message;
    }
    StringBuilder line = new StringBuilder(Math.min(message.length(), MAX_MESSAGE) + 3);
    for (int i = 0; i < message.length(); i++) {
      char c = message.charAt(i);
      String piece = switch (c) {
        case '\n' -> "\\n";
        case '\r' -> "\\r";
        case '\t' -> "\\t";
        case '\\' -> "\\\\";
        default -> escaped(c) ? String.format("\\u%04x", (int) c) : String.valueOf(c);
      };
      if (line.length() + piece.length() > MAX_MESSAGE) {
        if (line.length() > 0 && Character.isHighSurrogate(line.charAt(line.length() - 1))) {
          line.setLength(line.length() - 1);
        }
        return line.append("...").toString();
      }
      line.append(piece);
    }
    return line.toString();
  }

  /**
   * Control characters, line and paragraph separators, and format characters (bidirectional
   * overrides, zero-width marks), which could make a quoted value read other than it is; and the
   * backslash, so that an escape in the message is always one made here.
   */
  private static boolean escaped(int c) {
    return Character.isISOControl(c) || c == '\u2028' || c == '\u2029' || c == '\\'
        || Character.getType(c) == Character.FORMAT;
  }

  public int status() {
    return status;
  }

  /**
   * {@code retryAfter} in the whole seconds of a {@code Retry-After} header: rounded up, at least
   * 1. A message that says how long to wait uses the same figure.
   */
  public static long retryAfterSeconds(Duration retryAfter) {
    long seconds = retryAfter.getSeconds() + (retryAfter.getNano() > 0 ? 1 : 0);
    return Math.max(1, seconds);
  }

  /** How long the client should wait before retrying, sent as {@code Retry-After}. */
  public Optional<Duration> retryAfter() {
    return Optional.ofNullable(retryAfter);
  }

  /** For 405, the method the resource allows, sent as {@code Allow}. */
  public Optional<String> allow() {
    return Optional.ofNullable(allow);
  }
}
