package org.estfleet.server;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.function.UnaryOperator;
import org.estfleet.json.JsonFiles;
import org.estfleet.pki.Pem;
import org.estfleet.pki.TestClock;
import org.estfleet.server.auth.BootstrapTokens;
import org.estfleet.server.ca.CertificateAuthority;
import org.estfleet.server.config.DataDir;
import org.estfleet.server.store.Database;
import org.estfleet.server.store.IssuedCertificates;
import org.estfleet.server.store.PendingEnrollments;
import org.estfleet.server.store.Role;
import org.estfleet.server.store.TokenRecords;

/**
 * Test fixture: a real est-server in CA mode on 127.0.0.1 with a free port, made the way a user
 * makes one ({@code est-server init}), with a configuration patch merged into its
 * {@code server.json} and a {@link TestClock}. Closing it stops the server; the data directory
 * stays, so a test can start it again (on the same port: a server that was down comes back).
 */
public final class TestServer implements AutoCloseable {
  private final Path dataDir;
  private final TestClock clock;
  private final UnaryOperator<CertificateAuthority> decorator;
  private ServerRuntime runtime;
  private int port;

  private TestServer(Path dataDir, TestClock clock, UnaryOperator<CertificateAuthority> decorator) {
    this.dataDir = dataDir;
    this.clock = clock;
    this.decorator = decorator;
  }

  /** Initialises {@code dataDir} and starts a server on it. */
  public static TestServer start(Path dataDir) throws Exception {
    return start(dataDir, "{}");
  }

  /**
   * Initialises {@code dataDir} unless it holds a {@code server.json} already, merges
   * {@code configPatch} (a JSON object) into that file, and starts a server on a free port.
   */
  public static TestServer start(Path dataDir, String configPatch) throws Exception {
    return start(dataDir, configPatch, UnaryOperator.identity());
  }

  /**
   * As {@link #start(Path, String)}, with the CA wrapped by {@code decorator}. The clock ticks in
   * real time (tests may also move it), so that agents and schedulers on the real clock agree.
   */
  public static TestServer start(Path dataDir, String configPatch, UnaryOperator<CertificateAuthority> decorator)
      throws Exception {
    return start(dataDir, configPatch, TestClock.ticking(), decorator);
  }

  /** As above, on a clock the test made (and may share with what it wraps the CA in). */
  public static TestServer start(Path dataDir, String configPatch, TestClock clock,
      UnaryOperator<CertificateAuthority> decorator) throws Exception {
    if (!Files.exists(dataDir.resolve(DataDir.CONFIG_FILE))) {
      init(dataDir);
    }
    patchConfig(dataDir, configPatch);
    TestServer server = new TestServer(dataDir, clock, decorator);
    server.restart();
    return server;
  }

  /**
   * A gateway in front of {@code upstream}: enrolled there as {@code gateway-1} with a gateway
   * token the way a user does it ({@code est-server init --gateway}) unless {@code dataDir} holds
   * a {@code server.json} already; then {@code configPatch} merged in, and started on a free port.
   */
  public static TestServer startGateway(Path dataDir, TestServer upstream, String configPatch) throws Exception {
    return startGateway(dataDir, upstream, "gateway-1", configPatch);
  }

  /** As {@link #startGateway(Path, TestServer, String)}, for a gateway named {@code gatewayId}. */
  public static TestServer startGateway(Path dataDir, TestServer upstream, String gatewayId, String configPatch)
      throws Exception {
    if (!Files.exists(dataDir.resolve(DataDir.CONFIG_FILE))) {
      run("init", "--data", dataDir.toString(), "--gateway", "--upstream", upstream.baseUri().toString(),
          "--upstream-trust", upstream.dataDir().resolve("ca/root.pem").toString(),
          "--token", gatewayId + ":" + upstream.gatewayToken(gatewayId));
    }
    patchConfig(dataDir, configPatch);
    TestServer server = new TestServer(dataDir, TestClock.ticking(), UnaryOperator.identity());
    server.restart();
    return server;
  }

  /** Runs {@code est-server init --data dataDir} and fails on a non-zero exit. */
  public static void init(Path dataDir) {
    run("init", "--data", dataDir.toString());
  }

  private static void run(String... args) {
    Cli.Run run = Cli.run(args);
    if (run.exit() != 0) {
      throw new IllegalStateException(args[0] + " failed (" + run.exit() + "): " + run.err());
    }
  }

  /** Deep-merges a JSON object into {@code server.json}. */
  public static void patchConfig(Path dataDir, String patch) throws Exception {
    JsonFiles.patch(dataDir.resolve(DataDir.CONFIG_FILE), patch);
  }

  /** Starts (again) on the same data directory: on a free port the first time, then on the same port. */
  public void restart() throws Exception {
    close();
    DataDir dir = DataDir.open(dataDir);
    runtime = ServerRuntime.start(DataDir.of(dir.root(), dir.config().withPort(port)), clock, new SecureRandom(),
        decorator);
    port = runtime.port();
  }

  /** {@code https://localhost:PORT}: the name the TLS certificate carries. */
  public URI baseUri() {
    return URI.create("https://localhost:" + port);
  }

  /** The URI of an EST path such as {@code /.well-known/est/cacerts}. */
  public URI uri(String path) {
    return baseUri().resolve(path);
  }

  public int port() {
    return port;
  }

  /** {@code http://127.0.0.1:PORT} of the listener of {@code /health} and {@code /metrics}, when {@code monitoring.port} gives them one. */
  public java.util.Optional<URI> monitoringUri() {
    return runtime.monitoringUri();
  }

