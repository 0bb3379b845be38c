package org.estfleet.server.gateway;

import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.estfleet.est.CertsOnly;
import org.estfleet.est.CsrAttributes;
import org.estfleet.est.EstException;
import org.estfleet.est.client.CaCertsOutcome;
import org.estfleet.est.client.CsrAttrsOutcome;
import org.estfleet.est.client.Failure;
import org.estfleet.pki.Certificates;
import org.estfleet.server.store.UpstreamCache;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's copies of the upstream's {@code /cacerts} and {@code /csrattrs}, per label: kept
 * in the database (a restarted gateway serves them before the upstream is back) and in memory,
 * refreshed by {@link Forwarder}. Their age is reported in health; beyond
 * {@code gateway.cacheStaleAfter} they are reported stale there and in the log.
 */
public final class UpstreamMirror {
  private static final Logger LOG = LoggerFactory.getLogger(UpstreamMirror.class);
  private static final String CACERTS = "cacerts/";
  private static final String CSRATTRS = "csrattrs/";
  /** How often at most {@link #refreshForIssuerOf} fetches the copies again. */
  static final Duration ISSUER_REFRESH_INTERVAL = Duration.ofMinutes(1);

  private final Upstream upstream;
  private final UpstreamCache store;
  private final List<String> labels;
  private final Duration staleAfter;
  private final Duration retryAfter;
  private final Clock clock;
  private final Map<String, Copy> copies = new ConcurrentHashMap<>();
  /**
   * The upstream's refusals (4xx) of a copy's fetch, by copy: a label in {@code gateway.labels}
   * the upstream does not have. Told to devices that ask for that copy, logged, and in health.
   */
  private final Map<String, Failure> refusals = new ConcurrentHashMap<>();
  private final List<Consumer<List<X509Certificate>>> anchorListeners = new CopyOnWriteArrayList<>();
  /** The anchors every listener has taken; null until the first copy. Only under this mirror's lock. */
  private Set<X509Certificate> followed;
  /** When {@link #refreshForIssuerOf} last fetched again; null if never. Only under this mirror's lock. */
  private Instant issuerRefreshAt;
  private volatile boolean reportedStale;

  /** One cached answer with its certificates decoded. */
  private record Copy(UpstreamCache.Entry entry, List<X509Certificate> certificates) {}

  /**
   * @param labels the labels served, {@code ""} (no label) among them
   * @param retryAfter what to tell a client when there is no copy yet
   */
  public UpstreamMirror(Upstream upstream, UpstreamCache store, List<String> labels, Duration staleAfter,
      Duration retryAfter, Clock clock) {
    this.upstream = upstream;
    this.store = store;
    this.labels = List.copyOf(labels);
    this.staleAfter = staleAfter;
    this.retryAfter = retryAfter;
    this.clock = clock;
    for (String label : this.labels) {
      store.get(CACERTS + label).ifPresent(entry -> remember(entry));
      store.get(CSRATTRS + label).ifPresent(entry -> remember(entry));
    }
    followed = new HashSet<>(anchors());
  }

  /** Stores a fetched {@code /cacerts} (also used by {@code init --gateway}). */
  public static void storeCaCertificates(UpstreamCache store, String label, List<X509Certificate> certificates,
      Instant fetchedAt) {
    store.put(new UpstreamCache.Entry(CACERTS + label, 200, CertsOnly.encode(certificates), fetchedAt));
  }

  /**
   * Stores a fetched {@code /csrattrs} (also used by {@code init --gateway}): its attributes, or
   * none (204).
   */
  public static UpstreamCache.Entry storeCsrAttributes(UpstreamCache store, String label, CsrAttrsOutcome.Fetched fetched,
      Instant fetchedAt) {
    UpstreamCache.Entry entry = fetched.der().isPresent()
        ? new UpstreamCache.Entry(CSRATTRS + label, 200, fetched.der().get(), fetchedAt)
        : new UpstreamCache.Entry(CSRATTRS + label, 204, null, fetchedAt);
    store.put(entry);
    return entry;
  }

  /** The cached {@code /cacerts} of a label. */
  public List<X509Certificate> caCertificates(String label) throws EstException {
    Copy copy = copies.get(CACERTS + label);
    if (copy == null) {
      throw noCopy(CACERTS + label, "/cacerts");
    }
    return copy.certificates();
  }

  /** The cached {@code /csrattrs} of a label; empty when the upstream answered 204. */
  public Optional<CsrAttributes> csrAttributes(String label) throws EstException {
    Copy copy = copies.get(CSRATTRS + label);
    if (copy == null) {
      throw noCopy(CSRATTRS + label, "/csrattrs");
    }
    if (copy.entry().status() == 204) {
      return Optional.empty();
    }
    try {
      return Optional.of(CsrAttributes.decode(copy.entry().body()));
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException("the cached /csrattrs does not decode: " + e.getMessage(), e);
    }
  }

