package org.estfleet.server.http;

import static org.estfleet.server.EstTestClient.issued;
import static org.estfleet.server.EstTestClient.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.estfleet.est.EstException;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.TestPki;
import org.estfleet.server.EstTestClient;
import org.estfleet.server.ForwardingCa;
import org.estfleet.server.TestServer;
import org.estfleet.server.ca.CertificateAuthority;
import org.estfleet.server.ca.IssueRequest;
import org.estfleet.server.ca.IssueResult;
import org.estfleet.testing.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Beyond {@code limits.maxConcurrentRequests} the server answers 503 + Retry-After at once. */
class ConcurrencyLimitTest {
  @TempDir
  Path dir;

  private final CountDownLatch entered = new CountDownLatch(1);
  private final CountDownLatch release = new CountDownLatch(1);

  @Test
  void requestBeyondLimit_503WithRetryAfter_whileTheFirstCompletes() throws Exception {
    try (TestServer server = startHolding("{\"limits\": {\"maxConcurrentRequests\": 1, \"busyRetryAfter\": \"7s\"}}")) {
      EstTestClient client = EstTestClient.anonymous(server);
      CompletableFuture<HttpResponse<byte[]>> first = enrollHeldAtTheCa(client, server);

      HttpResponse<byte[]> second = client.get("/.well-known/est/cacerts");
      release.countDown();

      assertEquals(503, second.statusCode());
      assertEquals("7", second.headers().firstValue("Retry-After").orElseThrow());
      assertTrue(text(second).startsWith("server busy"), text(second));
      issued(first.get(10, TimeUnit.SECONDS));
      // The permit comes back when the server has completed the exchange, a moment after the
      // client has read the answer.
      Await.until("the first exchange completed on the server", java.time.Duration.ofSeconds(10),
          () -> server.responses().getOrDefault(200, 0L) >= 1);
      assertEquals(200, client.get("/.well-known/est/cacerts").statusCode(), "the permit came back");
      assertEquals(Long.valueOf(1), server.responses().get(503));
    }
  }

  @Test
  void atTheLimit_theMonitoringListenerStillAnswers_showingTheShedding() throws Exception {
    try (TestServer server = startHolding("{\"limits\": {\"maxConcurrentRequests\": 1}, \"monitoring\": {\"port\": 0}}")) {
      EstTestClient client = EstTestClient.anonymous(server);
      CompletableFuture<HttpResponse<byte[]>> first = enrollHeldAtTheCa(client, server);
      HttpClient plain = HttpClient.newHttpClient();
      java.net.URI monitoring = server.monitoringUri().orElseThrow();

      int shed = client.get("/.well-known/est/cacerts").statusCode();
      HttpResponse<String> health = plain.send(HttpRequest.newBuilder(monitoring.resolve("/health")).build(),
          HttpResponse.BodyHandlers.ofString());
      HttpResponse<String> metrics = plain.send(HttpRequest.newBuilder(monitoring.resolve("/metrics")).build(),
          HttpResponse.BodyHandlers.ofString());
      release.countDown();

      assertEquals(503, shed);
      assertEquals(200, health.statusCode(), health.body());
      assertTrue(health.body().contains("\"503\": 1"), health.body());
      assertEquals(200, metrics.statusCode());
      assertTrue(metrics.body().contains("estfleet_http_responses_total{endpoint=\"cacerts\",status=\"503\"} 1.0"),
          metrics.body());
      issued(first.get(10, TimeUnit.SECONDS));
    }
  }

  /** A server whose CA holds each issuance until {@link #release} opens. */
  private TestServer startHolding(String config) throws Exception {
    return TestServer.start(dir.resolve("server"), config, ca -> new HoldingCa(ca, entered, release));
  }

  /** An enrollment sent, and waiting at the CA: it holds one of the server's permits. */
  private CompletableFuture<HttpResponse<byte[]>> enrollHeldAtTheCa(EstTestClient client, TestServer server)
      throws InterruptedException {
    CompletableFuture<HttpResponse<byte[]>> first = CompletableFuture.supplyAsync(() -> enroll(client, server, "device-1"));
    assertTrue(entered.await(10, TimeUnit.SECONDS), "the first request reached the CA");
    return first;
  }

  private static HttpResponse<byte[]> enroll(EstTestClient client, TestServer server, String deviceId) {
    try {
      return client.enroll("simpleenroll",
          new CsrBuilder().commonName(deviceId).sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)),
          deviceId, server.token(deviceId));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** A CA that holds each issuance until released. */
  private static final class HoldingCa extends ForwardingCa {
    private final CountDownLatch entered;
    private final CountDownLatch release;

    HoldingCa(CertificateAuthority delegate, CountDownLatch entered, CountDownLatch release) {
      super(delegate);
      this.entered = entered;
      this.release = release;
    }

    @Override
    public IssueResult issue(IssueRequest request) throws EstException {
      entered.countDown();
      try {
        release.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return super.issue(request);
    }
  }
}
