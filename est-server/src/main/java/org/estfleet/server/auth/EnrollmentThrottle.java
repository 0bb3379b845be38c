package org.estfleet.server.auth;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
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
  private final Map<String, Window> issued = new ConcurrentHashMap<>();
  private final Map<String, Window> requests = new ConcurrentHashMap<>();

  private record Window(Instant start, int count) {}

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
      Window window = issued.get(identity);
      if (window != null && window.count() >= perIdentity && now.isBefore(window.start().plus(IDENTITY_WINDOW))) {
        Duration left = Duration.between(now, window.start().plus(IDENTITY_WINDOW));
        throw EstException.tooManyRequests(identity + " was issued " + window.count()
            + " certificates in the last hour, the limit; wait " + left.toSeconds() + "s", left);
      }
    }
    if (source != null) {
      Window window = count(requests, "source " + source, now, SOURCE_WINDOW);
      if (window.count() > perSource) {
        Duration left = Duration.between(now, window.start().plus(SOURCE_WINDOW));
        throw EstException.tooManyRequests("more than " + perSource + " enrollment requests from " + source
            + " in the last minute; wait " + left.toSeconds() + "s", left);
      }
    }
  }

  /** Counts a certificate issued to {@code identity}. */
  public void issued(String identity) {
    count(issued, identity, clock.instant(), IDENTITY_WINDOW);
  }

  private static Window count(Map<String, Window> windows, String key, Instant now, Duration length) {
    if (windows.size() > MAX_TRACKED) {
      windows.values().removeIf(window -> !now.isBefore(window.start().plus(length)));
    }
    return windows.merge(key, new Window(now, 1), (old, fresh) -> now.isBefore(old.start().plus(length))
        ? new Window(old.start(), old.count() + 1)
        : fresh);
  }
}
