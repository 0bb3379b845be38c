package org.estfleet.server;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.estfleet.est.client.ClientAuth;
import org.estfleet.est.client.EstClient;
import org.estfleet.est.client.KeptAliveEstClient;
import org.estfleet.io.ProcessLock;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.Pem;
import org.estfleet.server.audit.AuditLog;
import org.estfleet.server.auth.AuthThrottle;
import org.estfleet.server.auth.Authenticator;
import org.estfleet.server.auth.BootstrapTokens;
import org.estfleet.server.auth.EnrollmentThrottle;
import org.estfleet.server.auth.IssuanceLookup;
import org.estfleet.server.auth.RevocationList;
import org.estfleet.server.ca.CaMaterial;
import org.estfleet.server.ca.CaReloader;
import org.estfleet.server.ca.CertificateAuthority;
import org.estfleet.server.ca.CertificateProfile;
import org.estfleet.server.ca.LocalCa;
import org.estfleet.server.ca.StoredAnswers;
import org.estfleet.server.config.ConfigException;
import org.estfleet.server.config.DataDir;
import org.estfleet.server.config.GatewayConfig;
import org.estfleet.server.config.ProfileConfig;
import org.estfleet.server.config.ServerConfig;
import org.estfleet.server.config.TlsPairFiles;
import org.estfleet.tls.TlsProvider;
import org.estfleet.server.enroll.CsrPolicy;
import org.estfleet.server.enroll.EstService;
import org.estfleet.server.enroll.LabelPolicy;
import org.estfleet.server.gateway.Forwarder;
import org.estfleet.server.gateway.GatewayHealth;
import org.estfleet.server.gateway.GatewayIdentity;
import org.estfleet.server.gateway.StoreAndForward;
import org.estfleet.server.gateway.Upstream;
import org.estfleet.server.gateway.UpstreamMirror;
import org.estfleet.server.http.EstServer;
import org.estfleet.server.metrics.ServerMetrics;
import org.estfleet.server.store.Database;
import org.estfleet.server.store.IssuedCertificates;
import org.estfleet.server.store.PendingEnrollments;
import org.estfleet.server.store.Revocations;
import org.estfleet.server.store.Role;
import org.estfleet.server.store.TokenRecords;
import org.estfleet.server.store.UpstreamCache;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running est-server, assembled from a data directory: in CA mode the database, the CA, the
 * EST rules and the HTTPS listener; in gateway mode the upstream, its mirror, the durable queue
 * and its forwarder instead of the CA. Closing it stops the listener, then the forwarder, then
 * closes the database.
 */
