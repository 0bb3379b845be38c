package org.estfleet.server.gateway;

import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.estfleet.est.CsrAttributes;
import org.estfleet.est.EstException;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.Csr;
import org.estfleet.pki.Pem;
import org.estfleet.server.auth.BasicCredentials;
import org.estfleet.server.auth.Credentials;
import org.estfleet.server.ca.CertificateAuthority;
import org.estfleet.server.ca.IssueRequest;
import org.estfleet.server.ca.IssueResult;
import org.estfleet.server.ca.StoredAnswers;
import org.estfleet.server.config.GatewayConfig;
import org.estfleet.server.store.PendingEnrollment;
import org.estfleet.server.store.PendingEnrollments;
import org.estfleet.server.store.StoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's CA: the upstream, reached through a durable queue. Every request is stored
 * (committed) before anything else happens, then forwarded at once if the upstream answers; if
 * it does not, the device gets {@code 202 Accepted} with {@code Retry-After} (RFC 7030 section
 * 4.2.3) and the {@link Forwarder} delivers the request later. The device's retry with the same
 * CSR finds the same record (by identity, public key and label): the certificate once the
 * upstream issued it, the upstream's refusal, or 202 again.
 */
public final class StoreAndForward implements CertificateAuthority, StoredAnswers {
  private static final Logger LOG = LoggerFactory.getLogger(StoreAndForward.class);

  private final PendingEnrollments queue;
  private final Forwarder forwarder;
  private final UpstreamMirror mirror;
  private final Upstream upstream;
  private final GatewayConfig config;
  private final Clock clock;
  /**
   * A sending that waited for a forward before authentication ({@link #answer}) and then goes on
   * to {@link #issue} on the same thread: its CSR, and when its wait for an answer ends
   * ({@link System#nanoTime}). Both waits together are bounded by {@code gateway.answerWithin}.
   */
  private final ThreadLocal<Waited> waitedBeforeAuthentication = new ThreadLocal<>();

  private record Waited(Csr csr, long answerBy) {}

  public StoreAndForward(PendingEnrollments queue, Forwarder forwarder, UpstreamMirror mirror, Upstream upstream,
      GatewayConfig config, Clock clock) {
    this.queue = queue;
    this.forwarder = forwarder;
    this.mirror = mirror;
    this.upstream = upstream;
    this.config = config;
    this.clock = clock;
  }

  @Override
  public List<X509Certificate> caCertificates(String label) throws EstException {
    return mirror.caCertificates(label);
  }

  @Override
  public Optional<CsrAttributes> csrAttributes(String label) throws EstException {
    return mirror.csrAttributes(label);
  }

  /**
   * A retry with the very same CSR, before authentication: only an issued certificate (no
   * secret) or "still waiting" (202) is told this way, and nothing is forwarded on its account;
   * a forward under way is waited for.
   * A refusal is told only to a client that authenticates again.
   */
  @Override
  public Optional<IssueResult> answer(String label, Csr csr, Optional<X509Certificate> presented)
      throws EstException {
    waitedBeforeAuthentication.remove();
    Optional<String> deviceId = csr.commonName();
    if (deviceId.isEmpty()) {
      return Optional.empty();
    }
    Optional<PendingEnrollment> record = queue.find(deviceId.get(),
        Certificates.publicKeyFingerprint(csr.publicKey()), label);
    if (record.isEmpty() || !sameRequest(record.get(), csr)
        || record.get().status() == PendingEnrollment.Status.REFUSED || collected(record.get(), presented)) {
      return Optional.empty();
    }
    PendingEnrollment found = record.get();
    if (found.status() == PendingEnrollment.Status.PENDING) {
      // Sent again while its forward is under way (a dropped connection, a client's retry): wait
      // for that forward as the first sending does, rather than say 202 a moment before the answer.
      waitedBeforeAuthentication.set(new Waited(csr, System.nanoTime() + config.answerWithin().toNanos()));
      Optional<PendingEnrollment> after = forwarder.awaitForward(found);
      // No outcome (no forward under way, or none in time): the request as it stands now.
      Optional<PendingEnrollment> now = after.isPresent() ? after : forwarder.current(found);
      if (now.isEmpty() || now.get().status() == PendingEnrollment.Status.REFUSED) {
        // Gone meanwhile (its refusal told to another sending), or refused: told only to a client
        // that authenticates again, whose request it then is.
        return Optional.empty();
      }
      found = now.get();
    }
    return Optional.of(answer(found));
  }

