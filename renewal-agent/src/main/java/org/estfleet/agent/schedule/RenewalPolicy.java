package org.estfleet.agent.schedule;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import org.estfleet.agent.store.AgentConfig;

/**
 * When a certificate is due for renewal: at a fraction of its lifetime (default 2/3), or a fixed
 * time before expiry, made earlier by a jitter of up to a fraction of the lifetime. The jitter is
 * derived from the certificate's serial number: stable across restarts (a restart never moves
 * the date), different for every device and every certificate (a fleet enrolled in one hour
 * spreads its renewals).
 */
public record RenewalPolicy(double fraction, Duration renewBefore, double jitter) {
  public static RenewalPolicy of(AgentConfig.Renewal renewal) {
    return new RenewalPolicy(renewal.fraction(), renewal.renewBefore(), renewal.jitter());
  }

  /**
   * The instant renewal becomes due; never before a tenth of the certificate's lifetime has
   * passed, so that a {@code renewBefore} as long as the lifetime (a label whose certificates are
   * shorter than the setting assumed) renews every tenth of it, not again at once, in a loop.
   */
  public Instant dueAt(X509Certificate certificate) {
    Instant notBefore = certificate.getNotBefore().toInstant();
    Instant notAfter = certificate.getNotAfter().toInstant();
    Duration lifetime = Duration.between(notBefore, notAfter);
    Instant base = renewBefore != null
        ? notAfter.minus(renewBefore)
        : notBefore.plusMillis((long) (lifetime.toMillis() * fraction));
    Instant due = base.minusMillis((long) (lifetime.toMillis() * jitter * unitJitter(certificate)));
    Instant earliest = notBefore.plusMillis(lifetime.toMillis() / 10);
    return due.isBefore(earliest) ? earliest : due;
  }

  /** A number in [0, 1) fixed by the certificate's serial number. */
  static double unitJitter(X509Certificate certificate) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(certificate.getSerialNumber().toByteArray());
      return (ByteBuffer.wrap(digest).getLong() >>> 11) * 0x1.0p-53;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }
}
