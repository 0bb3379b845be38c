package org.estfleet.server.gateway;

import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.estfleet.est.client.Backoff;
import org.estfleet.est.client.EnrollOutcome;
import org.estfleet.est.client.Failure;
import org.estfleet.json.DurationText;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.Csr;
import org.estfleet.pki.Pem;
import org.estfleet.server.auth.Forwarding;
import org.estfleet.server.config.GatewayConfig;
import org.estfleet.server.store.PendingEnrollment;
import org.estfleet.server.store.PendingEnrollments;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers stored requests to the upstream: every {@code gateway.forwardInterval} it drops
 * requests past their time, refreshes the {@code /cacerts} copy when due, and, while the upstream
 * answers, renews the gateway's own certificate when due and forwards every request that is due. While the upstream is down it only probes it
 * (the refresh is the probe) and leaves the requests alone, so that they all go as soon as it is
 * back, not after a backoff earned during the outage.
 */
public final class Forwarder implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Forwarder.class);
  private static final int BATCH = 100;
  private static final Duration MIN_DEFERRAL = Duration.ofSeconds(1);
  /** How long {@link #close} waits for the round and the devices' forwards to stop. */
  private static final Duration STOP_WITHIN = Duration.ofSeconds(10);
  /** Forwards for waiting devices at once; beyond it a device is told 202 at once. */
  static final int MAX_DEVICE_FORWARDS = 64;
  /** Sendings of one request, before authentication, that wait for its forward under way. */
  static final int MAX_RESEND_WAITERS = 2;

  private final PendingEnrollments queue;
  private final Upstream upstream;
  private final UpstreamMirror mirror;
  private final GatewayIdentity identity;
  private final GatewayConfig config;
  private final Clock clock;
  private final SecureRandom random;
  private final Backoff backoff;
  /** The requests being forwarded now, each with the latch its forwarding thread opens when done. */
  private final ConcurrentHashMap<Long, CountDownLatch> inFlight = new ConcurrentHashMap<>();
  /** Resendings of a request waiting for its forward under way ({@link #awaitForward}), by request. */
  private final ConcurrentHashMap<Long, Integer> resendWaiters = new ConcurrentHashMap<>();
  private final ScheduledExecutorService executor;
  /** Runs the forwards of devices' requests, which may outlast the devices' wait for them. */
  private final ThreadPoolExecutor deviceForwards;
  private Instant nextRefresh = Instant.MIN;

  public Forwarder(PendingEnrollments queue, Upstream upstream, UpstreamMirror mirror, GatewayIdentity identity,
      GatewayConfig config, Clock clock, SecureRandom random) {
    this.queue = queue;
    this.upstream = upstream;
    this.mirror = mirror;
    this.identity = identity;
    this.config = config;
    this.clock = clock;
    this.random = random;
    this.backoff = new Backoff(config.forwardInterval(), config.maxBackoff());
    this.executor = Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread thread = new Thread(runnable, "gateway-forwarder");
      thread.setDaemon(true);
      return thread;
    });
    AtomicInteger forwards = new AtomicInteger();
    this.deviceForwards = new ThreadPoolExecutor(0, MAX_DEVICE_FORWARDS, 60, TimeUnit.SECONDS,
        new SynchronousQueue<>(), runnable -> {
          Thread thread = new Thread(runnable, "gateway-device-forward-" + forwards.incrementAndGet());
          thread.setDaemon(true);
          return thread;
        });
  }

  /** Starts the periodic work; the first round runs at once. */
  public void start() {
    executor.scheduleWithFixedDelay(this::round, 0, config.forwardInterval().toMillis(), TimeUnit.MILLISECONDS);
  }

  private void round() {
    try {
      runOnce();
      if (lastRoundError != null) {
        LOG.info("gateway forwarding rounds work again");
        lastRoundError = null;
      }
    } catch (RuntimeException e) {
      // The next round tries again; one bad round must not end the forwarder. The same failure
      // at every round (a store that turned read-only) is logged once, not every few seconds.
      String error = e.getClass().getName() + ": " + e.getMessage();
      if (!error.equals(lastRoundError)) {
        LOG.error("gateway forwarding round failed (logged again only if the failure changes): {}", e.getMessage(), e);
      } else {
        LOG.debug("gateway forwarding round failed again: {}", error);
      }
      lastRoundError = error;
    }
  }

  /** The last round's failure, while rounds fail; touched only by the forwarder's thread. */
  private String lastRoundError;

  /** One round of the periodic work. */
  void runOnce() {
    Instant now = clock.instant();
    int dropped = queue.expire(now.minus(config.pendingTtl()), now.minus(config.answeredTtl()));
    if (dropped > 0) {
      LOG.warn("dropped {} stored request(s) unanswered for {} or uncollected for {}", dropped,
          config.pendingTtl(), config.answeredTtl());
    }
    if (upstream.status().state() != Upstream.State.UP || !now.isBefore(nextRefresh)) {
      mirror.refresh();
      if (upstream.status().state() == Upstream.State.UP) {
        nextRefresh = now.plus(config.cacheRefresh());
      }
    }
    if (upstream.status().state() == Upstream.State.UP) {
      identity.renewIfDue(upstream);
    }
    identity.reportValidity(upstream.status().state() == Upstream.State.UP);
    while (upstream.status().state() == Upstream.State.UP && !Thread.currentThread().isInterrupted()) {
      List<PendingEnrollment> due = queue.due(clock.instant(), BATCH);
      boolean progressed = false;
      for (PendingEnrollment request : due) {
        progressed |= forward(request).isPresent();
        if (upstream.status().state() != Upstream.State.UP || Thread.currentThread().isInterrupted()) {
          return;
        }
      }
      if (!progressed) {
        // Nothing due, or all of it being forwarded on devices' own requests right now.
        return;
      }
    }
  }

  /**
   * Forwards one request now and records the upstream's answer.
   *
   * @return the request as it stands afterwards; empty when it is being forwarded by another
   *     thread already (a request is never forwarded twice at once), or the forward was cut
   *     short by the gateway's shutdown
   */
  public Optional<PendingEnrollment> forward(PendingEnrollment seen) {
    CountDownLatch mine = new CountDownLatch(1);
    if (inFlight.putIfAbsent(seen.id(), mine) != null) {
      return Optional.empty();
    }
    return forwardClaimed(seen, mine);
  }

  /**
   * Forwards one request for the device waiting on it, and waits for the outcome at most
   * {@code wait} (what is left of the sending's {@code gateway.answerWithin}). The forward runs on
   * its own thread and goes on past that: it
   * records the upstream's answer, which the device's retry finds. When another thread (the
   * periodic round, or the device's own earlier request) is forwarding the request already, this
   * waits for that forward instead, as long. Without the wait, a device whose request the round
   * happened to pick up in the moment after it was stored would be told 202 and to come back
   * after {@code retryAfter}, while its certificate arrives a moment later; without the bound, a
   * slow upstream would hold every device's request (and its slot among
   * {@code limits.maxConcurrentRequests}) for the upstream's timeouts, longer than devices' own
   * clients wait.
   *
   * @return the request as it stands afterwards; empty when no outcome came in time, when
   *     {@value #MAX_DEVICE_FORWARDS} forwards for devices are under way already (the round
   *     forwards it later), or this thread was interrupted
   */
  public Optional<PendingEnrollment> forwardOrAwait(PendingEnrollment seen, Duration wait) {
    CountDownLatch mine = new CountDownLatch(1);
    CountDownLatch awaited = inFlight.putIfAbsent(seen.id(), mine);
    if (awaited == null) {
      boolean submitted = false;
      try {
        deviceForwards.execute(() -> {
          try {
            forwardClaimed(seen, mine);
          } catch (RuntimeException e) {
            // The request stays waiting in the store; the round forwards it again.
            LOG.error("forwarding request {} of {} failed", seen.requestId(), seen.deviceId(), e);
          }
        });
        submitted = true;
      } catch (RejectedExecutionException e) {
        return Optional.empty();
      } finally {
        if (!submitted) {
          // Not forwarded (the pool is full, or a thread could not start): release the claim.
          inFlight.remove(seen.id(), mine);
          mine.countDown();
        }
      }
      awaited = mine;
    }
    try {
      if (!awaited.await(wait.toNanos(), TimeUnit.NANOSECONDS)) {
        LOG.info("no answer from the upstream for request {} of {} within {} ms; the device is told to come back",
            seen.requestId(), seen.deviceId(), wait.toMillis());
        return Optional.empty();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
    return current(seen);
  }

  /**
   * Waits, at most {@code gateway.answerWithin}, for a forward of {@code seen} already under way
   * (a device that sent its request again over a new connection while the first was being
   * forwarded); starts none.
   *
   * @return the request as it stands afterwards; empty when no forward is under way or none ended in time
   */
  public Optional<PendingEnrollment> awaitForward(PendingEnrollment seen) {
    CountDownLatch underWay = inFlight.get(seen.id());
    if (underWay == null) {
      return Optional.empty();
    }
    // Before authentication anyone holding the CSR may send it: a few sendings wait, more are
    // told 202 at once, so that copies of one request cannot hold many request threads.
    int waiting = resendWaiters.merge(seen.id(), 1, Integer::sum);
    if (waiting > MAX_RESEND_WAITERS) {
      release(seen.id());
      return Optional.empty();
    }
    try {
      if (!underWay.await(config.answerWithin().toMillis(), TimeUnit.MILLISECONDS)) {
        return Optional.empty();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    } finally {
      release(seen.id());
    }
    return current(seen);
  }

  private void release(long id) {
    resendWaiters.computeIfPresent(id, (key, count) -> count == 1 ? null : count - 1);
  }

  private Optional<PendingEnrollment> forwardClaimed(PendingEnrollment seen, CountDownLatch claim) {
    try {
      // What was read may be stale: answered, dropped, or tried by another thread a moment ago
      // and given a later attempt time (the upstream's Retry-After, a backoff).
      Optional<PendingEnrollment> current = current(seen);
      if (current.isEmpty() || current.get().status() != PendingEnrollment.Status.PENDING
          || current.get().nextAttemptAt().isAfter(clock.instant())) {
        return current;
      }
      PendingEnrollment request = current.get();
      try {
        // Stored by an earlier release whose checks let it through: refused here, for its device
        // to learn, rather than stop every round at it.
        Csr.fromDer(request.csrDer());
        if (request.deviceChainPem() != null) {
          Pem.readCertificates(request.deviceChainPem(), "stored device chain");
        }
      } catch (IllegalArgumentException unreadable) {
        if (queue.refused(request.id(), 400, "the gateway cannot forward this request: "
            + unreadable.getMessage(), clock.instant())) {
          LOG.warn("request {} of {} can no longer be read, refused: {}", request.requestId(), request.deviceId(),
              unreadable.getMessage());
        }
        return queue.byId(request.id());
      }
      EnrollOutcome outcome = upstream.forward(request);
      Instant now = clock.instant();
      if (outcome instanceof EnrollOutcome.Issued || outcome instanceof EnrollOutcome.Pending) {
        identity.acceptedUpstream();
      }
      if (outcome instanceof EnrollOutcome.Issued issued) {
        // Before the device is answered: the first certificate of a new chain brings its /cacerts.
        mirror.refreshForIssuerOf(issued.certificate());
        record(request, issued.certificate(), now);
      } else if (outcome instanceof EnrollOutcome.Pending pending) {
        Duration wait = pending.retryAfter().compareTo(MIN_DEFERRAL) < 0 ? MIN_DEFERRAL : pending.retryAfter();
        queue.retryLater(request.id(), "the upstream deferred it", now.plus(wait), now);
      } else if (outcome instanceof EnrollOutcome.Failed failed) {
        if (Thread.currentThread().isInterrupted()) {
          // Cut short by the gateway's shutdown, not the upstream's doing: nothing recorded, the
          // request is forwarded after the restart; and no outcome, so that no round goes on.
          return Optional.empty();
        }
        fail(request, failed.failure(), now);
      }
      return queue.byId(request.id());
    } finally {
      inFlight.remove(seen.id(), claim);
      claim.countDown();
    }
  }

  /** The stored record of {@code seen} now, unless it was dropped or replaced by another request meanwhile. */
  Optional<PendingEnrollment> current(PendingEnrollment seen) {
    return queue.byId(seen.id()).filter(record -> record.requestId().equals(seen.requestId()));
  }

  private void record(PendingEnrollment request, X509Certificate certificate, Instant now) {
    Csr csr = Csr.fromDer(request.csrDer());
    if (!Arrays.equals(certificate.getPublicKey().getEncoded(), csr.publicKey().getEncoded())) {
      LOG.error("upstream answered request {} of {} with a certificate for another key ({}); will ask again",
          request.requestId(), request.deviceId(), Certificates.describe(certificate));
      queue.retryLater(request.id(), "the upstream returned a certificate for another key",
          now.plus(backoff.delay(request.attempts() + 1, random)), now);
      return;
    }
    if (queue.issued(request.id(), Pem.encode(certificate), now)) {
      LOG.info("upstream issued serial {} to {} (request {}, stored {} ago)", Certificates.serialHex(certificate),
          request.deviceId(), request.requestId(), Duration.between(request.createdAt(), now));
    }
  }

  private void fail(PendingEnrollment request, Failure failure, Instant now) {
    if (failure.status() == 403 && failure.message().startsWith(Forwarding.NOT_A_GATEWAY)) {
      // The upstream refuses this gateway, not the device: keep the request and say so loudly,
      // and in /health.
      identity.refusedUpstream(failure.message());
      LOG.error("the upstream refuses this gateway's certificate ({}); request {} of {} stays queued; "
          + "if its certificate expired, enroll the gateway again, keeping its queue: est-server init --gateway --reenroll", failure.message(),
          request.requestId(), request.deviceId());
      queue.retryLater(request.id(), failure.describe(), now.plus(backoff.delay(request.attempts() + 1, random)), now);
      return;
    }
    if (failure.refusesTheRequest()) {
      // A 4xx is the upstream's verdict on the request; the device learns it on its next try.
      identity.acceptedUpstream();
      if (queue.refused(request.id(), failure.status(), failure.message(), now)) {
        LOG.info("upstream refused request {} of {}: {}", request.requestId(), request.deviceId(), failure.describe());
      }
      return;
    }
    Instant next = switch (failure.kind()) {
      // The upstream is overloaded (5xx), or limits this device for now (429: its hourly limit,
      // say; not a verdict): the request stays queued until its Retry-After, which the device is
      // told, or our backoff.
      case UNAVAILABLE, TOO_MANY_REQUESTS ->
          now.plus(failure.retryAfterHint().orElseGet(() -> backoff.delay(request.attempts() + 1, random)));
      // The link is down: the request goes as soon as a probe finds the upstream again. So it
      // does when the upstream is a gateway (421), which Upstream holds down for a while: the
      // first forward after that, in the same round as the probe, shows whether it still is one,
      // before the upstream looks up for longer than that round.
      case UNREACHABLE, TLS_TRUST, TLS_HANDSHAKE, MISDIRECTED -> now;
      // This request failed on a live link (timed out, cut, odd answer): back it off alone, so
      // that it does not hold up the others.
      default -> now.plus(backoff.delay(request.attempts() + 1, random));
    };
    queue.retryLater(request.id(), failure.describe(), next, now);
  }

  @Override
  public void close() {
    executor.shutdownNow();
    // A forward cut short leaves its request waiting in the store, forwarded after the restart.
    deviceForwards.shutdownNow();
    try {
      // One bound for both pools, not one each.
      long deadline = System.nanoTime() + STOP_WITHIN.toNanos();
      boolean roundStopped = executor.awaitTermination(STOP_WITHIN.toNanos(), TimeUnit.NANOSECONDS);
      boolean forwardsStopped =
          deviceForwards.awaitTermination(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (!roundStopped || !forwardsStopped) {
        LOG.warn("the gateway forwarder did not stop within {}: {} still running", DurationText.format(STOP_WITHIN),
            roundStopped ? "devices' forwards" : forwardsStopped ? "its round" : "its round and devices' forwards");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