  /**
   * Nothing: a stored answer to the very same request is given before authentication
   * ({@link #answer(String, Csr, Optional)}), even at a limit, since the upstream issued it.
   */
  @Override
  public Optional<IssueResult> resend(IssueRequest request) {
    return Optional.empty();
  }

  /**
   * Stores the request (or finds it stored), forwards it when due, and answers. A refusal is
   * told only to a sending with the credentials it refused: one with other credentials (the
   * device's own token, after a copy of its CSR came first with a wrong one and the device's
   * sending joined it) is a new request, stored and forwarded with them.
   */
  @Override
  public IssueResult issue(IssueRequest request) throws EstException {
    Sent sent = Sent.of(request);
    long answerBy = answerBy(request);
    for (int attempt = 0; attempt < 2; attempt++) {
      PendingEnrollment admitted = admit(request, sent);
      Optional<PendingEnrollment> record = forwardIfDue(admitted, answerBy);
      if (record.isPresent() && !sent.refusedForOthers(record.get())) {
        return answer(record.get());
      }
      if (Thread.currentThread().isInterrupted()) {
        break; // the gateway is stopping: nothing new is stored or forwarded
      }
      // The forward this sending made or waited for carried the other credentials it joined, and
      // was refused; or the request is gone meanwhile (its refusal told to another sending, or
      // dropped). Either way not this sending's answer: it is sent again as its own.
      LOG.info("request {} of {} was {}; sending it again with this sending's credentials", admitted.requestId(),
          admitted.deviceId(), record.isPresent() ? "refused for other credentials" : "gone meanwhile");
    }
    // Yet another sending in between, or the gateway stopping: come back for the answer.
    return new IssueResult.Pending(config.retryAfter());
  }

  /**
   * When this sending's wait for the upstream's answer ends: {@code gateway.answerWithin} after it
   * began waiting, before authentication if it waited there ({@link #answer}).
   */
  private long answerBy(IssueRequest request) {
    Waited waited = waitedBeforeAuthentication.get();
    waitedBeforeAuthentication.remove();
    return waited != null && waited.csr() == request.csr() ? waited.answerBy()
        : System.nanoTime() + config.answerWithin().toNanos();
  }

  /**
   * Forwards {@code record} now (or waits for its forward under way) unless the upstream is known
   * to be down or asked for time (Retry-After, backoff): a device's retry never hurries the upstream.
   * The wait for the outcome ends at {@code answerBy} ({@link System#nanoTime}); the forward goes on.
   *
   * @return the request as it stands afterwards; empty if it is gone meanwhile (its refusal told
   *     to another sending, or dropped)
   */
  private Optional<PendingEnrollment> forwardIfDue(PendingEnrollment record, long answerBy) {
    if (record.status() == PendingEnrollment.Status.PENDING && upstream.status().state() != Upstream.State.DOWN
        && !record.nextAttemptAt().isAfter(clock.instant())) {
      Duration wait = Duration.ofNanos(Math.max(0, answerBy - System.nanoTime()));
      Optional<PendingEnrollment> after = forwarder.forwardOrAwait(record, wait);
      // No outcome in time: the request as it stands now (its next attempt, or gone).
      return after.isPresent() ? after : forwarder.current(record);
    }
    return Optional.of(record);
  }

  /** The credentials a device sent, as stored with its request and forwarded. */
  private record Sent(String token, String chain) {
    static Sent of(IssueRequest request) {
      Credentials presented = request.presented();
      // Forward what the device authenticated with here: its token, or its certificate chain.
      boolean byToken = "token".equals(request.requester().authMethod());
      String token = byToken ? presented.basicCredentials().map(StoreAndForward::tokenOf).orElse(null) : null;
      String chain = !byToken && !presented.clientChain().isEmpty() ? Pem.encode(presented.clientChain()) : null;
      return new Sent(token, chain);
    }

    /** Whether {@code record} is a refusal of other credentials than these: not theirs to be told. */
    boolean refusedForOthers(PendingEnrollment record) {
      return record.status() == PendingEnrollment.Status.REFUSED && !record.sentWith(token, chain);
    }
  }

