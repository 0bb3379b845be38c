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
 * The revoked certificates and devices a running server knows ({@code est-server revoke} writes
 * them to the database, from another process): read in full by the first look-up, which every
 * other waits for, then the new ones at most every {@link #REFRESH} by the server's clock, so that
 * a revocation takes effect within that without a restart, and a request costs a map look-up, not
 * a database read.
 */
public final class RevocationList {
  /** How stale the list may be: how long a revocation may take to reach a running server. */
  public static final Duration REFRESH = Duration.ofSeconds(2);

  private final Revocations store;
  private final Clock clock;
  private final Map<String, Revocation> certificates = new ConcurrentHashMap<>();
  private final Map<String, Revocation> devices = new ConcurrentHashMap<>();
  private final ReentrantLock reading = new ReentrantLock();
  private volatile boolean read;
  private volatile long certificatesRead;
  private volatile long devicesRead;
  private volatile Instant lastRead = Instant.MIN;

  public RevocationList(Revocations store, Clock clock) {
    this.store = store;
    this.clock = clock;
  }

  /** The revocation of certificate {@code serial} (lower-case hex), if it was revoked. */
  public Optional<Revocation> find(String serial) {
    refresh();
    return Optional.ofNullable(certificates.get(serial));
  }

  /** The revocation of device {@code deviceId} as a whole, if it was revoked. */
  public Optional<Revocation> findDevice(String deviceId) {
    refresh();
    return Optional.ofNullable(devices.get(deviceId));
  }

  /** How a revocation is told: {@code "was revoked at TIME (REASON)"}. */
  public static String describe(Revocation revocation) {
    return "was revoked at " + revocation.revokedAt() + " (" + revocation.reason() + ")";
  }

  private void refresh() {
    Instant now = clock.instant();
    if (read && !due(now)) {
      return;
    }
    // Until the list was read once, every look-up waits for it; after, one request reads the new
    // revocations and the others meanwhile use the list as it was.
    if (read) {
      if (!reading.tryLock()) {
        return;
      }
    } else {
      reading.lock();
    }
    try {
      if (!read || due(now)) {
        for (Revocation revocation : store.certificatesSince(certificatesRead)) {
          certificates.put(revocation.id(), revocation);
          certificatesRead = revocation.rowId();
        }
        for (Revocation revocation : store.devicesSince(devicesRead)) {
          devices.put(revocation.id(), revocation);
          devicesRead = revocation.rowId();
        }
        lastRead = now;
        read = true;
      }
    } finally {
      reading.unlock();
    }
  }

  /** A read is due {@link #REFRESH} after the last, or at once if the clock went back before it. */
  private boolean due(Instant now) {
    Instant last = lastRead;
    return !now.isBefore(last.plus(REFRESH)) || now.isBefore(last);
  }
}
