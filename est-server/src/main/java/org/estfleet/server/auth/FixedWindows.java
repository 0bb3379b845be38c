package org.estfleet.server.auth;

import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;

/**
 * Event counts per key over fixed windows of one length (a window opens with its key's first
 * event and closes {@code length} later), for the rate limits. Keeps at most {@code maxTracked}
 * keys, in the order their windows opened: a new window drops the closed ones at the head of
 * that order, and beyond {@code maxTracked} the oldest open ones, whose keys start afresh. A
 * limit forgets a key rather than let memory grow with the number of keys (claimed identities
 * are the client's to choose), and no event costs more than the windows it drops: a fleet of
 * more devices than {@code maxTracked} renewing within one window is counted at the same cost
 * per request as a small one.
 */
final class FixedWindows {
  /** A key's open window: when it opened, and how many events it counted. */
  record Window(Instant start, int count) {}

  private final Duration length;
  private final int maxTracked;
  /** Guarded by itself; in the order the windows opened (a reopened window moves to the end). */
  private final LinkedHashMap<String, Window> windows = new LinkedHashMap<>();

  FixedWindows(Duration length, int maxTracked) {
    if (maxTracked < 1) {
      throw new IllegalArgumentException("maxTracked must be at least 1");
    }
    this.length = length;
    this.maxTracked = maxTracked;
  }

  /** Counts an event for {@code key} and returns its window. */
  Window count(String key, Instant now) {
    synchronized (windows) {
      Window old = windows.get(key);
      if (old != null && isOpen(old, now)) {
        Window counted = new Window(old.start(), old.count() + 1);
        windows.put(key, counted); // keeps its place: its window opened when it did
        return counted;
      }
      if (old != null) {
        windows.remove(key);
      }
      Window opened = new Window(now, 1);
      windows.put(key, opened);
      dropOldest(now);
      return opened;
    }
  }

  /**
   * Counts an event for {@code key} only if its open window has counted fewer than {@code limit}:
   * the check and the count as one step, so that concurrent events cannot all pass one limit.
   *
   * @return whether it was counted
   */
  boolean countIfBelow(String key, Instant now, int limit) {
    synchronized (windows) {
      if (countNow(key, now) >= limit) {
        return false;
      }
      count(key, now);
      return true;
    }
  }

  /** Takes back one event of {@code key}'s open window (one counted for what did not happen). */
  void uncount(String key, Instant now) {
    synchronized (windows) {
      Window old = windows.get(key);
      if (old != null && isOpen(old, now) && old.count() > 0) {
        windows.put(key, new Window(old.start(), old.count() - 1));
      }
    }
  }

  /** How many events {@code key} counted in its open window (0 when it has none). */
  int countNow(String key, Instant now) {
    Window window = get(key);
    return window != null && isOpen(window, now) ? window.count() : 0;
  }

  /** How long until the open window of {@code key} closes (zero when it has none). */
  Duration left(String key, Instant now) {
    Window window = get(key);
    return window == null || !isOpen(window, now) ? Duration.ZERO : Duration.between(now, window.start().plus(length));
  }

  /** How many keys are tracked now. */
  int tracked() {
    synchronized (windows) {
      return windows.size();
    }
  }

  private Window get(String key) {
    synchronized (windows) {
      return windows.get(key);
    }
  }

  /** Drops closed windows from the head of the order, and open ones while there are too many. */
  private void dropOldest(Instant now) {
    for (Iterator<Window> oldest = windows.values().iterator(); oldest.hasNext(); ) {
      Window window = oldest.next();
      if (isOpen(window, now) && windows.size() <= maxTracked) {
        return;
      }
      oldest.remove();
    }
  }

  private boolean isOpen(Window window, Instant now) {
    return now.isBefore(window.start().plus(length));
  }
}
