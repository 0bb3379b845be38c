package org.estfleet.server.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class FixedWindowsTest {
  private static final Instant T0 = Instant.parse("2026-12-03T08:00:00Z");
  private static final Duration TEN_SECONDS = Duration.ofSeconds(10);

  @Test
  void eventsCountWithinAWindow_andAfreshOnceItCloses() {
    FixedWindows windows = new FixedWindows(TEN_SECONDS, 100);

    windows.count("a", T0);
    windows.count("a", T0.plusSeconds(4));
    assertEquals(3, windows.count("a", T0.plusSeconds(9)).count());
    assertEquals(3, windows.countNow("a", T0.plusSeconds(9)));
    assertEquals(Duration.ofSeconds(1), windows.left("a", T0.plusSeconds(9)));

    assertEquals(0, windows.countNow("a", T0.plusSeconds(10)));
    assertEquals(Duration.ZERO, windows.left("a", T0.plusSeconds(10)));
    FixedWindows.Window reopened = windows.count("a", T0.plusSeconds(10));
    assertEquals(1, reopened.count());
    assertEquals(T0.plusSeconds(10), reopened.start());
  }

  @Test
  void countIfBelow_countsUpToTheLimit_andUncountGivesOneBack() {
    FixedWindows windows = new FixedWindows(TEN_SECONDS, 100);

    assertTrue(windows.countIfBelow("a", T0, 2));
    assertTrue(windows.countIfBelow("a", T0.plusSeconds(1), 2));
    assertFalse(windows.countIfBelow("a", T0.plusSeconds(2), 2));
    assertEquals(2, windows.countNow("a", T0.plusSeconds(2)), "a refused event is not counted");
    windows.uncount("a", T0.plusSeconds(3));
    assertTrue(windows.countIfBelow("a", T0.plusSeconds(4), 2));
    windows.uncount("b", T0); // no window: nothing to give back
    assertEquals(0, windows.countNow("b", T0));
  }

  @Test
  void closedWindowsAreDroppedAsNewOnesOpen() {
    FixedWindows windows = new FixedWindows(TEN_SECONDS, 100);
    windows.count("a", T0);
    windows.count("b", T0.plusSeconds(1));
    windows.count("c", T0.plusSeconds(5));

    windows.count("d", T0.plusSeconds(11)); // a and b closed by now, c not

    assertEquals(2, windows.tracked());
    assertEquals(1, windows.countNow("c", T0.plusSeconds(11)));
  }

  @Test
  void moreKeysThanTracked_allWindowsOpen_theOldestAreForgottenAndMemoryStaysBounded() {
    FixedWindows windows = new FixedWindows(Duration.ofHours(1), 1_000);

    for (int i = 0; i < 5_000; i++) {
      windows.count("device-" + i, T0.plusMillis(i));
    }
    Instant now = T0.plusSeconds(5);

    assertEquals(1_000, windows.tracked());
    assertEquals(0, windows.countNow("device-0", now));
    assertEquals(0, windows.countNow("device-3999", now));
    assertEquals(1, windows.countNow("device-4000", now));
    assertEquals(2, windows.count("device-4999", now).count());
    // a forgotten key starts afresh, and displaces the oldest remaining one
    assertEquals(1, windows.count("device-0", now).count());
    assertEquals(1_000, windows.tracked());
    assertEquals(0, windows.countNow("device-4000", now));
  }

  @Test
  void aReopenedWindowTakesItsPlaceAmongTheNewest() {
    FixedWindows windows = new FixedWindows(TEN_SECONDS, 2);
    windows.count("a", T0);
    windows.count("b", T0.plusSeconds(1));

    windows.count("a", T0.plusSeconds(10)); // a's window closed: it opens again, after b's
    windows.count("c", T0.plusSeconds(10)); // three keys for two places: b's is the oldest window

    assertEquals(2, windows.tracked());
    assertEquals(1, windows.countNow("a", T0.plusSeconds(10)));
    assertEquals(0, windows.countNow("b", T0.plusSeconds(10)));
    assertEquals(1, windows.countNow("c", T0.plusSeconds(10)));
  }

  @Test
  void countingAnOpenWindowKeepsItsPlace() {
    FixedWindows windows = new FixedWindows(TEN_SECONDS, 2);
    windows.count("a", T0);
    windows.count("b", T0.plusSeconds(1));
    windows.count("a", T0.plusSeconds(2)); // still a's first window, opened before b's

    windows.count("c", T0.plusSeconds(3));

    assertEquals(0, windows.countNow("a", T0.plusSeconds(3)));
    assertEquals(1, windows.countNow("b", T0.plusSeconds(3)));
    assertEquals(1, windows.countNow("c", T0.plusSeconds(3)));
  }
}
