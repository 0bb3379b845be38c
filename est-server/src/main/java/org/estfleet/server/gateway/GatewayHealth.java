package org.estfleet.server.gateway;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.estfleet.server.store.PendingEnrollments;

/**
 * What {@code GET /health} reports on a gateway. {@code status} is {@code ok} when the upstream
 * answers and the {@code /cacerts} copy is fresh, else {@code degraded}: the gateway still
 * accepts enrollments then, so the HTTP status stays 200.
 */
public record GatewayHealth(String mode, String status, UpstreamHealth upstream, QueueHealth queue,
    CacheHealth cacerts) {

  /** The upstream's state and since when. */
  public record UpstreamHealth(String url, String state, Instant since, String lastError) {}

  /**
   * The store-and-forward queue.
   *
   * @param pending requests waiting for the upstream
   * @param answered answers waiting for their device to collect them
   * @param oldestPendingAgeSeconds age of the oldest waiting request, or null when none waits
   */
  public record QueueHealth(long pending, long answered, int limit, Long oldestPendingAgeSeconds,
      Instant oldestPendingSince) {}

  /** The copy of the upstream's {@code /cacerts}. */
  public record CacheHealth(Instant fetchedAt, Long ageSeconds, boolean stale, long staleAfterSeconds) {}

  /** The report now. */
  public static GatewayHealth of(Upstream upstream, UpstreamMirror mirror, PendingEnrollments queue, int queueLimit,
      Duration staleAfter, Clock clock) {
    Instant now = clock.instant();
    Upstream.Status status = upstream.status();
    PendingEnrollments.Depth depth = queue.depth();
    Instant fetchedAt = mirror.fetchedAt().orElse(null);
    boolean stale = mirror.stale();
    boolean ok = status.state() == Upstream.State.UP && !stale;
    return new GatewayHealth("gateway", ok ? "ok" : "degraded",
        new UpstreamHealth(upstream.uri().toString(), status.state().name().toLowerCase(java.util.Locale.ROOT),
            status.since(), status.lastError()),
        new QueueHealth(depth.pending(), depth.answered(), queueLimit,
            depth.oldestPending() == null ? null : Duration.between(depth.oldestPending(), now).toSeconds(),
            depth.oldestPending()),
        new CacheHealth(fetchedAt, fetchedAt == null ? null : Duration.between(fetchedAt, now).toSeconds(), stale,
            staleAfter.toSeconds()));
  }
}
