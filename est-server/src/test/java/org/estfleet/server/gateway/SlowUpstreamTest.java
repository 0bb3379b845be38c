package org.estfleet.server.gateway;

import static org.estfleet.server.EstTestClient.issued;
import static org.estfleet.server.EstTestClient.text;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.bouncycastle.asn1.x509.GeneralName;
import org.estfleet.est.EstException;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.Csr;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.TestPki;
import org.estfleet.server.EstTestClient;
import org.estfleet.server.ForwardingCa;
import org.estfleet.server.TestServer;
import org.estfleet.server.ca.IssueRequest;
import org.estfleet.server.ca.IssueResult;
import org.estfleet.server.store.PendingEnrollment;
import org.estfleet.testing.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Device → gateway → CA over real TLS on 127.0.0.1, the CA holding its answers to devices'
 * requests until the test releases them: a slow upstream, not a down one.
 */
@Timeout(120)
class SlowUpstreamTest {
  @TempDir
  Path dir;

  private final AtomicBoolean holding = new AtomicBoolean();
  /** Whether the CA refuses the next request it held, once released. */
  private final AtomicBoolean refuseHeld = new AtomicBoolean();
  private final CountDownLatch release = new CountDownLatch(1);
  private final CountDownLatch arrived = new CountDownLatch(1);
  private TestServer ca;
  private TestServer gateway;
  // A device's key; a copy of its CSR, and the device's own request for that key (another CSR,
  // with a subjectAltName), sent with two tokens of the device.
  private final KeyPair deviceKeys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
  private final Csr copied = new CsrBuilder().commonName("device-1").sign(deviceKeys);
  private final Csr own = new CsrBuilder().commonName("device-1")
      .subjectAltName(new GeneralName(GeneralName.dNSName, "device-1.example")).sign(deviceKeys);
  private String copyToken;
  private String deviceToken;

  @BeforeEach
  void start() throws Exception {
    ca = TestServer.start(dir.resolve("ca"), "{}", delegate -> new ForwardingCa(delegate) {
      @Override
      public IssueResult issue(IssueRequest request) throws EstException {
        if (holding.get()) {
          arrived.countDown();
          try {
            release.await(60, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          if (refuseHeld.getAndSet(false)) {
            throw EstException.forbidden("refused by the test");
          }
        }
        return super.issue(request);
      }
    });
    gateway = TestServer.startGateway(dir.resolve("gateway"), ca,
        "{\"gateway\": {\"retryAfter\": \"1s\", \"answerWithin\": \"500ms\", \"readTimeout\": \"30s\"}}");
    copyToken = ca.token("device-1");
    deviceToken = ca.token("device-1");
  }

  @AfterEach
  void stop() {
    release.countDown();
    gateway.close();
    ca.close();
  }

  @Test
  void theSameRequestSentAgainDuringItsForward_waitsForItsAnswer() throws Exception {
    gateway.close();
    TestServer.patchConfig(gateway.dataDir(), "{\"gateway\": {\"answerWithin\": \"20s\"}}");
    gateway.restart();
    holding.set(true);
    Csr csr = new CsrBuilder().commonName("device-1").sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM));
    String token = ca.token("device-1");
    java.util.concurrent.ExecutorService devices = java.util.concurrent.Executors.newFixedThreadPool(2);
    try {
      java.util.concurrent.Future<HttpResponse<byte[]>> first =
          devices.submit(() -> EstTestClient.anonymous(gateway).enroll("simpleenroll", csr, "device-1", token));
      assertTrue(arrived.await(30, TimeUnit.SECONDS), "the first sending's forward reached the CA");
      java.util.concurrent.Future<HttpResponse<byte[]>> again =
          devices.submit(() -> EstTestClient.anonymous(gateway).enroll("simpleenroll", csr, "device-1", token));
      try {
        HttpResponse<byte[]> early = again.get(2, TimeUnit.SECONDS);
        throw new AssertionError("answered before the forward ended: " + early.statusCode() + " " + text(early));
      } catch (java.util.concurrent.TimeoutException waiting) {
        // waiting for the forward under way, as it should
      }
      release.countDown();

      X509Certificate certificate = issued(again.get(30, TimeUnit.SECONDS));
      assertEquals(certificate, issued(first.get(30, TimeUnit.SECONDS)));
      assertEquals(1, ca.ledger(ledger -> ledger.byDevice("device-1")).size(), "forwarded once");
    } finally {
      devices.shutdownNow();
    }
  }

