package org.estfleet.server.http;

import static org.estfleet.server.EstTestClient.issued;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.security.KeyPair;
import java.util.Map;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.TestPki;
import org.estfleet.server.EstTestClient;
import org.estfleet.server.TestServer;
import org.estfleet.testing.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code GET /metrics} over TLS: what a Prometheus scraper reads of a CA. */
class MetricsTest {
  @TempDir
  Path dir;

  private TestServer server;

  @BeforeEach
  void start() throws Exception {
    server = TestServer.start(dir.resolve("server"));
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void answersEnrollmentsHandshakesAndTheCasCertificates_areCounted() throws Exception {
    double ledgerBefore = server.metrics().get("estfleet_ledger_issued_certificates"); // init's TLS certificate
    KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    EstTestClient device = EstTestClient.anonymous(server);
    issued(device.enroll("simpleenroll",
        new CsrBuilder().commonName("device-1").sign(keys), "device-1", server.token("device-1")));
    HttpResponse<byte[]> wrongToken = device.enroll("simpleenroll",
        new CsrBuilder().commonName("device-2").sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), "device-2", "nope");
    assertEquals(401, wrongToken.statusCode());
    assertEquals(200, device.get("/.well-known/est/cacerts").statusCode());
    assertEquals(404, device.get("/.well-known/est/no-such-label/cacerts").statusCode());
    HttpResponse<byte[]> post = device.send(HttpRequest.newBuilder(device.uri("/metrics"))
        .POST(HttpRequest.BodyPublishers.noBody()).build());

    // Each answer is counted once it is written, which the client may read before.
    Await.until("the last answer is counted", Duration.ofSeconds(10), () -> server.metrics()
        .containsKey("estfleet_http_responses_total{endpoint=\"metrics\",status=\"405\"}"));
    Map<String, Double> metrics = server.metrics();

    assertEquals(405, post.statusCode(), "GET only");
    assertEquals(1.0, metrics.get("estfleet_http_responses_total{endpoint=\"simpleenroll\",status=\"200\"}"), metrics.toString());
    assertEquals(1.0, metrics.get("estfleet_http_responses_total{endpoint=\"simpleenroll\",status=\"401\"}"));
    assertEquals(1.0, metrics.get("estfleet_http_responses_total{endpoint=\"cacerts\",status=\"200\"}"));
    assertEquals(1.0, metrics.get("estfleet_http_responses_total{endpoint=\"cacerts\",status=\"404\"}"));
    assertEquals(1.0, metrics.get("estfleet_http_responses_total{endpoint=\"metrics\",status=\"405\"}"));
    assertTrue(metrics.get("estfleet_http_responses_total{endpoint=\"metrics\",status=\"200\"}") >= 2, "the scrapes before");
    assertEquals(2.0, metrics.get("estfleet_http_request_duration_seconds_count{endpoint=\"simpleenroll\"}"));
    assertEquals(2.0, metrics.get("estfleet_http_request_duration_seconds_bucket{endpoint=\"simpleenroll\",le=\"+Inf\"}"));
    assertTrue(metrics.get("estfleet_http_request_duration_seconds_sum{endpoint=\"simpleenroll\"}") > 0);
    assertEquals(1.0, metrics.get("estfleet_enrollments_total{operation=\"simpleenroll\",result=\"issued\"}"));
    assertEquals(1.0, metrics.get("estfleet_enrollments_total{operation=\"simpleenroll\",result=\"refused\"}"));
    assertEquals(ledgerBefore + 1, metrics.get("estfleet_ledger_issued_certificates"));
    assertEquals(server.rootCertificate().getNotAfter().getTime() / 1000.0,
        metrics.get("estfleet_certificate_expiry_timestamp_seconds{certificate=\"ca-root\"}"));
    assertEquals(server.issuingCertificate().getNotAfter().getTime() / 1000.0,
        metrics.get("estfleet_certificate_expiry_timestamp_seconds{certificate=\"ca-issuing\"}"));
    assertTrue(metrics.containsKey("estfleet_certificate_expiry_timestamp_seconds{certificate=\"tls\"}"), metrics.keySet()
        .toString());
    assertEquals(1.0, metrics.get("estfleet_health_ok"));
    // Three clients (the device's, its connection kept alive, and one per scrape): a handshake each at least.
    assertTrue(metrics.get("estfleet_tls_handshakes_total{result=\"ok\"}") >= 3, metrics.toString());
    assertEquals(1.0, metrics.get("estfleet_build_info{mode=\"ca\",version=\"development\"}"));
    assertTrue(metrics.keySet().stream().anyMatch(name -> name.startsWith("jvm_memory_used_bytes")), "the JVM's figures");
  }

  @Test
  void aFailedHandshake_isCounted() throws Exception {
    // A certificate for certificate signing only, whose key the client uses to sign its CertificateVerify.
    TestPki.Held signingOnly = TestPki.rootCa("Other Root")
        .issue("device-1", b -> b.keyUsage(org.bouncycastle.asn1.x509.KeyUsage.keyCertSign));
    EstTestClient client = EstTestClient.withCertificate(server, signingOnly.privateKey(), signingOnly.chain());

    assertThrows(java.io.IOException.class, () -> client.get("/.well-known/est/cacerts"));

    // Counted as the connection fails, which the client may see first; the JDK's client may try twice.
    Await.until("the failed handshake is counted", Duration.ofSeconds(10),
        () -> server.metrics().getOrDefault("estfleet_tls_handshakes_total{result=\"failed\"}", 0.0) >= 1.0);
  }

  @Test
  void theEndpointLabel_takesAFewValues_whateverThePath() {
    assertEquals("simpleenroll", ConcurrencyLimit.endpoint("/.well-known/est/simpleenroll"));
    assertEquals("simplereenroll", ConcurrencyLimit.endpoint("/.well-known/est/factory/simplereenroll"));
    assertEquals("other", ConcurrencyLimit.endpoint("/.well-known/est/factory/anything"));
    assertEquals("other", ConcurrencyLimit.endpoint("/etc/passwd"));
    assertEquals("health", ConcurrencyLimit.endpoint("/health"));
    assertEquals("other", ConcurrencyLimit.endpoint(null));
  }
}
