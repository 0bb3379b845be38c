package org.estfleet.server.gateway;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.estfleet.est.client.CaCertsOutcome;
import org.estfleet.est.client.ClientAuth;
import org.estfleet.est.client.CsrAttrsOutcome;
import org.estfleet.est.client.EnrollOutcome;
import org.estfleet.est.client.EstClient;
import org.estfleet.est.client.Failure;
import org.estfleet.server.metrics.ServerMetrics;
import org.estfleet.est.client.KeptAliveEstClient;
import org.estfleet.io.AtomicFile;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.Csr;
import org.estfleet.pki.RootRollover;
import org.estfleet.pki.Pem;
import org.estfleet.server.auth.Forwarding;
import org.estfleet.server.store.PendingEnrollment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The upstream EST server as the gateway sees it: reached over mutual TLS (the gateway's RA
 * certificate), authenticated by the configured trust anchors, and judged up or down by how its
 * last answer went. Devices' requests are forwarded on kept-alive connections
 * ({@link KeptAliveEstClient}); the gateway's own, occasional requests go through the Bouncy
 * Castle EST client ({@link EstClient}).
 */
public final class Upstream {
  private static final Logger LOG = LoggerFactory.getLogger(Upstream.class);

  private final URI uri;
  private final EstClient client;
  private final KeptAliveEstClient forwarding;
  private final java.nio.file.Path trustFile;
  private volatile List<X509Certificate> trust;
  private final Supplier<ClientAuth.Certificate> identity;
  private final Clock clock;
  private final ServerMetrics metrics;
  private final AtomicReference<Status> status;
  /** Whether the upstream's failure to be authenticated has been logged since it last answered. */
  private final java.util.concurrent.atomic.AtomicBoolean untrustedLogged = new java.util.concurrent.atomic.AtomicBoolean();
  /**
   * How long an upstream that answered a forward "not the server for this request" (421) stays
   * down whatever its {@code /cacerts} answers: a gateway's copy answers, and would make it look up
   * between forwards. After it, the next probe's round forwards the waiting requests at once
   * (Forwarder), the first of which shows whether the address now leads to the CA.
   */
  static final java.time.Duration MISDIRECTED_HOLD = java.time.Duration.ofMinutes(1);
  /** Until when the upstream stays down for a misdirected forward; null when none was. */
  private volatile Instant misdirectedUntil;
  /** Whether a forward answered "not the server for this request" has been logged since one was taken. */
  private final java.util.concurrent.atomic.AtomicBoolean misdirectedLogged = new java.util.concurrent.atomic.AtomicBoolean();

  /** Whether the upstream answers. */
  public enum State {
    /** Not asked yet since the gateway started. */
    UNKNOWN,
    /** Its last answer was an EST answer (a certificate, a refusal, a deferral). */
    UP,
    /** Its last request failed: no connection, a timeout, a TLS failure or a 5xx. */
    DOWN
  }

  /**
   * @param since when the upstream entered this state
   * @param lastError the failure that made it down, or null
   */
  public record Status(State state, Instant since, String lastError) {
    public Status {
      Objects.requireNonNull(state, "state");
      Objects.requireNonNull(since, "since");
    }
  }

  /**
   * @param trust the anchors that authenticate the upstream's TLS certificate
   * @param trustFile the file they come from, where a new root of a verified rollover is added;
   *     null to keep such roots in memory only
   * @param identity the gateway's RA certificate chain and key, as they are at each request
   * @param forwarding the client that forwards devices' requests to {@code uri}
   * @param metrics where each forward's outcome and time are counted
   */
  public Upstream(URI uri, EstClient client, KeptAliveEstClient forwarding, List<X509Certificate> trust,
      java.nio.file.Path trustFile, Supplier<ClientAuth.Certificate> identity, ServerMetrics metrics, Clock clock) {
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.uri = Objects.requireNonNull(uri, "uri");
    this.client = client;
    this.forwarding = Objects.requireNonNull(forwarding, "forwarding");
    this.trust = List.copyOf(trust);
    this.trustFile = trustFile;
    this.identity = identity;
    this.clock = clock;
    this.status = new AtomicReference<>(new Status(State.UNKNOWN, clock.instant(), null));
  }

  public URI uri() {
    return uri;
  }

  public Status status() {
    return status.get();
  }

  /**
   * {@code GET /cacerts} of a label. A new root that a NewWithOld from a trusted root vouches for
   * (a root rollover upstream) joins the anchors that authenticate the upstream, so that the
   * gateway still reaches it once the old root is retired; an old root leaves them once the
   * upstream retired it ({@link #dropRetiredRoots}).
   */
  public CaCertsOutcome caCertificates(String label) {
    CaCertsOutcome outcome = client.caCertificates(uri, label, trust);
    observe(outcome instanceof CaCertsOutcome.Failed failed ? failed.failure() : null);
    if (outcome instanceof CaCertsOutcome.Fetched fetched) {
      stageVouchedRoots(fetched.certificates());
    }
    return outcome;
  }

