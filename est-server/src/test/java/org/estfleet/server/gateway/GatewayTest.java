package org.estfleet.server.gateway;

import static org.estfleet.server.EstTestClient.issued;
import static org.estfleet.server.EstTestClient.text;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.estfleet.est.Base64Body;
import org.estfleet.est.CertsOnly;
import org.estfleet.est.EstMediaType;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.Csr;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.Pem;
import org.estfleet.pki.TestPki;
import org.estfleet.server.AdvertisedIssuers;
import org.estfleet.server.Cli;
import org.estfleet.server.EstTestClient;
import org.estfleet.server.TestServer;
import org.estfleet.server.auth.RevocationList;
import org.estfleet.server.ca.CaRollover;
import org.estfleet.server.config.DataDir;
import org.estfleet.server.store.Database;
import org.estfleet.server.store.IssuanceRecord;
import org.estfleet.server.store.PendingEnrollment;
import org.estfleet.server.store.Role;
import org.estfleet.server.store.UpstreamCache;
import org.estfleet.testing.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Device → gateway → CA over real TLS on 127.0.0.1, with the upstream stopped and started. */
class GatewayTest {
  private static final String FAST = "{\"gateway\": {\"retryAfter\": \"1s\", \"forwardInterval\": \"100ms\", "
      + "\"connectTimeout\": \"2s\", \"readTimeout\": \"5s\"}}";

  @TempDir
  Path dir;

  private TestServer ca;
  private TestServer gateway;

  @BeforeEach
  void start() throws Exception {
    ca = TestServer.start(dir.resolve("ca"));
    gateway = TestServer.startGateway(dir.resolve("gateway"), ca, FAST);
  }

  @AfterEach
  void stop() {
    gateway.close();
    ca.close();
  }

  @Test
  void enrollAndReenrollThroughGateway_issuedByCaAndRecordedAsForwarded() throws Exception {
    KeyPair keys = keys();
    HttpResponse<byte[]> enrolled = EstTestClient.anonymous(gateway)
        .enroll("simpleenroll", csr("device-1", keys), "device-1", ca.token("device-1"));
    X509Certificate first = issued(enrolled);

    X509Certificate second = issued(EstTestClient.withCertificate(gateway, keys.getPrivate(), List.of(first))
        .enroll("simplereenroll", csr("device-1", keys()), null, null));

    List<IssuanceRecord> records = ca.ledger(ledger -> ledger.byDevice("device-1"));
    assertEquals(List.of(Certificates.serialHex(first), Certificates.serialHex(second)),
        records.stream().map(IssuanceRecord::serial).toList());
    assertEquals(List.of("token", "certificate"), records.stream().map(IssuanceRecord::authMethod).toList());
    for (IssuanceRecord record : records) {
      assertEquals("gateway-1", record.forwardedBy());
      assertEquals(Role.DEVICE, record.role());
    }
    assertEquals(ca.issuingCertificate().getSubjectX500Principal(), second.getIssuerX500Principal());
  }

  @Test
  void aDirectEnrollmentWhoseAnswerWasLost_isCollectedThroughTheGateway_withTheSameTokenAndCsr() throws Exception {
    KeyPair keys = keys();
    Csr csr = csr("device-1", keys);
    String token = ca.token("device-1");
    X509Certificate direct = issued(EstTestClient.anonymous(ca).enroll("simpleenroll", csr, "device-1", token));

    HttpResponse<byte[]> viaGateway = EstTestClient.anonymous(gateway).enroll("simpleenroll", csr, "device-1", token);

    assertEquals(direct, issued(viaGateway));
    assertEquals(1, ca.ledger(ledger -> ledger.byDevice("device-1")).size());
  }

  @Test
  void idevidThroughGateway_checkedAtBothAndRecordedWithTheIdevid() throws Exception {
    TestPki.Ca manufacturer = TestPki.rootCa("Manufacturer");
    TestPki.Held idevid = manufacturer.subCa("Factory 7").issueClient("SN-0001");
    String manufacturerCas = "{\"bootstrap\": {\"manufacturerCas\": [\"manufacturer.pem\"]}}";
    for (TestServer server : List.of(ca, gateway)) {
      server.close();
      Files.writeString(server.dataDir().resolve("manufacturer.pem"), Pem.encode(List.of(manufacturer.certificate())));
      TestServer.patchConfig(server.dataDir(), manufacturerCas);
      server.restart();
    }
    EstTestClient device = EstTestClient.withCertificate(gateway, idevid.privateKey(), idevid.chain());

    X509Certificate certificate = issued(device.enroll("simpleenroll", csr("SN-0001", keys()), null, null));
    TestPki.Held unknown = TestPki.rootCa("Unknown maker").issueClient("SN-0002");
    HttpResponse<byte[]> stranger = EstTestClient.withCertificate(gateway, unknown.privateKey(), unknown.chain())
        .enroll("simpleenroll", csr("SN-0002", keys()), null, null);

    IssuanceRecord record = ca.ledger(ledger -> ledger.find(Certificates.serialHex(certificate))).orElseThrow();
    assertEquals("idevid", record.authMethod());
    assertTrue(record.authDetail().startsWith("idevid serial " + Certificates.serialHex(idevid.certificate())),
        record.authDetail());
    assertEquals("gateway-1", record.forwardedBy());
    assertEquals(401, stranger.statusCode(), "refused at the gateway: " + text(stranger));
  }

  @Test
  void gatewayCertificate_isRaAndTlsServerAndRecordedAsGateway() throws Exception {
    X509Certificate raCertificate = Pem.readCertificates(gateway.dataDir().resolve("tls/server.pem")).get(0);

    assertTrue(raCertificate.getExtendedKeyUsage().containsAll(List.of("1.3.6.1.5.5.7.3.28", "1.3.6.1.5.5.7.3.1",
        "1.3.6.1.5.5.7.3.2")), raCertificate.getExtendedKeyUsage().toString());
    assertEquals(Role.GATEWAY, ca.ledger(ledger -> ledger.byDevice("gateway-1")).get(0).role());
  }

