package org.estfleet.server.auth;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.estfleet.est.EstException;

/**
 * Slows credential guessing: after too many failed authentications within a minute for one
 * claimed identity, or from one source address (a higher limit: many devices may share an address
 * behind NAT), further attempts for it (or from it) are refused with 429 and {@code Retry-After}
 * until the minute is over, whatever the credentials. With 128-bit
 * tokens guessing is hopeless anyway; this keeps it from costing the server, and makes it visible.
 */
public final class AuthThrottle {
  private static final Duration WINDOW = Duration.ofMinutes(1);
  private static final int MAX_TRACKED = 100_000;

  private final int identityLimit;
  private final int sourceLimit;
  private final Clock clock;
  private final FixedWindows failures = new FixedWindows(WINDOW, MAX_TRACKED);

  /**
   * @param identityLimit failed authentications allowed per minute for one identity
   * @param sourceLimit failed authentications allowed per minute from one source address
   */
  public AuthThrottle(int identityLimit, int sourceLimit, Clock clock) {
    if (identityLimit < 1 || sourceLimit < 1) {
      throw new IllegalArgumentException("limits must be at least 1");
    }
    this.identityLimit = identityLimit;
    this.sourceLimit = sourceLimit;
    this.clock = clock;
  }

  /**
   * Refuses a request from a source, or for an identity, that failed too often this minute.
   *
   * @param source the client's address, or null (a gateway's forwarded request)
   * @param identity the identity the client claims, or null
   * @throws EstException 429 with the time left in the minute
   */
  public void check(String source, String identity) throws EstException {
    Instant now = clock.instant();
    for (String key : keys(source, identity)) {
      int limit = key.startsWith("source ") ? sourceLimit : identityLimit;
      if (failures.countNow(key, now) >= limit) {
        Duration left = failures.left(key, now);
        throw EstException.tooManyRequests("too many failed authentications " + describe(key)
            + " in the last minute; wait " + EstException.retryAfterSeconds(left) + "s", left);
      }
    }
  }

  /** Counts a failed authentication against the source and the identity. */
  public void failed(String source, String identity) {
    Instant now = clock.instant();
    for (String key : keys(source, identity)) {
      failures.count(key, now);
    }
  }

  private static String[] keys(String source, String identity) {
    if (source == null) {
      return identity == null ? new String[0] : new String[] {"identity " + identity};
    }
    return identity == null ? new String[] {"source " + source}
        : new String[] {"source " + source, "identity " + identity};
  }

  private static String describe(String key) {
    return key.startsWith("source ") ? "from " + key.substring(7) : "for " + key.substring(9);
  }
}
