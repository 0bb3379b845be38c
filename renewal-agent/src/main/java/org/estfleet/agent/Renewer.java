package org.estfleet.agent;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.GeneralName;
import org.estfleet.est.client.Backoff;
import org.estfleet.est.CsrAttributes;
import org.estfleet.est.client.CaCertsOutcome;
import org.estfleet.est.client.ClientAuth;
import org.estfleet.est.client.CsrAttrsOutcome;
import org.estfleet.est.client.EnrollOutcome;
import org.estfleet.est.client.EstClient;
import org.estfleet.est.client.Failure;
import org.estfleet.agent.schedule.RenewalPolicy;
import org.estfleet.agent.store.AgentConfig;
import org.estfleet.agent.store.AgentState;
import org.estfleet.agent.store.CredentialStore;
import org.estfleet.agent.store.PendingStore;
import org.estfleet.agent.store.StateDir;
import org.estfleet.agent.store.StateLock;
import org.estfleet.agent.store.TrustStore;
import org.estfleet.pki.CertificatePath;
import org.estfleet.pki.RootRollover;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.Csr;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyPairs;
import org.estfleet.pki.Pem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the agent does for one state directory: the first enrollment, each renewal, and the
 * refresh of the trust anchors. Every operation holds the directory's lock, reads the state from
 * disk, and writes it back before returning, so that a process killed at any point restarts from
 * what is on disk. It decides nothing about time beyond "is it due": the scheduler calls it, and
 * runs it again at the {@link Result#nextRunAt()} it returns.
 */
public final class Renewer {
  private static final Logger LOG = LoggerFactory.getLogger(Renewer.class);
  /** The shortest wait before an attempt after a failure. */
  private static final Duration MIN_RETRY = Duration.ofSeconds(1);
  /**
   * The outcome of each attempt (enrolled, renewed, pending, failed, not renewing), the log's
   * record of what {@link Result} says: {@code run} logs it; a one-shot command prints the
   * result itself and turns this logger off ({@link #OUTCOME_LOGGER}).
   */
  private static final Logger OUTCOME = LoggerFactory.getLogger(Renewer.OUTCOME_LOGGER);

  /** The name of the outcome logger; its short name is this class's, so that run's log reads the same. */
  public static final String OUTCOME_LOGGER = "org.estfleet.agent.outcome.Renewer";
  /**
   * The changes of the trust anchors a root rollover makes (a root staged, a root retired): rare,
   * and logged by one-shot commands too, which log little else ({@link #TRUST_LOGGER}).
   */
  private static final Logger TRUST = LoggerFactory.getLogger(Renewer.TRUST_LOGGER);

  /** The name of the trust-change logger; its short name is this class's too. */
  public static final String TRUST_LOGGER = "org.estfleet.agent.trust.Renewer";
  private static final String REENROLL = "simplereenroll";
  private static final String ENROLL = "simpleenroll";
  /** How far ahead of the device clock a new certificate may start and still be accepted. */
  private static final Duration CLOCK_TOLERANCE = Duration.ofMinutes(5);

  /** How an operation ended. */
  public enum Outcome {
    /** The first certificate is installed. */
    ENROLLED,
    /** A new certificate is installed. */
    RENEWED,
    /** The server accepted the request (202); the same CSR goes again at the next run. */
    PENDING,
    /** Nothing to do before the next run. */
    NOT_DUE,
    /** Backing off, or waiting for the server's Retry-After. */
    WAITING,
    /** The attempt failed; the certificate in force is still valid. */
    FAILED,
    /** The attempt failed and the certificate in force has expired. */
    EXPIRED,
    /** The device clock cannot be right; nothing was attempted. */
    CLOCK_SKEW
  }

  /**
   * The result of an operation.
   *
   * @param nextRunAt when the agent should run again
   */
  public record Result(Outcome outcome, String message, Instant nextRunAt) {}

  private final StateDir dir;
  private final AgentConfig config;
  private final EstClient client;
  private final Clock clock;
  private final SecureRandom random;
  private final Instant buildTime;
  private final RenewalPolicy policy;
  private final Backoff backoff;
  /** The next attempt recorded by the last failure on local files, until {@link #nextAttemptAfterFailure} takes it. */
  private volatile Instant retryAfterLocalFailure;
  /** Within {@link #bootstrap}: a failure that keeps no request is not tried again by anyone. */
  private boolean enrolling;

  public Renewer(StateDir dir, AgentConfig config, Clock clock, SecureRandom random, Instant buildTime) {
    this.dir = dir;
    this.config = config;
    this.client = new EstClient(config.timeouts().connect(), config.timeouts().read(), clock, random,
        config.tls().provider().jsse());
    this.clock = clock;
    this.random = random;
    this.buildTime = buildTime;
    this.policy = RenewalPolicy.of(config.renewal());
    this.backoff = new Backoff(config.retry().initial(), config.retry().max());
  }

  /** The renewer of an enrolled state directory, with the real build time. */
  public static Renewer open(StateDir dir, Clock clock, SecureRandom random) throws AgentException {
    return new Renewer(dir, dir.readConfig(), clock, random, BuildInfo.timestamp());
  }

  /**
   * Reads the trust anchors: an {@code anchors.json} that cannot be read stops {@code renew} at
   * once (exit 1, naming it and where its roots are), whether a renewal is due or not; {@code run}
   * logs it and goes on, each attempt failing on the file until it is restored ({@code status}
   * shows it as a problem).
   */
  public void checkTrustAnchors() throws AgentException {
    try {
      dir.trust().anchorRecords();
    } catch (IOException e) {
      throw AgentException.failure(e.getMessage(), e);
    }
  }

  /**
   * What the TLS client trusts ({@link TrustStore#tlsAnchors}); none is the device's own fault (the
   * trust directory emptied), said as such rather than as a server the agent cannot trust: a
   * failed attempt like one on any other file of its own, so that a daemon (a hub's other
   * identities too) goes on, and takes the files up once they are put back.
   */
  private List<X509Certificate> tlsAnchors(TrustStore trust) throws IOException {
    List<X509Certificate> anchors = trust.tlsAnchors();
    if (anchors.isEmpty()) {
      throw new IOException(noTrustAnchors(dir));
    }
    return anchors;
  }

  /** The message for a state directory without a certificate to authenticate servers by. */
  public static String noTrustAnchors(StateDir dir) {
    Path trust = dir.resolve("trust");
    Path history = trust.resolve("history");
    return "no trust anchors: " + trust + " holds no root (anchors.json, anchors.pem) nor bootstrap.pem to authenticate "
        + "the server by; restore them" + (Files.isDirectory(history) ? " (earlier versions are in " + history + "/)" : "")
        + ", or enroll again with renewal-agent enroll --force --trust CAFILE";
  }

  public AgentConfig config() {
    return config;
  }

  public StateDir stateDir() {
    return dir;
  }

  public RenewalPolicy policy() {
    return policy;
  }

  /**
   * The first enrollment ({@code /simpleenroll}) with a token or an IDevID. Fetches
   * {@code /cacerts} over a connection the bootstrap trust authenticated, keeps its roots as the
   * explicit trust anchors (RFC 7030 section 4.1.3), then enrolls.
   */
  public synchronized Result bootstrap(ClientAuth auth) throws AgentException {
    return bootstrap(auth, false);
  }

  /**
   * As {@link #bootstrap(ClientAuth)}; with {@code startOver} ({@code enroll --force}) the
   * {@code /cacerts} is authenticated by {@code bootstrap.pem} alone (the {@code --trust} of this
   * enrollment) and its roots replace the trust anchors, in one new version; until then the
   * anchors are not touched, so an enrollment that fails before leaves them as they were.
   */
  public synchronized Result bootstrap(ClientAuth auth, boolean startOver) throws AgentException {
    enrolling = true;
    try (StateLock lock = dir.lock()) {
      Instant now = clock.instant();
      AgentState state = dir.readState();
      TrustStore trust = dir.trust();
      Fetch fetch = fetchCaCertificates(state, startOver ? trust.bootstrap() : trust.tlsAnchors(), now);
      state = fetch.state();
      if (fetch.certificates() == null) {
        return fail(state, null, "cannot fetch /cacerts: " + fetch.error(), now, false, fetch.retryAfter(),
            fetch.refused() ? AgentState.Outcome.REFUSED : AgentState.Outcome.FAILED);
      }
      List<X509Certificate> roots = fetch.certificates().stream().filter(Renewer::isSelfSigned).toList();
      if (roots.isEmpty()) {
        return fail(state, null, "the server's /cacerts holds no root CA certificate", now, false, null,
            AgentState.Outcome.REFUSED);
      }
      boolean none = trust.anchors().isEmpty();
      if (none || startOver) {
        List<TrustStore.Anchor> initial = initialAnchors(fetch.certificates(), roots, trust.bootstrap(), now);
        if (none || !sameAnchors(trust.anchorRecords(), initial)) {
          trust.writeAnchorRecords(initial);
          LOG.info("trust anchors from /cacerts: {}",
              describe(initial.stream().map(TrustStore.Anchor::certificate).toList()));
        }
      }
      updateIntermediates(trust, fetch.certificates(), now);
      state = observeLinking(state, fetch.endpoint(), trust.tlsAnchors()).withTrustRefresh(now, null);

      String credential = auth instanceof ClientAuth.Token ? "token" : "idevid";
      String token = auth instanceof ClientAuth.Token t ? t.secret() : null;
      // An explicit enrollment starts afresh: new key, new CSR, this token.
      PendingStore.Request request = newRequest(generateKeys(), subjectOf(config.identity()), List.of(), token);
      state = state.withPending(null);
      Attempted attempted = attempt(state, request, ENROLL, credential, auth, now);
      return conclude(attempted, request, now, false, Outcome.ENROLLED);
    } catch (IOException e) {
      throw AgentException.failure("enrollment failed: " + e.getMessage(), e);
    } finally {
      enrolling = false;
    }
  }

  /**
   * Sends a kept first enrollment (token or IDevID) again as it was, now, whether or not a
   * certificate is in force ({@code enroll --force} keeps the old one until the new arrives).
   *
   * @throws AgentException exit 3 if no such request is kept
   */
  public synchronized Result resumeEnrollment() throws AgentException {
    try (StateLock lock = dir.lock()) {
      AgentState state = dir.readState();
      if (state.pending() == null || "certificate".equals(state.pending().credential())) {
        throw AgentException.notEnrolled(dir.root() + " keeps no first enrollment to send again");
      }
      return resumeBootstrap(state, true, clock.instant());
    } catch (IOException e) {
      throw AgentException.failure("enrollment failed: " + e.getMessage(), e);
    }
  }

  /**
   * One renewal attempt if it is due (or always, when {@code force}), honouring backoff and
   * Retry-After unless forced. Resends a pending request rather than making a new one.
   *
   * @throws AgentException exit 3 if the device never enrolled
   */
  public synchronized Result renew(boolean force) throws AgentException {
    retryAfterLocalFailure = null; // only this attempt's own failure says when to try again
    try (StateLock lock = dir.lock()) {
      Instant now = clock.instant();
      AgentState state = dir.readState();
      Optional<CredentialStore.Credentials> current = dir.credentials().current();
      if (current.isEmpty()) {
        if (state.pending() != null && !"certificate".equals(state.pending().credential())) {
          return resumeBootstrap(state, force, now);
        }
        throw AgentException.notEnrolled(dir.root() + " holds no certificate; run renewal-agent enroll"
            + dir.credentials().restoreHint());
      }
      if (state.pending() != null && "token".equals(state.pending().credential())) {
        // A first enrollment kept by enroll --force (its answer lost, a 503): sent again as it
        // was, with its token; the pair in force stays until its answer arrives. Re-enrolling
        // with the old certificate instead would have a second certificate issued for the key
        // (or be refused by a new CA), and the token's certificate never collected.
        return resumeBootstrap(state, force, now);
      }
      X509Certificate certificate = current.get().certificate();
      Optional<String> skew = clockSkew(certificate, now);
      if (skew.isPresent()) {
        // Renewing, or judging a new certificate, on a clock known to be wrong would replace
        // a good certificate on its word: report and wait for the clock to be set.
        Instant next = now.plus(backoff.initial());
        state = state.withLastAttempt(new AgentState.Attempt(now, AgentState.Outcome.SKIPPED, null, skew.get()));
        dir.writeState(state);
        OUTCOME.warn("not renewing: {}", skew.get());
        return new Result(Outcome.CLOCK_SKEW, skew.get(), next);
      }
      Optional<String> named = Certificates.commonName(certificate.getSubjectX500Principal());
      if (!named.equals(Optional.of(config.identity()))) {
        // Another device's pair copied in by hand: renewing it would have the CA issue a
        // certificate this agent must then refuse to install, at every attempt.
        String message = "not renewing: the certificate in force names '" + named.orElse("") + "', not this device '"
            + config.identity() + "' (agent.json identity); enroll this device again with renewal-agent enroll --force";
        state = state.withLastAttempt(new AgentState.Attempt(now, AgentState.Outcome.REFUSED, null, message));
        dir.writeState(state);
        throw AgentException.failure(message); // reported once, by the command or the scheduler
      }
      Instant due = policy.dueAt(certificate);
      if (!force) {
        // Not due, and no backoff beyond the time it is due (a failed renew --force before it,
        // say): the next attempt is when it is due, as status says.
        if (state.pending() == null && now.isBefore(due)
            && (state.nextAttemptAt() == null || !state.nextAttemptAt().isAfter(due))) {
          return new Result(Outcome.NOT_DUE, "renewal due at " + due, due);
        }
        if (state.nextAttemptAt() != null && now.isBefore(state.nextAttemptAt())) {
          return new Result(Outcome.WAITING, "next attempt at " + state.nextAttemptAt(), state.nextAttemptAt());
        }
      }
      state = refreshTrust(state, now);
      boolean expired = now.isAfter(certificate.getNotAfter().toInstant());

      Optional<PendingStore.Request> pending = pendingRequest(state, null);
      PendingStore.Request request = pending.isPresent() ? pending.get() : newRequest(
          config.reuseKey() ? new KeyPair(certificate.getPublicKey(), current.get().key()) : generateKeys(),
          X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded()),
          Certificates.subjectAltNames(certificate), null);
      if (pending.isPresent() && "idevid".equals(state.pending().credential())) {
        return conclude(attempt(state, request, ENROLL, "idevid", idevidAuth(), now), request, now, expired, Outcome.RENEWED);
      }
      ClientAuth own = new ClientAuth.Certificate(current.get().key(), current.get().chain());
      Attempted attempted = attempt(state, request, REENROLL, "certificate", own, now);
      if (expired && refusesCredential(attempted.outcome()) && config.idevid() != null) {
        LOG.warn("the certificate expired and re-enrollment was refused ({}); enrolling again with the IDevID",
            ((EnrollOutcome.Failed) attempted.outcome()).failure().describe());
        attempted = attempt(attempted.state(), request, ENROLL, "idevid", idevidAuth(), now);
      }
      return conclude(attempted, request, now, expired, Outcome.RENEWED);
    } catch (IOException | IllegalArgumentException e) {
      // IllegalArgumentException: the certificate in force names what no CSR can carry (read
      // from it, or refused by the CSR parser): a failure recorded for status, as a file's.
      String message = "renewal failed: " + e.getMessage();
      recordLocalFailure(message);
      throw AgentException.failure(message, e);
    }
  }

  /**
   * Records a failure of the device's own files or disk in {@code state.json}, for {@code status}
   * to show (the caller reports it), when the state can still be written: a failed attempt like
   * any other, the next one due after the backoff (an operator may have put the file right by
   * then; {@code run} tries again at that time, see {@link #nextAttemptAfterFailure}).
   */
  private void recordLocalFailure(String message) {
    // The operation's lock was released with its block: taken again, so that this read-modify-write
    // cannot overwrite what a renew beside it (another process) wrote meanwhile.
    try (StateLock lock = dir.lock()) {
      AgentState state = dir.readState();
      Instant now = clock.instant();
      int failures = state.consecutiveFailures() + 1;
      Instant next = now.plus(backoff.delay(failures, random));
      dir.writeState(state.withFailures(failures, next)
          .withLastAttempt(new AgentState.Attempt(now, AgentState.Outcome.FAILED, null, message)));
      retryAfterLocalFailure = next;
    } catch (IOException | AgentException | RuntimeException e) {
      LOG.debug("could not record the failure in state.json: {}", e.getMessage());
    }
  }

  /**
   * When to try again after {@link #renew} threw: the time a failure on the device's own files
   * recorded (its backoff) when that is what just happened, else (the state could not be
   * written, or a refusal such as another device's pair in force) the longest backoff.
   */
  public Instant nextAttemptAfterFailure() {
    Instant recorded = retryAfterLocalFailure;
    retryAfterLocalFailure = null;
    Instant now = clock.instant();
    return recorded != null && recorded.isAfter(now) ? recorded : now.plus(config.retry().max());
  }

  /**
   * Writes {@code trust/anchors.pem} again if it no longer holds the trust anchors
   * ({@link TrustStore#repairAnchorsExport}), saying so in the log. Trust anchors that cannot be
   * read are left for the renewal and the trust refresh to report.
   */
  public synchronized void repairAnchorsExport() {
    try (StateLock lock = dir.lock()) {
      dir.trust().repairAnchorsExport().ifPresent(done -> LOG.warn("{}: {}", config.identity(), done));
    } catch (IOException | AgentException e) {
      LOG.debug("{}: anchors.pem not checked: {}", config.identity(), e.getMessage());
    }
  }

  /** Fetches {@code /cacerts} and brings the intermediates up to date (the trust refresh job). */
  public synchronized Result refreshTrust() throws AgentException {
    repairAnchorsExport();
    try (StateLock lock = dir.lock()) {
      Instant now = clock.instant();
      AgentState state = refreshTrust(dir.readState(), now);
      dir.writeState(state);
      Instant next = now.plus(config.trust().refreshInterval());
      return state.lastTrustRefreshError() == null
          ? new Result(Outcome.NOT_DUE, "trust anchors refreshed", next)
          : new Result(Outcome.FAILED, "trust refresh failed: " + state.lastTrustRefreshError(), next);
    } catch (IOException e) {
      throw AgentException.failure("trust refresh failed: " + e.getMessage(), e);
    }
  }

  private Result resumeBootstrap(AgentState state, boolean force, Instant now) throws IOException, AgentException {
    if (!force && state.nextAttemptAt() != null && now.isBefore(state.nextAttemptAt())) {
      return new Result(Outcome.WAITING, "enrollment pending; next attempt at " + state.nextAttemptAt(),
          state.nextAttemptAt());
    }
    PendingStore.Request request = pendingRequest(state, null).orElse(null);
    if (request == null) {
      dir.writeState(state.withPending(null));
      throw AgentException.notEnrolled(dir.root() + " had a pending enrollment but its request is gone or unreadable; "
          + "run renewal-agent enroll again");
    }
    ClientAuth auth = "token".equals(state.pending().credential())
        ? new ClientAuth.Token(config.identity(), request.token())
        : idevidAuth();
    return conclude(attempt(state, request, ENROLL, state.pending().credential(), auth, now), request, now, false,
        Outcome.ENROLLED);
  }

  private record Attempted(EnrollOutcome outcome, URI endpoint, AgentState state, String operation, String credential) {}

  /** Sends the request to each endpoint in turn until one answers other than with a connection or server error. */
  private Attempted attempt(AgentState state, PendingStore.Request request, String operation, String credential,
      ClientAuth auth, Instant now) throws IOException {
    List<X509Certificate> anchors = tlsAnchors(dir.trust());
    EnrollOutcome outcome = null;
    URI used = null;
    List<URI> endpoints = endpoints(state);
    for (int i = 0; i < endpoints.size(); i++) {
      URI endpoint = endpoints.get(i);
      used = endpoint;
      state = recordSending(state, operation, credential, endpoint, now);
      boolean reenroll = operation.equals(REENROLL);
      outcome = linking(state)
          ? client.enrollLinked(endpoint, config.label(), reenroll, request.csr(), request.key(), auth, anchors)
          : client.enroll(endpoint, config.label(), reenroll, request.csr(), auth, anchors);
      if (outcome instanceof EnrollOutcome.Failed failed && failed.failure().failsOver()) {
        state = unhealthy(state, endpoint, failed.failure(), now);
        if (i + 1 < endpoints.size()) { // the last one's failure is the attempt's, logged once by its caller
          LOG.warn("{} at {} failed: {}; trying {}", operation, endpoint, failed.failure().describe(), endpoints.get(i + 1));
        }
        continue;
      }
      state = healthy(state, endpoint, now);
      break;
    }
    return new Attempted(outcome, used, state, operation, credential);
  }

  /**
   * Records the request in {@code state.json} before it is sent to {@code endpoint}, its key and
   * CSR already in pending/: a device stopped while the server may be issuing (a power cut,
   * kill -9) sends the same CSR again when it is back, to the same endpoint first (a gateway
   * matches it there), not a new key, which a spent token would refuse and for which the CA
   * would issue again. A request the server accepted (202) stays recorded as it was.
   */
  private AgentState recordSending(AgentState state, String operation, String credential, URI endpoint, Instant now)
      throws IOException {
    AgentState.Pending kept = state.pending();
    if (kept != null && (kept.accepted() || operation.equals(kept.operation()) && credential.equals(kept.credential())
        && endpoint.toString().equals(kept.endpoint()))) {
      return state;
    }
    AgentState recorded = state.withPending(new AgentState.Pending(kept == null ? now : kept.since(), null,
        endpoint.toString(), operation, credential, false));
    dir.writeState(recorded);
    return recorded;
  }

  private Result conclude(Attempted attempted, PendingStore.Request request, Instant now, boolean expired,
      Outcome success) throws IOException {
    AgentState state = attempted.state();
    String endpoint = attempted.endpoint().toString();
    if (attempted.outcome() instanceof EnrollOutcome.Issued issued) {
      X509Certificate certificate = issued.certificate();
      List<X509Certificate> chain = null;
      GeneralSecurityException unusable = null;
      try {
        chain = verifiedChain(certificate, issued.others(), request.key(), clock.instant());
      } catch (UnknownChain e) {
        // Issued under CA certificates this device has not read: a root rollover activated since
        // its trust refresh (or since a gateway's copy of /cacerts). Read again, once, before the
        // certificate is refused: a first enrollment's token is spent by now.
        LOG.info("the certificate serial {} does not chain to the trust anchors ({}); fetching /cacerts again",
            Certificates.serialHex(certificate), e.getMessage());
        state = refreshTrust(state, now);
        try {
          chain = verifiedChain(certificate, issued.others(), request.key(), clock.instant());
        } catch (GeneralSecurityException again) {
          unusable = again;
        }
      } catch (GeneralSecurityException e) {
        unusable = e;
      }
      if (chain == null) {
        // A certificate that fails these checks would break the device if installed: keep the
        // pair in force, forget the request, try again later with a new one.
        dir.pending().clear();
        state = state.withPending(null);
        boolean holding = dir.credentials().current().isPresent();
        return fail(state, endpoint, "the certificate serial " + Certificates.serialHex(certificate) + " from " + endpoint
            + " is unusable: " + unusable.getMessage() + (holding ? "; keeping the certificate in force" : ""), now,
            expired, null, AgentState.Outcome.REFUSED);
      }
      CredentialStore.Credentials installed;
      try {
        installed = dir.credentials().install(request.key(), certificate, chain);
      } catch (IOException e) {
        // Issued but not installed (a read-only or full disk): the request is kept, so that the
        // next attempt, after the backoff, sends the same CSR and is given this same certificate
        // again instead of having a new one issued for a new key at every attempt.
        if (state.pending() == null) {
          state = state.withPending(new AgentState.Pending(now, null, endpoint, attempted.operation(),
              attempted.credential(), false));
        }
        boolean holding = dir.credentials().hasCurrent();
        return fail(state, endpoint, "the certificate serial " + Certificates.serialHex(certificate) + " from "
            + endpoint + " cannot be installed in " + dir.resolve("credentials") + ": " + e.getMessage()
            + (holding ? "; keeping the certificate in force" : "") + "; the same request is sent again", now, expired,
            null, AgentState.Outcome.FAILED);
      }
      dir.pending().clear();
      // Whether a pair was in force before (its link, not its files: enroll --force replaces a damaged one).
      Outcome outcome = dir.credentials().hasPrevious() ? success : Outcome.ENROLLED;
      String detail = "serial " + Certificates.serialHex(certificate) + ", valid until "
          + certificate.getNotAfter().toInstant() + " (via " + endpoint + ")";
      String message = (outcome == Outcome.ENROLLED ? "enrolled: " : "renewed: ") + detail;
      state = state.withSuccess(now, outcome == Outcome.RENEWED)
          .withLastAttempt(new AgentState.Attempt(now,
              outcome == Outcome.ENROLLED ? AgentState.Outcome.ENROLLED : AgentState.Outcome.RENEWED, endpoint, detail));
      // Named: a hub's run renews several identities in one log.
      OUTCOME.info("{}: {}", config.identity(), message);
      advanceRotation(now);
      if (config.postRenewHook() != null) {
        state = state.withHook(PostRenewHook.run(config.postRenewHook(), installed, dir.root(), config.identity(), clock));
      }
      dir.writeState(state);
      return new Result(outcome, message, policy.dueAt(certificate));
    }
    if (attempted.outcome() instanceof EnrollOutcome.Pending pending) {
      // From the answer, not from the start of the attempt, as above.
      Instant retryAt = clock.instant().plus(pending.retryAfter());
      Instant since = state.pending() == null || !state.pending().accepted() ? now : state.pending().since();
      state = state.withFailures(0, retryAt).withPending(new AgentState.Pending(since, retryAt, endpoint, attempted.operation(),
          attempted.credential(), true));
      String message = "request accepted by " + endpoint + " and pending; sending the same CSR again at " + retryAt;
      state = state.withLastAttempt(new AgentState.Attempt(now, AgentState.Outcome.PENDING, endpoint, message));
      dir.writeState(state);
      OUTCOME.info(message);
      return new Result(Outcome.PENDING, message, retryAt);
    }
    Failure failure = ((EnrollOutcome.Failed) attempted.outcome()).failure();
    if (failure.refusesTheRequest()) {
      // The server refused the request itself (a 4xx other than 429: the CSR, the credential,
      // the label): resending it cannot help. The next attempt makes a new one.
      dir.pending().clear();
      state = state.withPending(null);
    } else if (state.pending() == null || !state.pending().accepted()) {
      // Keep the request for the next attempt: if it reached the server, the retry must be the
      // same CSR so that a gateway can match it.
      state = state.withPending(new AgentState.Pending(state.pending() == null ? now : state.pending().since(), null,
          endpoint, attempted.operation(), attempted.credential(), false));
    }
    // A device away for longer than a root rollover's overlap no longer trusts the server's
    // chain, and nothing it holds can vouch for the new root: only a new bootstrap can.
    String hint = failure.kind() == Failure.Kind.TLS_TRUST && attempted.operation().equals(REENROLL)
        ? "; if the CA's root was replaced while this device was away, enroll it again (renewal-agent enroll --force "
            + "--trust NEW-ROOT-FILE with a token or its IDevID)"
        : "";
    return fail(state, endpoint, attempted.operation() + " failed at " + endpoint + ": " + failure.describe() + hint, now,
        expired, failure.retryAfter(),
        failure.refusesTheRequest() ? AgentState.Outcome.REFUSED : AgentState.Outcome.FAILED);
  }

  /** Records a failed attempt and schedules the next one: backoff, never sooner than Retry-After. */
  private Result fail(AgentState state, String endpoint, String message, Instant now, boolean expired,
      Duration retryAfter, AgentState.Outcome recorded) throws IOException {
    int failures = state.consecutiveFailures() + 1;
    Duration delay = backoff.delay(failures, random);
    Instant expires = expiryInForce();
    if (expires != null && now.isBefore(expires) && now.plus(delay).isAfter(expires)) {
      // A certificate still valid is not left to expire for want of a try (the outage may end
      // before it does): the backoff is cut to at most half the time left, at least a second.
      // Jittered within it, as any backoff: devices whose certificates expire together do not
      // all come back at one instant.
      long half = Duration.between(now, expires).dividedBy(2).toMillis();
      long least = MIN_RETRY.toMillis();
      delay = Duration.ofMillis(half <= least ? least : least + (long) (random.nextDouble() * (half - least)));
    }
    Instant next = now.plus(delay);
    if (retryAfter != null) {
      // Retry-After counts from the answer, not from the start of the attempt (a connect, a
      // handshake, a failover before it).
      Instant notBefore = clock.instant().plus(retryAfter);
      next = notBefore.isAfter(next) ? notBefore : next;
    }
    state = state.withFailures(failures, next)
        .withLastAttempt(new AgentState.Attempt(now, recorded, endpoint, message));
    dir.writeState(state);
    if ((enrolling || (recorded == AgentState.Outcome.REFUSED && !dir.credentials().hasCurrent()))
        && state.pending() == null) {
      // A first enrollment (enroll) that kept no request, or one refused: nothing is tried at
      // any time; enroll, run again, starts afresh.
      OUTCOME.warn("{}: {}; {}, nothing kept to send again", config.identity(), message,
          recorded == AgentState.Outcome.REFUSED ? "refused" : "failed");
    } else {
      OUTCOME.warn("{}: {}; attempt {} failed, next at {}", config.identity(), message, failures, next);
    }
    return new Result(expired ? Outcome.EXPIRED : Outcome.FAILED, message, next);
  }

  /** When the certificate in force expires; null without one that can be read. */
  private Instant expiryInForce() {
    try {
      return dir.credentials().current().map(c -> c.certificate().getNotAfter().toInstant()).orElse(null);
    } catch (IOException | RuntimeException unreadable) {
      return null;
    }
  }

  /**
   * Checks a certificate before it replaces anything: it is for the key the agent generated,
   * names this device, and chains to a trust anchor with every certificate valid now.
   *
   * @param sentWith the other certificates of the server's answer, candidates for the path
   *     beside the trust store's intermediates: a server whose {@code /cacerts} lacks the
   *     intermediate it issues under (against RFC 7030 section 4.1.3) may send it here, and a
   *     refused certificate would have spent a first enrollment's token; only a trust anchor
   *     makes a path
   * @return the chain to install: the certificate and its CAs, without the root
   */
  private List<X509Certificate> verifiedChain(X509Certificate certificate, List<X509Certificate> sentWith,
      PrivateKey key, Instant now)
      throws GeneralSecurityException, IOException {
    if (!KeyPairs.matches(certificate.getPublicKey(), key)) {
      throw new GeneralSecurityException("it is not for the key this device generated");
    }
    String commonName = Certificates.commonName(certificate.getSubjectX500Principal()).orElse("");
    if (!commonName.equals(config.identity())) {
      throw new GeneralSecurityException("it names '" + commonName + "', not this device '" + config.identity() + "'");
    }
    TrustStore trust = dir.trust();
    List<X509Certificate> anchors = trust.anchors().isEmpty() ? trust.tlsAnchors() : trust.anchors();
    Instant notBefore = certificate.getNotBefore().toInstant();
    Instant at = now;
    if (notBefore.isAfter(now) && !notBefore.isAfter(now.plus(CLOCK_TOLERANCE))) {
      // The server's clock is a little ahead of the device's: a certificate valid within the
      // tolerance is judged as of its start, not refused over seconds.
      LOG.info("the certificate starts {} ahead of the device clock; judging it as of its start",
          Duration.between(now, notBefore));
      at = notBefore;
    }
    List<X509Certificate> path;
    try {
      path = CertificatePath.validate(certificate, concat(trust.intermediates(), sentWith), anchors, at);
    } catch (GeneralSecurityException e) {
      throw new UnknownChain(e.getMessage());
    }
    return path.subList(0, path.size() - 1);
  }

  /** A certificate for this device that does not chain to its trust anchors. */
  private static final class UnknownChain extends GeneralSecurityException {
    private static final long serialVersionUID = 1L;

    UnknownChain(String message) {
      super(message);
    }
  }

  /**
   * @param refused whether every endpoint refused, or was not the server the bootstrap trust
   *     names: what trying again cannot change
   */
  private record Fetch(List<X509Certificate> certificates, AgentState state, String error, Duration retryAfter,
      URI endpoint, boolean refused) {}

  private Fetch fetchCaCertificates(AgentState state, List<X509Certificate> anchors, Instant now) {
    String error = "no endpoint configured";
    Duration retryAfter = null;
    boolean refused = true;
    List<URI> endpoints = endpoints(state);
    for (int i = 0; i < endpoints.size(); i++) {
      URI endpoint = endpoints.get(i);
      CaCertsOutcome outcome = client.caCertificates(endpoint, config.label(), anchors);
      if (outcome instanceof CaCertsOutcome.Fetched fetched) {
        return new Fetch(fetched.certificates(), healthy(state, endpoint, now), null, null, endpoint, false);
      }
      Failure failure = ((CaCertsOutcome.Failed) outcome).failure();
      state = unhealthy(state, endpoint, failure, now);
      error = endpoint + ": " + failure.describe();
      retryAfter = failure.retryAfter();
      refused &= failure.refusesTheRequest() || failure.kind() == Failure.Kind.TLS_TRUST;
      if (i + 1 < endpoints.size()) { // the last one's failure is the fetch's, logged once by its caller
        LOG.warn("/cacerts from {} failed: {}; trying {}", endpoint, failure.describe(), endpoints.get(i + 1));
      }
    }
    return new Fetch(null, state, error, retryAfter, null, refused);
  }

  private AgentState refreshTrust(AgentState state, Instant now) throws IOException {
    TrustStore trust = dir.trust();
    Fetch fetch = fetchCaCertificates(state, tlsAnchors(trust), now);
    if (fetch.certificates() == null) {
      LOG.warn("trust refresh failed: /cacerts from {}", fetch.error());
      return fetch.state().withTrustRefresh(now, fetch.error());
    }
    rebuildMissingAnchors(trust, fetch.certificates(), now);
    stageVouchedRoots(trust, fetch.certificates(), now);
    updateIntermediates(trust, fetch.certificates(), now);
    advanceRotation(now);
    return observeLinking(fetch.state(), fetch.endpoint(), trust.tlsAnchors()).withTrustRefresh(now, null);
  }

  /**
   * Reads whether the server (the endpoint that just answered {@code /cacerts}) asks for PoP
   * linking: its {@code /csrattrs} names challengePassword (RFC 7030 section 3.5). No answer
   * leaves what is known unchanged.
   */
  private AgentState observeLinking(AgentState state, URI endpoint, List<X509Certificate> anchors) {
    if (!(client.csrAttributes(endpoint, config.label(), anchors) instanceof CsrAttrsOutcome.Fetched fetched)) {
      return state;
    }
    CsrAttributes attributes;
    try {
      attributes = fetched.der().map(CsrAttributes::decode).orElse(new CsrAttributes(List.of()));
    } catch (IllegalArgumentException e) {
      LOG.warn("the /csrattrs of {} does not decode: {}", endpoint, e.getMessage());
      return state;
    }
    boolean requested = attributes.requestsLinking();
    // The key type is the device's setting (what it can make, store, sign with), not the
    // server's to change: said at every trust refresh, so that it is seen before a refusal.
    attributes.keyNotMetBy(config.keyType()).ifPresent(asked -> LOG.warn("the /csrattrs of {} asks for {}; this "
        + "device makes {} keys (agent.json keyType): the server may refuse its CSRs; to follow it, enroll again with "
        + "renewal-agent enroll --force --key-type ...", endpoint, asked, config.keyType().id()));
    if (requested != state.linkingRequested()) {
      LOG.info("{} {} PoP linking (its /csrattrs {} challengePassword)", endpoint,
          requested ? "asks for" : "no longer asks for", requested ? "names" : "does not name");
    }
    return state.withLinkingRequested(requested);
  }

  /** Whether CSRs go linked to their TLS connection: configured, or asked for by the server. */
  private boolean linking(AgentState state) {
    return config.popLinking() || state.linkingRequested();
  }

  /**
   * An enrolled device without trust anchors ({@code anchors.json} deleted, or emptied by hand)
   * takes back the roots of an authenticated {@code /cacerts} that its {@code bootstrap.pem}
   * holds: roots its operator gave it, nothing new (a new root still needs a verified rollover).
   */
  private void rebuildMissingAnchors(TrustStore trust, List<X509Certificate> fetched, Instant now) throws IOException {
    if (!trust.anchors().isEmpty() || !dir.credentials().hasCurrent()) {
      return;
    }
    List<X509Certificate> bootstrap = trust.bootstrap();
    List<X509Certificate> known = fetched.stream().filter(Renewer::isSelfSigned).filter(bootstrap::contains).toList();
    if (!known.isEmpty()) {
      trust.writeAnchors(known, now);
      LOG.warn("the trust anchors were missing: rebuilt from the /cacerts roots that trust/bootstrap.pem holds: {}",
          describe(known));
    }
  }

  /**
   * The trust anchors an enrollment takes from an authenticated {@code /cacerts}: its roots that
   * {@code bootstrap.pem} (the enrollment's {@code --trust}) holds, active; when it holds none of
   * them (the server's TLS certificate comes from another PKI), the roots no other root of the
   * response vouches for. A new root of a rollover under way, vouched for by one of those through
   * its NewWithOld, is staged beside them, so that the rollover retires the old root on this
   * device as on devices enrolled before it; the old root a rollover replaces is not trusted by a
   * device given the new one, nor is any other root.
   */
  private List<TrustStore.Anchor> initialAnchors(List<X509Certificate> fetched, List<X509Certificate> roots,
      List<X509Certificate> bootstrap, Instant now) {
    List<X509Certificate> given = roots.stream()
        .filter(root -> RootRollover.trustedKey(root.getPublicKey(), bootstrap) != null).toList();
    if (given.isEmpty()) {
      given = roots.stream().filter(root -> RootRollover.classify(fetched,
          roots.stream().filter(other -> !other.equals(root)).toList(), now).vouched().stream()
          .noneMatch(vouched -> vouched.newRoot().equals(root))).toList();
    }
    if (given.isEmpty()) { // roots vouching for each other: none can be told to be the older
      given = roots;
    }
    List<TrustStore.Anchor> anchors = new ArrayList<>();
    for (X509Certificate root : given) {
      anchors.add(TrustStore.Anchor.active(root, now));
    }
    RootRollover.Classification classified = RootRollover.classify(fetched, given, now);
    anchors.addAll(stage(classified, now));
    for (X509Certificate replaced : classified.replaced()) {
      LOG.info("not trusting root {} from /cacerts: a root rollover replaces it with {}", Certificates.describe(replaced),
          describe(given));
    }
    return anchors;
  }

  /** Whether two sets of anchors hold the same roots in the same states. */
  private static boolean sameAnchors(List<TrustStore.Anchor> a, List<TrustStore.Anchor> b) {
    return a.stream().map(x -> x.sha256() + x.state()).collect(java.util.stream.Collectors.toSet())
        .equals(b.stream().map(x -> x.sha256() + x.state()).collect(java.util.stream.Collectors.toSet()));
  }

  /**
   * Stages the new roots of a rollover that a NewWithOld from a trusted root vouches for (RFC 7030
   * section 4.1.3); every other unknown root in the response is ignored, and said so. Nothing is
   * ever removed here: a response that leaves a root out changes nothing.
   */
  private void stageVouchedRoots(TrustStore trust, List<X509Certificate> fetched, Instant now) throws IOException {
    List<TrustStore.Anchor> anchors = new ArrayList<>(trust.anchorRecords());
    List<TrustStore.Anchor> staged = stage(RootRollover.classify(fetched, trust.anchors(), now), now);
    if (staged.isEmpty()) {
      return;
    }
    anchors.addAll(staged);
    trust.writeAnchorRecords(anchors);
  }

  /**
   * The vouched roots of {@code classified} as staged anchors, each said; its roots that cannot be
   * authenticated are said too. (An old root that a trusted root replaces is not mentioned.)
   */
  private static List<TrustStore.Anchor> stage(RootRollover.Classification classified, Instant now) {
    for (RootRollover.Ignored ignored : classified.ignored()) {
      LOG.warn("ignoring root {} from /cacerts: {}; a new root is trusted only through a verified root rollover",
          Certificates.describe(ignored.certificate()), ignored.reason());
    }
    List<TrustStore.Anchor> staged = new ArrayList<>();
    for (RootRollover.Vouched vouched : classified.vouched()) {
      staged.add(new TrustStore.Anchor(vouched.newRoot(), TrustStore.State.STAGED, now,
          Certificates.fingerprint(vouched.trustedRoot()), vouched.newWithOld().getNotAfter().toInstant()));
      TRUST.info("root rollover: staged the new root {} (sha256 {}), vouched for by the trusted root {} through a "
          + "link certificate valid until {}", Certificates.describe(vouched.newRoot()),
          Certificates.fingerprint(vouched.newRoot()), Certificates.describe(vouched.trustedRoot()),
          vouched.newWithOld().getNotAfter().toInstant());
    }
    return staged;
  }

  /**
   * Moves a root rollover on, from the certificate in force: a staged root it chains to becomes
   * active, and the root that vouched for it starts retiring; a retiring root is removed (also from
   * the bootstrap trust) once the certificate in force chains to another root and was issued after
   * the rollover's overlap ended, a time the CA's signature attests rather than the device's clock.
   */
  private void advanceRotation(Instant now) throws IOException {
    Optional<CredentialStore.Credentials> current = dir.credentials().current();
    if (current.isEmpty()) {
      return;
    }
    X509Certificate certificate = current.get().certificate();
    TrustStore trust = dir.trust();
    List<TrustStore.Anchor> anchors = new ArrayList<>(trust.anchorRecords());
    // Paths through the link certificates (OldWithNew, NewWithOld) would make every certificate
    // chain to both roots during the overlap: without them, a path reaches the root that issued.
    List<X509Certificate> roots = anchors.stream().map(TrustStore.Anchor::certificate).toList();
    List<X509Certificate> intermediates = new ArrayList<>();
    for (X509Certificate ca : concat(trust.intermediates(), current.get().chain())) {
      if (!ca.equals(certificate) && RootRollover.trustedKey(ca.getPublicKey(), roots) == null) {
        intermediates.add(ca);
      }
    }
    boolean changed = false;
    for (int i = 0; i < anchors.size(); i++) {
      TrustStore.Anchor staged = anchors.get(i);
      if (staged.state() != TrustStore.State.STAGED || !chainsTo(certificate, intermediates, staged.certificate(), now)) {
        continue;
      }
      anchors.set(i, new TrustStore.Anchor(staged.certificate(), TrustStore.State.ACTIVE, now, staged.vouchedBy(),
          staged.overlapEndsAt()));
      // Every root it descends from retires: the one that vouched for it, and, for a device that
      // missed a whole rollover while a later one was staged, the roots before that one too.
      java.util.Set<String> ancestors = new java.util.HashSet<>();
      for (String sha = staged.vouchedBy(); sha != null && !sha.equals(staged.sha256()) && ancestors.add(sha); ) {
        String voucher = sha;
        sha = null;
        for (TrustStore.Anchor anchor : anchors) {
          if (anchor.sha256().equals(voucher)) {
            sha = anchor.vouchedBy();
          }
        }
      }
      for (int j = 0; j < anchors.size(); j++) {
        TrustStore.Anchor old = anchors.get(j);
        if ((old.state() == TrustStore.State.ACTIVE || old.state() == TrustStore.State.STAGED)
            && ancestors.contains(old.sha256())) {
          anchors.set(j, new TrustStore.Anchor(old.certificate(), TrustStore.State.RETIRING, now, null,
              staged.overlapEndsAt()));
          TRUST.info("root rollover: the certificate in force chains to the new root {}; the old root {} retires "
              + "after {}", Certificates.describe(staged.certificate()), Certificates.describe(old.certificate()),
              staged.overlapEndsAt());
        }
      }
      changed = true;
    }
    List<X509Certificate> retired = new ArrayList<>();
    Instant issuedAt = certificate.getNotBefore().toInstant();
    for (TrustStore.Anchor old : anchors) {
      if (old.state() != TrustStore.State.RETIRING || old.overlapEndsAt() == null
          || issuedAt.isBefore(old.overlapEndsAt())) {
        continue;
      }
      boolean underAnother = anchors.stream().anyMatch(a -> a.state() == TrustStore.State.ACTIVE
          && chainsTo(certificate, intermediates, a.certificate(), now));
      if (underAnother) {
        retired.add(old.certificate());
        TRUST.info("root rollover: retired the old root {}: the certificate in force chains to its successor and "
            + "was issued {}, after the overlap ended {}", Certificates.describe(old.certificate()), issuedAt,
            old.overlapEndsAt());
      }
    }
    if (!retired.isEmpty()) {
      anchors.removeIf(a -> retired.contains(a.certificate()));
      List<X509Certificate> bootstrap = new ArrayList<>(trust.bootstrap());
      if (bootstrap.removeIf(b -> RootRollover.trustedKey(b.getPublicKey(), retired) != null)) {
        trust.writeBootstrap(bootstrap);
      }
      changed = true;
    }
    if (changed) {
      trust.writeAnchorRecords(anchors);
    }
  }

  private static boolean chainsTo(X509Certificate certificate, List<X509Certificate> intermediates, X509Certificate root,
      Instant now) {
    try {
      CertificatePath.validate(certificate, intermediates, List.of(root), now);
      return true;
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  private static List<X509Certificate> concat(List<X509Certificate> a, List<X509Certificate> b) {
    List<X509Certificate> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }

  /**
   * Keeps the CA certificates of {@code /cacerts} that chain to a trust anchor now, plus the
   * known ones still valid: an issuing CA dropped from a response may still be what the
   * certificate in force chains through.
   */
  private void updateIntermediates(TrustStore trust, List<X509Certificate> fetched, Instant now) throws IOException {
    List<X509Certificate> anchors = trust.anchors();
    LinkedHashSet<X509Certificate> intermediates = new LinkedHashSet<>();
    for (X509Certificate known : trust.intermediates()) {
      if (Certificates.isValidAt(known, now)) {
        intermediates.add(known);
      }
    }
    for (X509Certificate certificate : fetched) {
      if (isSelfSigned(certificate) || certificate.getBasicConstraints() < 0) {
        continue;
      }
      try {
        CertificatePath.validate(certificate, fetched, anchors, now);
        intermediates.add(certificate);
      } catch (GeneralSecurityException e) {
        LOG.warn("ignoring CA certificate {} from /cacerts: {}", Certificates.describe(certificate), e.getMessage());
      }
    }
    List<X509Certificate> updated = new ArrayList<>(intermediates);
    if (!updated.equals(trust.intermediates())) {
      trust.writeIntermediates(updated);
    }
  }

  /** The endpoints in failover order; one holding a pending request goes first, since it has the record. */
  private List<URI> endpoints(AgentState state) {
    List<URI> ordered = new ArrayList<>();
    if (state.pending() != null && state.pending().endpoint() != null) {
      URI pendingAt = URI.create(state.pending().endpoint());
      if (config.endpoints().contains(pendingAt)) {
        ordered.add(pendingAt);
      }
    }
    for (URI endpoint : config.endpoints()) {
      if (!ordered.contains(endpoint)) {
        ordered.add(endpoint);
      }
    }
    return ordered;
  }

  private static AgentState healthy(AgentState state, URI endpoint, Instant now) {
    AgentState.EndpointHealth old = state.endpoints().get(endpoint.toString());
    return state.withEndpoint(endpoint.toString(),
        new AgentState.EndpointHealth(now, old == null ? null : old.lastFailure(), old == null ? null : old.lastError(), 0));
  }

  private static AgentState unhealthy(AgentState state, URI endpoint, Failure failure, Instant now) {
    AgentState.EndpointHealth old = state.endpoints().get(endpoint.toString());
    return state.withEndpoint(endpoint.toString(), new AgentState.EndpointHealth(
        old == null ? null : old.lastSuccess(), now, failure.describe(), old == null ? 1 : old.consecutiveFailures() + 1));
  }

  /** The stored request, if there is one for this kind of operation ({@code null}: any). */
  private Optional<PendingStore.Request> pendingRequest(AgentState state, String operation) throws IOException {
    if (state.pending() == null || (operation != null && !operation.equals(state.pending().operation()))) {
      return Optional.empty();
    }
    try {
      return dir.pending().load();
    } catch (IOException unreadable) {
      // Damaged on disk (a CSR without its key): it can never be sent as it was. Dropped, so that
      // the attempts go on with a new request instead of failing on it for ever.
      LOG.warn("{}; dropping it, the next request is a new one", unreadable.getMessage());
      dir.pending().clear();
      return Optional.empty();
    }
  }

  private PendingStore.Request newRequest(KeyPair keys, X500Name subject, List<GeneralName> names, String token)
      throws IOException {
    Csr csr = new CsrBuilder().subject(subject).subjectAltNames(names).sign(keys);
    // Stored before it is sent: whatever the server answers, and whenever, the key is on disk.
    dir.pending().save(keys.getPrivate(), csr, token);
    return new PendingStore.Request(keys.getPrivate(), csr, token);
  }

  private KeyPair generateKeys() {
    return config.keyType().generate(random);
  }

  private static X500Name subjectOf(String identity) {
    // As a string value, never parsed: addRDN(oid, String) reads "#..." as hex and drops a leading backslash.
    return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, new DERUTF8String(identity)).build();
  }

  private ClientAuth idevidAuth() throws AgentException {
    AgentConfig.Idevid idevid = config.idevid();
    if (idevid == null) {
      throw AgentException.usage("no IDevID is configured in " + dir.resolve(StateDir.CONFIG));
    }
    try {
      Path certificateFile = idevid.certificate();
      List<X509Certificate> chain = Pem.readCertificates(certificateFile);
      PrivateKey key = Pem.readPrivateKey(idevid.key());
      if (!KeyPairs.matches(chain.get(0).getPublicKey(), key)) {
        throw AgentException.usage(idevid.key() + " is not the key of the IDevID " + certificateFile);
      }
      return new ClientAuth.Certificate(key, chain);
    } catch (IllegalArgumentException e) {
      throw AgentException.usage("IDevID: " + e.getMessage(), e);
    }
  }

  /** Whether the server refused the credential itself (so another credential may do). */
  private static boolean refusesCredential(EnrollOutcome outcome) {
    return outcome instanceof EnrollOutcome.Failed failed && failed.failure().kind() == Failure.Kind.REFUSED
        && (failed.failure().status() == 401 || failed.failure().status() == 403);
  }

  /**
   * A clock before this build was made, or before the certificate in force became valid, is
   * wrong (reset to the epoch or a factory date after a power loss). Nothing is decided on it.
   */
  private Optional<String> clockSkew(X509Certificate certificate, Instant now) {
    if (now.isBefore(buildTime)) {
      return Optional.of("clock skew: the device clock (" + now + ") is before this agent was built (" + buildTime + ")");
    }
    Instant notBefore = certificate.getNotBefore().toInstant();
    if (now.isBefore(notBefore)) {
      return Optional.of("clock skew: the device clock (" + now + ") is before the certificate in force became valid ("
          + notBefore + ")");
    }
    return Optional.empty();
  }

  static boolean isSelfSigned(X509Certificate certificate) {
    if (!certificate.getSubjectX500Principal().equals(certificate.getIssuerX500Principal())) {
      return false;
    }
    try {
      certificate.verify(certificate.getPublicKey());
      return true;
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  private static String describe(List<X509Certificate> certificates) {
    List<String> names = new ArrayList<>();
    for (X509Certificate certificate : certificates) {
      names.add("'" + certificate.getSubjectX500Principal().getName() + "' sha256 " + Certificates.fingerprint(certificate));
    }
    return String.join(", ", names);
  }
}
