package org.estfleet.json;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as people write them in configuration files and on command lines: {@code 30d},
 * {@code 12h}, {@code 1h30m}, {@code 45s}, {@code 250ms}, or ISO-8601 ({@code P30D},
 * {@code PT12H}). Negative durations are refused: no setting in EST Fleet means one.
 */
public final class DurationText {
  private static final Pattern PART = Pattern.compile("(\\d+)(ms|d|h|m|s)");

  private DurationText() {}

  /**
   * Parses a duration.
   *
   * @throws IllegalArgumentException with the text and the accepted forms
   */
  public static Duration parse(String text) {
    String trimmed = text == null ? "" : text.trim();
    if (trimmed.isEmpty()) {
      throw invalid(text);
    }
    if (trimmed.charAt(0) == 'P' || trimmed.charAt(0) == 'p') {
      try {
        Duration duration = Duration.parse(trimmed.toUpperCase(Locale.ROOT));
        if (duration.isNegative()) {
          throw invalid(text);
        }
        return duration;
      } catch (DateTimeParseException e) {
        throw invalid(text);
      }
    }
    Matcher matcher = PART.matcher(trimmed.toLowerCase(Locale.ROOT));
    Duration total = Duration.ZERO;
    int end = 0;
    while (matcher.find() && matcher.start() == end) {
      long amount;
      try {
        amount = Long.parseLong(matcher.group(1));
        total = total.plus(switch (matcher.group(2)) {
          case "d" -> Duration.ofDays(amount);
          case "h" -> Duration.ofHours(amount);
          case "m" -> Duration.ofMinutes(amount);
          case "s" -> Duration.ofSeconds(amount);
          default -> Duration.ofMillis(amount);
        });
      } catch (NumberFormatException | ArithmeticException e) {
        throw invalid(text);
      }
      end = matcher.end();
    }
    if (end != trimmed.length()) {
      throw invalid(text);
    }
    return total;
  }

  /** The shortest form {@link #parse} reads back, e.g. {@code 30d}, {@code 1h30m}, {@code 0s}. */
  public static String format(Duration duration) {
    if (duration.isNegative()) {
      throw new IllegalArgumentException("negative duration " + duration);
    }
    if (duration.getNano() % 1_000_000 != 0) {
      return duration.toString();
    }
    if (duration.isZero()) {
      return "0s";
    }
    StringBuilder text = new StringBuilder();
    append(text, duration.toDays(), "d");
    append(text, duration.toHoursPart(), "h");
    append(text, duration.toMinutesPart(), "m");
    append(text, duration.toSecondsPart(), "s");
    append(text, duration.toMillisPart(), "ms");
    return text.toString();
  }

  private static void append(StringBuilder text, long amount, String unit) {
    if (amount != 0) {
      text.append(amount).append(unit);
    }
  }

  private static IllegalArgumentException invalid(String text) {
    return new IllegalArgumentException(
        "invalid duration '" + text + "': use e.g. 30d, 12h, 1h30m, 45s, 250ms or ISO-8601 (P30D)");
  }
}
