package org.estfleet.pki;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A clock that tests move by hand, shared by everything that was given it. A fixed clock stands
 * still; a ticking one follows real time plus an offset, for tests where time must also pass on
 * its own (a scheduler, a network timeout) but some of it is skipped.
 */
public final class TestClock extends Clock {
  private final boolean ticking;
  private final AtomicReference<Instant> fixed;
  private final AtomicReference<Duration> offset = new AtomicReference<>(Duration.ZERO);

  private TestClock(boolean ticking, Instant start) {
    this.ticking = ticking;
    this.fixed = new AtomicReference<>(start);
  }

  /** A clock standing still at {@code start}. */
  public TestClock(Instant start) {
    this(false, start);
  }

  /** A clock standing still at the real current time. */
  public static TestClock startingNow() {
    return new TestClock(false, Instant.now());
  }

  /** A clock that follows real time, until moved. */
  public static TestClock ticking() {
    return new TestClock(true, null);
  }

  public void advance(Duration duration) {
    if (ticking) {
      offset.updateAndGet(current -> current.plus(duration));
    } else {
      fixed.updateAndGet(instant -> instant.plus(duration));
    }
  }

  public void set(Instant instant) {
    if (ticking) {
      offset.set(Duration.between(Instant.now(), instant));
    } else {
      fixed.set(instant);
    }
  }

  @Override
  public Instant instant() {
    return ticking ? Instant.now().plus(offset.get()) : fixed.get();
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    return this;
  }
}