  /** The stored record of this request: found (a retry) or created. */
  private PendingEnrollment admit(IssueRequest request, Sent sent) throws EstException {
    String key = Certificates.publicKeyFingerprint(request.csr().publicKey());
    String deviceId = request.requester().deviceId();
    Credentials presented = request.presented();
    String operation = request.reenroll() ? "simplereenroll" : "simpleenroll";
    // Each pass but the last may find a record to replace: a refusal of other credentials, then
    // (a sending in between) an answer to another CSR for the key.
    for (int attempt = 0; attempt < 3; attempt++) {
      PendingEnrollments.Accepted accepted = queue.accept(UUID.randomUUID().toString(), deviceId, key,
          request.label(), operation, request.csr().der(), request.requester().authMethod(), sent.token(), sent.chain(),
          request.popLinked(), clock.instant(), config.queueLimit(), config.tokenQueueLimit());
      switch (accepted.admission()) {
        case FULL -> {
          boolean all = accepted.waiting() >= config.queueLimit();
          LOG.warn("{} ({} requests waiting for upstream {}, {} of them by token; limits {} and {} by token); "
              + "refusing {}", all ? "queue full" : "token share of the queue full", accepted.waiting(), upstream.uri(),
              accepted.waitingByToken(), config.queueLimit(), config.tokenQueueLimit(), deviceId);
          throw EstException.serviceUnavailable(all
              ? "this gateway's queue of requests waiting for the upstream CA is full; retry later"
              : "this gateway holds as many token-authenticated requests waiting for the upstream CA as it takes "
                  + "(requests authenticated by a certificate are still taken); retry later", config.retryAfter());
        }
        case STORED -> {
          PendingEnrollment stored = accepted.record().orElseThrow();
          LOG.info("stored {} of {} as request {}", operation, deviceId, stored.requestId());
          return stored;
        }
        case EXISTING -> {
          PendingEnrollment existing = accepted.record().orElseThrow();
          if (sent.refusedForOthers(existing)) {
            // Refused for other credentials (a copy of this CSR sent first with a wrong token, say):
            // not this sending's answer. This is a new request, with its own credentials.
            queue.delete(existing.id());
            continue;
          }
          if (existing.status() == PendingEnrollment.Status.PENDING
              || (sameRequest(existing, request.csr()) && !collected(existing, presented.clientCertificate()))) {
            return existing;
          }
          // An answered request for the same key, but a new CSR: a new request (a renewal that
          // kept its key). The old answer was collected or is no longer wanted.
          queue.delete(existing.id());
        }
      }
    }
    throw new IllegalStateException("request of " + deviceId + " neither stored nor found");
  }

  /**
   * Whether {@code csr} repeats the stored request: the same bytes, or (signed by its key) the same
   * subject, key and attributes with another challengePassword, as a client linking its CSR to
   * each TLS connection sends on every retry.
   */
  private static boolean sameRequest(PendingEnrollment record, Csr csr) {
    if (Arrays.equals(record.csrDer(), csr.der())) {
      return true;
    }
    Csr stored;
    try {
      stored = Csr.fromDer(record.csrDer());
    } catch (IllegalArgumentException unreadable) {
      return false; // stored by an earlier release; the forwarder refuses it
    }
    return stored.sameRequestAs(csr) && csr.isSignatureValid();
  }

  /**
   * Whether the client already holds the stored certificate: it authenticates with it. Its CSR
   * is then a new request (a renewal that kept its key), not a retry.
   */
  private static boolean collected(PendingEnrollment record, Optional<X509Certificate> presented) {
    return record.status() == PendingEnrollment.Status.ISSUED && presented.isPresent()
        && Pem.readCertificates(record.certificatePem(), "stored request " + record.requestId()).get(0)
            .equals(presented.get());
  }

  private IssueResult answer(PendingEnrollment record) throws EstException {
    switch (record.status()) {
      case ISSUED -> {
        X509Certificate certificate =
            Pem.readCertificates(record.certificatePem(), "stored request " + record.requestId()).get(0);
        // Given once; any later delivery is a resend (the device lost the answer), not another certificate.
        boolean first;
        try {
          first = queue.delivered(record.id(), clock.instant());
        } catch (StoreException e) {
          // The certificate is the device's all the same: it is not kept from it for a bookkeeping write.
          LOG.warn("cannot record the delivery of request {} of {}; delivering it: {}", record.requestId(),
              record.deviceId(), e.getMessage());
          first = true;
        }
        return new IssueResult.Issued(certificate, !first);
      }
      case REFUSED -> {
        // The refusal is told once; a retry after it is a new request.
        queue.delete(record.id());
        throw EstException.upstreamRefusal(record.resultStatus(), record.resultMessage());
      }
      default -> {
        Instant now = clock.instant();
        Duration untilNext = Duration.between(now, record.nextAttemptAt());
        return new IssueResult.Pending(untilNext.compareTo(config.retryAfter()) > 0 ? untilNext : config.retryAfter());
      }
    }
  }

  private static String tokenOf(BasicCredentials basic) {
    return basic.userId() + ":" + basic.password();
  }
}
