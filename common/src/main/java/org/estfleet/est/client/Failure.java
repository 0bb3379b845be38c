package org.estfleet.est.client;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Why a request to one endpoint failed, told apart so that the log says what to fix: the
 * server's certificate is not trusted, nothing answers, the server refused, or it is overloaded.
 *
 * @param status the HTTP status, or 0 when no HTTP answer came
 * @param retryAfter the server's {@code Retry-After}, if it sent one
 */
public record Failure(Kind kind, int status, String message, Duration retryAfter) {
  /** The kinds of failure. */
  public enum Kind {
    /** The server's certificate does not chain to a trust anchor, or does not name the host. */
    TLS_TRUST,
    /** The TLS handshake failed for another reason (protocol, cipher, the server refused our certificate). */
    TLS_HANDSHAKE,
    /** No connection: refused, no route, unknown host. */
    UNREACHABLE,
    /** Connected, but no answer in time. */
    TIMEOUT,
    /** The connection broke. */
    NETWORK,
    /** The server answered 4xx: the request itself is refused; another endpoint would refuse it too. */
    REFUSED,
    /** The server answered 5xx: it cannot serve now. */
    UNAVAILABLE,
    /** The server answered 200 with something that is not what EST promises. */
    BAD_RESPONSE
  }

  public Failure {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(message, "message");
  }

  /**
   * Whether the next endpoint should be tried: on connection trouble and server errors, not when
   * the server refused the request (RFC 7030 section 4.2.3 4xx answers are about the request).
   */
  public boolean failsOver() {
    return kind != Kind.REFUSED;
  }

  public Optional<Duration> retryAfterHint() {
    return Optional.ofNullable(retryAfter);
  }

  /** One line for logs and status: kind, status and message. */
  public String describe() {
    String what = switch (kind) {
      case TLS_TRUST -> "TLS trust failure";
      case TLS_HANDSHAKE -> "TLS handshake failed";
      case UNREACHABLE -> "unreachable";
      case TIMEOUT -> "timed out";
      case NETWORK -> "network error";
      // A 429 refuses the request for now (too many), not for what it asks: say so.
      case REFUSED -> status == 429 ? "too many requests (HTTP 429)" : "refused (HTTP " + status + ")";
      case UNAVAILABLE -> "unavailable (HTTP " + status + ")";
      case BAD_RESPONSE -> "bad response";
    };
    return what + ": " + message;
  }
}
