package org.estfleet.server.auth;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.estfleet.est.EstException;

/**
 * Limits how often enrollment is asked for: per identity, certificates issued per hour (a device
 * that renews more often than that is broken or in the wrong hands, and each issuance costs a
 * signature and a ledger row); per source address, enrollment requests per minute (a flood from
 * one address cannot starve the rest). Requests a gateway forwards count per identity only: a
 * gateway's address speaks for many devices. Beyond a limit the answer is 429 with
 * {@code Retry-After} until the window is over.
 */
public final class EnrollmentThrottle {
  private static final Duration IDENTITY_WINDOW = Duration.ofHours(1);
  private static final Duration SOURCE_WINDOW = Duration.ofMinutes(1);
  private static final int MAX_TRACKED = 200_000;

  private final int perIdentity;
  private final int perSource;
  private final Clock clock;
  private final FixedWindows issued = new FixedWindows(IDENTITY_WINDOW, MAX_TRACKED);
  private final FixedWindows requests = new FixedWindows(SOURCE_WINDOW, MAX_TRACKED);

  /**
   * @param perIdentity certificates issued per hour to one identity
   * @param perSource enrollment requests per minute from one source address
   */
  public EnrollmentThrottle(int perIdentity, int perSource, Clock clock) {
    if (perIdentity < 1 || perSource < 1) {
      throw new IllegalArgumentException("limits must be at least 1");
    }
    this.perIdentity = perIdentity;
    this.perSource = perSource;
    this.clock = clock;
  }

  /**
   * Takes one of {@code identity}'s certificates of the hour for an issuance about to be made:
   * empty if taken (the caller then keeps it by issuing, or gives it back with {@link #release}),
   * else the refusal a new certificate gets now, 429 with the time left in the hour. Taken in one
   * step with the check, so that concurrent requests of one identity cannot all pass the limit.
   */
  public Optional<EstException> reserve(String identity) {
    Instant now = clock.instant();
    if (issued.countIfBelow(identity, now, perIdentity)) {
      return Optional.empty();
    }
    Duration left = issued.left(identity, now);
    return Optional.of(EstException.tooManyRequests(identity + " was issued " + issued.countNow(identity, now)
        + " certificates in the last hour, the limit; wait " + EstException.retryAfterSeconds(left) + "s", left));
  }

  /** Gives back a reservation no new certificate used (refused, deferred, or one sent again). */
  public void release(String identity) {
    issued.uncount(identity, clock.instant());
  }

  /**
   * Counts a request from {@code source} and refuses it if that source is over its limit.
   *
   * @param source the client's address, or null (a request a gateway forwarded)
   * @throws EstException 429 with the time left in the window
   */
  public void admit(String source) throws EstException {
    Instant now = clock.instant();
    if (source != null && requests.count("source " + source, now).count() > perSource) {
      Duration left = requests.left("source " + source, now);
      throw EstException.tooManyRequests("more than " + perSource + " enrollment requests from " + source
          + " in the last minute; wait " + EstException.retryAfterSeconds(left) + "s", left);
    }
  }

  /** Counts a certificate issued to {@code identity}. */
  public void issued(String identity) {
    issued.count(identity, clock.instant());
  }
}