  @Test
  void aDevicesSendingThatWaitedForTheForwardOfACopyWithAnotherToken_isNotToldItsRefusal_butIssued() throws Exception {
    // given: a copy of the device's CSR (its key, another request) stored with another token while the CA was down
    gateway.close();
    ca.close();
    TestServer.patchConfig(gateway.dataDir(), "{\"gateway\": {\"answerWithin\": \"20s\", \"forwardInterval\": \"100ms\"}}");
    gateway.restart();
    assertEquals(202, EstTestClient.anonymous(gateway).enroll("simpleenroll", copied, "device-1", copyToken).statusCode());
    holding.set(true);
    refuseHeld.set(true);
    ca.restart();
    assertTrue(arrived.await(30, TimeUnit.SECONDS), "the gateway forwards the copy's request");
    ExecutorService senders = Executors.newSingleThreadExecutor();
    try {
      Future<HttpResponse<byte[]>> device =
          senders.submit(() -> EstTestClient.anonymous(gateway).enroll("simpleenroll", own, "device-1", deviceToken));
      // The device's sending finds the copy's request and waits for its forward under way.
      Await.until("the device's sending waits for the forward", Duration.ofSeconds(30), () -> waitingForAForward() == 1);

      // when: the CA refuses the copy's request, sent with the copy's token
      release.countDown();

      // then
      assertOwnRequestIssued(device);
    } finally {
      senders.shutdownNow();
    }
  }

  @Test
  void aDevicesSendingThatJoinedTheForwardOfACopyWithAnotherToken_isNotToldItsRefusal_butIssued() throws Exception {
    gateway.close();
    TestServer.patchConfig(gateway.dataDir(), "{\"gateway\": {\"answerWithin\": \"20s\"}}");
    gateway.restart();
    holding.set(true);
    refuseHeld.set(true);
    ExecutorService senders = Executors.newFixedThreadPool(2);
    try {
      Future<HttpResponse<byte[]>> copy =
          senders.submit(() -> EstTestClient.anonymous(gateway).enroll("simpleenroll", copied, "device-1", copyToken));
      assertTrue(arrived.await(30, TimeUnit.SECONDS), "the copy's forward reached the CA");
      Future<HttpResponse<byte[]>> device =
          senders.submit(() -> EstTestClient.anonymous(gateway).enroll("simpleenroll", own, "device-1", deviceToken));
      // The device's sending joins the copy's stored request and waits for its forward, beside the copy's.
      Await.until("both sendings wait for the copy's forward", Duration.ofSeconds(30), () -> waitingForAForward() == 2);

      // when: the CA refuses the copy's request, sent with the copy's token
      release.countDown();

      // then: whichever of the two sendings reads the refusal first, the device is not told it.
      // The copy is told it if it reads it first; else its request is gone, and it is sent again
      // (joining the device's new request, or stored first, its token being one of the device's).
      X509Certificate certificate = issued(device.get(30, TimeUnit.SECONDS));
      assertArrayEquals(deviceKeys.getPublic().getEncoded(), certificate.getPublicKey().getEncoded());
      HttpResponse<byte[]> toldTheCopy = copy.get(30, TimeUnit.SECONDS);
      assertTrue(toldTheCopy.statusCode() == 403 || toldTheCopy.statusCode() == 200,
          toldTheCopy.statusCode() + " " + text(toldTheCopy));
    } finally {
      senders.shutdownNow();
    }
  }