  /** The upstream CA's certificates (of requests without a label): what device certificates must chain to. */
  public List<X509Certificate> anchors() {
    Copy copy = copies.get(CACERTS);
    return copy == null ? List.of() : copy.certificates();
  }

  /**
   * Calls {@code listener} with the new {@link #anchors} whenever a refresh finds them changed
   * (the upstream's root rollover): what the gateway names to its clients follows. Until every
   * listener has taken a change, each refresh offers it again.
   */
  public void onAnchorsChange(Consumer<List<X509Certificate>> listener) {
    anchorListeners.add(listener);
  }

  /** When the {@code /cacerts} without a label was fetched; empty if never. */
  public Optional<Instant> fetchedAt() {
    Copy copy = copies.get(CACERTS);
    return copy == null ? Optional.empty() : Optional.of(copy.entry().fetchedAt());
  }

  /** Whether the copy is older than the stale limit (or missing). */
  public boolean stale() {
    return fetchedAt().map(at -> Duration.between(at, clock.instant()).compareTo(staleAfter) > 0).orElse(true);
  }

  /**
   * Fetches every label's {@code /cacerts} and {@code /csrattrs} again.
   *
   * @return whether all were fetched
   */
  public synchronized boolean refresh() {
    boolean complete = true;
    for (String label : labels) {
      CaCertsOutcome caCerts = upstream.caCertificates(label);
      if (caCerts instanceof CaCertsOutcome.Fetched fetched && label.isEmpty()) {
        upstream.dropRetiredRoots(anchors(), fetched.certificates());
      }
      if (caCerts instanceof CaCertsOutcome.Fetched fetched) {
        storeCaCertificates(store, label, fetched.certificates(), clock.instant());
        store.get(CACERTS + label).ifPresent(this::remember);
        accepted(CACERTS + label, "/cacerts" + labelled(label));
      } else if (caCerts instanceof CaCertsOutcome.Failed failed) {
        complete = false;
        failed(CACERTS + label, "/cacerts" + labelled(label), failed.failure());
        if (!failed.failure().refusesTheRequest()) {
          continue; // the upstream is out of reach: not again for /csrattrs now
        }
        if (failed.failure().status() == 404) {
          // No such label upstream: its /csrattrs is refused alike (a 404 there could also read
          // as "no attributes", RFC 7030 section 4.5.2, which devices must not be told).
          failed(CSRATTRS + label, "/csrattrs" + labelled(label), failed.failure());
          continue;
        }
      }
      CsrAttrsOutcome csrAttrs = upstream.csrAttributes(label);
      if (csrAttrs instanceof CsrAttrsOutcome.Fetched fetched) {
        remember(storeCsrAttributes(store, label, fetched, clock.instant()));
        accepted(CSRATTRS + label, "/csrattrs" + labelled(label));
      } else if (csrAttrs instanceof CsrAttrsOutcome.Failed failed) {
        complete = false;
        failed(CSRATTRS + label, "/csrattrs" + labelled(label), failed.failure());
      }
    }
    reportStaleness();
    List<X509Certificate> anchorsNow = anchors();
    if (!new HashSet<>(anchorsNow).equals(followed)) {
      boolean taken = true;
      for (Consumer<List<X509Certificate>> listener : anchorListeners) {
        try {
          listener.accept(anchorsNow);
        } catch (RuntimeException e) {
          taken = false;
          LOG.error("the upstream's CA certificates changed, but the gateway could not follow (again at the next "
              + "refresh): {}", e.getMessage());
        }
      }
      if (taken) {
        followed = new HashSet<>(anchorsNow);
      }
    }
    return complete;
  }

  /**
   * Fetches the copies again now if {@code issued}, a certificate the upstream just issued, comes
   * from a CA the copy of {@code /cacerts} does not hold: a root rollover activated upstream since
   * the last refresh (every {@code gateway.cacheRefresh}). Until the copy holds the new chain,
   * devices could not validate what they are given, nor re-enroll here with it. At most once
   * a minute.
   *
   * @return whether the copies were fetched again
   */
  public boolean refreshForIssuerOf(X509Certificate issued) {
    if (holdsIssuerOf(issued, anchors())) {
      return false; // the common case, without waiting for a refresh under way
    }
    synchronized (this) {
      Instant now = clock.instant();
      if (holdsIssuerOf(issued, anchors())
          || issuerRefreshAt != null && now.isBefore(issuerRefreshAt.plus(ISSUER_REFRESH_INTERVAL))) {
        return false;
      }
      issuerRefreshAt = now;
      LOG.info("the upstream issued {} under a CA its /cacerts did not hold when last fetched: fetching it again",
          Certificates.describe(issued));
      try {
        refresh();
      } catch (RuntimeException e) {
        // The device's certificate is recorded all the same; the periodic refresh tries again.
        LOG.warn("fetching the upstream's /cacerts again failed: {}", e.getMessage());
      }
      return true;
    }
  }

