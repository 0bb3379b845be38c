package org.estfleet.json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DurationTextTest {
  @Test
  void parse_compactForms() {
    assertEquals(Duration.ofDays(30), DurationText.parse("30d"));
    assertEquals(Duration.ofMinutes(90), DurationText.parse("1h30m"));
    assertEquals(Duration.ofMillis(250), DurationText.parse("250ms"));
    assertEquals(Duration.ofSeconds(45), DurationText.parse(" 45S "));
    assertEquals(Duration.ZERO, DurationText.parse("0s"));
  }

  @Test
  void parse_iso8601() {
    assertEquals(Duration.ofDays(30), DurationText.parse("P30D"));
    assertEquals(Duration.ofHours(12), DurationText.parse("pt12h"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "30", "d", "30x", "1h 30m", "-5s", "PT-5S", "1.5h", "99999999999999999999d"})
  void parse_rejectsWithHelpfulMessage(String text) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DurationText.parse(text));

    assertEquals("invalid duration '" + text + "': use e.g. 30d, 12h, 1h30m, 45s, 250ms or ISO-8601 (P30D)",
        e.getMessage());
  }

  @Test
  void format_isShortestReadableFormAndRoundTrips() {
    for (Duration d : new Duration[] {Duration.ofDays(30), Duration.ofMinutes(90), Duration.ZERO,
        Duration.ofMillis(1500), Duration.ofDays(1).plusSeconds(1)}) {
      assertEquals(d, DurationText.parse(DurationText.format(d)));
    }
    assertEquals("30d", DurationText.format(Duration.ofDays(30)));
    assertEquals("1h30m", DurationText.format(Duration.ofMinutes(90)));
    assertEquals("1s500ms", DurationText.format(Duration.ofMillis(1500)));
  }
}
