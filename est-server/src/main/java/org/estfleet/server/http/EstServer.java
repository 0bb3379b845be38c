package org.estfleet.server.http;

import java.net.URI;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManager;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.pathmap.ServletPathSpec;
import org.eclipse.jetty.http.pathmap.UriTemplatePathSpec;
import org.eclipse.jetty.io.ssl.SslHandshakeListener;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.server.handler.PathMappingsHandler;
import org.eclipse.jetty.util.component.LifeCycle;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.estfleet.est.EstOperation;
import org.estfleet.est.EstPath;
import org.estfleet.pki.BouncyCastle;
import org.estfleet.server.auth.ClientCertificateTrustManager;
import org.estfleet.server.enroll.EstService;
import org.estfleet.server.metrics.ServerMetrics;
import org.estfleet.tls.KeyExchangeGroups;

/**
 * The EST server's HTTP side: one TLS connector (TLS 1.2 and 1.3, client certificates
 * requested, not required) and one handler per EST operation, with and without a label; {@code
 * /health} and {@code /metrics} beside them, or on a plain-HTTP listener of their own.
 */
public final class EstServer implements AutoCloseable {
  private static final String REALM = "estfleet";
  static final char[] IN_MEMORY_PASSWORD = "in-memory".toCharArray();
  /** Connections the kernel holds for us while we are at {@code maxConnections}. */
  private static final int ACCEPT_QUEUE = 1024;
  private static final Duration AT_LIMIT_IDLE_TIMEOUT = Duration.ofSeconds(2);
  /** Threads, scrapes at once, and the rest of the monitoring listener's bounds: a few scrapers. */
  private static final int MONITORING_THREADS = 8;
  private static final int MONITORING_CONCURRENCY = 4;
  private static final Duration MONITORING_RETRY_AFTER = Duration.ofSeconds(1);
  private static final Duration MONITORING_IDLE_TIMEOUT = Duration.ofSeconds(30);

  private final Server server;
  private final ServerConnector connector;
  private final SslContextFactory.Server ssl;
  private final Settings settings;
  private final SecureRandom random;
  private final ConcurrencyLimit limit;
  /** The listener of /health and /metrics when they have one of their own; else null. */
  private final Server monitoring;
  private final ServerConnector monitoringConnector;

  private EstServer(Server server, ServerConnector connector, SslContextFactory.Server ssl, Settings settings,
      SecureRandom random, ConcurrencyLimit limit, Server monitoring, ServerConnector monitoringConnector) {
    this.settings = settings;
    this.limit = limit;
    this.server = server;
    this.connector = connector;
    this.ssl = ssl;
    this.random = random;
    this.monitoring = monitoring;
    this.monitoringConnector = monitoringConnector;
  }

  /**
   * How the server listens.
   *
   * @param port 0 picks a free port
   * @param protocols TLS protocol names, e.g. TLSv1.3
   * @param maxRequestBytes the largest request body accepted
   * @param maxConcurrentRequests requests served at once; more are answered 503 at once
   * @param busyRetryAfter the {@code Retry-After} of those 503 answers
   * @param maxHeaderBytes the largest request line and headers (431 beyond)
   * @param idleTimeout how long a connection may stay silent before it is closed
   * @param tlsProvider the JSSE provider of the TLS stack; null for the JDK's default
   * @param maxConnections connections open at once; more wait in the TCP backlog, unaccepted
   * @param monitoring where {@code /health} and {@code /metrics} are served
   * @param namedGroups the TLS key exchange groups accepted, most preferred first (standard
   *     names); null for the provider's default
   */
  public record Settings(String bindAddress, int port, List<String> protocols, int maxRequestBytes,
      int maxConcurrentRequests, Duration busyRetryAfter, int maxHeaderBytes, Duration idleTimeout,
      Duration requestTimeout, Provider tlsProvider, int maxConnections, Monitoring monitoring,
      List<String> namedGroups) {
    public Settings {
      Objects.requireNonNull(bindAddress, "bindAddress");
      Objects.requireNonNull(monitoring, "monitoring");
      protocols = List.copyOf(protocols);
      namedGroups = namedGroups == null ? null : List.copyOf(namedGroups);
    }
  }

