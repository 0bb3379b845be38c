package org.estfleet.agent;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.estfleet.est.EstException;
import org.estfleet.pki.Certificates;
import org.estfleet.server.ForwardingCa;
import org.estfleet.server.ca.CertificateAuthority;
import org.estfleet.server.ca.IssueRequest;
import org.estfleet.server.ca.IssueResult;

/**
 * A CA that defers: the first request for a public key is accepted and deferred (202 with
 * Retry-After); a request for the same key after that time is issued by the real CA. The seam a
 * gateway fills when its upstream is away, implemented honestly, and recording every CSR it saw.
 */
final class DeferringCa extends ForwardingCa {
  private final Duration retryAfter;
  private final Clock clock;
  private final Map<String, Instant> firstSeen = new ConcurrentHashMap<>();
  final List<byte[]> csrs = new CopyOnWriteArrayList<>();

  DeferringCa(CertificateAuthority delegate, Duration retryAfter, Clock clock) {
    super(delegate);
    this.retryAfter = retryAfter;
    this.clock = clock;
  }

  @Override
  public IssueResult issue(IssueRequest request) throws EstException {
    csrs.add(request.csr().der());
    Instant now = clock.instant();
    Instant first = firstSeen.putIfAbsent(Certificates.publicKeyFingerprint(request.csr().publicKey()), now);
    if (first == null || now.isBefore(first.plus(retryAfter))) {
      return new IssueResult.Pending(retryAfter);
    }
    return super.issue(request);
  }
}
