package org.estfleet.est.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class RetryAfterTest {
  private final Instant now = Instant.parse("2026-11-24T12:00:00Z");

  @Test
  void parse_secondsAndHttpDates() {
    assertEquals(Duration.ofSeconds(120), EstClient.parseRetryAfter("120", now));
    assertEquals(Duration.ofSeconds(90), EstClient.parseRetryAfter("Tue, 24 Nov 2026 12:01:30 GMT", now));
    assertEquals(Duration.ZERO, EstClient.parseRetryAfter("Tue, 24 Nov 2026 11:00:00 GMT", now));
  }

  @Test
  void parse_absentOrGarbageIsNull() {
    assertNull(EstClient.parseRetryAfter(null, now));
    assertNull(EstClient.parseRetryAfter("", now));
    assertNull(EstClient.parseRetryAfter("soon", now));
    assertNull(EstClient.parseRetryAfter("-5", now));
  }
}
