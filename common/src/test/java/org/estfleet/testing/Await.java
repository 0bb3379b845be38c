package org.estfleet.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * Waits for a condition that background work (a forwarder, a scheduler) brings about. It checks
 * the condition, not the time: the deadline only turns a hang into a failure with a message.
 */
public final class Await {
  private static final Duration POLL = Duration.ofMillis(50);

  private Await() {}

  /**
   * Returns as soon as {@code condition} holds.
   *
   * @throws AssertionError if it does not hold within {@code deadline}
   */
  public static void until(String what, Duration deadline, BooleanSupplier condition) throws InterruptedException {
    until(what, deadline, POLL, condition);
  }

  /** As above, checking every {@code poll} (for conditions that are costly to check). */
  public static void until(String what, Duration deadline, Duration poll, BooleanSupplier condition)
      throws InterruptedException {
    long end = System.nanoTime() + deadline.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > end) {
        throw new AssertionError("not within " + deadline + ": " + what);
      }
      Thread.sleep(poll.toMillis());
    }
  }
}