  @Test
  void upstreamDown_requestsStoredAcrossGatewayRestart_thenEachIssuedOnce() throws Exception {
    int devices = 5;
    List<KeyPair> keys = new ArrayList<>();
    List<Csr> csrs = new ArrayList<>();
    List<String> tokens = new ArrayList<>();
    for (int i = 0; i < devices; i++) {
      keys.add(keys());
      csrs.add(csr("device-" + i, keys.get(i)));
      tokens.add(ca.token("device-" + i));
    }
    ca.close();

    EstTestClient device = EstTestClient.anonymous(gateway);
    for (int i = 0; i < devices; i++) {
      HttpResponse<byte[]> response = device.enroll("simpleenroll", csrs.get(i), "device-" + i, tokens.get(i));
      assertEquals(202, response.statusCode(), text(response));
      assertEquals("1", response.headers().firstValue("Retry-After").orElseThrow());
    }
    assertEquals((long) devices, pending(gateway));
    JsonObject down = gateway.health();
    assertEquals("down", down.getAsJsonObject("upstream").get("state").getAsString());
    assertEquals(devices, down.getAsJsonObject("queue").get("pending").getAsInt());

    gateway.restart();
    assertEquals(202, device.enroll("simpleenroll", csrs.get(0), "device-0", tokens.get(0)).statusCode());
    ca.restart();
    Await.until("the gateway forwarded every stored request", Duration.ofSeconds(30),
        () -> pending(gateway) == 0);

    Set<String> serials = new HashSet<>();
    for (int i = 0; i < devices; i++) {
      String deviceId = "device-" + i;
      X509Certificate certificate = issued(device.enroll("simpleenroll", csrs.get(i), deviceId, tokens.get(i)));
      assertArrayEquals(keys.get(i).getPublic().getEncoded(), certificate.getPublicKey().getEncoded());
      // A retry after the answer (a device that lost it) gets the same certificate again.
      assertEquals(certificate, issued(device.enroll("simpleenroll", csrs.get(i), deviceId, tokens.get(i))));
      List<IssuanceRecord> records = ca.ledger(ledger -> ledger.byDevice(deviceId));
      assertEquals(1, records.size(), deviceId + " was issued " + records.size() + " certificates");
      assertEquals(Certificates.serialHex(certificate), records.get(0).serial());
      serials.add(records.get(0).serial());
    }
    assertEquals(devices, serials.size());
    assertEquals("up", gateway.health().getAsJsonObject("upstream").get("state").getAsString());
    // The forwards' times, apart for those the CA answered and those it could not (since the restart).
    java.util.Map<String, Double> metrics = gateway.metrics();
    double answered = 0;
    double unanswered = 0;
    for (java.util.Map.Entry<String, Double> sample : metrics.entrySet()) {
      if (sample.getKey().startsWith("estfleet_gateway_forwards_total{")) {
        boolean noAnswer = List.of("timeout", "network", "unreachable", "tls_trust", "tls_handshake").stream()
            .anyMatch(kind -> sample.getKey().contains("outcome=\"" + kind + "\""));
        answered += noAnswer ? 0 : sample.getValue();
        unanswered += noAnswer ? sample.getValue() : 0;
      }
    }
    assertTrue(answered >= devices, metrics.toString());
    assertEquals(answered, metrics.get("estfleet_gateway_forward_duration_seconds_count{answered=\"true\"}"));
    assertEquals(unanswered, metrics.getOrDefault("estfleet_gateway_forward_duration_seconds_count{answered=\"false\"}",
        0.0), metrics.toString());
  }

  @Test
  void aGatewayWhoseUpstreamIsItself_saysSo_keepsTheRequests_andForwardsThemOnceItNamesTheCa() throws Exception {
    URI caUri = ca.baseUri();
    gateway.close();
    TestServer.patchConfig(gateway.dataDir(), "{\"gateway\": {\"upstream\": \"" + gateway.baseUri() + "\"}}");
    gateway.restart();
    KeyPair keys = keys();
    Csr csr = csr("device-1", keys);
    String token = ca.token("device-1");

    HttpResponse<byte[]> stored = EstTestClient.anonymous(gateway).enroll("simpleenroll", csr, "device-1", token);
    Await.until("the gateway found its upstream is not a CA", Duration.ofSeconds(30),
        () -> "down".equals(upstreamState(gateway)));

    assertEquals(202, stored.statusCode(), text(stored));
    JsonObject health = gateway.health();
    assertEquals("not the server for this request (HTTP 421): this server is a gateway, not a CA: it takes no requests "
        + "forwarded by a gateway (this one from 'CN=gateway-1'", health.getAsJsonObject("upstream").get("lastError")
        .getAsString().replaceAll(" serial .*$", ""), health.toString());
    assertEquals("ok", health.getAsJsonObject("certificate").get("state").getAsString(),
        "the gateway's own certificate is not what is refused: " + health);
    assertEquals(1L, pending(gateway));
    assertTrue(gateway.audit().stream().anyMatch(line -> line.has("status") && line.get("status").getAsInt() == 421
        && line.get("gateway").getAsString().equals("gateway-1") && line.get("result").getAsString().equals("misdirected")),
        "the forward refused is audited, as misdirected");
    assertEquals(List.of(), ca.ledger(ledger -> ledger.byDevice("device-1")));
    java.util.Map<String, Double> metrics = gateway.metrics();
    assertEquals(0.0, metrics.get("estfleet_gateway_upstream_up"), metrics.toString());
    assertEquals(1.0, metrics.get("estfleet_gateway_queue_pending"));
    assertEquals(0.0, metrics.get("estfleet_health_ok"));
    assertEquals(1.0, metrics.get("estfleet_enrollments_total{operation=\"simpleenroll\",result=\"pending\"}"));
    assertTrue(metrics.get("estfleet_enrollments_total{operation=\"simpleenroll\",result=\"misdirected\"}") >= 1,
        "its own forwards, refused 421");
    assertEquals(null, metrics.get("estfleet_enrollments_total{operation=\"simpleenroll\",result=\"refused\"}"),
        "a 421 is not a refusal of the device's request");
    assertEquals(1.0, metrics.get("estfleet_build_info{mode=\"gateway\",version=\"development\"}"));
    assertTrue(metrics.get("estfleet_gateway_forwards_total{outcome=\"misdirected\"}") >= 1, metrics.toString());
    assertEquals(metrics.get("estfleet_gateway_forwards_total{outcome=\"misdirected\"}"),
        metrics.get("estfleet_gateway_forward_duration_seconds_count{answered=\"true\"}"), "a 421 is an answer");

    gateway.close();
    TestServer.patchConfig(gateway.dataDir(), "{\"gateway\": {\"upstream\": \"" + caUri + "\"}}");
    gateway.restart();
    Await.until("the gateway forwarded the request to the CA", Duration.ofSeconds(30), () -> pending(gateway) == 0);

    X509Certificate certificate = issued(EstTestClient.anonymous(gateway).enroll("simpleenroll", csr, "device-1", token));
    assertArrayEquals(keys.getPublic().getEncoded(), certificate.getPublicKey().getEncoded());
    assertEquals(1, ca.ledger(ledger -> ledger.byDevice("device-1")).size());
    java.util.Map<String, Double> after = gateway.metrics();
    assertEquals(1.0, after.get("estfleet_gateway_upstream_up"));
    assertEquals(1.0, after.get("estfleet_gateway_forwards_total{outcome=\"issued\"}"), after.toString());
  }