  /**
   * Stops trusting the roots the upstream retired: a trusted root its {@code /cacerts} held as a
   * root {@code before} and no longer holds in any form {@code now} (the root, a link for its
   * key), once it holds a trusted root still and this gateway's own certificate comes from a CA
   * under one of those: the upstream moved on, and so did this gateway. A retired root's key,
   * archived on the CA's host, then vouches for nothing here. Roots the CA never listed (one that
   * authenticates a TLS proxy in front of it) stay.
   *
   * @param before the CA certificates of the last {@code /cacerts} (without a label)
   * @param now those of this one, fetched over TLS this trust authenticated
   */
  public synchronized void dropRetiredRoots(List<X509Certificate> before, List<X509Certificate> now) {
    List<X509Certificate> kept = trust.stream()
        .filter(root -> now.stream().anyMatch(c -> RootRollover.sameKey(c.getPublicKey(), root.getPublicKey()))
            || before.stream().noneMatch(c -> RootRollover.isSelfIssued(c)
                && RootRollover.sameKey(c.getPublicKey(), root.getPublicKey())))
        .toList();
    List<X509Certificate> listed = kept.stream()
        .filter(root -> now.stream().anyMatch(c -> RootRollover.sameKey(c.getPublicKey(), root.getPublicKey())))
        .toList();
    ClientAuth.Certificate own = identity == null ? null : identity.get();
    if (listed.isEmpty() || kept.size() == trust.size() || own == null
        || GatewayIdentity.chainToRoot(own.chain().get(0), concat(now.stream()
            .filter(c -> !RootRollover.isSelfIssued(c)).toList(), listed)) == null) {
      return;
    }
    List<X509Certificate> dropped = trust.stream().filter(root -> !kept.contains(root)).toList();
    if (trustFile != null) {
      try {
        AtomicFile.write(trustFile, Pem.encode(kept).getBytes(StandardCharsets.US_ASCII), AtomicFile.PUBLIC);
      } catch (java.io.IOException e) {
        LOG.error("cannot remove the upstream's retired root(s) from {}: {}; not trusting them until the gateway stops",
            trustFile, org.estfleet.io.IoMessages.reason(e));
      }
    }
    trust = List.copyOf(kept);
    for (X509Certificate root : dropped) {
      LOG.info("upstream root retired: no longer trusting {}, which the upstream's /cacerts no longer holds",
          Certificates.describe(root));
    }
  }

  private static List<X509Certificate> concat(List<X509Certificate> a, List<X509Certificate> b) {
    List<X509Certificate> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }

  /** The anchors that authenticate the upstream now. */
  public List<X509Certificate> trust() {
    return trust;
  }

  private synchronized void stageVouchedRoots(List<X509Certificate> fetched) {
    List<RootRollover.Vouched> vouched = RootRollover.classify(fetched, trust, clock.instant()).vouched();
    if (vouched.isEmpty()) {
      return;
    }
    List<X509Certificate> updated = new ArrayList<>(trust);
    for (RootRollover.Vouched root : vouched) {
      updated.add(root.newRoot());
      LOG.info("upstream root rollover: trusting the new root {} beside {}, which vouches for it",
          Certificates.describe(root.newRoot()), Certificates.describe(root.trustedRoot()));
    }
    if (trustFile != null) {
      try {
        AtomicFile.write(trustFile, Pem.encode(updated).getBytes(StandardCharsets.US_ASCII), AtomicFile.PUBLIC);
      } catch (java.io.IOException e) {
        LOG.error("cannot add the upstream's new root to {}: {}; trusting it until the gateway stops", trustFile,
            org.estfleet.io.IoMessages.reason(e));
      }
    }
    trust = List.copyOf(updated);
  }

  /** {@code GET /csrattrs} of a label. */
  public CsrAttrsOutcome csrAttributes(String label) {
    CsrAttrsOutcome outcome = client.csrAttributes(uri, label, trust);
    observe(outcome instanceof CsrAttrsOutcome.Failed failed ? failed.failure() : null);
    return outcome;
  }

