package org.estfleet.server.auth;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
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
   * Counts a request from {@code source} and refuses it if that source or {@code identity} is over
   * its limit.
   *
   * @param source the client's address, or null (a request a gateway forwarded)
   * @param identity the identity the client claims, or null
   * @throws EstException 429 with the time left in the window
   */
  public void admit(String source, String identity) throws EstException {
    Instant now = clock.instant();
    if (identity != null) {
      int count = issued.countNow(identity, now);
      if (count >= perIdentity) {
        Duration left = issued.left(identity, now);
        throw EstException.tooManyRequests(identity + " was issued " + count
            + " certificates in the last hour, the limit; wait " + left.toSeconds() + "s", left);
      }
    }
    if (source != null && requests.count("source " + source, now).count() > perSource) {
      Duration left = requests.left("source " + source, now);
      throw EstException.tooManyRequests("more than " + perSource + " enrollment requests from " + source
          + " in the last minute; wait " + left.toSeconds() + "s", left);
    }
  }

  /** Counts a certificate issued to {@code identity}. */
  public void issued(String identity) {
    issued.count(identity, clock.instant());
  }
}