  /**
   * Whether {@code cas} hold {@code issued}'s issuer: its name, and its key identifier where the
   * certificate and the CA both carry one (a CA re-keyed under its name). No signature is checked:
   * on every forwarded issuance, this only tells whether the copy is behind.
   */
  static boolean holdsIssuerOf(X509Certificate issued, List<X509Certificate> cas) {
    byte[] authority = keyIdentifier(issued, org.bouncycastle.asn1.x509.Extension.authorityKeyIdentifier);
    for (X509Certificate ca : cas) {
      if (ca.getSubjectX500Principal().equals(issued.getIssuerX500Principal())) {
        byte[] subject = keyIdentifier(ca, org.bouncycastle.asn1.x509.Extension.subjectKeyIdentifier);
        if (authority == null || subject == null || java.util.Arrays.equals(authority, subject)) {
          return true;
        }
      }
    }
    return false;
  }

  /** The key identifier of a certificate's authority or subject key identifier extension; null without one. */
  private static byte[] keyIdentifier(X509Certificate certificate, org.bouncycastle.asn1.ASN1ObjectIdentifier extension) {
    byte[] value = certificate.getExtensionValue(extension.getId());
    if (value == null) {
      return null;
    }
    try {
      byte[] inner = org.bouncycastle.asn1.ASN1OctetString.getInstance(value).getOctets();
      return extension.equals(org.bouncycastle.asn1.x509.Extension.authorityKeyIdentifier)
          ? org.bouncycastle.asn1.x509.AuthorityKeyIdentifier.getInstance(inner).getKeyIdentifier()
          : org.bouncycastle.asn1.x509.SubjectKeyIdentifier.getInstance(inner).getKeyIdentifier();
    } catch (RuntimeException malformed) {
      return null; // judged by name alone
    }
  }

  /**
   * A fetch that failed: an outage is the upstream's state (logged by it); a refusal is this
   * gateway's configuration (a label the upstream does not have), logged once when it begins.
   */
  private void failed(String name, String what, Failure failure) {
    if (!failure.refusesTheRequest()) {
      LOG.debug("cannot refresh {}: {}", what, failure.describe());
      return;
    }
    Failure before = refusals.put(name, failure);
    if (before == null || !before.message().equals(failure.message())) {
      LOG.warn("the upstream refuses {} to this gateway: {}; devices asking for it get the same refusal (check "
          + "gateway.labels in server.json)", what, failure.describe());
    }
  }

  private void accepted(String name, String what) {
    if (refusals.remove(name) != null) {
      LOG.info("the upstream serves {} again", what);
    }
  }

  /** The copies the upstream refuses (a label it does not have), with its reason: for health. */
  public Map<String, String> refused() {
    Map<String, String> refused = new java.util.TreeMap<>();
    refusals.forEach((name, failure) -> refused.put(name, failure.describe()));
    return refused;
  }

  /** Logs once when the copy turns stale, and once when it is fresh again: never silently stale. */
  private void reportStaleness() {
    boolean stale = stale();
    if (stale && !reportedStale) {
      LOG.warn("the cached /cacerts from upstream {} is stale: fetched {}, limit {}; devices get an old CA list",
          upstream.uri(), fetchedAt().map(Instant::toString).orElse("never"), staleAfter);
    } else if (!stale && reportedStale) {
      LOG.info("the cached /cacerts from upstream {} is fresh again", upstream.uri());
    }
    reportedStale = stale;
  }

  private void remember(UpstreamCache.Entry entry) {
    List<X509Certificate> certificates = new ArrayList<>();
    if (entry.name().startsWith(CACERTS)) {
      try {
        certificates.addAll(CertsOnly.decode(entry.body()));
      } catch (IllegalArgumentException e) {
        LOG.error("cached {} does not decode ({}); ignoring it", entry.name(), e.getMessage());
        return;
      }
    }
    copies.put(entry.name(), new Copy(entry, certificates));
  }

  private EstException noCopy(String name, String what) {
    Failure refused = refusals.get(name);
    if (refused != null) {
      return EstException.upstreamRefusal(refused.status(), refused.message());
    }
    Upstream.Status status = upstream.status();
    return EstException.serviceUnavailable("this gateway has no copy of the upstream's " + what + " yet (upstream "
        + status.state().name().toLowerCase(java.util.Locale.ROOT) + " since " + status.since() + "); retry later",
        retryAfter);
  }

  private static String labelled(String label) {
    return label.isEmpty() ? "" : " of label " + label;
  }
}
