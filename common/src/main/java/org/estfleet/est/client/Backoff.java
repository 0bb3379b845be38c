package org.estfleet.est.client;

import java.time.Duration;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * Capped exponential backoff with full jitter: after the n-th consecutive failure, wait a
 * uniformly random time between 1 second and {@code min(max, initial * 2^(n-1))}. Jitter spreads
 * a fleet that failed together (an outage) so it does not come back together; the cap keeps a
 * device from waiting days after a long outage ends.
 */
public record Backoff(Duration initial, Duration max) {
  private static final Duration FLOOR = Duration.ofSeconds(1);

  public Backoff {
    Objects.requireNonNull(initial, "initial");
    Objects.requireNonNull(max, "max");
  }

  /** The ceiling of the delay after {@code failures} consecutive failures (at least 1). */
  public Duration ceiling(int failures) {
    int doublings = Math.max(0, Math.min(failures - 1, 40));
    Duration ceiling = initial.multipliedBy(1L << Math.min(doublings, 30));
    return ceiling.compareTo(max) > 0 || doublings >= 30 ? max : ceiling;
  }

  /** A random delay before the next attempt after {@code failures} consecutive failures. */
  public Duration delay(int failures, RandomGenerator random) {
    long ceilingMillis = ceiling(failures).toMillis();
    long floorMillis = Math.min(FLOOR.toMillis(), ceilingMillis);
    return Duration.ofMillis(floorMillis + random.nextLong(ceilingMillis - floorMillis + 1));
  }
}
