package org.estfleet.server.auth;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Event counts per key over fixed windows of one length (a window opens with its key's first
 * event and closes {@code length} later), for the rate limits. Keeps at most about
 * {@code maxTracked} keys: beyond that, closed windows are dropped.
 */
final class FixedWindows {
  /** A key's open window: when it opened, and how many events it counted. */
  record Window(Instant start, int count) {}

  private final Duration length;
  private final int maxTracked;
  private final Map<String, Window> windows = new ConcurrentHashMap<>();

  FixedWindows(Duration length, int maxTracked) {
    this.length = length;
    this.maxTracked = maxTracked;
  }

  /** Counts an event for {@code key} and returns its window. */
  Window count(String key, Instant now) {
    if (windows.size() > maxTracked) {
      windows.values().removeIf(window -> !isOpen(window, now));
    }
    return windows.merge(key, new Window(now, 1), (old, fresh) -> isOpen(old, now)
        ? new Window(old.start(), old.count() + 1)
        : fresh);
  }

  /** How many events {@code key} counted in its open window (0 when it has none). */
  int countNow(String key, Instant now) {
    Window window = windows.get(key);
    return window != null && isOpen(window, now) ? window.count() : 0;
  }

  /** How long until the open window of {@code key} closes (zero when it has none). */
  Duration left(String key, Instant now) {
    Window window = windows.get(key);
    return window == null || !isOpen(window, now) ? Duration.ZERO : Duration.between(now, window.start().plus(length));
  }

  private boolean isOpen(Window window, Instant now) {
    return now.isBefore(window.start().plus(length));
  }
}