  @Test
  void aGatewayWhoseUpstreamIsAnotherGateway_withoutItsLabel_isTold421_notTheOthers404() throws Exception {
    gateway.close();
    ca.close();
    TestServer.patchConfig(ca.dataDir(), "{\"labels\": {\"factory\": {}}}");
    ca.restart();
    TestServer other = TestServer.startGateway(dir.resolve("gateway-2"), ca, "gateway-2", FAST); // no labels
    try {
      TestServer.patchConfig(gateway.dataDir(), "{\"gateway\": {\"labels\": [\"factory\"], \"upstream\": \""
          + other.baseUri() + "\"}}");
      gateway.restart();
      Await.until("the gateway has the label's /cacerts", Duration.ofSeconds(30),
          () -> gateway.health().getAsJsonObject("cacerts").get("fetchedAt") != null);
      KeyPair keys = keys();
      Csr csr = csr("device-1", keys);

      HttpResponse<byte[]> stored = EstTestClient.anonymous(gateway)
          .enroll("factory/simpleenroll", csr, "device-1", ca.tokenFor("device-1", "factory"));
      Await.until("the gateway found its upstream is not a CA", Duration.ofSeconds(30),
          () -> "down".equals(upstreamState(gateway)));

      assertEquals(202, stored.statusCode(), text(stored));
      assertTrue(gateway.health().getAsJsonObject("upstream").get("lastError").getAsString()
          .startsWith("not the server for this request (HTTP 421): this server is a gateway"), gateway.health().toString());
      assertEquals(1L, pending(gateway), "kept, not refused with the other gateway's 404");
      assertTrue(other.metrics().getOrDefault("estfleet_http_responses_total{endpoint=\"simpleenroll\",status=\"421\"}", 0.0) >= 1);
      assertEquals(null, other.metrics().get("estfleet_http_responses_total{endpoint=\"simpleenroll\",status=\"404\"}"));
    } finally {
      other.close();
    }
  }

  @Test
  void reenrollHeldThroughOutage_certificateExpiredMeanwhile_renewedAndCollected() throws Exception {
    ca.close();
    TestServer.patchConfig(ca.dataDir(), "{\"defaultProfile\": {\"lifetime\": \"1d\"}}");
    ca.restart();
    // The forwarder may have found the CA stopped; devices get 202 until it sees the CA again.
    Await.until("the gateway sees the CA again", Duration.ofSeconds(30),
        () -> "up".equals(upstreamState(gateway)));
    KeyPair keys = keys();
    X509Certificate current = issued(EstTestClient.anonymous(gateway)
        .enroll("simpleenroll", csr("device-1", keys), "device-1", ca.token("device-1")));
    EstTestClient device = EstTestClient.withCertificate(gateway, keys.getPrivate(), List.of(current));
    Csr renewal = csr("device-1", keys());
    ca.close();
    assertEquals(202, device.enroll("simplereenroll", renewal, null, null).statusCode());

    // Two days pass for both servers: the certificate that authenticated the request expires
    // while the gateway holds it.
    ca.clock().advance(Duration.ofDays(2));
    gateway.clock().advance(Duration.ofDays(2));
    ca.restart();
    Await.until("the gateway forwarded the held request", Duration.ofSeconds(30), () -> pending(gateway) == 0);
    HttpResponse<byte[]> collected = device.enroll("simplereenroll", renewal, null, null);

    X509Certificate renewed = issued(collected);
    assertArrayEquals(renewal.publicKey().getEncoded(), renewed.getPublicKey().getEncoded());
    IssuanceRecord record = ca.ledger(ledger -> ledger.find(Certificates.serialHex(renewed))).orElseThrow();
    assertEquals("certificate", record.authMethod());
    assertEquals("gateway-1", record.forwardedBy());
    // A new request with the expired certificate is refused at the gateway, as at the CA.
    assertEquals(401, device.enroll("simplereenroll", csr("device-1", keys()), null, null).statusCode());
  }

  @Test
  void upstreamRefusal_reachesTheDeviceOnItsRetry() throws Exception {
    Csr csr = csr("device-1", keys());
    ca.close();
    EstTestClient device = EstTestClient.anonymous(gateway);
    assertEquals(202, device.enroll("simpleenroll", csr, "device-1", "not-a-real-token").statusCode());

    ca.restart();
    Await.until("the gateway forwarded the request", Duration.ofSeconds(30),
        () -> pending(gateway) == 0);
    HttpResponse<byte[]> refused = device.enroll("simpleenroll", csr, "device-1", "not-a-real-token");

    assertEquals(401, refused.statusCode());
    assertTrue(text(refused).startsWith("upstream CA refused: unknown device or wrong enrollment token"), text(refused));
    assertEquals(0, ca.ledger(ledger -> ledger.byDevice("device-1")).size());
  }

  @Test
  void aCopyOfTheCsrSentFirstWithAWrongToken_itsRefusalIsNotToldToTheDevice_whoseOwnSendingIsIssued() throws Exception {
    KeyPair keys = keys();
    Csr csr = csr("device-1", keys);
    String token = ca.token("device-1");
    ca.close();
    EstTestClient copy = EstTestClient.anonymous(gateway);
    EstTestClient device = EstTestClient.anonymous(gateway);
    // A copy of the device's CSR comes first with a wrong token; the device's own sending joins its request.
    assertEquals(202, copy.enroll("simpleenroll", csr, "device-1", "not-a-real-token").statusCode());
    assertEquals(202, device.enroll("simpleenroll", csr, "device-1", token).statusCode());
    ca.restart();
    Await.until("the gateway forwarded the request", Duration.ofSeconds(30), () -> pending(gateway) == 0);

    // The upstream refused the copy's token: not the device's answer. Its sending is a new
    // request, forwarded with its own token.
    X509Certificate certificate = issued(device.enroll("simpleenroll", csr, "device-1", token));

    assertArrayEquals(keys.getPublic().getEncoded(), certificate.getPublicKey().getEncoded());
    assertEquals(1, ca.ledger(ledger -> ledger.byDevice("device-1")).size());
  }

