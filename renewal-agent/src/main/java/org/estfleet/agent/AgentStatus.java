package org.estfleet.agent;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.estfleet.agent.store.AgentConfig;
import org.estfleet.agent.store.AgentState;
import org.estfleet.agent.store.CredentialStore;
import org.estfleet.agent.store.StateDir;
import org.estfleet.agent.store.TrustStore;
import org.estfleet.pki.Certificates;

/**
 * What a person (or a monitoring system, as JSON) needs at a glance: is the device's certificate
 * good, when does it renew, what happened last, what it trusts, and which endpoints answer.
 *
 * @param state OK, RENEWAL_DUE, PENDING, FAILING (attempts fail, the certificate is still
 *     valid; also a certificate naming another identity than this agent's, which is not renewed), EXPIRED, CLOCK_SKEW or NOT_ENROLLED
 * @param problem a file of the device's own that cannot be read (the pair in force, anchors.json, bootstrap.pem),
 *     no trust anchor at all, or a state directory that cannot be written: what its renewals fail
 *     on (the state is then FAILING, not OK), or null
 * @param warning what works but should not be so (a private key readable by everyone), or null
 */
public record AgentStatus(
    String identity,
    String state,
    CertificateView certificate,
    Instant nextRenewal,
    AgentState.Attempt lastAttempt,
    Integer consecutiveFailures,
    AgentState.Pending pending,
    List<AnchorView> trustAnchors,
    List<EndpointView> endpoints,
    AgentState.HookRun lastHook,
    Instant lastTrustRefresh,
    String lastTrustRefreshError,
    String clockSkew,
    String problem,
    String warning) {

  /** The certificate in force. */
  public record CertificateView(String serial, String subject, String issuer, Instant notBefore, Instant notAfter,
      String timeLeft, String sha256) {}

  /**
   * A trusted CA root and its state: {@code active} (explicit, from /cacerts), {@code staged} (a
   * new root of a verified rollover, trusted beside the old one), {@code retiring} (an old root
   * whose successor is in use, kept until {@code until}), or {@code bootstrap} (the CA file given
   * at enrollment).
   */
  public record AnchorView(String subject, String sha256, Instant notAfter, String state, Instant until) {}

  /** One EST endpoint and how it has been answering: {@code ok}, {@code failing} or {@code unknown}. */
  public record EndpointView(String url, String health, Instant lastSuccess, Instant lastFailure, String lastError) {}

  /** The status of a state directory at {@code now}. */
  public static AgentStatus of(StateDir dir, AgentConfig config, Renewer renewer, Instant now, Instant buildTime)
      throws AgentException, IOException {
    AgentState state = dir.readState();
    List<String> problems = new ArrayList<>();
    Optional<CredentialStore.Credentials> current;
    try {
      current = dir.credentials().current();
    } catch (IOException unreadable) {
      // What the daemon fails on at each attempt: shown, with what it recorded, not refused.
      current = Optional.empty();
      problems.add(unreadable.getMessage());
    }
    CertificateView view = null;
    Instant next = null;
    String skew = null;
    String summary;
    if (current.isEmpty() && !problems.isEmpty()) {
      summary = "FAILING";
      next = state.nextAttemptAt();
    } else if (current.isEmpty()) {
      // A kept request the server did not accept (a 503, a lost answer) is a failing enrollment,
      // not one the server holds.
      summary = state.pending() == null ? "NOT_ENROLLED"
          : !state.pending().accepted() && state.consecutiveFailures() > 0 ? "FAILING" : "PENDING";
      // Without a request kept, nothing is attempted until someone runs enroll.
      next = state.pending() != null ? state.nextAttemptAt() : null;
    } else {
      X509Certificate certificate = current.get().certificate();
      Instant notAfter = certificate.getNotAfter().toInstant();
      view = new CertificateView(Certificates.serialHex(certificate), certificate.getSubjectX500Principal().getName(),
          certificate.getIssuerX500Principal().getName(), certificate.getNotBefore().toInstant(), notAfter,
          now.isAfter(notAfter) ? "expired " + approximately(Duration.between(notAfter, now)) + " ago"
              : approximately(Duration.between(now, notAfter)),
          Certificates.fingerprint(certificate));
      Instant due = renewer.policy().dueAt(certificate);
      // As Renewer.renew decides: a kept request goes again at its next attempt, due or not.
      if (state.pending() != null) {
        next = state.nextAttemptAt() != null ? state.nextAttemptAt() : now;
      } else {
        next = state.nextAttemptAt() != null && state.nextAttemptAt().isAfter(due) ? state.nextAttemptAt() : due;
      }
      if (now.isBefore(buildTime) || now.isBefore(certificate.getNotBefore().toInstant())) {
        skew = "the device clock (" + now + ") is before " + (now.isBefore(buildTime)
            ? "this agent was built (" + buildTime + ")" : "the certificate became valid (" + certificate.getNotBefore().toInstant() + ")");
        summary = "CLOCK_SKEW";
      } else if (now.isAfter(notAfter)) {
        summary = "EXPIRED";
      } else if (!Certificates.commonName(certificate.getSubjectX500Principal()).equals(Optional.of(config.identity()))) {
        // Another device's pair: renew refuses it at every attempt (see Renewer.renew).
        summary = "FAILING";
        next = null;
      } else if (state.pending() != null && state.pending().accepted()) {
        summary = "PENDING";
      } else if (state.consecutiveFailures() > 0) {
        summary = "FAILING";
      } else if (!now.isBefore(due)) {
        summary = "RENEWAL_DUE";
      } else {
        summary = "OK";
      }
    }
    TrustStore trust = dir.trust();
    List<TrustStore.Anchor> records;
    boolean anchorsRead = true;
    try {
      records = trust.anchorRecords();
    } catch (IOException unreadable) {
      // What a running agent logs and retries on (RunCommand), as for the pair in force above.
      records = List.of();
      anchorsRead = false;
      problems.add(unreadable.getMessage());
    }
    List<AnchorView> anchors = new ArrayList<>();
    Set<X509Certificate> explicit = new HashSet<>();
    for (TrustStore.Anchor anchor : records) {
      anchors.add(anchor(anchor.certificate(), anchor.state().label(),
          anchor.state() == TrustStore.State.RETIRING ? anchor.overlapEndsAt() : null));
      explicit.add(anchor.certificate());
    }
    List<X509Certificate> bootstrap;
    boolean bootstrapRead = true;
    try {
      bootstrap = trust.bootstrap();
    } catch (IOException unreadable) {
      bootstrap = List.of();
      bootstrapRead = false;
      problems.add(unreadable.getMessage());
    }
    for (X509Certificate anchor : new java.util.LinkedHashSet<>(bootstrap)) { // a file may repeat one
      if (!explicit.contains(anchor)) {
        anchors.add(anchor(anchor, "bootstrap", null));
      }
    }
    if (anchors.isEmpty() && bootstrapRead && anchorsRead) {
      problems.add(Renewer.noTrustAnchors(dir));
    }
    unwritable(dir).ifPresent(problems::add);
    if (!problems.isEmpty() && (summary.equals("OK") || summary.equals("RENEWAL_DUE"))) {
      summary = "FAILING"; // its renewals fail on it when they are due, whatever they did before
    }
    List<EndpointView> endpoints = new ArrayList<>();
    for (var endpoint : config.endpoints()) {
      AgentState.EndpointHealth health = state.endpoints().get(endpoint.toString());
      endpoints.add(health == null
          ? new EndpointView(endpoint.toString(), "unknown", null, null, null)
          : new EndpointView(endpoint.toString(), health.healthy() ? "ok" : "failing", health.lastSuccess(),
              health.lastFailure(), health.healthy() ? null : health.lastError()));
    }
    return new AgentStatus(config.identity(), summary, view, next, state.lastAttempt(), state.consecutiveFailures(),
        state.pending(), anchors, endpoints, state.lastHook(), state.lastTrustRefresh(), state.lastTrustRefreshError(), skew,
        problems.isEmpty() ? null : String.join("; ", problems), dir.exposedKey().orElse(null));
  }

  /**
   * Where the agent must write to renew (a read-only file system, a directory made immutable or
   * given to another user), or empty: a renewal would then be neither installed nor recorded,
   * and a status read from the last state written would say OK until the certificate expired.
   */
  private static Optional<String> unwritable(StateDir dir) {
    for (Path directory : List.of(dir.root(), dir.resolve("credentials"), dir.resolve("trust"))) {
      if (Files.isDirectory(directory) && !Files.isWritable(directory)) {
        return Optional.of(directory + " cannot be written (a read-only file system, its mode, owner or attributes): "
            + "a renewal can be neither installed nor recorded");
      }
    }
    return Optional.empty();
  }

  private static AnchorView anchor(X509Certificate certificate, String state, Instant until) {
    return new AnchorView(certificate.getSubjectX500Principal().getName(), Certificates.fingerprint(certificate),
        certificate.getNotAfter().toInstant(), state, until);
  }

  /** Whether the status means "no usable certificate" (exit code 3). */
  public boolean unusable() {
    return state.equals("NOT_ENROLLED") || state.equals("EXPIRED") || certificate == null;
  }

  /** The human-readable form. */
  public String toText(Instant now) {
    StringBuilder text = new StringBuilder();
    line(text, "identity", identity);
    line(text, "state", state + (clockSkew == null ? "" : ": " + clockSkew));
    if (problem != null) {
      line(text, "problem", problem);
    }
    if (warning != null) {
      line(text, "warning", warning);
    }
    if (certificate != null) {
      line(text, "certificate", "serial " + certificate.serial() + ", issued by '" + certificate.issuer() + "'");
      line(text, "  valid", certificate.notBefore() + " to " + certificate.notAfter() + " (" + certificate.timeLeft()
          + (certificate.timeLeft().startsWith("expired") ? ")" : " left)"));
    } else {
      line(text, "certificate", "none");
    }
    if (nextRenewal != null) {
      line(text, "next attempt", nextRenewal + (nextRenewal.isAfter(now)
          ? " (in " + approximately(Duration.between(now, nextRenewal)) + ")" : " (due now)"));
    }
    if (lastAttempt != null) {
      line(text, "last attempt", lastAttempt.at() + " " + lastAttempt.outcome().name().toLowerCase() + ": " + lastAttempt.message());
    }
    if (consecutiveFailures > 0) {
      line(text, "failures", consecutiveFailures + " in a row");
    }
    if (pending == null) {
      line(text, "pending", "none");
    } else {
      line(text, "pending", pending.operation() + (pending.endpoint() == null ? "" : " via " + pending.endpoint())
          + (pending.accepted()
          ? ", accepted " + pending.since() + ", retry at " + pending.retryAt()
          : ", not yet accepted; the same CSR is resent"));
    }
    for (AnchorView anchor : trustAnchors) {
      line(text, "trust anchor", anchor.state() + " '" + anchor.subject() + "' sha256 " + anchor.sha256()
          + ", until " + anchor.notAfter() + (anchor.until() == null ? "" : ", retires after " + anchor.until()));
    }
    if (lastTrustRefresh != null || lastTrustRefreshError != null) {
      line(text, "trust refresh", (lastTrustRefresh == null ? "never succeeded" : "last " + lastTrustRefresh)
          + (lastTrustRefreshError == null ? "" : "; last error: " + lastTrustRefreshError));
    }
    for (EndpointView endpoint : endpoints) {
      line(text, "endpoint", endpoint.url() + " " + endpoint.health()
          + (endpoint.lastSuccess() == null ? "" : ", last success " + endpoint.lastSuccess())
          + (endpoint.lastError() == null ? "" : ", failing since " + endpoint.lastFailure() + ": " + endpoint.lastError()));
    }
    if (lastHook != null) {
      line(text, "post-renew hook", lastHook.at() + " " + (Integer.valueOf(0).equals(lastHook.exitCode())
          ? "ok" : "failed (" + (lastHook.exitCode() == null ? "" : "exit " + lastHook.exitCode() + ": ") + lastHook.message() + ")"));
    }
    return text.toString();
  }

  /** Every value of {@code state}, each a series of {@code estfleet_agent_state}. */
  static final List<String> STATES = List.of("OK", "RENEWAL_DUE", "PENDING", "FAILING", "EXPIRED", "CLOCK_SKEW",
      "NOT_ENROLLED");

  /**
   * The status as gauges in the Prometheus text format, for node_exporter's textfile collector: each
   * series labelled with the identity, so that the files of several identities (a hub) sit side by
   * side; instants in seconds since the epoch.
   */
  public String toPrometheus() {
    return prometheus(List.of(this));
  }

  /**
   * The statuses of several identities (a hub's) as one Prometheus text: each gauge once, with
   * every identity's series under it, as the format requires.
   */
  public static String prometheus(List<AgentStatus> statuses) {
    Map<String, GaugeSnapshot.Builder> merged = new LinkedHashMap<>();
    for (AgentStatus status : statuses) {
      for (MetricSnapshot snapshot : status.gauges()) {
        GaugeSnapshot.Builder gauge = merged.computeIfAbsent(snapshot.getMetadata().getName(),
            name -> GaugeSnapshot.builder().name(name).help(snapshot.getMetadata().getHelp()));
        for (GaugeSnapshot.GaugeDataPointSnapshot point : ((GaugeSnapshot) snapshot).getDataPoints()) {
          gauge.dataPoint(point);
        }
      }
    }
    List<MetricSnapshot> gauges = new ArrayList<>();
    merged.values().forEach(gauge -> gauges.add(gauge.build()));
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    try {
      PrometheusTextFormatWriter.create().write(out, new MetricSnapshots(gauges));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e); // a ByteArrayOutputStream does not fail
    }
    return out.toString(java.nio.charset.StandardCharsets.UTF_8);
  }

  private List<MetricSnapshot> gauges() {
    List<MetricSnapshot> gauges = new ArrayList<>();
    Labels id = Labels.of("identity", identity);
    List<GaugeSnapshot.GaugeDataPointSnapshot> states = new ArrayList<>();
    for (String each : STATES) {
      states.add(point(each.equals(state) ? 1 : 0, id.add("state", each)));
    }
    gauges.add(gauge("estfleet_agent_state", "1 for the state renewal-agent status reports, 0 for the others", states));
    if (certificate != null) {
      gauges.add(gauge("estfleet_agent_certificate_expiry_timestamp_seconds", "When the certificate in force expires",
          List.of(point(seconds(certificate.notAfter()), id.add("serial", certificate.serial())))));
    }
    if (nextRenewal != null) {
      gauges.add(gauge("estfleet_agent_next_attempt_timestamp_seconds", "When the next renewal attempt is due",
          List.of(point(seconds(nextRenewal), id))));
    }
    if (lastAttempt != null) {
      gauges.add(gauge("estfleet_agent_last_attempt_timestamp_seconds", "When the last attempt was made, and how it ended",
          List.of(point(seconds(lastAttempt.at()), id.add("outcome", lastAttempt.outcome().name().toLowerCase(java.util.Locale.ROOT))))));
    }
    gauges.add(gauge("estfleet_agent_consecutive_failures", "Attempts failed in a row",
        List.of(point(consecutiveFailures == null ? 0 : consecutiveFailures, id))));
    gauges.add(gauge("estfleet_agent_pending", "1 while a request is kept to be sent again (a 202, a lost answer)",
        List.of(point(pending == null ? 0 : 1, id))));
    gauges.add(gauge("estfleet_agent_problem", "1 while status reports a problem (a file renewals need cannot be read "
        + "or written, no trust anchor)", List.of(point(problem == null ? 0 : 1, id))));
    gauges.add(gauge("estfleet_agent_warning", "1 while status reports a warning (a private key everyone can read)",
        List.of(point(warning == null ? 0 : 1, id))));
    List<GaugeSnapshot.GaugeDataPointSnapshot> anchors = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (AnchorView anchor : trustAnchors) {
      if (seen.add(anchor.sha256() + " " + anchor.state())) { // one series each: the format allows no repeat
        anchors.add(point(seconds(anchor.notAfter()), id.add("sha256", anchor.sha256()).add("state", anchor.state())));
      }
    }
    if (!anchors.isEmpty()) {
      gauges.add(gauge("estfleet_agent_trust_anchor_expiry_timestamp_seconds", "When each trusted root expires", anchors));
    }
    List<GaugeSnapshot.GaugeDataPointSnapshot> answering = new ArrayList<>();
    for (EndpointView endpoint : endpoints) {
      if (!endpoint.health().equals("unknown")) {
        answering.add(point(endpoint.health().equals("ok") ? 1 : 0, id.add("url", endpoint.url())));
      }
    }
    if (!answering.isEmpty()) {
      gauges.add(gauge("estfleet_agent_endpoint_up", "1 when the endpoint's last answer was an EST answer, else 0",
          answering));
    }
    return gauges;
  }

  private static GaugeSnapshot gauge(String name, String help, List<GaugeSnapshot.GaugeDataPointSnapshot> points) {
    GaugeSnapshot.Builder gauge = GaugeSnapshot.builder().name(name).help(help);
    points.forEach(gauge::dataPoint);
    return gauge.build();
  }

  private static GaugeSnapshot.GaugeDataPointSnapshot point(double value, Labels labels) {
    return GaugeSnapshot.GaugeDataPointSnapshot.builder().value(value).labels(labels).build();
  }

  private static double seconds(Instant instant) {
    return instant.toEpochMilli() / 1000.0;
  }

  private static void line(StringBuilder text, String label, String value) {
    // At least one space after the colon, also for a label as long as the column.
    String key = label + ":";
    text.append(key.length() < 16 ? String.format("%-16s", key) : key + " ").append(value).append(System.lineSeparator());
  }

  /** A duration in its two largest units, e.g. {@code 29d 23h}, {@code 5m 10s}. */
  static String approximately(Duration duration) {
    long seconds = duration.getSeconds();
    long days = seconds / 86_400;
    long hours = seconds % 86_400 / 3600;
    long minutes = seconds % 3600 / 60;
    if (days > 0) {
      return days + "d " + hours + "h";
    }
    if (hours > 0) {
      return hours + "h " + minutes + "m";
    }
    return minutes > 0 ? minutes + "m " + seconds % 60 + "s" : seconds % 60 + "s";
  }
}
