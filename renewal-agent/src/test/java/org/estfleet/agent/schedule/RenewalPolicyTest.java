package org.estfleet.agent.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import org.estfleet.pki.TestPki;
import org.junit.jupiter.api.Test;

class RenewalPolicyTest {
  private final TestPki.Ca ca = TestPki.rootCa("Policy");
  private final Instant start = Instant.parse("2026-01-01T00:00:00Z");

  private X509Certificate thirtyDays() {
    return ca.issue("d", b -> b.validity(start, start.plus(Duration.ofDays(30)))).certificate();
  }

  @Test
  void dueAt_twoThirdsWithoutJitter() {
    assertEquals(start.plus(Duration.ofDays(20)), new RenewalPolicy(2.0 / 3.0, null, 0).dueAt(thirtyDays()));
  }

  @Test
  void dueAt_renewBeforeOverridesTheFraction() {
    assertEquals(start.plus(Duration.ofDays(23)), new RenewalPolicy(0.5, Duration.ofDays(7), 0).dueAt(thirtyDays()));
  }

  @Test
  void dueAt_jitterIsEarlierBoundedStableAndDifferentPerCertificate() {
    RenewalPolicy policy = new RenewalPolicy(2.0 / 3.0, null, 0.1);
    X509Certificate one = thirtyDays();
    X509Certificate two = thirtyDays();

    Instant due = policy.dueAt(one);

    assertTrue(!due.isAfter(start.plus(Duration.ofDays(20))) && !due.isBefore(start.plus(Duration.ofDays(17))), due.toString());
    assertEquals(due, policy.dueAt(one), "stable across calls and restarts");
    assertNotEquals(due, policy.dueAt(two), "two certificates, two dates");
  }

  @Test
  void dueAt_neverBeforeATenthOfTheLifetime_soALongRenewBeforeCannotLoop() {
    // renewBefore longer than the lifetime would make every new certificate due at once.
    assertEquals(start.plus(Duration.ofDays(3)), new RenewalPolicy(0.5, Duration.ofDays(90), 0).dueAt(thirtyDays()));
  }
}
