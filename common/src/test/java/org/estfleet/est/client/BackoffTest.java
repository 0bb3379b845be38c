package org.estfleet.est.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BackoffTest {
  private final Backoff backoff = new Backoff(Duration.ofSeconds(30), Duration.ofHours(6));

  @Test
  void ceiling_doublesUpToTheCap() {
    assertEquals(Duration.ofSeconds(30), backoff.ceiling(1));
    assertEquals(Duration.ofSeconds(60), backoff.ceiling(2));
    assertEquals(Duration.ofSeconds(120), backoff.ceiling(3));
    assertEquals(Duration.ofHours(6), backoff.ceiling(20));
    assertEquals(Duration.ofHours(6), backoff.ceiling(1000));
  }

  @Test
  void delay_isSpreadBetweenOneSecondAndTheCeiling() {
    Random random = new Random(7);
    Set<Long> seen = new HashSet<>();
    for (int i = 0; i < 1000; i++) {
      Duration delay = backoff.delay(3, random);
      assertTrue(delay.compareTo(Duration.ofSeconds(1)) >= 0 && delay.compareTo(Duration.ofSeconds(120)) <= 0, delay.toString());
      seen.add(delay.toSeconds());
    }
    assertTrue(seen.size() > 100, "full jitter spreads the retries: " + seen.size() + " distinct seconds");
  }
}
