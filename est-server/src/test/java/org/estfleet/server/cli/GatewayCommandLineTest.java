package org.estfleet.server.cli;

import static org.estfleet.server.Cli.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.estfleet.json.Json;
import org.estfleet.server.Cli.Run;
import org.estfleet.server.TestServer;
import org.estfleet.server.config.ServerConfig;
import org.estfleet.server.store.Database;
import org.estfleet.server.store.UpstreamCache;
import org.estfleet.testing.TlsRelay;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code init --gateway} and {@code token --gateway} against a real CA: what they write, and their errors. */
class GatewayCommandLineTest {
  @TempDir
  Path dir;

  private TestServer ca;

  @BeforeEach
  void start() throws Exception {
    ca = TestServer.start(dir.resolve("ca"));
  }

  @AfterEach
  void stop() {
    ca.close();
  }

  private Run initGateway(Path data, String token) {
    return run("init", "--data", data.toString(), "--gateway", "--upstream", ca.baseUri().toString(),
        "--upstream-trust", ca.dataDir().resolve("ca/root.pem").toString(), "--token", token,
        "--hostname", "gw.example");
  }

  @Test
  void tokenGatewayThenInitGateway_writesGatewayConfigAndRaIdentity() throws Exception {
    Run token = run("token", "--data", ca.dataDir().toString(), "--device", "gw-1", "--gateway");
    Path data = dir.resolve("gateway");

    Run init = initGateway(data, "gw-1:" + token.out().trim());

    assertEquals(0, init.exit(), init.err());
    assertTrue(token.err().contains("for gateway gw-1"), token.err());
    ServerConfig config = Json.parse(Files.readString(data.resolve("server.json")), ServerConfig.class, "server.json");
    assertEquals(ServerConfig.Mode.GATEWAY, config.mode());
    assertEquals(ca.baseUri().toString(), config.gateway().upstream());
    assertTrue(Files.exists(data.resolve("upstream/trust.pem")));
    assertFalse(Files.exists(data.resolve("ca")), "a gateway has no CA");
    JsonObject written = JsonParser.parseString(Files.readString(data.resolve("server.json"))).getAsJsonObject();
    assertFalse(written.has("defaultProfile") || written.has("labels"), "profiles a gateway does not use: " + written);
    assertTrue(init.out().contains("gateway id:  gw-1"), init.out());
    // Copies of /cacerts and /csrattrs, for a first start while the upstream is away.
    try (Database database = Database.openExisting(data.resolve(config.database().file()))) {
      UpstreamCache cache = new UpstreamCache(database);
      assertEquals(200, cache.get("cacerts/").orElseThrow().status());
      assertEquals(200, cache.get("csrattrs/").orElseThrow().status());
    }
  }

  @Test
  void initGateway_withDeviceToken_exit1NamesTheFix() throws Exception {
    Path data = dir.resolve("gateway");

    String deviceToken = ca.token("gw-1");

    Run init = initGateway(data, "gw-1:" + deviceToken);

    assertEquals(1, init.exit());
    assertTrue(init.err().contains("not a gateway token") && init.err().contains("token --gateway"), init.err());
    assertFalse(Files.exists(data.resolve("server.json")), "nothing is written");
    // Refused before anything was issued: the device token still enrolls a device.
    assertEquals(0, ca.ledger(ledger -> ledger.byDevice("gw-1")).size());
    org.estfleet.server.EstTestClient.issued(org.estfleet.server.EstTestClient.anonymous(ca).enroll("simpleenroll",
        new org.estfleet.pki.CsrBuilder().commonName("gw-1").sign(
            org.estfleet.pki.KeyAlgorithm.EC_P256.generate(org.estfleet.pki.TestPki.RANDOM)), "gw-1", deviceToken));
  }

  @Test
  void initGateway_onADirectoryInUse_isRefusedBeforeTheTokenIsUsed() throws Exception {
    Run token = run("token", "--data", ca.dataDir().toString(), "--device", "gw-1", "--gateway");
    Path data = Files.createDirectories(dir.resolve("gateway"));
    Files.writeString(data.resolve("notes.txt"), "the operator's\n");

    Run refused = initGateway(data, "gw-1:" + token.out().trim());
    Run forced = run("init", "--data", data.toString(), "--gateway", "--upstream", ca.baseUri().toString(),
        "--upstream-trust", ca.dataDir().resolve("ca/root.pem").toString(), "--token", "gw-1:" + token.out().trim(),
        "--force");

    assertEquals(2, refused.exit(), refused.err());
    assertTrue(refused.err().contains("already exists and is not empty; use --force to replace its gateway "
        + "enrollment, upstream trust, TLS identity and database"), refused.err());
    assertEquals(0, forced.exit(), "the token was not used by the refused init: " + forced.err());
    assertEquals("the operator's\n", Files.readString(data.resolve("notes.txt")));
  }