  /** {@code GET /health} over TLS, asserted to answer 200: the report as JSON. */
  public JsonObject health() {
    java.net.http.HttpResponse<byte[]> response = getOk("/health");
    return JsonParser.parseString(new String(response.body(), java.nio.charset.StandardCharsets.UTF_8))
        .getAsJsonObject();
  }

  /**
   * {@code GET /metrics} over TLS, asserted to answer 200 in the Prometheus text format: each
   * sample's name with its labels as written (e.g. {@code estfleet_enrollments_total{operation="simpleenroll",result="issued"}})
   * to its value.
   */
  public java.util.Map<String, Double> metrics() {
    java.net.http.HttpResponse<byte[]> response = getOk("/metrics");
    String type = response.headers().firstValue("Content-Type").orElse("");
    if (!type.startsWith("text/plain; version=0.0.4")) {
      throw new AssertionError("GET /metrics: Content-Type " + type);
    }
    java.util.Map<String, Double> samples = new java.util.LinkedHashMap<>();
    for (String line : new String(response.body(), java.nio.charset.StandardCharsets.UTF_8).split("\n")) {
      if (!line.isBlank() && !line.startsWith("#")) {
        int space = line.lastIndexOf(' ');
        samples.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
      }
    }
    return samples;
  }

  /** {@code GET path} over TLS, asserted to answer 200. */
  private java.net.http.HttpResponse<byte[]> getOk(String path) {
    java.net.http.HttpResponse<byte[]> response;
    try {
      response = EstTestClient.anonymous(this).get(path);
    } catch (Exception e) {
      throw new AssertionError("GET " + path + " failed", e);
    }
    if (response.statusCode() != 200) {
      throw new AssertionError("GET " + path + ": HTTP " + response.statusCode());
    }
    return response;
  }

  /** The audit log's lines, parsed; read after {@link #close} to see every line written. */
  public List<JsonObject> audit() throws IOException {
    return Files.readAllLines(dataDir.resolve(ServerRuntime.AUDIT_FILE)).stream()
        .map(line -> JsonParser.parseString(line).getAsJsonObject()).toList();
  }

  /** Responses by HTTP status since the last (re)start. */
  public java.util.Map<Integer, Long> responses() {
    return runtime == null ? java.util.Map.of() : runtime.responses();
  }

  public TestClock clock() {
    return clock;
  }

  public Path dataDir() {
    return dataDir;
  }

  /** The root devices trust: this CA's, or a gateway's upstream's. */
  public X509Certificate rootCertificate() {
    Path own = dataDir.resolve("ca/root.pem");
    return Pem.readCertificates(Files.exists(own) ? own : dataDir.resolve("upstream/trust.pem")).get(0);
  }

  public X509Certificate issuingCertificate() {
    return Pem.readCertificates(dataDir.resolve("ca/issuing.pem")).get(0);
  }

  public PrivateKey issuingKey() {
    return Pem.readPrivateKey(dataDir.resolve("ca/issuing.key"));
  }

  /** A new one-time token for a device, valid for a day by the server's clock. */
  public String token(String deviceId) {
    return token(deviceId, Duration.ofDays(1));
  }

  public String token(String deviceId, Duration ttl) {
    try (Database database = Database.open(dataDir.resolve("estfleet.db"))) {
      return new BootstrapTokens(new TokenRecords(database), clock, new SecureRandom()).create(deviceId, ttl).secret();
    }
  }

  /** A new one-time token for a device's enrollment under {@code label}, valid for a day. */
  public String tokenFor(String deviceId, String label) {
    try (Database database = Database.open(dataDir.resolve("estfleet.db"))) {
      return new BootstrapTokens(new TokenRecords(database), clock, new SecureRandom())
          .create(deviceId, Duration.ofDays(1), Role.DEVICE, label).secret();
    }
  }

  /** New one-time tokens for many devices, valid for a day: one database connection for all. */
  public java.util.Map<String, String> tokens(java.util.List<String> deviceIds) {
    java.util.Map<String, String> tokens = new java.util.LinkedHashMap<>();
    try (Database database = Database.open(dataDir.resolve("estfleet.db"))) {
      BootstrapTokens factory = new BootstrapTokens(new TokenRecords(database), clock, new SecureRandom());
      for (String deviceId : deviceIds) {
        tokens.put(deviceId, factory.create(deviceId, Duration.ofDays(1)).secret());
      }
    }
    return tokens;
  }

  /** A new one-time token that enrolls a gateway. */
  public String gatewayToken(String gatewayId) {
    try (Database database = Database.open(dataDir.resolve("estfleet.db"))) {
      return new BootstrapTokens(new TokenRecords(database), clock, new SecureRandom())
          .create(gatewayId, Duration.ofDays(1), Role.GATEWAY, "").secret();
    }
  }

  /** Runs {@code query} against a gateway's queue, through a connection of its own. */
  public <T> T queue(java.util.function.Function<PendingEnrollments, T> query) {
    try (Database database = Database.open(dataDir.resolve("estfleet.db"))) {
      return query.apply(new PendingEnrollments(database));
    }
  }

  /** Runs {@code query} against the server's ledger, through a connection of its own. */
  public <T> T ledger(java.util.function.Function<IssuedCertificates, T> query) {
    try (Database database = Database.open(dataDir.resolve("estfleet.db"))) {
      return query.apply(new IssuedCertificates(database));
    }
  }

  @Override
  public void close() {
    if (runtime != null) {
      runtime.close();
      runtime = null;
    }
  }
}
