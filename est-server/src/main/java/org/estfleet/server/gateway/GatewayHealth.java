package org.estfleet.server.gateway;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.estfleet.server.store.PendingEnrollments;

/**
 * What {@code GET /health} reports on a gateway. {@code status} is {@code ok} when the upstream
 * answers, the {@code /cacerts} copy is fresh and the gateway's certificate is valid, not failing
 * to renew and not refused by the upstream for forwarding, else {@code degraded}: the gateway still
 * accepts enrollments then, so the HTTP status stays 200.
 */
public record GatewayHealth(String mode, String status, UpstreamHealth upstream, QueueHealth queue,
    CacheHealth cacerts, CertificateHealth certificate) {

  /**
   * The gateway's own certificate: {@code ok}, {@code renewal-due} (from two thirds of its
   * lifetime until renewed), {@code expired}, or {@code refused-upstream} (the upstream refused
   * the last forward as not a gateway's: revoked, say); {@code lastError} is why the last renewal
   * failed, or the upstream's refusal.
   */
  public record CertificateHealth(String serial, Instant notAfter, Instant renewalDue, String state,
      String lastError) {}

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

  /**
   * The copy of the upstream's {@code /cacerts}; {@code refused}: the copies the upstream refuses
   * to this gateway (a label in {@code gateway.labels} it does not have), with its reason.
   */
  public record CacheHealth(Instant fetchedAt, Long ageSeconds, boolean stale, long staleAfterSeconds,
      java.util.Map<String, String> refused) {}

  /** The report now. */
  public static GatewayHealth of(Upstream upstream, UpstreamMirror mirror, PendingEnrollments queue, int queueLimit,
      Duration staleAfter, GatewayIdentity identity, Clock clock) {
    Instant now = clock.instant();
    Upstream.Status status = upstream.status();
    PendingEnrollments.Depth depth = queue.depth();
    Instant fetchedAt = mirror.fetchedAt().orElse(null);
    boolean stale = mirror.stale();
    // One read of the identity: a renewal switching it meanwhile does not mix two certificates.
    java.security.cert.X509Certificate certificate = identity.current().chain().get(0);
    GatewayIdentity.Validity validity = GatewayIdentity.validity(certificate, now);
    // Due for renewal is normal until an attempt fails; expired is never; nor one the upstream
    // refuses for forwarding (revoked, say).
    String refusedUpstream = identity.refusedUpstream();
    boolean certificateOk = refusedUpstream == null && (validity == GatewayIdentity.Validity.OK
        || (validity == GatewayIdentity.Validity.RENEWAL_DUE && identity.lastError() == null));
    java.util.Map<String, String> refused = mirror.refused();
    boolean ok = status.state() == Upstream.State.UP && !stale && certificateOk && refused.isEmpty();
    return new GatewayHealth("gateway", ok ? "ok" : "degraded",
        new UpstreamHealth(upstream.uri().toString(), status.state().name().toLowerCase(java.util.Locale.ROOT),
            status.since(), status.lastError()),
        new QueueHealth(depth.pending(), depth.answered(), queueLimit,
            depth.oldestPending() == null ? null : Duration.between(depth.oldestPending(), now).toSeconds(),
            depth.oldestPending()),
        new CacheHealth(fetchedAt, fetchedAt == null ? null : Duration.between(fetchedAt, now).toSeconds(), stale,
            staleAfter.toSeconds(), refused),
        new CertificateHealth(org.estfleet.pki.Certificates.serialHex(certificate),
            certificate.getNotAfter().toInstant(), GatewayIdentity.renewalDue(certificate),
            refusedUpstream != null ? "refused-upstream" : validity.label(),
            refusedUpstream != null ? refusedUpstream : identity.lastError()));
  }
}