  /**
   * Checks that the TLS provider of {@code settings} can take its named groups, each of them:
   * the JDK's TLS takes them per connection from Java 20 on, and either provider would leave
   * out, without a word, a group it cannot use.
   *
   * @throws IllegalArgumentException saying which group or runtime is at fault, and what to do
   */
  public static void checkNamedGroups(Settings settings, SecureRandom random)
      throws GeneralSecurityException, SSLException {
    if (settings.namedGroups() == null) {
      return;
    }
    String provider = settings.tlsProvider() == null ? "SunJSSE" : settings.tlsProvider().getName();
    String java = "Java " + Runtime.version().feature();
    String[] groups = settings.namedGroups().toArray(String[]::new);
    if (settings.tlsProvider() == null && !KeyExchangeGroups.perConnectionInSunJsse()) {
      throw new IllegalArgumentException("tls.namedGroups: the JDK's TLS (tls.provider SunJSSE) takes them from Java "
          + "20 on (this is " + java + "); use tls.provider BCJSSE, or leave tls.namedGroups out and run the server "
          + "with -Djdk.tls.namedGroups=" + String.join(",", groups));
    }
    SSLContext context = settings.tlsProvider() == null ? SSLContext.getInstance("TLS")
        : SSLContext.getInstance("TLS", settings.tlsProvider());
    context.init(null, null, random);
    List<String> missing = KeyExchangeGroups.leftOut(context, groups, settings.protocols().toArray(String[]::new));
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException("tls.namedGroups: " + provider + " on " + java + " cannot use "
          + String.join(", ", missing) + " with tls.protocols " + settings.protocols() + "; take "
          + (missing.size() == 1 ? "it" : "them") + " out");
    }
  }

  /**
   * Where {@code /health} and {@code /metrics} are served.
   *
   * @param enabled false: nowhere (404)
   * @param bindAddress the address of their own listener
   * @param port null: on the TLS port, beside EST; else on a plain-HTTP listener of their own (0
   *     picks a free port), and not on the TLS port
   */
  public record Monitoring(boolean enabled, String bindAddress, Integer port) {
    boolean ownListener() {
      return enabled && port != null;
    }
  }

  /**
   * The server's TLS identity and what it accepts from clients.
   *
   * @param chain the server certificate first, then its issuers
   * @param acceptedClientIssuers the CAs advertised to clients in the certificate request
   */
  public record Tls(PrivateKey key, List<X509Certificate> chain, List<X509Certificate> acceptedClientIssuers) {
    public Tls {
      Objects.requireNonNull(key, "key");
      chain = List.copyOf(chain);
      acceptedClientIssuers = List.copyOf(acceptedClientIssuers);
    }
  }

  /**
   * Checks that TLS 1.2 clients can be answered with {@code certificate} under the named groups
   * of {@code settings}: in TLS 1.2 a server signs with an ECDSA certificate only when the curve
   * of its key is among the groups in force (RFC 8422 section 5.1); without it every TLS 1.2
   * handshake would fail.
   *
   * @throws IllegalArgumentException naming the curve, and what to change
   */
  public static void checkCertificateCurve(Settings settings, X509Certificate certificate) {
    checkKeyCurve(settings, certificate.getPublicKey());
  }

  /** As {@link #checkCertificateCurve}, for a TLS certificate of {@code key} (one yet to be issued). */
  public static void checkKeyCurve(Settings settings, java.security.PublicKey key) {
    if (settings.namedGroups() == null || !settings.protocols().contains("TLSv1.2")) {
      return;
    }
    Optional<String> curve = KeyExchangeGroups.curveOf(key);
    if (curve.isPresent() && !settings.namedGroups().contains(curve.get())) {
      throw new IllegalArgumentException("tls.namedGroups " + settings.namedGroups() + " leaves out " + curve.get()
          + ", the curve of the TLS certificate's key, without which no TLS 1.2 client can be answered (RFC 8422): "
          + "add \"" + curve.get() + "\", or take \"TLSv1.2\" out of tls.protocols");
    }
  }

  /**
   * Starts listening; the returned server is running.
   *
   * @param health what {@code GET /health} reports (serialized as JSON)
   * @param metrics what {@code GET /metrics} reports, and where the answers and handshakes are counted
   * @throws IllegalArgumentException if the settings' named groups fail {@link #checkNamedGroups} or
   *     {@link #checkCertificateCurve} (a caller that reads them from a file checks them first, to
   *     name the file)
   */
  public static EstServer start(Settings settings, Tls tls, EstService service, Supplier<?> health,
      ServerMetrics metrics, SecureRandom random) throws Exception {
    checkNamedGroups(settings, random);
    checkCertificateCurve(settings, tls.chain().get(0));
    QueuedThreadPool threads = new QueuedThreadPool(200, 8);
    threads.setName("est-http");
    Server server = new Server(threads);
    server.setErrorHandler(new PlainTextErrorHandler());

    HttpConfiguration http = new HttpConfiguration();
    http.setRequestHeaderSize(settings.maxHeaderBytes());
    http.setSendServerVersion(false);
    http.setSendXPoweredBy(false);
    // Devices reach servers by IP or by names outside the certificate (NAT, gateways); the
    // certificate is the client's business, so the SNI host is not checked here.
    http.addCustomizer(new SecureRequestCustomizer(false));

    String[] groups = settings.namedGroups() == null ? null : settings.namedGroups().toArray(String[]::new);
    SslContextFactory.Server ssl = PeerChain.factory(engine -> {
      if (groups != null) {
        KeyExchangeGroups.accept(engine, groups);
      }
    });
    ssl.setSslContext(sslContext(tls, settings.tlsProvider(), random));
    ssl.setWantClientAuth(true);
    ssl.setIncludeProtocols(settings.protocols().toArray(String[]::new));
    ssl.setRenegotiationAllowed(false);

    SslConnectionFactory tlsFactory = new SslConnectionFactory(ssl, HttpVersion.HTTP_1_1.asString());
    tlsFactory.addBean(HandshakeFailures.logged());
    tlsFactory.addBean(new SslHandshakeListener() {
      @Override
      public void handshakeSucceeded(Event event) {
        metrics.handshake(true);
      }

      @Override
      public void handshakeFailed(Event event, Throwable failure) {
        metrics.handshake(false);
      }
    });
    ServerConnector connector = new ServerConnector(server, new PlainHttpRefusal(tlsFactory), tlsFactory,
        new HttpConnectionFactory(http));
    connector.setHost(settings.bindAddress());
    connector.setPort(settings.port());
    // Slow or silent clients (including ones that never finish the TLS handshake) are cut off.
    connector.setIdleTimeout(settings.idleTimeout().toMillis());
    // Beyond maxConnections new connections wait in the TCP backlog instead of each costing a TLS
    // handshake before a 503 (docs/BENCHMARKS.md, Overload); at the limit, idle connections are
    // closed after AT_LIMIT_IDLE_TIMEOUT to make room.
    connector.setAcceptQueueSize(ACCEPT_QUEUE);
    NetworkConnectionLimit connections = new NetworkConnectionLimit(settings.maxConnections(), connector);
    connections.setEndPointIdleTimeout(Math.min(settings.idleTimeout().toMillis(), AT_LIMIT_IDLE_TIMEOUT.toMillis()));
    server.addBean(connections);
    server.addConnector(connector);

    PathMappingsHandler routes = new PathMappingsHandler();
    for (EstOperation operation : EstOperation.values()) {
      var handler = switch (operation) {
        case CACERTS -> new CaCertsHandler(service);
        case SIMPLE_ENROLL, SIMPLE_REENROLL, SERVER_KEYGEN -> new EnrollHandler(service, operation,
            settings.maxRequestBytes(), settings.requestTimeout());
        case CSR_ATTRS -> new CsrAttrsHandler(service);
      };
      routes.addMapping(new ServletPathSpec(EstPath.PREFIX + operation.segment()), handler);
      routes.addMapping(new UriTemplatePathSpec(EstPath.PREFIX + "{label}/" + operation.segment()), handler);
    }
    ConcurrencyLimit limit = new ConcurrencyLimit(new EstErrorHandler(routes, REALM),
        settings.maxConcurrentRequests(), settings.busyRetryAfter(), metrics);
    if (settings.monitoring().enabled() && !settings.monitoring().ownListener()) {
      addMonitoring(routes, health, metrics);
    }
    server.setHandler(limit);
    // The monitoring listener first: a start that fails on its port has answered no device.
    Server monitoring = null;
    ServerConnector monitoringConnector = null;
    if (settings.monitoring().ownListener()) {
      monitoring = monitoringServer(settings.monitoring(), health, metrics);
      monitoringConnector = (ServerConnector) monitoring.getConnectors()[0];
      start(monitoring, settings.monitoring().bindAddress(), settings.monitoring().port(),
          "monitoring.bindAddress and monitoring.port in server.json, or serve --monitoring-port");
    }
    try {
      start(server, settings.bindAddress(), settings.port(), "bindAddress and port in server.json, or serve --port");
    } catch (Exception | Error e) {
      if (monitoring != null) {
        LifeCycle.stop(monitoring);
      }
      throw e;
    }
    return new EstServer(server, connector, ssl, settings, random, limit, monitoring,
        monitoringConnector);
  }

  /**
   * Starts {@code server}, saying which address and settings a failure to bind is about: Jetty
   * says "Failed to bind to /127.0.0.1:8443", and the operator needs to know which settings chose it.
   */
  private static void start(Server server, String address, int port, String settings) throws Exception {
    try {
      server.start();
    } catch (Exception | Error e) {
      LifeCycle.stop(server);
      if (!(e instanceof java.io.IOException)) {
        throw e;
      }
      Throwable cause = e.getCause();
      if (!(cause instanceof java.net.BindException || cause instanceof java.nio.channels.UnresolvedAddressException)) {
        throw e;
      }
      String why = cause instanceof java.nio.channels.UnresolvedAddressException
          ? "not a resolvable address" : cause.getMessage();
      throw new java.io.IOException("cannot listen on " + address + " port " + port + ": " + why + " (" + settings + ")",
          e);
    }
  }

  private static void addMonitoring(PathMappingsHandler routes, Supplier<?> health, ServerMetrics metrics) {
    routes.addMapping(new ServletPathSpec(HealthHandler.PATH), new HealthHandler(health, metrics::responsesByStatus));
    routes.addMapping(new ServletPathSpec(MetricsHandler.PATH), new MetricsHandler(metrics));
  }

  /**
   * A plain-HTTP server of its own for {@code /health} and {@code /metrics}: a scraper on a
   * management network or on the host itself never reaches the EST port, which then serves
   * neither. Its own threads and limit: a busy EST port neither delays nor sheds the scrape that
   * would show it busy. Its answers are counted as the EST port's are ({@code endpoint} health,
   * metrics or other).
   */
  private static Server monitoringServer(Monitoring monitoring, Supplier<?> health, ServerMetrics metrics) {
    QueuedThreadPool threads = new QueuedThreadPool(MONITORING_THREADS, 2);
    threads.setName("est-monitoring");
    Server server = new Server(threads);
    server.setErrorHandler(new PlainTextErrorHandler());
    HttpConfiguration http = new HttpConfiguration();
    http.setSendServerVersion(false);
    http.setSendXPoweredBy(false);
    ServerConnector connector = new ServerConnector(server, 1, 1, new HttpConnectionFactory(http));
    connector.setHost(monitoring.bindAddress());
    connector.setPort(monitoring.port());
    connector.setIdleTimeout(MONITORING_IDLE_TIMEOUT.toMillis());
    server.addConnector(connector);
    PathMappingsHandler routes = new PathMappingsHandler();
    addMonitoring(routes, health, metrics);
    server.setHandler(new ConcurrencyLimit(new EstErrorHandler(routes, REALM), MONITORING_CONCURRENCY,
        MONITORING_RETRY_AFTER, metrics, ConcurrencyLimit::monitoringEndpoint));
    return server;
  }

  /**
   * Switches to a new TLS identity and the CAs named to clients (a renewed certificate, a root
   * rollover): new connections get them; established ones keep theirs.
   *
   * @throws IllegalStateException if the TLS context cannot be rebuilt (the old one stays)
   */
  public synchronized void reloadTls(Tls next) {
    try {
      checkCertificateCurve(settings, next.chain().get(0));
      SSLContext context = sslContext(next, settings.tlsProvider(), random);
      ssl.reload(factory -> factory.setSslContext(context));
    } catch (Exception e) {
      throw new IllegalStateException("cannot switch the TLS certificate: " + e.getMessage(), e);
    }
  }

  private static SSLContext sslContext(Tls tls, Provider provider, SecureRandom random)
      throws GeneralSecurityException, java.io.IOException {
    KeyStore keyStore = keyStore(tls, provider != null);
    KeyManagerFactory keyManagers = provider == null
        ? KeyManagerFactory.getInstance("PKIX")
        : KeyManagerFactory.getInstance("PKIX", provider);
    keyManagers.init(keyStore, IN_MEMORY_PASSWORD);
    SSLContext context = provider == null ? SSLContext.getInstance("TLS") : SSLContext.getInstance("TLS", provider);
    context.init(keyManagers.getKeyManagers(),
        new TrustManager[] {new ClientCertificateTrustManager(tls.acceptedClientIssuers())}, random);
    return context;
  }

  /**
   * The TLS key and chain in a key store. For BCJSSE ({@code bouncyCastle}), Bouncy Castle's own
   * key object from Bouncy Castle's store: the JDK's store hands back a JDK key, which costs BCJSSE
   * about 3 times as much per handshake signature (docs/BENCHMARKS.md). Bouncy Castle's store
   * rebuilds the chain it is given (by key identifiers), so it is used only when the chain comes
   * back as given.
   */
  static KeyStore keyStore(Tls tls, boolean bouncyCastle) throws GeneralSecurityException, java.io.IOException {
    X509Certificate[] chain = tls.chain().toArray(X509Certificate[]::new);
    if (bouncyCastle) {
      KeyStore own = KeyStore.getInstance("PKCS12", BouncyCastle.PROVIDER);
      own.load(null, null);
      own.setKeyEntry("server", BouncyCastle.ownKey(tls.key()), IN_MEMORY_PASSWORD, chain);
      if (Arrays.equals(own.getCertificateChain("server"), chain)) {
        return own;
      }
    }
    KeyStore keyStore = KeyStore.getInstance("PKCS12");
    keyStore.load(null, null);
    keyStore.setKeyEntry("server", tls.key(), IN_MEMORY_PASSWORD, chain);
    return keyStore;
  }

  /** How many responses of each status were sent since the start. */
  public Map<Integer, Long> responses() {
    return limit.responses();
  }

  /** The port actually bound (useful after asking for port 0). */
  public int port() {
    return connector.getLocalPort();
  }

  /** {@code https://host:port}, with the address the server listens on. */
  public URI baseUri() {
    String host = connector.getHost();
    return URI.create("https://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port());
  }

  /** {@code http://host:port} of the listener of {@code /health} and {@code /metrics}, when they have their own. */
  public Optional<URI> monitoringUri() {
    if (monitoringConnector == null) {
      return Optional.empty();
    }
    String host = monitoringConnector.getHost();
    return Optional.of(URI.create("http://" + (host.contains(":") ? "[" + host + "]" : host) + ":"
        + monitoringConnector.getLocalPort()));
  }

  /** Blocks until the server stops. */
  public void join() throws InterruptedException {
    server.join();
  }

  /** Stops accepting connections and waits for the server to stop. */
  @Override
  public void close() {
    if (monitoring != null) {
      LifeCycle.stop(monitoring);
    }
    LifeCycle.stop(server);
  }
}