  /**
   * Forwards a device's request, vouching for the device with the headers the upstream accepts
   * from a gateway only (README "Gateway"): the request id, the device's token (HTTP Basic) or
   * certificate chain, and whether this gateway checked the CSR's PoP linking.
   */
  public EnrollOutcome forward(PendingEnrollment request) {
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put(Forwarding.REQUEST_ID_HEADER, request.requestId());
    headers.put(Forwarding.RECEIVED_AT_HEADER, request.createdAt().toString());
    if (request.deviceToken() != null) {
      headers.put("Authorization", "Basic "
          + Base64.getEncoder().encodeToString(request.deviceToken().getBytes(StandardCharsets.UTF_8)));
    }
    if (request.deviceChainPem() != null) {
      headers.put(Forwarding.DEVICE_CHAIN_HEADER, chainHeader(request.deviceChainPem()));
    }
    if (request.popLinked()) {
      headers.put(Forwarding.POP_LINKED_HEADER, Forwarding.POP_LINKED);
    }
    Csr csr = Csr.fromDer(request.csrDer());
    long start = System.nanoTime();
    EnrollOutcome outcome = forwarding.enroll(request.label(), request.operation().equals("simplereenroll"), csr,
        identity.get(), trust, headers);
    if (!Thread.currentThread().isInterrupted()) {
      // An interrupted forward (the gateway stopping) says nothing about the upstream.
      Failure failure = outcome instanceof EnrollOutcome.Failed failed ? failed.failure() : null;
      metrics.forward(failure != null ? failure.kind().name().toLowerCase(java.util.Locale.ROOT)
          : outcome instanceof EnrollOutcome.Issued ? "issued" : "pending", failure == null || failure.answered(),
          System.nanoTime() - start);
      if (failure != null && failure.kind() == Failure.Kind.MISDIRECTED) {
        // Its /cacerts answers (a gateway's mirror): only a forward shows it is not the CA. Said
        // once until a forward is taken, not at every request or probe in between.
        misdirectedUntil = clock.instant().plus(MISDIRECTED_HOLD);
        if (!misdirectedLogged.getAndSet(true)) {
          LOG.error("upstream {} is not the CA ({}); devices' requests are stored, and wait until gateway.upstream "
              + "names the CA", uri, failure.describe());
        }
      } else if (failure == null || !failure.failsOver()) {
        misdirectedUntil = null;
        if (misdirectedLogged.getAndSet(false)) {
          LOG.info("upstream {} takes forwarded requests again", uri);
        }
      }
      observe(failure);
    }
    return outcome;
  }

  /** Renews the gateway's own certificate: {@code simplereenroll} authenticated by {@code current}. */
  public EnrollOutcome reenroll(Csr csr, ClientAuth.Certificate current) {
    EnrollOutcome outcome = client.enroll(uri, "", true, csr, current, trust);
    observe(outcome instanceof EnrollOutcome.Failed failed ? failed.failure() : null);
    return outcome;
  }

  /** An answer that is an EST answer (even a refusal) means up; anything else means down. */
  private void observe(Failure failure) {
    Instant now = clock.instant();
    if (failure == null || !failure.failsOver()) {
      Instant held = misdirectedUntil;
      if (held != null && now.isBefore(held)) {
        return; // an answer to anything but a forward says nothing of whether it takes forwards
      }
      untrustedLogged.set(false);
      Status before = status.getAndUpdate(s -> s.state() == State.UP ? s : new Status(State.UP, now, null));
      if (before.state() == State.DOWN && !misdirectedLogged.get()) { // a probe between 421s: said once, at ERROR
        LOG.info("upstream {} is reachable again after {} down", uri,
            java.time.Duration.between(before.since(), now));
      }
      return;
    }
    String error = failure.describe();
    Status before = status.getAndUpdate(s -> s.state() == State.DOWN
        ? new Status(State.DOWN, s.since(), error)
        : new Status(State.DOWN, now, error));
    if (failure.kind() == Failure.Kind.TLS_TRUST) {
      // Not an outage that ends by itself: the upstream answers, but not as the server this
      // gateway is configured to trust. Said once, also when it was down before for another reason.
      if (!untrustedLogged.getAndSet(true)) {
        LOG.error("upstream {} is not authenticated ({}); devices' requests are stored, and wait until its "
            + "certificate chains to gateway.upstreamTrust and names the host of gateway.upstream", uri, error);
      }
    } else if (before.state() != State.DOWN && failure.kind() != Failure.Kind.MISDIRECTED) {
      LOG.warn("upstream {} is down ({}); devices' requests are stored and forwarded when it is back", uri, error);
    }
  }

  private static String chainHeader(String pem) {
    List<String> parts = new ArrayList<>();
    for (X509Certificate certificate : Pem.readCertificates(pem, "stored device chain")) {
      try {
        parts.add(Base64.getEncoder().encodeToString(certificate.getEncoded()));
      } catch (CertificateEncodingException e) {
        throw new IllegalStateException("a parsed certificate encodes", e);
      }
    }
    return String.join(",", parts);
  }
}
