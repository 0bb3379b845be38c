package org.estfleet.server.metrics;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.core.metrics.Info;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * What {@code GET /metrics} reports, in the Prometheus text format: the HTTP answers by endpoint
 * and status with their latency, the enrollment answers by result (as the audit log records
 * them), TLS handshakes, a gateway's forwards by outcome with their latency, what the mode adds
 * ({@link #register}: the ledger, the CA certificates; a gateway's queue, upstream and copies) and
 * the JVM's own figures. One registry per server, not the library's global one: a test runs
 * several servers in one JVM.
 */
public final class ServerMetrics {
  /**
   * Latency buckets, in seconds: an enrollment takes milliseconds on a CA (docs/BENCHMARKS.md), up
   * to {@code gateway.answerWithin} (10 s) on a gateway waiting for its upstream.
   */
  private static final double[] LATENCY_BUCKETS =
      {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
  private final Counter responses;
  private final Histogram durations;
  private final Counter enrollments;
  private final Counter handshakes;
  private final Counter forwards;
  private final Histogram forwardDurations;

  /**
   * @param mode {@code ca} or {@code gateway}
   * @param version this build's version
   */
  public ServerMetrics(String mode, String version) {
    responses = Counter.builder()
        .name("estfleet_http_responses")
        .help("HTTP responses sent, by endpoint (cacerts, simpleenroll, simplereenroll, csrattrs, serverkeygen, "
            + "health, metrics, other) and status, including 503s shed at the concurrency limit")
        .labelNames("endpoint", "status")
        .register(registry);
    durations = Histogram.builder()
        .name("estfleet_http_request_duration_seconds")
        .help("Time from a request's start to its response's end, by endpoint")
        .unit(Unit.SECONDS)
        .labelNames("endpoint")
        .classicOnly()
        .classicUpperBounds(LATENCY_BUCKETS)
        .withoutExemplars()
        .register(registry);
    enrollments = Counter.builder()
        .name("estfleet_enrollments")
        .help("Enrollment answers as the audit log records them, by operation and result (issued, resent, pending, "
            + "refused, rate-limited, misdirected, error)")
        .labelNames("operation", "result")
        .register(registry);
    handshakes = Counter.builder()
        .name("estfleet_tls_handshakes")
        .help("TLS handshakes on the EST port, by result (ok, failed)")
        .labelNames("result")
        .register(registry);
    forwards = !mode.equals("gateway") ? null : Counter.builder()
        .name("estfleet_gateway_forwards")
        .help("A gateway's forwards of devices' requests to its upstream, by outcome: issued, pending (202), or the "
            + "failure's kind (refused, too_many_requests, unavailable, unreachable, timeout, network, tls_trust, "
            + "tls_handshake, misdirected, bad_response)")
        .labelNames("outcome")
        .register(registry);
    forwardDurations = !mode.equals("gateway") ? null : Histogram.builder()
        .name("estfleet_gateway_forward_duration_seconds")
        .help("Time a gateway's forward took, from sending to the upstream's answer or the failure; answered: true "
            + "when the upstream sent an answer (issued, pending or refused alike), false for a timeout, a connection "
            + "or TLS failure")
        .unit(Unit.SECONDS)
        .labelNames("answered")
        .classicOnly()
        .classicUpperBounds(LATENCY_BUCKETS)
        .withoutExemplars()
        .register(registry);
    if (forwardDurations != null) {
      forwardDurations.initLabelValues("true");
      forwardDurations.initLabelValues("false");
    }
    Info build = Info.builder()
        .name("estfleet_build_info")
        .help("This server's version and mode")
        .labelNames("version", "mode")
        .register(registry);
    build.addLabelValues(version, mode);
    JvmMetrics.builder().register(registry);
  }

  /** One HTTP response sent, {@code nanos} after its request began. */
  public void response(String endpoint, int status, long nanos) {
    responses.labelValues(endpoint, Integer.toString(status)).inc();
    durations.labelValues(endpoint).observe(nanos / 1e9);
  }

  /** How many responses of each status were sent, all endpoints together (by status, ascending). */
  public Map<Integer, Long> responsesByStatus() {
    Map<Integer, Long> counts = new java.util.TreeMap<>();
    for (CounterSnapshot.CounterDataPointSnapshot point : responses.collect().getDataPoints()) {
      counts.merge(Integer.valueOf(point.getLabels().get("status")), (long) point.getValue(), Long::sum);
    }
    return counts;
  }

  /** One enrollment answer, as audited. */
  public void enrollment(String operation, String result) {
    enrollments.labelValues(operation, result).inc();
  }

  /** One TLS handshake completed, or failed. */
  public void handshake(boolean succeeded) {
    handshakes.labelValues(succeeded ? "ok" : "failed").inc();
  }

  /**
   * One forward to the upstream (a gateway's only), ended as {@code outcome} after {@code nanos};
   * {@code answered} whether the upstream sent an answer (its time is then the upstream's latency).
   * The time is counted first: a scrape between the two never shows more forwards than times.
   */
  public void forward(String outcome, boolean answered, long nanos) {
    forwardDurations.labelValues(Boolean.toString(answered)).observe(nanos / 1e9);
    forwards.labelValues(outcome).inc();
  }

  /**
   * Adds figures read when {@code /metrics} is asked for: a mode's gauges, all from one reading of
   * its state (one query of the gateway's queue per scrape, not one per figure).
   */
  public void register(Supplier<Gauges> reading) {
    registry.register((MultiCollector) () -> reading.get().snapshots());
  }

  /** Gauges read at one scrape. */
  public static final class Gauges {
    private final List<MetricSnapshot> snapshots = new ArrayList<>();

    /** A figure without labels. */
    public Gauges add(String name, String help, double value) {
      snapshots.add(GaugeSnapshot.builder().name(name).help(help)
          .dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().value(value).build()).build());
      return this;
    }

    /** A figure by one label, {@code label} taking each key of {@code values}. */
    public Gauges add(String name, String help, String label, Map<String, Double> values) {
      GaugeSnapshot.Builder gauge = GaugeSnapshot.builder().name(name).help(help);
      values.forEach((key, value) -> gauge.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().value(value)
          .labels(Labels.of(label, key)).build()));
      snapshots.add(gauge.build());
      return this;
    }

    /** Seconds since the epoch, as Prometheus keeps timestamps. */
    public static double seconds(Instant instant) {
      return instant.toEpochMilli() / 1000.0;
    }

    MetricSnapshots snapshots() {
      return new MetricSnapshots(snapshots);
    }
  }

  /** The media type of {@link #write}. */
  public String contentType() {
    return writer.getContentType();
  }

  /** Writes every figure now, in the Prometheus text format. */
  public void write(OutputStream out) throws IOException {
    writer.write(out, registry.scrape());
  }
}