  @Test
  void upstreamTooManyRequests_keepsTheRequestQueued_andTheDeviceIsToldWhenToComeBack() throws Exception {
    gateway.close();
    ca.close();
    ca = TestServer.start(dir.resolve("limited-ca"), "{\"limits\": {\"enrollmentsPerIdentityPerHour\": 1}}");
    gateway = TestServer.startGateway(dir.resolve("limited-gateway"), ca, FAST);
    KeyPair keys = keys();
    X509Certificate first = issued(EstTestClient.anonymous(gateway)
        .enroll("simpleenroll", csr("device-1", keys), "device-1", ca.token("device-1")));
    EstTestClient device = EstTestClient.withCertificate(gateway, keys.getPrivate(), List.of(first));
    Csr renewal = csr("device-1", keys());

    // the upstream's limit of one certificate an hour: its 429 is not the device's refusal
    HttpResponse<byte[]> told = device.enroll("simplereenroll", renewal, null, null);
    HttpResponse<byte[]> again = device.enroll("simplereenroll", renewal, null, null);

    assertEquals(202, told.statusCode(), text(told));
    assertEquals(202, again.statusCode(), text(again));
    long retryAfter = Long.parseLong(again.headers().firstValue("Retry-After").orElseThrow());
    assertTrue(retryAfter > 60, "the upstream's Retry-After (the rest of its hour), not the gateway's 1s: " + retryAfter);
    assertEquals(1, pending(gateway));
    assertEquals(1, ca.ledger(ledger -> ledger.byDevice("device-1")).size());
  }

  @Test
  void aCollectedCertificate_sentAgain_isAuditedResent_andNotCountedTowardTheHourlyLimit() throws Exception {
    gateway.close();
    gateway = TestServer.startGateway(dir.resolve("limited-gateway"), ca, "{\"gateway\": {\"retryAfter\": \"1s\", "
        + "\"forwardInterval\": \"100ms\"}, \"limits\": {\"enrollmentsPerIdentityPerHour\": 2}}");
    KeyPair keys = keys();
    Csr csr = csr("device-1", keys);
    String token = ca.token("device-1");
    EstTestClient device = EstTestClient.anonymous(gateway);
    ca.close();
    assertEquals(202, device.enroll("simpleenroll", csr, "device-1", token).statusCode());
    ca.restart();
    Await.until("the gateway forwarded the request", Duration.ofSeconds(30), () -> pending(gateway) == 0);

    X509Certificate collected = issued(device.enroll("simpleenroll", csr, "device-1", token));
    // its answer lost twice: the same request twice more, then a renewal, the hour's second certificate
    X509Certificate resent = issued(device.enroll("simpleenroll", csr, "device-1", token));
    X509Certificate resentAgain = issued(device.enroll("simpleenroll", csr, "device-1", token));
    HttpResponse<byte[]> renewal = EstTestClient.withCertificate(gateway, keys.getPrivate(), List.of(collected))
        .enroll("simplereenroll", csr("device-1", keys()), null, null);

    HttpResponse<byte[]> third = EstTestClient.withCertificate(gateway, keys.getPrivate(), List.of(collected))
        .enroll("simplereenroll", csr("device-1", keys()), null, null);

    assertEquals(collected, resent);
    assertEquals(collected, resentAgain);
    issued(renewal);
    assertEquals(429, third.statusCode(), "the hour's third certificate: " + text(third));
    gateway.close();
    List<JsonObject> audited = gateway.audit();
    assertEquals(List.of("pending", "issued", "resent", "resent", "issued", "rate-limited"),
        audited.stream().map(line -> line.get("result").getAsString()).toList());
    assertEquals(Certificates.serialHex(collected), audited.get(3).get("serial").getAsString());
    // The collections and resends were answered to the same CSR before authentication; the renewal authenticated.
    assertEquals(List.of(false, false, false), audited.subList(1, 4).stream()
        .map(line -> line.get("authenticated").getAsBoolean()).toList());
    assertTrue(audited.get(1).getAsJsonPrimitive("authenticated").isBoolean(), "a JSON boolean, not a string");
    assertTrue(!audited.get(4).has("authenticated"), audited.get(4).toString());
  }

  /** This test's CA and gateway replaced by new ones with these settings. */
  private void restart(String caConfig, String gatewayConfig) throws Exception {
    gateway.close();
    ca.close();
    ca = TestServer.start(dir.resolve("rolling-ca"), caConfig);
    gateway = TestServer.startGateway(dir.resolve("following-gateway"), ca, gatewayConfig);
  }

  @Test
  void upstreamRootRollover_theGatewayNamesTheNewCasToItsClients_withoutARestart() throws Exception {
    restart("{\"ca\": {\"checkInterval\": \"100ms\"}}", "{\"gateway\": {\"retryAfter\": \"1s\", "
        + "\"forwardInterval\": \"100ms\", \"cacheRefresh\": \"200ms\"}}");
    assertTrue(AdvertisedIssuers.of(gateway).contains(ca.rootCertificate().getSubjectX500Principal()));

    CaRollover.Outcome rollover = CaRollover.start(DataDir.open(ca.dataDir()), ca.clock().instant(),
        Duration.ofDays(30), ca.clock(), TestPki.RANDOM);

    Await.until("the gateway names the new root and issuing CA", Duration.ofSeconds(20), () -> {
      try {
        return AdvertisedIssuers.of(gateway).containsAll(List.of(rollover.root().getSubjectX500Principal(),
            rollover.issuing().getSubjectX500Principal()));
      } catch (Exception e) {
        return false;
      }
    });
  }

