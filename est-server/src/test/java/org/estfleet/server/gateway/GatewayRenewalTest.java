package org.estfleet.server.gateway;

import static org.estfleet.server.EstTestClient.issued;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.security.auth.x500.X500Principal;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.KeyPairs;
import org.estfleet.pki.Pem;
import org.estfleet.pki.TestPki;
import org.estfleet.server.AdvertisedIssuers;
import org.estfleet.server.EstTestClient;
import org.estfleet.server.TestServer;
import org.estfleet.server.store.IssuanceRecord;
import org.estfleet.server.store.Role;
import org.estfleet.testing.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway renews its own certificate at the upstream and switches to it while running: gateway
 * certificates live 9 seconds here, so renewal falls due within the test. The switch keeps the CAs
 * the gateway names to its clients.
 */
class GatewayRenewalTest {
  @TempDir
  Path dir;

  @Test
  void gatewayCertificate_renewedAtUpstreamAndUsedForTlsAndForwarding() throws Exception {
    try (TestServer ca = TestServer.start(dir.resolve("ca"),
            "{\"gatewayProfile\": {\"lifetime\": \"9s\", \"backdate\": \"0s\"}}");
        TestServer gateway = TestServer.startGateway(dir.resolve("gateway"), ca,
            "{\"gateway\": {\"forwardInterval\": \"100ms\"}}")) {
      X509Certificate first = Pem.readCertificates(gateway.dataDir().resolve("tls/server.pem")).get(0);
      List<X500Principal> named = AdvertisedIssuers.of(gateway);
      assertTrue(named.contains(ca.rootCertificate().getSubjectX500Principal()), "named at the start: " + named);

      Await.until("the gateway installed a renewed certificate", Duration.ofSeconds(30),
          () -> !Pem.readCertificates(gateway.dataDir().resolve("tls/server.pem")).get(0).equals(first));
      X509Certificate renewed = Pem.readCertificates(gateway.dataDir().resolve("tls/server.pem")).get(0);
      HttpResponse<byte[]> enrolled = EstTestClient.anonymous(gateway).enroll("simpleenroll",
          new CsrBuilder().commonName("device-1").sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)),
          "device-1", ca.token("device-1"));

      IssuanceRecord record = ca.ledger(ledger -> ledger.find(Certificates.serialHex(renewed))).orElseThrow();
      assertEquals("gateway-1", record.deviceId());
      assertEquals(Role.GATEWAY, record.role());
      assertEquals("certificate", record.authMethod());
      assertNotEquals(first.getPublicKey(), renewed.getPublicKey());
      assertTrue(KeyPairs.matches(renewed.getPublicKey(), Pem.readPrivateKey(gateway.dataDir().resolve("tls/server.key"))));
      assertEquals(String.valueOf(first.getSubjectAlternativeNames()), String.valueOf(renewed.getSubjectAlternativeNames()));
      assertEquals(renewed, peerCertificate(enrolled), "new connections see the renewed certificate");
      assertEquals(named, AdvertisedIssuers.of(gateway), "the CAs named to clients after the switch");
      issued(enrolled);
      assertEquals("gateway-1", ca.ledger(ledger -> ledger.byDevice("device-1")).get(0).forwardedBy());
    }
  }

  @Test
  void renewalRightAfterAnUpstreamRootRollover_getsItsChainFromAFreshCacerts() throws Exception {
    // The gateway's copy of /cacerts is refreshed hourly: renewal falls due (after 10 s) with the
    // copy from before the rollover, which knows neither the new issuing CA nor the new root.
    try (TestServer ca = TestServer.start(dir.resolve("ca"), "{\"ca\": {\"checkInterval\": \"100ms\"}, "
            + "\"gatewayProfile\": {\"lifetime\": \"15s\", \"backdate\": \"0s\"}}");
        TestServer gateway = TestServer.startGateway(dir.resolve("gateway"), ca,
            "{\"gateway\": {\"forwardInterval\": \"100ms\", \"cacheRefresh\": \"1h\"}}")) {
      X509Certificate first = Pem.readCertificates(gateway.dataDir().resolve("tls/server.pem")).get(0);
      org.estfleet.server.ca.CaRollover.Outcome rollover = org.estfleet.server.ca.CaRollover.start(
          org.estfleet.server.config.DataDir.open(ca.dataDir()), ca.clock().instant(), Duration.ofDays(30), ca.clock(),
          TestPki.RANDOM);

      Await.until("the gateway installed a renewed certificate", Duration.ofSeconds(40),
          () -> !Pem.readCertificates(gateway.dataDir().resolve("tls/server.pem")).get(0).equals(first));
      List<X509Certificate> chain = Pem.readCertificates(gateway.dataDir().resolve("tls/server.pem"));

      assertEquals(rollover.issuing().getSubjectX500Principal(), chain.get(0).getIssuerX500Principal(),
          "renewed under the new chain");
      X509Certificate newWithOld = Pem.readCertificates(org.estfleet.server.ca.CaRollover.files(
          org.estfleet.server.config.DataDir.open(ca.dataDir())).newWithOld()).get(0);
      assertEquals(List.of(rollover.issuing(), newWithOld), chain.subList(1, chain.size()));
      for (X509Certificate root : List.of(ca.rootCertificate(), rollover.root())) {
        org.estfleet.pki.CertificatePath.validate(chain.get(0), chain.subList(1, chain.size()), List.of(root),
            java.time.Instant.now());
      }
    }
  }

  @Test
  void aRefusedRenewal_makesHealthDegradedWithItsReason_whileTheUpstreamIsUp() throws Exception {
    try (TestServer ca = TestServer.start(dir.resolve("ca"), "{\"gatewayProfile\": {\"lifetime\": \"9s\", "
            + "\"backdate\": \"0s\"}}", delegate -> new org.estfleet.server.ForwardingCa(delegate) {
              @Override
              public org.estfleet.server.ca.IssueResult issue(org.estfleet.server.ca.IssueRequest request)
                  throws org.estfleet.est.EstException {
                if (request.reenroll() && request.requester().deviceId().equals("gateway-1")) {
                  throw org.estfleet.est.EstException.forbidden("not now, gateway-1");
                }
                return super.issue(request);
              }
            });
        TestServer gateway = TestServer.startGateway(dir.resolve("gateway"), ca,
            "{\"gateway\": {\"forwardInterval\": \"100ms\"}}")) {
      Await.until("the gateway's renewal refused", Duration.ofSeconds(30),
          () -> gateway.health().getAsJsonObject("certificate").has("lastError"));
      com.google.gson.JsonObject report = gateway.health();

      assertEquals("degraded", report.get("status").getAsString());
      assertEquals("up", report.getAsJsonObject("upstream").get("state").getAsString());
      assertEquals("renewal-due", report.getAsJsonObject("certificate").get("state").getAsString());
      assertTrue(report.getAsJsonObject("certificate").get("lastError").getAsString()
          .startsWith("refused (HTTP 403): not now, gateway-1"), report.toString());
    }
  }

  private static X509Certificate peerCertificate(HttpResponse<byte[]> response) throws SSLPeerUnverifiedException {
    return (X509Certificate) response.sslSession().orElseThrow().getPeerCertificates()[0];
  }
}