  @Test
  void initGateway_upstreamNotAServerUrl_exit2() {
    for (String upstream : List.of("https://127.0.0.1:8443?x=1", "https://user:secret@127.0.0.1:8443",
        "https://127.0.0.1:99999", "https://127.0.0.1:8443/est", "http://127.0.0.1:8443")) {
      Run init = run("init", "--data", dir.resolve("gateway").toString(), "--gateway", "--upstream", upstream,
          "--upstream-trust", ca.dataDir().resolve("ca/root.pem").toString(), "--token", "gw-1:x");

      assertEquals(2, init.exit(), upstream + ": " + init.err());
      assertTrue(init.err().contains("must be https://host[:port] (no path, query or user info; the port 1 to 65535)"),
          init.err());
    }
  }

  @Test
  void initGateway_withoutUpstream_exit2() {
    Run init = run("init", "--data", dir.resolve("gateway").toString(), "--gateway", "--token", "gw-1:x");

    assertEquals(2, init.exit());
    assertTrue(init.err().contains("--gateway needs --upstream"), init.err());
  }

  @Test
  void initGateway_upstreamUnreachable_exit1() throws Exception {
    Run token = run("token", "--data", ca.dataDir().toString(), "--device", "gw-1", "--gateway");
    ca.close();

    Run init = initGateway(dir.resolve("gateway"), "gw-1:" + token.out().trim());

    assertEquals(1, init.exit());
    assertTrue(init.err().startsWith("est-server: cannot get /cacerts from " + ca.baseUri()), init.err());
    assertFalse(Files.exists(dir.resolve("gateway")), "the directory made for the gateway is not left empty");
  }

  @Test
  void initGateway_andReenroll_connectWithTheGatewaysTlsProvider() throws Exception {
    Path data = dir.resolve("gateway");
    try (TlsRelay relay = new TlsRelay(ca.port())) {
      // A new gateway: tls.provider's default, BCJSSE, so its token travels on the hybrid key exchange.
      Run init = run("init", "--data", data.toString(), "--gateway", "--upstream", "https://127.0.0.1:" + relay.port(),
          "--upstream-trust", ca.dataDir().resolve("ca/root.pem").toString(), "--token",
          "gw-1:" + ca.gatewayToken("gw-1"));
      assertEquals(0, init.exit(), init.err());
      List<List<String>> initial = relay.chosenGroups();
      assertTrue(initial.size() >= 3, "/cacerts, the enrollment, /csrattrs at least: " + initial);
      assertEquals(List.of(List.of("X25519MLKEM768")), initial.stream().distinct().toList(), initial.toString());

      // --reenroll takes server.json's tls.provider.
      TestServer.patchConfig(data, "{\"tls\": {\"provider\": \"SunJSSE\"}}");
      Run again = run("init", "--data", data.toString(), "--gateway", "--reenroll", "--token",
          "gw-1:" + ca.gatewayToken("gw-1"));
      assertEquals(0, again.exit(), again.err());
      List<List<String>> reenrolled = relay.chosenGroups().subList(initial.size(), relay.chosenGroups().size());
      assertTrue(reenrolled.size() >= 3, reenrolled.toString());
      assertEquals(List.of(List.of("x25519")), reenrolled.stream().distinct().toList(), reenrolled.toString());
    }
  }