  /** The device's own request, not the copy's, was forwarded and issued: once, for the device's key. */
  private void assertOwnRequestIssued(Future<HttpResponse<byte[]>> device) throws Exception {
    X509Certificate certificate = issued(device.get(30, TimeUnit.SECONDS));
    assertArrayEquals(deviceKeys.getPublic().getEncoded(), certificate.getPublicKey().getEncoded());
    assertEquals(List.of(List.of(GeneralName.dNSName, "device-1.example")),
        List.copyOf(certificate.getSubjectAlternativeNames()), "the device's own request was issued");
    assertEquals(1, ca.ledger(ledger -> ledger.byDevice("device-1")).size());
  }

  /** The threads of device sendings waiting in {@link Forwarder#forwardOrAwait} for a forward. */
  private static long waitingForAForward() {
    return Thread.getAllStackTraces().values().stream().filter(stack -> Arrays.stream(stack).anyMatch(
        frame -> frame.getClassName().equals(Forwarder.class.getName()) && frame.getMethodName().equals("forwardOrAwait")))
        .count();
  }

  @Test
  void aDeviceIsTold202WithinAnswerWithin_andItsRetryCollectsTheCertificateTheForwardBrought() throws Exception {
    holding.set(true);
    KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    Csr csr = new CsrBuilder().commonName("device-1").sign(keys);
    String token = ca.token("device-1");
    EstTestClient device = EstTestClient.anonymous(gateway);

    HttpResponse<byte[]> first = device.enroll("simpleenroll", csr, "device-1", token);

    assertEquals(202, first.statusCode(), text(first));
    assertEquals("1", first.headers().firstValue("Retry-After").orElseThrow());
    assertEquals(0, ca.ledger(ledger -> ledger.byDevice("device-1")).size(), "the upstream has not answered yet");

    release.countDown();
    Await.until("the forward brings the certificate", Duration.ofSeconds(30),
        () -> gateway.queue(queue -> queue.depth().answered()) == 1L);
    HttpResponse<byte[]> retry = device.enroll("simpleenroll", csr, "device-1", token);

    X509Certificate certificate = issued(retry);
    assertTrue(java.util.Arrays.equals(keys.getPublic().getEncoded(), certificate.getPublicKey().getEncoded()));
    assertEquals(List.of(Certificates.serialHex(certificate)),
        ca.ledger(ledger -> ledger.byDevice("device-1")).stream().map(record -> record.serial()).toList(),
        "forwarded once, issued once");
    assertEquals(PendingEnrollment.Status.ISSUED, gateway.queue(queue -> queue.find("device-1",
        Certificates.publicKeyFingerprint(csr.publicKey()), "")).orElseThrow().status());
  }

  @Test
  void aForwardThatTimesOut_isTimedApartFromTheUpstreamsAnswers() throws Exception {
    TestServer.patchConfig(gateway.dataDir(), "{\"gateway\": {\"readTimeout\": \"1s\"}}");
    gateway.restart();
    holding.set(true);
    Csr csr = new CsrBuilder().commonName("device-1").sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM));

    assertEquals(202, EstTestClient.anonymous(gateway).enroll("simpleenroll", csr, "device-1", ca.token("device-1"))
        .statusCode());
    Await.until("a forward timed out", Duration.ofSeconds(30), () -> gateway.metrics()
        .getOrDefault("estfleet_gateway_forwards_total{outcome=\"timeout\"}", 0.0) >= 1);
    java.util.Map<String, Double> metrics = gateway.metrics();

    assertEquals(metrics.get("estfleet_gateway_forwards_total{outcome=\"timeout\"}"),
        metrics.get("estfleet_gateway_forward_duration_seconds_count{answered=\"false\"}"), metrics.toString());
    assertTrue(metrics.get("estfleet_gateway_forward_duration_seconds_sum{answered=\"false\"}")
        >= metrics.get("estfleet_gateway_forward_duration_seconds_count{answered=\"false\"}") * 0.9,
        "each took about readTimeout: " + metrics);
    assertEquals(0.0, metrics.get("estfleet_gateway_forward_duration_seconds_count{answered=\"true\"}"),
        "no answer yet");
  }
}
