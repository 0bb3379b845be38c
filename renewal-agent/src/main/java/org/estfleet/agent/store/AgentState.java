package org.estfleet.agent.store;

import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the agent remembers between runs, {@code state.json}. Facts about the certificate are not
 * kept here: they are read from the certificate on disk, so they can never disagree with it.
 *
 * @param consecutiveFailures failed attempts since the last success, for the backoff
 * @param nextAttemptAt no attempt before this time (backoff or Retry-After); null when none applies
 * @param pending an enrollment the server accepted but has not issued yet (202)
 * @param endpoints the health of each endpoint, by URL
 * @param retries how many attempts so far did not end with a certificate (202, refusals,
 *     failures), each followed by another
 * @param linkingRequested whether the server's {@code /csrattrs} asked, when last fetched, for
 *     CSRs linked to their TLS connection (RFC 7030 section 3.5)
 */
public record AgentState(
    Attempt lastAttempt,
    Integer consecutiveFailures,
    Instant nextAttemptAt,
    Instant lastSuccess,
    Integer renewals,
    Pending pending,
    Map<String, EndpointHealth> endpoints,
    HookRun lastHook,
    Instant lastTrustRefresh,
    String lastTrustRefreshError,
    Integer retries,
    Boolean linkingRequested) {

  public AgentState {
    retries = retries == null ? 0 : retries;
    linkingRequested = linkingRequested != null && linkingRequested;
    consecutiveFailures = consecutiveFailures == null ? 0 : consecutiveFailures;
    renewals = renewals == null ? 0 : renewals;
    endpoints = endpoints == null ? Map.of() : new TreeMap<>(endpoints);
  }

  public static AgentState initial() {
    return new AgentState(null, null, null, null, null, null, null, null, null, null, null, null);
  }

  /** One attempt to enroll or renew and how it ended. */
  public record Attempt(Instant at, Outcome outcome, String endpoint, String message) {}

  /** How an attempt ended. */
  public enum Outcome {
    ENROLLED, RENEWED, PENDING, FAILED, REFUSED, SKIPPED
  }

  /**
   * A request in flight: its key and CSR are in {@code pending/}, and every retry sends the same
   * CSR until a certificate comes back.
   *
   * @param since when it was first sent (for an accepted request: first accepted)
   * @param retryAt when the server said to ask again (202 Retry-After), or null
   * @param endpoint where it was last sent
   * @param operation simpleenroll or simplereenroll
   * @param credential how the request authenticates: token, idevid or certificate
   * @param accepted whether the server answered 202, accepting it for later issuance (RFC 7030
   *     section 4.2.3); false while it has not reached a server
   */
  public record Pending(Instant since, Instant retryAt, String endpoint, String operation, String credential,
      Boolean accepted) {
    public Pending {
      accepted = accepted != null && accepted;
    }
  }

  /** How one endpoint has been answering. */
  public record EndpointHealth(Instant lastSuccess, Instant lastFailure, String lastError, Integer consecutiveFailures) {
    public EndpointHealth {
      consecutiveFailures = consecutiveFailures == null ? 0 : consecutiveFailures;
    }

    public boolean healthy() {
      return consecutiveFailures == 0;
    }
  }

  /** The last post-renew hook run. */
  public record HookRun(Instant at, Integer exitCode, String message) {}

  /** Records an attempt; one that ended without a certificate (and was not skipped) counts in {@code retries}. */
  public AgentState withLastAttempt(Attempt attempt) {
    boolean unanswered = attempt.outcome() == Outcome.PENDING || attempt.outcome() == Outcome.FAILED
        || attempt.outcome() == Outcome.REFUSED;
    return new AgentState(attempt, consecutiveFailures, nextAttemptAt, lastSuccess, renewals, pending, endpoints,
        lastHook, lastTrustRefresh, lastTrustRefreshError, unanswered ? retries + 1 : retries, linkingRequested);
  }

  public AgentState withFailures(int failures, Instant next) {
    return new AgentState(lastAttempt, failures, next, lastSuccess, renewals, pending, endpoints, lastHook,
        lastTrustRefresh, lastTrustRefreshError, retries, linkingRequested);
  }

  public AgentState withSuccess(Instant at, boolean renewal) {
    return new AgentState(lastAttempt, 0, null, at, renewal ? renewals + 1 : renewals, null, endpoints, lastHook,
        lastTrustRefresh, lastTrustRefreshError, retries, linkingRequested);
  }

  public AgentState withPending(Pending newPending) {
    return new AgentState(lastAttempt, consecutiveFailures, newPending == null || newPending.retryAt() == null
        ? nextAttemptAt : newPending.retryAt(),
        lastSuccess, renewals, newPending, endpoints, lastHook, lastTrustRefresh, lastTrustRefreshError, retries,
        linkingRequested);
  }

  public AgentState withEndpoint(String endpoint, EndpointHealth health) {
    Map<String, EndpointHealth> updated = new TreeMap<>(endpoints);
    updated.put(endpoint, health);
    return new AgentState(lastAttempt, consecutiveFailures, nextAttemptAt, lastSuccess, renewals, pending, updated,
        lastHook, lastTrustRefresh, lastTrustRefreshError, retries, linkingRequested);
  }

  public AgentState withHook(HookRun run) {
    return new AgentState(lastAttempt, consecutiveFailures, nextAttemptAt, lastSuccess, renewals, pending, endpoints,
        run, lastTrustRefresh, lastTrustRefreshError, retries, linkingRequested);
  }

  /** What the server's {@code /csrattrs} last said: whether CSRs must be linked to their TLS connection. */
  public AgentState withLinkingRequested(boolean requested) {
    return new AgentState(lastAttempt, consecutiveFailures, nextAttemptAt, lastSuccess, renewals, pending, endpoints,
        lastHook, lastTrustRefresh, lastTrustRefreshError, retries, requested);
  }

  /** Records a trust refresh: its time if it succeeded, else its error (keeping the last success). */
  public AgentState withTrustRefresh(Instant at, String error) {
    return new AgentState(lastAttempt, consecutiveFailures, nextAttemptAt, lastSuccess, renewals, pending, endpoints,
        lastHook, error == null ? at : lastTrustRefresh, error, retries, linkingRequested);
  }
}