public final class ServerRuntime implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ServerRuntime.class);
  private static final Duration TLS_EXPIRY_WARNING = Duration.ofDays(30);
  /** The audit log, in the data directory: one JSON line per enrollment answer. */
  public static final Path AUDIT_FILE = Path.of("audit.log");
  /** Held by a serving server in its data directory, with its process id. */
  public static final String SERVE_LOCK = ".serve.lock";

  private final Database database;
  private final EstServer server;
  private final AutoCloseable background;
  private final CaReloader caFiles;
  /** The data directory's lock, held while serving; set by {@link #start}. */
  private ProcessLock serving;

  /**
   * @param background what runs beside the listener, stopped after it
   * @param caFiles a CA's check of its files, stopped before the listener (null for a gateway)
   */
  private ServerRuntime(Database database, EstServer server, AutoCloseable background, CaReloader caFiles) {
    this.database = database;
    this.server = server;
    this.background = background;
    this.caFiles = caFiles;
  }

  /**
   * Starts serving the data directory's configuration.
   *
   * @throws ConfigException if the data directory's files are missing or inconsistent
   */
  public static ServerRuntime start(DataDir dataDir, Clock clock, SecureRandom random) throws Exception {
    return start(dataDir, clock, random, UnaryOperator.identity());
  }

  /**
   * Starts serving, with the CA wrapped by {@code decorator}: the seam for behaviour around
   * issuance (a CA that defers, fails or misbehaves, as the agent's tests need).
   */
  public static ServerRuntime start(DataDir dataDir, Clock clock, SecureRandom random,
      UnaryOperator<CertificateAuthority> decorator) throws Exception {
    ServerConfig config = dataDir.config();
    List<X509Certificate> manufacturerCas = new ArrayList<>();
    for (Path file : config.bootstrap().manufacturerCas()) {
      manufacturerCas.addAll(dataDir.readCertificates(file));
    }
    EstServer.Settings settings = settings(config);
    try {
      EstServer.checkNamedGroups(settings, random);
    } catch (IllegalArgumentException e) {
      throw configError(dataDir, e);
    }
    ProcessLock serving = holdForServing(dataDir);
    try {
      ServerRuntime runtime;
      if (config.mode() == ServerConfig.Mode.GATEWAY) {
        TlsPairFiles.Pair tls = dataDir.readTls();
        warnIfExpiring(tls.chain().get(0), clock.instant());
        if (!Certificates.maySign(tls.chain().get(0))) {
          // Issued under a gatewayProfile without digitalSignature, by a release that allowed one.
          LOG.warn("the gateway's certificate {} may not sign (its key usage lacks digitalSignature): devices and "
              + "its CA refuse it in TLS (RFC 8446); enroll it again: est-server init --gateway --reenroll",
              Certificates.describe(tls.chain().get(0)));
        }
        checkCertificateCurve(dataDir, settings, tls.chain());
        runtime = startGateway(dataDir, settings, tls.key(), tls.chain(), manufacturerCas, clock, random, decorator);
      } else {
        runtime = startCa(dataDir, settings, manufacturerCas, clock, random, decorator);
      }
      runtime.serving = serving;
      return runtime;
    } catch (Exception | Error e) {
      if (serving != null) {
        serving.close();
      }
      throw e;
    }
  }

  private static EstServer.Settings settings(ServerConfig config) {
    return new EstServer.Settings(config.bindAddress(), config.port(), config.tls().protocols(),
        config.limits().maxRequestBytes(), config.limits().maxConcurrentRequests(), config.limits().busyRetryAfter(),
        config.limits().maxHeaderBytes(), config.limits().idleTimeout(), config.limits().requestTimeout(),
        config.tls().provider().jsse(),
        config.limits().maxConnections(), new EstServer.Monitoring(config.monitoring().enabled(),
            config.monitoring().bindAddress(), config.monitoring().port()), config.tls().namedGroups());
  }

  /**
   * The checks {@code serve} makes of {@code tls.namedGroups} before it starts, for a TLS key
   * {@code tlsKey} yet to be certified: for {@code init --reenroll}, before the token is spent.
   *
   * @throws ConfigException naming server.json, as {@code serve} would
   */
  public static void checkTls(DataDir dataDir, java.security.PublicKey tlsKey, SecureRandom random)
      throws ConfigException, java.security.GeneralSecurityException, javax.net.ssl.SSLException {
    EstServer.Settings settings = settings(dataDir.config());
    try {
      EstServer.checkNamedGroups(settings, random);
      EstServer.checkKeyCurve(settings, tlsKey);
    } catch (IllegalArgumentException e) {
      throw configError(dataDir, e);
    }
  }

  /** {@link EstServer#checkCertificateCurve}, a failure a configuration error. */
  private static void checkCertificateCurve(DataDir dataDir, EstServer.Settings settings, List<X509Certificate> chain)
      throws ConfigException {
    try {
      EstServer.checkCertificateCurve(settings, chain.get(0));
    } catch (IllegalArgumentException e) {
      throw configError(dataDir, e);
    }
  }

  private static ConfigException configError(DataDir dataDir, IllegalArgumentException e) {
    return new ConfigException(dataDir.resolve(Path.of(DataDir.CONFIG_FILE)) + ": " + e.getMessage(), e);
  }

  /**
   * Takes the data directory for this server ({@value #SERVE_LOCK}, held until {@link #close}):
   * two servers on one database and queue, or {@code init --force} or {@code init --reenroll}
   * beside a running server, would undo each other's work.
   *
   * @throws ConfigException if another server holds it
   */
  private static ProcessLock holdForServing(DataDir dataDir) throws ConfigException {
    Path file = serveLock(dataDir.root());
    Optional<ProcessLock> held;
    try {
      held = ProcessLock.tryHold(file);
    } catch (IOException e) {
      // A file system without locks (some network mounts): serve as before this check existed.
      LOG.warn("cannot lock {} ({}); serving without the check that no other est-server or init uses this "
          + "directory", file, e.getMessage());
      return null;
    }
    return held.orElseThrow(() -> new ConfigException(dataDir.root() + " is already served by another est-server"
        + ProcessLock.describeHolder(file) + "; one server per data directory"));
  }

  /**
   * The lock file a serving server holds in the data directory {@code root}; {@code init} holds it
   * too while it replaces what a server would be using.
   */
  public static Path serveLock(Path root) {
    return root.resolve(SERVE_LOCK);
  }

  private static ServerRuntime startCa(DataDir dataDir, EstServer.Settings settings,
      List<X509Certificate> manufacturerCas, Clock clock, SecureRandom random,
      UnaryOperator<CertificateAuthority> decorator) throws Exception {
    ServerConfig config = dataDir.config();
    // The CA's material and TLS identity, read together; a rollover or retire-root run while the
    // server runs is taken up by the reloader, without a restart.
    CaReloader files = CaReloader.load(dataDir);
    CaMaterial ca = files.ca();
    TlsPairFiles.Pair tls = files.current().tls();
    warnIfExpiring(tls.chain().get(0), clock.instant());
    checkCertificateCurve(dataDir, settings, tls.chain());
    Database database = Database.openExisting(dataDir.resolve(config.database().file()));
    AuditLog audit = null;
    EstServer listening = null;
    try {
      audit = openAudit(dataDir.resolve(AUDIT_FILE), clock);
      IssuedCertificates ledger = new IssuedCertificates(database);
      BootstrapTokens tokens = new BootstrapTokens(new TokenRecords(database), clock, random);
      for (String profile : config.profilesWhoseKeysCannotSign()) {
        LOG.warn("{}: {}.keyUsage lacks digitalSignature: its devices cannot re-enroll with the certificates it "
            + "issues (TLS client authentication signs), only enroll again with a token or IDevID",
            dataDir.root().resolve(DataDir.CONFIG_FILE), profile);
      }
      Map<String, CertificateProfile> profiles = new HashMap<>();
      Map<String, LabelPolicy> policies = new HashMap<>();
      profiles.put("", CertificateProfile.of(config.defaultProfile()));
      policies.put("", LabelPolicy.of(config.defaultProfile()));
      for (Map.Entry<String, ProfileConfig> label : config.labels().entrySet()) {
        profiles.put(label.getKey(), CertificateProfile.of(label.getValue()));
        policies.put(label.getKey(), LabelPolicy.of(label.getValue()));
      }
      ServerMetrics metrics = new ServerMetrics("ca", version());
      LocalCa localCa = new LocalCa(files::ca, profiles, CertificateProfile.of(config.gatewayProfile()), ledger, clock,
          random);
      RevocationList revocations = new RevocationList(new Revocations(database), clock);
      Authenticator authenticator = new Authenticator(() -> files.ca().certificates(), manufacturerCas,
          config.bootstrap().idevidLabels(), config.bootstrap().idevidIdentity(),
          Authenticator.ledgerLookup(ledger, revocations), tokens,
          config.reenroll().gracePeriod(), config.reenroll().gatewayHoldLimit(), clock);
      EstService service = new EstService(decorator.apply(localCa), authenticator, policies,
          LabelPolicy.of(config.gatewayProfile()),
          (gateway, requestId) -> ledger.findForwarded(gateway, requestId)
              .map(record -> Pem.readCertificates(record.certificatePem(), "ledger serial " + record.serial()).get(0)),
          (deviceId, secret, publicKeySha256, label) -> tokens.used(deviceId, secret).flatMap(token -> ledger
              .findRetry(deviceId, publicKeySha256, Authenticator.tokenDetail(token.id()), label, clock.instant())
              .map(record -> new EstService.TokenRetry(token.id(), token.role(), token.label(),
                  Pem.readCertificates(record.certificatePem(), "ledger serial " + record.serial()).get(0)))),
          StoredAnswers.none(), throttles(config, clock), audit, metrics,
          config.tls().provider() == TlsProvider.BCJSSE, random);
      Supplier<CaHealth> health = () -> CaHealth.of(ledger.count(), files.failure(), files.ca(), clock.instant());
      metrics.register(() -> caGauges(files.current(), health.get()));

      EstServer server = EstServer.start(settings, serverTls(files.current(), manufacturerCas), service, health,
          metrics, random);
      listening = server;
      LOG.info("serving {} (CA '{}', {} label(s), {} manufacturer CA(s))", server.baseUri(),
          ca.issuing().getSubjectX500Principal().getName(), config.labels().size(), manufacturerCas.size());
      logRollover(ca.rollover(), clock.instant());
      logUnusableIssuer(ca, clock.instant());
      files.start(config.ca().checkInterval(), loaded -> {
        server.reloadTls(serverTls(loaded, manufacturerCas));
        warnIfExpiring(loaded.tls().chain().get(0), clock.instant());
        logRollover(loaded.ca().rollover(), clock.instant());
        logUnusableIssuer(loaded.ca(), clock.instant());
      });
      return new ServerRuntime(database, server, audit, files);
    } catch (Exception | Error e) {
      if (listening != null) {
        listening.close();
      }
      files.close();
      if (audit != null) {
        audit.close();
      }
      database.close();
      throw e;
    }
  }

  /** The TLS identity a CA presents, and the CAs it names to clients: its own and the manufacturers'. */
  private static EstServer.Tls serverTls(CaReloader.Loaded loaded, List<X509Certificate> manufacturerCas) {
    List<X509Certificate> acceptedIssuers = new ArrayList<>(loaded.ca().certificates());
    acceptedIssuers.addAll(manufacturerCas);
    return new EstServer.Tls(loaded.tls().key(), loaded.tls().chain(), acceptedIssuers);
  }

  /** The TLS identity a gateway presents, and the CAs it names to clients: the upstream's and the manufacturers'. */
  private static EstServer.Tls gatewayTls(ClientAuth.Certificate identity, List<X509Certificate> upstreamCas,
      List<X509Certificate> manufacturerCas) {
    List<X509Certificate> acceptedIssuers = new ArrayList<>(upstreamCas);
    acceptedIssuers.addAll(manufacturerCas);
    return new EstServer.Tls(identity.key(), identity.chain(), acceptedIssuers);
  }

  /** The audit log, without which the server does not serve; the error says what the file is for. */
  private static AuditLog openAudit(Path file, Clock clock) throws IOException {
    try {
      return AuditLog.open(file, clock);
    } catch (IOException e) {
      // The JDK says "FILE: Operation not permitted": which file, not what it is for.
      throw new IOException("the audit log cannot be opened for appending: " + e.getMessage(), e);
    }
  }

  /** This build's version, from the jar manifest, or "development" when run from classes. */
  private static String version() {
    String version = ServerRuntime.class.getPackage().getImplementationVersion();
    return version == null ? "development" : version;
  }

  private static final String EXPIRY = "estfleet_certificate_expiry_timestamp_seconds";
  private static final String EXPIRY_HELP = "When a certificate this server depends on expires (seconds since the "
      + "epoch): ca-root, ca-issuing, ca-new-root and ca-links (a rollover's new root and link certificates), tls (the "
      + "server's own)";
  private static final String HEALTH_OK = "estfleet_health_ok";
  private static final String HEALTH_OK_HELP = "1 when GET /health says ok, 0 when degraded";

  /** A CA's gauges: its ledger, its certificates' expiry, whether changed CA files were taken up. */
  private static ServerMetrics.Gauges caGauges(CaReloader.Loaded loaded, CaHealth health) {
    Map<String, Double> expiry = new java.util.LinkedHashMap<>();
    expiry.put("ca-root", ServerMetrics.Gauges.seconds(loaded.ca().root().getNotAfter().toInstant()));
    expiry.put("ca-issuing", ServerMetrics.Gauges.seconds(loaded.ca().issuing().getNotAfter().toInstant()));
    if (loaded.ca().rollover() != null) {
      expiry.put("ca-new-root", ServerMetrics.Gauges.seconds(loaded.ca().rollover().newRoot().getNotAfter().toInstant()));
      expiry.put("ca-links", ServerMetrics.Gauges.seconds(loaded.ca().rollover().overlapEndsAt()));
    }
    expiry.put("tls", ServerMetrics.Gauges.seconds(loaded.tls().chain().get(0).getNotAfter().toInstant()));
    return new ServerMetrics.Gauges()
        .add("estfleet_ledger_issued_certificates", "Certificates this CA has issued (the ledger's highest row id)",
            health.issuedCertificates())
        .add(EXPIRY, EXPIRY_HELP, "certificate", expiry)
        .add(HEALTH_OK, HEALTH_OK_HELP, "ok".equals(health.status()) ? 1 : 0);
  }

  /** A gateway's gauges, from one reading of what {@code /health} reports. */
  private static ServerMetrics.Gauges gatewayGauges(GatewayHealth health) {
    ServerMetrics.Gauges gauges = new ServerMetrics.Gauges()
        .add("estfleet_gateway_queue_pending", "Requests stored, waiting for the upstream", health.queue().pending())
        .add("estfleet_gateway_queue_answered", "Answers stored, waiting for their device to collect them",
            health.queue().answered())
        .add("estfleet_gateway_queue_limit", "gateway.queueLimit: beyond it new requests get 503", health.queue().limit())
        .add("estfleet_gateway_queue_oldest_pending_age_seconds", "Age of the oldest waiting request; 0 when none waits",
            health.queue().oldestPendingAgeSeconds() == null ? 0 : health.queue().oldestPendingAgeSeconds())
        .add("estfleet_gateway_upstream_up", "1 when the upstream's last answer was an EST answer, else 0",
            "up".equals(health.upstream().state()) ? 1 : 0)
        .add("estfleet_gateway_cacerts_stale", "1 when the copy of the upstream's /cacerts is older than "
            + "gateway.cacheStaleAfter (or there is none)", health.cacerts().stale() || health.cacerts().fetchedAt() == null ? 1 : 0)
        .add(EXPIRY, EXPIRY_HELP, "certificate", Map.of("tls",
            ServerMetrics.Gauges.seconds(health.certificate().notAfter())))
        .add(HEALTH_OK, HEALTH_OK_HELP, "ok".equals(health.status()) ? 1 : 0);
    if (health.cacerts().ageSeconds() != null) {
      gauges.add("estfleet_gateway_cacerts_age_seconds", "Age of the copy of the upstream's /cacerts",
          health.cacerts().ageSeconds());
    }
    return gauges;
  }

  /**
   * What {@code GET /health} reports in CA mode: {@code degraded}, with {@code caFiles} saying
   * why, while changed CA files (a rollover, a retire-root) cannot be taken up; with
   * {@code rollover} saying why once a rollover's overlap has ended without a retire-root: its
   * link certificates have expired, so a device still trusting only the old root can no longer
   * follow it; and with {@code issuing} saying why while the issuing CA certificate in force is
   * not valid (expired): every enrollment is refused (503). The HTTP status stays 200: the
   * report is the answer.
   */
  record CaHealth(String mode, String status, long issuedCertificates, String caFiles, String rollover,
      String issuing) {
    static CaHealth of(long issuedCertificates, Optional<String> caFilesFailure, CaMaterial ca, Instant now) {
      // The reason (file paths, exception text) goes to the log, not to an unauthenticated page.
      String files = caFilesFailure.map(failure -> "changed CA files cannot be taken up; the server log says why")
          .orElse(null);
      CaMaterial.Rollover rollover = ca.rollover();
      String overdue = rollover == null || now.isBefore(rollover.overlapEndsAt()) ? null
          : "the overlap ended " + rollover.overlapEndsAt() + ": the link certificates have expired; run "
              + "est-server retire-root";
      String issuing = LocalCa.unusable(ca.issuerAt(now).certificate(), now).orElse(null);
      return new CaHealth("ca", files == null && overdue == null && issuing == null ? "ok" : "degraded",
          issuedCertificates, files, overdue, issuing);
    }
  }

  private static ServerRuntime startGateway(DataDir dataDir, EstServer.Settings settings, PrivateKey tlsKey,
      List<X509Certificate> tlsChain, List<X509Certificate> manufacturerCas, Clock clock, SecureRandom random,
      UnaryOperator<CertificateAuthority> decorator) throws Exception {
    ServerConfig config = dataDir.config();
    GatewayConfig gateway = config.gateway();
    if (config.defaultProfile() != null) {
      // Written by init --gateway before it left the section out.
      LOG.warn("{}: 'defaultProfile' is not used by a gateway (the upstream applies its own profiles); remove it",
          dataDir.root().resolve(DataDir.CONFIG_FILE));
    }
    List<X509Certificate> upstreamTrust = dataDir.readCertificates(gateway.upstreamTrust());
    Database database = Database.openExisting(dataDir.resolve(config.database().file()));
    Forwarder forwarder = null;
    AuditLog audit = null;
    EstServer listening = null;
    try {
      audit = openAudit(dataDir.resolve(AUDIT_FILE), clock);
      // One certificate is both the TLS server certificate devices see and the RA certificate
      // the upstream sees (README "Gateway").
      AtomicReference<UpstreamMirror> mirrorRef = new AtomicReference<>();
      GatewayIdentity identity = new GatewayIdentity(new ClientAuth.Certificate(tlsKey, tlsChain),
          dataDir.resolve(config.tls().certificate()), dataDir.resolve(config.tls().key()),
          () -> mirrorRef.get().anchors(), () -> mirrorRef.get().refresh(), clock, random);
      ServerMetrics metrics = new ServerMetrics("gateway", version());
      Upstream upstream = new Upstream(gateway.upstreamUri(),
          // The gateway's TLS (tls.provider) to its CA too: on BCJSSE the hybrid key exchange, so that
          // the devices' requests it forwards, their tokens included, are as well kept as on their way in.
          new EstClient(gateway.connectTimeout(), gateway.readTimeout(), clock, random, settings.tlsProvider()),
          new KeptAliveEstClient(gateway.upstreamUri(), gateway.connectTimeout(), gateway.readTimeout(), clock, random,
              settings.tlsProvider()),
          upstreamTrust,
          dataDir.resolve(gateway.upstreamTrust()), identity::current, metrics, clock);
      List<String> labels = new ArrayList<>();
      labels.add("");
      labels.addAll(gateway.labels());
      UpstreamMirror mirror = new UpstreamMirror(upstream, new UpstreamCache(database), labels,
          gateway.cacheStaleAfter(), gateway.retryAfter(), clock);
      mirrorRef.set(mirror);
      PendingEnrollments queue = new PendingEnrollments(database);
      forwarder = new Forwarder(queue, upstream, mirror, identity, gateway, clock, random);
      StoreAndForward storeAndForward = new StoreAndForward(queue, forwarder, mirror, upstream, gateway, clock);

      // Tokens are checked by the upstream; certificates against the CA certificates the
      // gateway mirrors, with issuance records checked upstream when the gateway vouches.
      // The CA judges the labels of the device's credentials when the gateway forwards.
      Authenticator authenticator = new Authenticator(mirror::anchors, manufacturerCas, null,
          config.bootstrap().idevidIdentity(),
          (serial, deviceId) -> Optional.of(new IssuanceLookup.Issuance(Role.DEVICE, null)), null,
          config.reenroll().gracePeriod(),
          config.reenroll().gatewayHoldLimit(), clock);
      // The upstream applies its profiles; here only what every profile requires (a CN, a
      // signature that verifies, an acceptable key) is checked, with any subjectAltName type.
      LabelPolicy policy = new LabelPolicy(new CsrPolicy(List.of(ProfileConfig.SanType.values())),
          "a gateway does not relay serverkeygen (it would hold the private key its CA generated, and could not keep "
              + "it while the CA is away); send it to the CA (" + gateway.upstream() + "), or generate the key on "
              + "the device and use simpleenroll");
      Map<String, LabelPolicy> policies = new HashMap<>();
      for (String label : labels) {
        policies.put(label, policy);
      }
      EstService service = new EstService(decorator.apply(storeAndForward), authenticator, policies, null,
          EstService.ForwardedRequests.none(), EstService.TokenRetries.none(), storeAndForward, throttles(config, clock),
          audit, metrics,
          config.tls().provider() == TlsProvider.BCJSSE, random);
      metrics.register(() -> gatewayGauges(GatewayHealth.of(upstream, mirror, queue, gateway.queueLimit(),
          gateway.cacheStaleAfter(), identity, clock)));
      if (config.tls().provider() != TlsProvider.BCJSSE) {
        LOG.warn("tls.provider {} exposes no TLS channel binding: requests for upstream labels that require PoP "
            + "linking will be refused", config.tls().provider());
      }

      EstServer server = EstServer.start(settings, gatewayTls(identity.current(), mirror.anchors(), manufacturerCas),
          service, () -> GatewayHealth.of(upstream, mirror, queue, gateway.queueLimit(), gateway.cacheStaleAfter(),
              identity, clock), metrics, random);
      listening = server;
      // Its own certificate renewed, or the upstream's CAs changed (a root rollover): the listener
      // presents the one and names the others to clients. Each switch reads both as they are then.
      Object switching = new Object();
      Runnable follow = () -> {
        synchronized (switching) {
          server.reloadTls(gatewayTls(identity.current(), mirror.anchors(), manufacturerCas));
        }
      };
      identity.onChange(renewed -> follow.run());
      mirror.onAnchorsChange(anchors -> follow.run());
      forwarder.start();
      LOG.info("serving {} as a gateway to {} ({} label(s) besides the default, queue limit {})", server.baseUri(),
          upstream.uri(), gateway.labels().size(), gateway.queueLimit());
      Forwarder started = forwarder;
      AuditLog opened = audit;
      return new ServerRuntime(database, server, () -> {
        started.close();
        opened.close();
      }, null);
    } catch (Exception | Error e) {
      if (listening != null) {
        listening.close();
      }
      if (forwarder != null) {
        forwarder.close();
      }
      if (audit != null) {
        audit.close();
      }
      database.close();
      throw e;
    }
  }

  private static EstService.Throttles throttles(ServerConfig config, Clock clock) {
    ServerConfig.LimitsConfig limits = config.limits();
    return new EstService.Throttles(
        new AuthThrottle(limits.authFailuresPerMinute(), limits.sourceAuthFailuresPerMinute(), clock),
        new EnrollmentThrottle(limits.enrollmentsPerIdentityPerHour(), limits.enrollmentsPerSourcePerMinute(), clock));
  }

  private static void logRollover(CaMaterial.Rollover rollover, Instant now) {
    if (rollover == null) {
      return;
    }
    LOG.info("root rollover under way: new root '{}', issuing under it {} {}; /cacerts carries both roots and the "
        + "link certificates until {}", rollover.newRoot().getSubjectX500Principal().getName(),
        now.isBefore(rollover.activateAt()) ? "from" : "since", rollover.activateAt(), rollover.overlapEndsAt());
    if (!now.isBefore(rollover.overlapEndsAt())) {
      LOG.warn("the rollover's overlap ended {}: the link certificates have expired; run est-server retire-root",
          rollover.overlapEndsAt());
    }
  }

  /** An issuing CA certificate in force that cannot issue now is an error in the log, as /health says. */
  private static void logUnusableIssuer(CaMaterial ca, Instant now) {
    LocalCa.unusable(ca.issuerAt(now).certificate(), now).ifPresent(problem -> LOG.error("{}", problem));
  }

  private static void warnIfExpiring(X509Certificate tls, Instant now) {
    Instant notAfter = tls.getNotAfter().toInstant();
    if (!now.isBefore(notAfter)) {
      LOG.error("the TLS server certificate {} expired at {}; clients refuse to connect", Certificates.describe(tls),
          notAfter);
    } else if (now.plus(TLS_EXPIRY_WARNING).isAfter(notAfter)) {
      LOG.warn("the TLS server certificate {} expires {}; clients will soon refuse to connect",
          Certificates.describe(tls), notAfter);
    }
  }

  public int port() {
    return server.port();
  }

  /** How many responses of each HTTP status were sent since the start. */
  public Map<Integer, Long> responses() {
    return server.responses();
  }

  public URI baseUri() {
    return server.baseUri();
  }

  /** Where {@code /health} and {@code /metrics} are served when they have a listener of their own ({@code monitoring.port}). */
  public Optional<URI> monitoringUri() {
    return server.monitoringUri();
  }

  /** Blocks until the server stops. */
  public void join() throws InterruptedException {
    server.join();
  }

  @Override
  public void close() {
    try {
      if (caFiles != null) {
        // No check switches the listener while it stops.
        caFiles.close();
      }
      server.close();
      try {
        background.close();
      } catch (Exception e) {
        LOG.warn("stopping background work failed: {}", e.getMessage());
      }
      database.close();
    } finally {
      if (serving != null) {
        serving.close();
      }
    }
  }
}
