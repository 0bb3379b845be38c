package org.estfleet.agent.store;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import org.estfleet.est.EstPath;
import org.estfleet.pki.DeviceIdentity;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.tls.TlsProvider;

/**
 * The agent's settings, {@code agent.json} in its state directory. {@code renewal-agent enroll}
 * writes it with every default; absent keys take their defaults.
 *
 * @param identity the device identity: the CN of every certificate it requests
 * @param endpoints EST servers and gateways ({@code https://host:port}), in failover order
 * @param label the EST label, {@code ""} for none
 * @param keyType the key generated for each certificate
 * @param reuseKey keep the current key on renewal instead of generating a new one
 * @param popLinking always link each CSR to the TLS connection that carries it (RFC 7030
 *     section 3.5): over TLS 1.2 with Bouncy Castle's TLS provider, the connection's
 *     {@code tls-unique} in the CSR's challengePassword. Without it, CSRs are linked whenever the
 *     server's {@code /csrattrs} (read with each trust refresh) asks for challengePassword.
 * @param tls the TLS implementation of the agent's connections
 */
public record AgentConfig(
    String identity,
    List<URI> endpoints,
    String label,
    KeyAlgorithm keyType,
    Boolean reuseKey,
    Renewal renewal,
    Retry retry,
    Timeouts timeouts,
    Trust trust,
    Hook postRenewHook,
    Idevid idevid,
    Boolean popLinking,
    Tls tls) {

  public AgentConfig {
    if (identity == null || identity.isBlank() || identity.chars().anyMatch(Character::isISOControl)) {
      throw new IllegalArgumentException("identity: the device's identity (its certificates' CN) is "
          + (identity == null ? "missing" : "'" + identity + "', not a name"));
    }
    if (identity.length() > DeviceIdentity.MAX_ENROLLED_LENGTH) {
      throw new IllegalArgumentException("identity: " + identity.length() + " characters, more than the "
          + DeviceIdentity.MAX_ENROLLED_LENGTH + " a certificate's CN holds (RFC 5280)");
    }
    if (endpoints == null || endpoints.isEmpty()) {
      throw new IllegalArgumentException("endpoints: at least one EST server is needed");
    }
    List<URI> normalized = new java.util.ArrayList<>();
    for (URI endpoint : endpoints) {
      if (endpoint == null || !EstPath.isServerUrl(endpoint)) {
        throw new IllegalArgumentException("endpoints: '" + endpoint + "' is not an https://host[:port] URL "
            + "(no path, query or user info; the port 1 to 65535)");
      }
      // https://host:port/ is the same server as https://host:port: one entry, one spelling.
      URI server = URI.create("https://" + endpoint.getRawAuthority());
      if (!normalized.contains(server)) {
        normalized.add(server);
      }
    }
    endpoints = List.copyOf(normalized);
    label = label == null ? "" : label;
    if (!label.isEmpty()) {
      EstPath.checkLabel(label);
    }
    keyType = keyType == null ? KeyAlgorithm.EC_P256 : keyType;
    reuseKey = reuseKey != null && reuseKey;
    renewal = renewal == null ? new Renewal(null, null, null) : renewal;
    retry = retry == null ? new Retry(null, null) : retry;
    timeouts = timeouts == null ? new Timeouts(null, null) : timeouts;
    trust = trust == null ? new Trust(null) : trust;
    popLinking = popLinking != null && popLinking;
    tls = tls == null ? new Tls(null) : tls;
  }

  /**
   * When to renew.
   *
   * @param fraction renew when this fraction of the lifetime has passed (default 2/3)
   * @param renewBefore if set, renew this long before expiry instead
   * @param jitter up to this fraction of the lifetime earlier, different for every device and
   *     certificate, so that a fleet enrolled together does not renew together
   */
  public record Renewal(Double fraction, Duration renewBefore, Double jitter) {
    public Renewal {
      fraction = fraction == null ? 2.0 / 3.0 : fraction;
      if (fraction <= 0 || fraction >= 1) {
        throw new IllegalArgumentException("renewal.fraction " + fraction + " is not between 0 and 1");
      }
      jitter = jitter == null ? 0.05 : jitter;
      if (jitter < 0 || jitter >= fraction) {
        throw new IllegalArgumentException("renewal.jitter " + jitter + " is not between 0 and renewal.fraction");
      }
    }
  }

  /** Capped exponential backoff with full jitter between failed attempts. */
  public record Retry(Duration initial, Duration max) {
    public Retry {
      initial = initial == null ? Duration.ofSeconds(30) : initial;
      max = max == null ? Duration.ofHours(6) : max;
      // At least a second: a retry loop of milliseconds against a CA is a flood, not a backoff.
      if (initial.compareTo(Duration.ofSeconds(1)) < 0 || max.compareTo(initial) < 0) {
        throw new IllegalArgumentException("retry: initial must be at least 1s and not above max");
      }
    }
  }

  /** Network timeouts; the Bouncy Castle EST client has none of its own. */
  public record Timeouts(Duration connect, Duration read) {
    public Timeouts {
      connect = connect == null ? Duration.ofSeconds(10) : connect;
      read = read == null ? Duration.ofSeconds(30) : read;
      if (connect.isZero() || read.isZero()) {
        throw new IllegalArgumentException("timeouts must be positive");
      }
    }
  }

  /** How often {@code /cacerts} is fetched to refresh the trust anchors. */
  public record Trust(Duration refreshInterval) {
    public Trust {
      refreshInterval = refreshInterval == null ? Duration.ofDays(1) : refreshInterval;
      if (refreshInterval.compareTo(Duration.ofMinutes(1)) < 0) {
        throw new IllegalArgumentException("trust.refreshInterval must be at least 1m");
      }
    }
  }

  /**
   * A command run after each new certificate is installed (e.g. to reload a service). Its
   * failure is reported, never fatal.
   *
   * @param command the program and its arguments (no shell unless you name one)
   */
  public record Hook(List<String> command, Duration timeout) {
    public Hook {
      if (command == null || command.isEmpty()) {
        throw new IllegalArgumentException("postRenewHook.command is empty");
      }
      command = List.copyOf(command);
      timeout = timeout == null ? Duration.ofSeconds(60) : timeout;
    }
  }

  /**
   * The TLS of the agent's connections (a PoP-linked request always goes over Bouncy Castle's,
   * on TLS 1.2, whatever this says).
   *
   * @param provider {@code SunJSSE} (the JDK's, the default) or {@code BCJSSE} (Bouncy Castle's,
   *     which offers the hybrid post-quantum key exchange X25519MLKEM768 first: a server that has
   *     it uses it on TLS 1.3, so that a recording of the connection cannot be decrypted later
   *     by a quantum computer)
   */
  public record Tls(TlsProvider provider) {
    public Tls {
      provider = provider == null ? TlsProvider.SUN_JSSE : provider;
    }
  }

  /** The manufacturer-installed certificate and key used to bootstrap again if the certificate expires. */
  public record Idevid(Path certificate, Path key) {
    public Idevid {
      Objects.requireNonNull(certificate, "idevid.certificate");
      Objects.requireNonNull(key, "idevid.key");
    }
  }
}
