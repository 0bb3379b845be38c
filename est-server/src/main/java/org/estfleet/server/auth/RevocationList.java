package org.estfleet.server.auth;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import org.estfleet.server.store.Revocations;
import org.estfleet.server.store.Revocations.Revocation;

/**
 * The revoked certificates a running server knows ({@code est-server revoke} writes them to the
 * database, from another process): read at the first look-up, then the new ones at most every
 * {@link #REFRESH} by the server's clock, so that a revocation takes effect within that without a
 * restart, and a request costs a map look-up, not a database read.
 */
public final class RevocationList {
  /** How stale the list may be: how long a revocation may take to reach a running server. */
  public static final Duration REFRESH = Duration.ofSeconds(2);

  private final Revocations store;
  private final Clock clock;
  private final Map<String, Revocation> revoked = new ConcurrentHashMap<>();
  private final ReentrantLock reading = new ReentrantLock();
  private volatile long lastRowId;
  private volatile Instant nextRead = Instant.MIN;

  public RevocationList(Revocations store, Clock clock) {
    this.store = store;
    this.clock = clock;
  }

  /** The revocation of certificate {@code serial} (lower-case hex), if it was revoked. */
  public Optional<Revocation> find(String serial) {
    Instant now = clock.instant();
    // One request reads the new revocations; the others meanwhile use the list as it was.
    if (!now.isBefore(nextRead) && reading.tryLock()) {
      try {
        if (!now.isBefore(nextRead)) {
          for (Revocation revocation : store.since(lastRowId)) {
            revoked.put(revocation.serial(), revocation);
            lastRowId = revocation.rowId();
          }
          nextRead = now.plus(REFRESH);
        }
      } finally {
        reading.unlock();
      }
    }
    return Optional.ofNullable(revoked.get(serial));
  }
}
