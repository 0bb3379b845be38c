package org.estfleet.est.client;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Why a request to one endpoint failed, told apart so that the log says what to fix: the
 * server's certificate is not trusted, nothing answers, the server refused, limits this client for
 * now, or is overloaded.
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
    /** The server answered 4xx (not 429): the request itself is refused; another endpoint would refuse it too. */
    REFUSED,
    /**
     * The server answered 429: too many requests from this client for now (an hourly limit, say).
     * Not a verdict on the request: the same request may be sent again after {@code Retry-After}.
     */
    TOO_MANY_REQUESTS,
    /**
     * The server answered 421: it is not the server for this request (a gateway given another
     * gateway, or itself, as its CA). Not a verdict on the request: another endpoint may take it.
     */
    MISDIRECTED,
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
   * The failure an HTTP error answer (4xx or 5xx) means. A 408 (the request did not arrive whole
   * in time) is a timeout on the way, not a verdict on the request: it is sent again as it was;
   * nor is a 421, which says to send it to another server.
   */
  public static Failure ofStatus(int status, String message, Duration retryAfter) {
    Kind kind = status >= 500 ? Kind.UNAVAILABLE : status == 429 ? Kind.TOO_MANY_REQUESTS
        : status == 408 ? Kind.TIMEOUT : status == 421 ? Kind.MISDIRECTED : Kind.REFUSED;
    return new Failure(kind, status, message, retryAfter);
  }

  /**
   * Whether the next endpoint should be tried: on connection trouble and server errors, not when
   * the server refused the request (RFC 7030 section 4.2.3 4xx answers are about the request),
   * nor when it limits this client, a limit the other endpoints of the same CA keep too.
   */
  public boolean failsOver() {
    return kind != Kind.REFUSED && kind != Kind.TOO_MANY_REQUESTS;
  }

  /**
   * Whether the server refused the request itself, which sending it again, here or elsewhere,
   * cannot change. A 429 does not: it says "not now".
   */
  public boolean refusesTheRequest() {
    return kind == Kind.REFUSED;
  }

  /**
   * Whether the server sent an answer, whatever it said (a refusal, a limit, an error, a body EST
   * does not promise), as opposed to none: no connection, a failed TLS handshake, a broken
   * connection, no answer in time.
   */
  public boolean answered() {
    return status > 0 || kind == Kind.BAD_RESPONSE;
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
      case TIMEOUT -> status == 0 ? "timed out" : "timed out (HTTP " + status + ")";
      case NETWORK -> "network error";
      case REFUSED -> "refused (HTTP " + status + ")";
      case TOO_MANY_REQUESTS -> "too many requests (HTTP " + status + ")";
      case MISDIRECTED -> "not the server for this request (HTTP " + status + ")";
      case UNAVAILABLE -> "unavailable (HTTP " + status + ")";
      case BAD_RESPONSE -> "bad response";
    };
    return what + ": " + message;
  }
}