  @Test
  void reenroll_refusesWhatServeWouldRefuse_beforeTheTokenIsSpent() throws Exception {
    Path data = dir.resolve("gateway");
    assertEquals(0, initGateway(data, "gw-1:" + ca.gatewayToken("gw-1")).exit());
    byte[] certificate = Files.readAllBytes(data.resolve("tls/server.pem"));
    String token = "gw-1:" + ca.gatewayToken("gw-1");

    // TLS 1.2 is on, and the gateway's new key will be on P-256, which the list leaves out.
    TestServer.patchConfig(data, "{\"tls\": {\"namedGroups\": [\"x25519\"]}}");
    Run refused = run("init", "--data", data.toString(), "--gateway", "--reenroll", "--token", token);

    assertEquals(2, refused.exit(), refused.err());
    assertEquals(1, refused.err().lines().count(), refused.err());
    assertTrue(refused.err().contains(data.resolve("server.json") + ": tls.namedGroups [x25519] leaves out secp256r1"),
        refused.err());
    assertTrue(java.util.Arrays.equals(certificate, Files.readAllBytes(data.resolve("tls/server.pem"))));
    // The token was not spent.
    TestServer.patchConfig(data, "{\"tls\": {\"namedGroups\": [\"x25519\", \"secp256r1\"]}}");
    Run again = run("init", "--data", data.toString(), "--gateway", "--reenroll", "--token", token);
    assertEquals(0, again.exit(), again.err());
  }

  @Test
  void aGatewayCertificateThatMayNotSign_fromAnEarlierRelease_isWarnedOfAtStart() throws Exception {
    Path data = dir.resolve("gateway");
    assertEquals(0, initGateway(data, "gw-1:" + ca.gatewayToken("gw-1")).exit());
    // As a CA with a gatewayProfile of keyAgreement alone issued them before such a profile was refused.
    java.security.KeyPair keys = org.estfleet.pki.KeyAlgorithm.EC_P256.generate(org.estfleet.pki.TestPki.RANDOM);
    java.time.Instant now = java.time.Instant.now();
    java.security.cert.X509Certificate agreeing = new org.estfleet.pki.CertificateBuilder()
        .subject(new org.bouncycastle.asn1.x500.X500Name("CN=gw-1")).publicKey(keys.getPublic())
        .serial(org.estfleet.pki.CertificateBuilder.randomSerial(org.estfleet.pki.TestPki.RANDOM))
        .validity(now.minusSeconds(60), now.plus(java.time.Duration.ofDays(30)))
        .keyUsage(org.bouncycastle.asn1.x509.KeyUsage.keyAgreement)
        .extendedKeyUsages(List.of(org.bouncycastle.asn1.x509.KeyPurposeId.id_kp_serverAuth,
            org.bouncycastle.asn1.x509.KeyPurposeId.id_kp_clientAuth, org.bouncycastle.asn1.x509.KeyPurposeId.id_kp_cmcRA))
        .subjectAltName(new org.bouncycastle.asn1.x509.GeneralName(org.bouncycastle.asn1.x509.GeneralName.dNSName,
            "gw.example"))
        .signWith(ca.issuingCertificate(), ca.issuingKey());
    org.estfleet.server.config.TlsPairFiles.write(data.resolve("tls/server.pem"), data.resolve("tls/server.key"),
        List.of(agreeing, ca.issuingCertificate()), keys.getPrivate());

    java.io.PrintStream stderr = System.err;
    java.io.ByteArrayOutputStream log = new java.io.ByteArrayOutputStream();
    System.setErr(new java.io.PrintStream(log, true, java.nio.charset.StandardCharsets.UTF_8)); // slf4j-simple's target
    try (TestServer gateway = TestServer.startGateway(data, ca, "{}")) {
      assertTrue(gateway.port() > 0);
    } finally {
      System.setErr(stderr);
    }

    assertTrue(log.toString(java.nio.charset.StandardCharsets.UTF_8).contains("[WARN] ServerRuntime - the gateway's "
        + "certificate 'CN=gw-1'"), log.toString(java.nio.charset.StandardCharsets.UTF_8));
    assertTrue(log.toString(java.nio.charset.StandardCharsets.UTF_8).contains("may not sign (its key usage lacks "
        + "digitalSignature): devices and its CA refuse it in TLS (RFC 8446); enroll it again: est-server init "
        + "--gateway --reenroll"), log.toString(java.nio.charset.StandardCharsets.UTF_8));
  }

  @Test
  void tokenOnGateway_exit2PointsToTheCa() throws Exception {
    Run token = run("token", "--data", ca.dataDir().toString(), "--device", "gw-1", "--gateway");
    Path data = dir.resolve("gateway");
    initGateway(data, "gw-1:" + token.out().trim());

    Run onGateway = run("token", "--data", data.toString(), "--device", "device-1");

    assertEquals(2, onGateway.exit());
    assertTrue(onGateway.err().contains("is a gateway; tokens are made on its upstream CA"), onGateway.err());
  }
}