  @Test
  void upstreamRootRolloverActiveAtOnce_theFirstCertificateUnderTheNewChain_bringsItsCacerts() throws Exception {
    // The copy is refreshed hourly: without the issuance that shows the new chain, devices would
    // be given certificates they cannot validate, and be refused re-enrollment here with them.
    restart("{\"ca\": {\"checkInterval\": \"100ms\"}}",
        "{\"gateway\": {\"forwardInterval\": \"100ms\", \"cacheRefresh\": \"1h\"}}");
    List<X509Certificate> before = cacerts(gateway);
    CaRollover.Outcome rollover = CaRollover.start(DataDir.open(ca.dataDir()), ca.clock().instant(),
        Duration.ofDays(30), ca.clock(), TestPki.RANDOM);
    Await.until("the CA serves the rollover", Duration.ofSeconds(20), () -> {
      try {
        return cacerts(ca).contains(rollover.root());
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    KeyPair keys = keys();

    X509Certificate own = issued(EstTestClient.anonymous(gateway).enroll("simpleenroll", csr("device-1", keys),
        "device-1", ca.token("device-1")));
    List<X509Certificate> after = cacerts(gateway);
    HttpResponse<byte[]> renewed = EstTestClient.withCertificate(gateway, keys.getPrivate(), List.of(own))
        .enroll("simplereenroll", csr("device-1", keys()), null, null);

    assertFalse(before.contains(rollover.root()));
    assertEquals(rollover.issuing().getSubjectX500Principal(), own.getIssuerX500Principal());
    assertEquals(new java.util.HashSet<>(cacerts(ca)), new java.util.HashSet<>(after),
        "the gateway's /cacerts once it forwarded the first certificate under the new chain");
    assertEquals(200, renewed.statusCode(), text(renewed));
  }

  @Test
  void upstreamRootRetired_leavesTheGatewaysUpstreamTrust_onceTheGatewayIsUnderTheNewChain() throws Exception {
    restart("{\"ca\": {\"checkInterval\": \"100ms\"}, \"gatewayProfile\": {\"lifetime\": \"6s\", "
        + "\"backdate\": \"0s\"}}", "{\"gateway\": {\"forwardInterval\": \"100ms\", \"cacheRefresh\": \"200ms\"}}");
    X509Certificate oldRoot = ca.rootCertificate();
    Path trustFile = gateway.dataDir().resolve("upstream/trust.pem");
    // A root the CA never lists (one for a TLS proxy in front of it, say) beside its own.
    X509Certificate proxyRoot = TestPki.rootCa("Proxy Root").certificate();
    Files.writeString(trustFile, Pem.encode(List.of(oldRoot, proxyRoot)));
    gateway.restart();
    CaRollover.Outcome rollover = CaRollover.start(DataDir.open(ca.dataDir()), ca.clock().instant(),
        Duration.ofDays(30), ca.clock(), TestPki.RANDOM);
    Await.until("the gateway renews under the new chain", Duration.ofSeconds(30), () -> Pem.readCertificates(
        gateway.dataDir().resolve("tls/server.pem")).get(0).getIssuerX500Principal()
        .equals(rollover.issuing().getSubjectX500Principal()));
    List<X509Certificate> duringOverlap = Pem.readCertificates(trustFile);

    CaRollover.retire(DataDir.open(ca.dataDir()), true, ca.clock());

    Await.until("the gateway no longer trusts the retired root", Duration.ofSeconds(30),
        () -> !Pem.readCertificates(trustFile).contains(oldRoot));
    List<X509Certificate> afterRetirement = Pem.readCertificates(trustFile);
    // Its health, read trusting the new root (the test client's default, the file's first root, is
    // the proxy's now).
    String fetchedBefore = health(gateway, rollover.root()).getAsJsonObject("cacerts").get("fetchedAt").getAsString();
    Await.until("the gateway fetches /cacerts again, with what it trusts now", Duration.ofSeconds(30),
        () -> !health(gateway, rollover.root()).getAsJsonObject("cacerts").get("fetchedAt").getAsString()
            .equals(fetchedBefore));
    com.google.gson.JsonObject health = health(gateway, rollover.root());
    assertEquals(java.util.Set.of(oldRoot, proxyRoot, rollover.root()), java.util.Set.copyOf(duringOverlap));
    assertEquals(java.util.Set.of(proxyRoot, rollover.root()), java.util.Set.copyOf(afterRetirement),
        "the retired root leaves; the root the CA never listed stays");
    assertEquals("up", health.getAsJsonObject("upstream").get("state").getAsString(),
        "the gateway still reaches its CA: " + health);
  }

  private static com.google.gson.JsonObject health(TestServer server, X509Certificate root) {
    try {
      java.net.http.HttpClient client = java.net.http.HttpClient.newBuilder()
          .sslContext(EstTestClient.trustingOnly(root)).build();
      HttpResponse<String> response = client.send(java.net.http.HttpRequest.newBuilder(
          server.baseUri().resolve("/health")).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, response.statusCode(), response.body());
      return com.google.gson.JsonParser.parseString(response.body()).getAsJsonObject();
    } catch (Exception e) {
      throw new AssertionError("GET /health trusting " + root.getSubjectX500Principal(), e);
    }
  }

  private static List<X509Certificate> cacerts(TestServer server) throws Exception {
    HttpResponse<byte[]> response = EstTestClient.anonymous(server).get("/.well-known/est/cacerts");
    assertEquals(200, response.statusCode(), text(response));
    return CertsOnly.decode(Base64Body.decode(response.body()));
  }

  @Test
  void deviceCannotObtainAnotherIdentityThroughGateway() throws Exception {
    KeyPair keys = keys();
    EstTestClient anonymous = EstTestClient.anonymous(gateway);
    HttpResponse<byte[]> other = anonymous.enroll("simpleenroll", csr("device-2", keys), "device-1",
        ca.token("device-1"));
    assertEquals(403, other.statusCode(), text(other));

    X509Certificate own = issued(anonymous.enroll("simpleenroll", csr("device-1", keys), "device-1",
        ca.token("device-1")));
    HttpResponse<byte[]> renewAsOther = EstTestClient.withCertificate(gateway, keys.getPrivate(), List.of(own))
        .enroll("simplereenroll", csr("device-2", keys()), null, null);

    assertEquals(403, renewAsOther.statusCode(), text(renewAsOther));
    assertEquals(0, ca.ledger(ledger -> ledger.byDevice("device-2")).size());
  }

  @Test
  void serverKeygen_isNotRelayed_501_andTheTokenStaysGoodForSimpleenroll() throws Exception {
    String token = ca.token("device-1");

    HttpResponse<byte[]> keygen = EstTestClient.anonymous(gateway)
        .enroll("serverkeygen", csr("device-1", keys()), "device-1", token);
    HttpResponse<byte[]> enroll = EstTestClient.anonymous(gateway)
        .enroll("simpleenroll", csr("device-1", keys()), "device-1", token);

    assertEquals(501, keygen.statusCode(), text(keygen));
    assertTrue(text(keygen).startsWith("a gateway does not relay serverkeygen"), text(keygen));
    assertEquals(200, enroll.statusCode(), text(enroll));
  }

  @Test
  void forwardingHeadersFromNonGateway_refused403() throws Exception {
    KeyPair keys = keys();
    X509Certificate device = issued(EstTestClient.anonymous(ca)
        .enroll("simpleenroll", csr("device-1", keys), "device-1", ca.token("device-1")));
    String victimToken = ca.token("device-2");
    Csr victimCsr = csr("device-2", keys());

    for (EstTestClient client : List.of(EstTestClient.anonymous(ca),
        EstTestClient.withCertificate(ca, keys.getPrivate(), List.of(device)))) {
      HttpResponse<byte[]> response = client.post("/.well-known/est/simpleenroll", Base64Body.encode(victimCsr.der()),
          "Content-Type", EstMediaType.PKCS10, "Authorization", EstTestClient.basic("device-2", victimToken),
          "EST-Fleet-Request-Id", "req-1");
      assertEquals(403, response.statusCode(), text(response));
      assertTrue(text(response).contains("only from a gateway"), text(response));
    }
    assertEquals(0, ca.ledger(ledger -> ledger.byDevice("device-2")).size());
  }

  @Test
  void sameForwardedRequestTwice_issuedOnce() throws Exception {
    EstTestClient asGateway = EstTestClient.withCertificate(ca,
        Pem.readPrivateKey(gateway.dataDir().resolve("tls/server.key")),
        Pem.readCertificates(gateway.dataDir().resolve("tls/server.pem")));
    String token = ca.token("device-1");
    Csr csr = csr("device-1", keys());
    String[] headers = {"Content-Type", EstMediaType.PKCS10, "Authorization", EstTestClient.basic("device-1", token),
        "EST-Fleet-Request-Id", "0b7c2b9e-1"};

    X509Certificate first = issued(asGateway.post("/.well-known/est/simpleenroll", Base64Body.encode(csr.der()), headers));
    X509Certificate again = issued(asGateway.post("/.well-known/est/simpleenroll", Base64Body.encode(csr.der()), headers));
    HttpResponse<byte[]> otherKey = asGateway.post("/.well-known/est/simpleenroll",
        Base64Body.encode(csr("device-1", keys()).der()), headers);

    assertEquals(first, again);
    assertEquals(400, otherKey.statusCode(), text(otherKey));
    assertEquals(1, ca.ledger(ledger -> ledger.byDevice("device-1")).size());

    // Revoked meanwhile, the certificate is not the answer to the same request sent again.
    Cli.run("revoke", "--data", ca.dataDir().toString(), "--serial", Certificates.serialHex(first));
    HttpResponse<byte[]> afterRevocation =
        asGateway.post("/.well-known/est/simpleenroll", Base64Body.encode(csr.der()), headers);
    assertEquals(401, afterRevocation.statusCode(), text(afterRevocation));
    assertEquals(1, ca.ledger(ledger -> ledger.byDevice("device-1")).size());
  }

  @Test
  void queueFull_503WithRetryAfter_whileStoredRequestsStillAnswered() throws Exception {
    gateway.close();
    TestServer.patchConfig(gateway.dataDir(), "{\"gateway\": {\"queueLimit\": 2}}");
    gateway.restart();
    ca.close();
    EstTestClient device = EstTestClient.anonymous(gateway);
    Csr first = csr("device-0", keys());
    assertEquals(202, device.enroll("simpleenroll", first, "device-0", "t0").statusCode());
    assertEquals(202, device.enroll("simpleenroll", csr("device-1", keys()), "device-1", "t1").statusCode());

    HttpResponse<byte[]> full = device.enroll("simpleenroll", csr("device-2", keys()), "device-2", "t2");
    HttpResponse<byte[]> retry = device.enroll("simpleenroll", first, "device-0", "t0");

    assertEquals(503, full.statusCode());
    assertEquals("1", full.headers().firstValue("Retry-After").orElseThrow());
    assertTrue(text(full).contains("queue"), text(full));
    assertEquals(202, retry.statusCode());
    assertEquals(2L, pending(gateway));
  }

  @Test
  void tokenRequestsCannotFillTheQueue_certificateDevicesStillQueued() throws Exception {
    KeyPair keys = keys();
    X509Certificate current = issued(EstTestClient.anonymous(gateway)
        .enroll("simpleenroll", csr("device-1", keys), "device-1", ca.token("device-1")));
    gateway.close();
    TestServer.patchConfig(gateway.dataDir(), "{\"gateway\": {\"queueLimit\": 10, \"tokenQueueLimit\": 1}}");
    gateway.restart();
    ca.close();
    EstTestClient anonymous = EstTestClient.anonymous(gateway);
    assertEquals(202, anonymous.enroll("simpleenroll", csr("bogus-1", keys()), "bogus-1", "x").statusCode());

    HttpResponse<byte[]> secondToken = anonymous.enroll("simpleenroll", csr("bogus-2", keys()), "bogus-2", "x");
    HttpResponse<byte[]> renewal = EstTestClient.withCertificate(gateway, keys.getPrivate(), List.of(current))
        .enroll("simplereenroll", csr("device-1", keys()), null, null);

    assertEquals(503, secondToken.statusCode());
    assertTrue(text(secondToken).startsWith("this gateway holds as many token-authenticated requests waiting for the "
        + "upstream CA as it takes"), "the token share, not the queue, is full: " + text(secondToken));
    assertEquals(202, renewal.statusCode(), text(renewal));
  }

  @Test
  void gatewayCertificate_inHealth_renewalDueThenExpiredWhileUpstreamDown() throws Exception {
    X509Certificate own = Pem.readCertificates(gateway.dataDir().resolve("tls/server.pem")).get(0);
    JsonObject fresh = gateway.health().getAsJsonObject("certificate");
    assertEquals(Certificates.serialHex(own), fresh.get("serial").getAsString());
    assertEquals(own.getNotAfter().toInstant().toString(), fresh.get("notAfter").getAsString());
    assertEquals("ok", fresh.get("state").getAsString());
    ca.close();
    gateway.restart();

    gateway.clock().set(java.time.Instant.parse(fresh.get("renewalDue").getAsString()).plusSeconds(1));
    JsonObject due = gateway.health();
    gateway.clock().set(own.getNotAfter().toInstant().plusSeconds(1));
    JsonObject expired = gateway.health();

    assertEquals("renewal-due", due.getAsJsonObject("certificate").get("state").getAsString());
    assertEquals("expired", expired.getAsJsonObject("certificate").get("state").getAsString());
    assertEquals("degraded", expired.get("status").getAsString());
  }

  @Test
  void reenroll_replacesOnlyTheGatewayIdentity_andTheQueueIsForwardedAfterwards() throws Exception {
    String token = ca.token("device-1");
    ca.close();
    HttpResponse<byte[]> held = EstTestClient.anonymous(gateway)
        .enroll("simpleenroll", csr("device-1", keys()), "device-1", token);
    assertEquals(202, held.statusCode(), text(held));
    gateway.close();
    ca.restart();
    Path data = gateway.dataDir();
    byte[] settings = Files.readAllBytes(data.resolve("server.json"));
    X509Certificate before = Pem.readCertificates(data.resolve("tls/server.pem")).get(0);

    org.estfleet.server.Cli.Run refused = org.estfleet.server.Cli.run("init", "--data", data.toString(), "--gateway",
        "--reenroll", "--token", "gateway-1:" + ca.gatewayToken("gateway-1"), "--force");
    org.estfleet.server.Cli.Run again = org.estfleet.server.Cli.run("init", "--data", data.toString(), "--gateway",
        "--reenroll", "--token", "gateway-1:" + ca.gatewayToken("gateway-1"));

    assertEquals(2, refused.exit(), refused.err());
    assertEquals(0, again.exit(), again.err());
    X509Certificate after = Pem.readCertificates(data.resolve("tls/server.pem")).get(0);
    assertTrue(!before.getPublicKey().equals(after.getPublicKey()), "a new key");
    assertEquals(String.valueOf(before.getSubjectAlternativeNames()), String.valueOf(after.getSubjectAlternativeNames()));
    assertTrue(org.estfleet.pki.KeyPairs.matches(after.getPublicKey(), Pem.readPrivateKey(data.resolve("tls/server.key"))));
    assertArrayEquals(settings, Files.readAllBytes(data.resolve("server.json")), "its settings kept");
    gateway.restart();
    Await.until("the request queued before the re-enrollment was issued by the CA", Duration.ofSeconds(30),
        () -> !ca.ledger(ledger -> ledger.byDevice("device-1")).isEmpty());
    assertEquals("gateway-1", ca.ledger(ledger -> ledger.byDevice("device-1")).get(0).forwardedBy());
  }

  @Test
  void aLabelTheUpstreamDoesNotHave_isReportedAndRefusedToDevices() throws Exception {
    gateway.close();
    TestServer.patchConfig(gateway.dataDir(), "{\"gateway\": {\"labels\": [\"ghost\"]}}");
    gateway.restart();

    Await.until("the refusal of the label's copies reported", Duration.ofSeconds(30),
        () -> gateway.health().getAsJsonObject("cacerts").getAsJsonObject("refused").size() == 2);
    JsonObject report = gateway.health();
    HttpResponse<byte[]> cacerts = EstTestClient.anonymous(gateway).get("/.well-known/est/ghost/cacerts");
    HttpResponse<byte[]> csrattrs = EstTestClient.anonymous(gateway).get("/.well-known/est/ghost/csrattrs");

    assertEquals("degraded", report.get("status").getAsString());
    assertTrue(report.getAsJsonObject("cacerts").getAsJsonObject("refused").get("cacerts/ghost").getAsString()
        .startsWith("refused (HTTP 404): "), report.toString());
    assertEquals(404, cacerts.statusCode(), text(cacerts));
    assertTrue(text(cacerts).startsWith("upstream CA refused: "), text(cacerts));
    assertEquals(404, csrattrs.statusCode(), text(csrattrs));
    // The upstream's reason, for both copies.
    assertTrue(text(csrattrs).startsWith("upstream CA refused: no EST label 'ghost'"), text(csrattrs));
    assertTrue(report.getAsJsonObject("cacerts").getAsJsonObject("refused").get("csrattrs/ghost").getAsString()
        .contains("no EST label 'ghost'"), report.toString());
  }

  @Test
  void caCertsServedFromCacheWhileUpstreamDown_andStaleReported() throws Exception {
    byte[] fromCa = EstTestClient.anonymous(ca).get("/.well-known/est/cacerts").body();
    ca.close();
    gateway.restart();

    HttpResponse<byte[]> cached = EstTestClient.anonymous(gateway).get("/.well-known/est/cacerts");
    assertEquals(200, cached.statusCode(), text(cached));
    assertEquals(CertsOnly.decode(Base64Body.decode(fromCa)), CertsOnly.decode(Base64Body.decode(cached.body())));
    JsonObject fresh = gateway.health();
    assertEquals(false, fresh.getAsJsonObject("cacerts").get("stale").getAsBoolean());

    gateway.clock().advance(Duration.ofDays(2));
    JsonObject stale = gateway.health();
    assertEquals("degraded", stale.get("status").getAsString());
    assertTrue(stale.getAsJsonObject("cacerts").get("stale").getAsBoolean());
    assertTrue(stale.getAsJsonObject("cacerts").get("ageSeconds").getAsLong() >= Duration.ofDays(2).toSeconds());
    assertEquals("down", stale.getAsJsonObject("upstream").get("state").getAsString());
  }

  @Test
  void storedRequestsExpireAfterPendingTtl() throws Exception {
    ca.close();
    EstTestClient device = EstTestClient.anonymous(gateway);
    assertEquals(202, device.enroll("simpleenroll", csr("device-1", keys()), "device-1", "t1").statusCode());

    gateway.clock().advance(Duration.ofDays(8));

    Await.until("the request older than pendingTtl (7d) is dropped", Duration.ofSeconds(30), () -> pending(gateway) == 0);
  }

  @Test
  void csrAttrsAndLabelsServedFromCacheWhileUpstreamDown() throws Exception {
    gateway.close();
    ca.close();
    TestServer.patchConfig(ca.dataDir(), "{\"labels\": {\"factory\": {\"csrAttributes\": []}}}");
    ca.restart();
    TestServer.patchConfig(gateway.dataDir(), "{\"gateway\": {\"labels\": [\"factory\"]}}");
    gateway.restart();
    Await.until("the gateway fetched the label's copies", Duration.ofSeconds(30), () -> cached(gateway, "csrattrs/factory"));
    HttpResponse<byte[]> fromCa = EstTestClient.anonymous(ca).get("/.well-known/est/csrattrs");
    ca.close();
    gateway.restart();
    EstTestClient device = EstTestClient.anonymous(gateway);

    HttpResponse<byte[]> csrattrs = device.get("/.well-known/est/csrattrs");
    HttpResponse<byte[]> labelled = device.get("/.well-known/est/factory/csrattrs");
    HttpResponse<byte[]> labelledCaCerts = device.get("/.well-known/est/factory/cacerts");
    HttpResponse<byte[]> unknown = device.get("/.well-known/est/other/cacerts");

    assertEquals(200, csrattrs.statusCode(), text(csrattrs));
    assertArrayEquals(Base64Body.decode(fromCa.body()), Base64Body.decode(csrattrs.body()));
    assertEquals(204, labelled.statusCode(), text(labelled));
    assertEquals(200, labelledCaCerts.statusCode(), text(labelledCaCerts));
    assertEquals(404, unknown.statusCode());
  }

  @Test
  void labelsThroughTheGateway_theCaHoldsTokensAndCertificatesToTheirLabels() throws Exception {
    gateway.close();
    ca.close();
    TestServer.patchConfig(ca.dataDir(), "{\"labels\": {\"factory\": {\"lifetime\": \"2h\"}}}");
    ca.restart();
    TestServer.patchConfig(gateway.dataDir(), "{\"gateway\": {\"labels\": [\"factory\"]}}");
    gateway.restart();
    EstTestClient device = EstTestClient.anonymous(gateway);
    KeyPair keys = keys();
    String token = ca.tokenFor("device-1", "factory");

    HttpResponse<byte[]> unlabelled = device.enroll("simpleenroll", csr("device-1", keys), "device-1", token);
    HttpResponse<byte[]> labelled = device.enroll("factory/simpleenroll", csr("device-1", keys), "device-1", token);
    X509Certificate first = issued(labelled);
    EstTestClient holder = EstTestClient.withCertificate(gateway, keys.getPrivate(), List.of(first));
    HttpResponse<byte[]> renewUnlabelled = holder.enroll("simplereenroll", csr("device-1", keys()), null, null);
    HttpResponse<byte[]> renewLabelled = holder.enroll("factory/simplereenroll", csr("device-1", keys()), null, null);

    assertEquals(403, unlabelled.statusCode(), text(unlabelled));
    assertTrue(text(unlabelled).startsWith("upstream CA refused: the enrollment token for 'device-1' enrolls only "
        + "under label 'factory'"), text(unlabelled));
    assertEquals(403, renewUnlabelled.statusCode(), text(renewUnlabelled));
    assertTrue(text(renewUnlabelled).contains("was issued under label 'factory'"), text(renewUnlabelled));
    X509Certificate renewed = issued(renewLabelled);
    assertEquals(List.of("factory", "factory"),
        ca.ledger(ledger -> ledger.byDevice("device-1")).stream().map(IssuanceRecord::label).toList());
    assertTrue(renewed.getNotAfter().toInstant().isBefore(ca.clock().instant().plus(Duration.ofHours(2))),
        "the label's lifetime: " + renewed.getNotAfter());
  }

  @Test
  void aRevokedGateway_isRefusedForwarding_andKeepsTheDevicesRequestsQueued() throws Exception {
    Cli.Run revoked = Cli.run("revoke", "--data", ca.dataDir().toString(),
        "--device", "gateway-1", "--reason", "gateway stolen");
    ca.clock().advance(RevocationList.REFRESH);
    KeyPair keys = keys();

    HttpResponse<byte[]> held = EstTestClient.anonymous(gateway)
        .enroll("simpleenroll", csr("device-1", keys), "device-1", ca.token("device-1"));

    assertEquals(0, revoked.exit(), revoked.err());
    assertEquals(202, held.statusCode(), text(held));
    PendingEnrollment request = gateway.queue(queue -> queue.find("device-1",
        Certificates.publicKeyFingerprint(keys.getPublic()), "")).orElseThrow();
    assertTrue(request.lastError().contains("was revoked at ") && request.lastError().contains("(gateway stolen)"),
        request.lastError());
    JsonObject health = gateway.health();
    assertEquals("degraded", health.get("status").getAsString());
    assertEquals("refused-upstream", health.getAsJsonObject("certificate").get("state").getAsString());
    assertTrue(health.getAsJsonObject("certificate").get("lastError").getAsString().contains("(gateway stolen)"),
        health.toString());
    assertEquals(0, ca.ledger(ledger -> ledger.byDevice("device-1")).size());
  }

  private static boolean cached(TestServer gateway, String name) {
    try (Database database = Database.open(gateway.dataDir().resolve("estfleet.db"))) {
      return new UpstreamCache(database).get(name).isPresent();
    }
  }

  @Test
  void healthOfCa_reportsMode() throws Exception {
    JsonObject health = ca.health();
    assertEquals("ca", health.get("mode").getAsString());
    // Its own TLS certificate and gateway-1's.
    assertEquals(2, health.get("issuedCertificates").getAsLong());
  }

  /** The upstream's state in the gateway's {@code /health}. */
  private static String upstreamState(TestServer gateway) {
    return gateway.health().getAsJsonObject("upstream").get("state").getAsString();
  }

  private static long pending(TestServer gateway) {
    return gateway.queue(queue -> queue.depth().pending());
  }

  private static KeyPair keys() {
    return KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
  }

  private static Csr csr(String deviceId, KeyPair keys) {
    return new CsrBuilder().commonName(deviceId).sign(keys);
  }
}
