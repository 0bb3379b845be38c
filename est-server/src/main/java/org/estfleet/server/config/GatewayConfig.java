package org.estfleet.server.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import org.estfleet.est.EstPath;
import org.estfleet.json.DurationText;

/**
 * A gateway's upstream and its store-and-forward settings ({@code gateway} in
 * {@code server.json}).
 *
 * @param upstream the upstream EST server, {@code https://host:port}
 * @param upstreamTrust PEM file of the trust anchors that authenticate the upstream's TLS certificate
 * @param labels the upstream's labels this gateway serves, besides requests without a label
 * @param connectTimeout how long to wait for a connection to the upstream
 * @param readTimeout how long to wait for the upstream's answer
 * @param queueLimit the most requests waiting for the upstream; beyond it devices get 503
 * @param tokenQueueLimit the most of them authenticated by a token (checked only by the upstream,
 *     so anyone can send one): bogus ones cannot crowd out devices with certificates
 * @param pendingTtl how long a request waits for the upstream before it is dropped
 * @param answeredTtl how long the upstream's answer waits for the device to collect it
 * @param retryAfter the {@code Retry-After} told to devices whose request waits (202)
 * @param answerWithin how long a device's request waits for the upstream's answer to its forward
 *     before the device is told 202; the forward goes on, and the device's retry finds its outcome
 * @param forwardInterval how often the forwarder looks for work and probes a down upstream
 * @param maxBackoff the longest wait between two attempts to forward one request
 * @param cacheRefresh how often {@code /cacerts} and {@code /csrattrs} are fetched again
 * @param cacheStaleAfter the age beyond which the cached copies are reported stale
 */
public record GatewayConfig(
    String upstream,
    Path upstreamTrust,
    List<String> labels,
    Duration connectTimeout,
    Duration readTimeout,
    Integer queueLimit,
    Integer tokenQueueLimit,
    Duration pendingTtl,
    Duration answeredTtl,
    Duration retryAfter,
    Duration answerWithin,
    Duration forwardInterval,
    Duration maxBackoff,
    Duration cacheRefresh,
    Duration cacheStaleAfter) {

  public GatewayConfig {
    // A missing upstream is ServerConfig's to report: on a CA the whole section is out of place,
    // which Gson's order (this record before the one holding it) would otherwise hide.
    if (upstream != null) {
      upstreamUri(upstream);
    }
    upstreamTrust = upstreamTrust == null ? Path.of("upstream/trust.pem") : upstreamTrust;
    labels = labels == null ? List.of() : List.copyOf(labels);
    for (String label : labels) {
      EstPath.checkLabel(label);
    }
    if (new HashSet<>(labels).size() < labels.size()) {
      throw new IllegalArgumentException("gateway.labels names a label twice: " + labels);
    }
    connectTimeout = positive("connectTimeout", connectTimeout, Duration.ofSeconds(5));
    readTimeout = positive("readTimeout", readTimeout, Duration.ofSeconds(30));
    queueLimit = queueLimit == null ? 10_000 : queueLimit;
    if (queueLimit < 1) {
      throw new IllegalArgumentException("gateway.queueLimit must be at least 1");
    }
    tokenQueueLimit = tokenQueueLimit == null ? Math.max(1, queueLimit / 10) : tokenQueueLimit;
    if (tokenQueueLimit < 1) {
      throw new IllegalArgumentException("gateway.tokenQueueLimit must be at least 1");
    }
    pendingTtl = positive("pendingTtl", pendingTtl, Duration.ofDays(7));
    answeredTtl = positive("answeredTtl", answeredTtl, Duration.ofDays(7));
    retryAfter = positive("retryAfter", retryAfter, Duration.ofSeconds(60));
    // A device told 202 comes back after retryAfter: a request or an answer dropped sooner is
    // never found, and the device's every retry is a new request.
    outlasts("pendingTtl", pendingTtl, retryAfter);
    outlasts("answeredTtl", answeredTtl, retryAfter);
    // Well within the read timeout of devices' clients (the renewal agent's is 30 s): a device
    // told 202 comes back for its answer; one whose request timed out backs off as for a failure.
    answerWithin = positive("answerWithin", answerWithin, Duration.ofSeconds(10));
    forwardInterval = positive("forwardInterval", forwardInterval, Duration.ofSeconds(5));
    maxBackoff = positive("maxBackoff", maxBackoff, Duration.ofMinutes(10));
    cacheRefresh = positive("cacheRefresh", cacheRefresh, Duration.ofHours(1));
    // By default a day, or two refresh periods where those are longer (a setting that started before).
    Duration twoRefreshes = cacheRefresh.multipliedBy(2);
    cacheStaleAfter = positive("cacheStaleAfter", cacheStaleAfter,
        twoRefreshes.compareTo(Duration.ofHours(24)) > 0 ? twoRefreshes : Duration.ofHours(24));
    if (cacheStaleAfter.compareTo(cacheRefresh) <= 0) {
      throw new IllegalArgumentException("gateway.cacheStaleAfter (" + DurationText.format(cacheStaleAfter)
          + ") must be longer than gateway.cacheRefresh (" + DurationText.format(cacheRefresh)
          + "): copies fetched every cacheRefresh would be reported stale between fetches with the upstream up");
    }
  }

  /** The settings {@code init --gateway} writes: the upstream and every default. */
  public static GatewayConfig of(String upstream) {
    return new GatewayConfig(upstream, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null);
  }

  public URI upstreamUri() {
    return upstreamUri(upstream);
  }

  private static URI upstreamUri(String upstream) {
    if (upstream == null) {
      throw new IllegalArgumentException("gateway.upstream is missing; give the upstream's https://host:port");
    }
    URI uri;
    try {
      uri = new URI(upstream);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("gateway.upstream '" + upstream + "' is not a URL: " + e.getMessage(), e);
    }
    if (!EstPath.isServerUrl(uri)) {
      throw new IllegalArgumentException("gateway.upstream '" + upstream + "' must be https://host[:port] "
          + "(no path, query or user info; the port 1 to 65535)");
    }
    return uri;
  }

  private static void outlasts(String name, Duration ttl, Duration retryAfter) {
    if (ttl.compareTo(retryAfter) <= 0) {
      throw new IllegalArgumentException("gateway." + name + " (" + DurationText.format(ttl)
          + ") must be longer than gateway.retryAfter (" + DurationText.format(retryAfter)
          + "): a device told to come back after retryAfter would find its request dropped");
    }
  }

  private static Duration positive(String name, Duration value, Duration fallback) {
    Duration result = value == null ? fallback : value;
    if (result.isNegative() || result.isZero()) {
      throw new IllegalArgumentException("gateway." + name + " must be positive");
    }
    return result;
  }
}
