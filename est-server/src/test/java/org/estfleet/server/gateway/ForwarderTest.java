package org.estfleet.server.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.estfleet.est.client.ClientAuth;
import org.estfleet.est.client.EstClient;
import org.estfleet.est.client.KeptAliveEstClient;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.Csr;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.TestPki;
import org.estfleet.server.config.GatewayConfig;
import org.estfleet.server.store.Database;
import org.estfleet.server.store.PendingEnrollment;
import org.estfleet.server.store.PendingEnrollments;
import org.estfleet.server.store.UpstreamCache;
import org.estfleet.testing.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A device's request that the periodic round is forwarding already. The upstream is a TCP
 * listener on 127.0.0.1 that accepts a connection and holds it, unanswered, until the test closes
 * it: so one forwarding is in flight for exactly as long as the test says.
 */
@Timeout(120)
class ForwarderTest {
  @TempDir
  java.nio.file.Path dir;

  /** How long a device's request waits for the upstream's answer, unless a test says otherwise. */
  private static final Duration WAIT = Duration.ofSeconds(30);

  private final TestPki.Ca ca = TestPki.rootCa("Forwarder Test Root");
  private final Clock clock = Clock.systemUTC();
  private final List<Socket> held = new CopyOnWriteArrayList<>();
  private final ExecutorService threads = Executors.newCachedThreadPool();
  private ServerSocket listener;
  private Database database;
  private PendingEnrollments queue;
  private Forwarder forwarder;

  @BeforeEach
  void start() throws Exception {
    listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    threads.submit(() -> {
      while (!listener.isClosed()) {
        try {
          held.add(listener.accept());
        } catch (IOException closed) {
          return null;
        }
      }
      return null;
    });
    database = Database.open(dir.resolve("gateway.db"));
    queue = new PendingEnrollments(database);
    forwarder = forwarder(WAIT);
  }

  /** A forwarder to the holding upstream, whose devices wait at most {@code answerWithin} before authentication. */
  private Forwarder forwarder(Duration answerWithin) {
    String upstreamUri = "https://127.0.0.1:" + listener.getLocalPort();
    GatewayConfig config = new GatewayConfig(upstreamUri, null, null, Duration.ofSeconds(5), Duration.ofSeconds(30),
        null, null, null, null, null, answerWithin, null, null, null, null);
    TestPki.Held gateway = ca.issueClient("gateway-1");
    ClientAuth.Certificate identity = new ClientAuth.Certificate(gateway.privateKey(), gateway.chain());
    Upstream upstream = new Upstream(URI.create(upstreamUri),
        new EstClient(config.connectTimeout(), config.readTimeout(), clock, TestPki.RANDOM),
        new KeptAliveEstClient(URI.create(upstreamUri), config.connectTimeout(), config.readTimeout(), clock,
            TestPki.RANDOM),
        List.of(ca.certificate()), null, () -> identity,
        new org.estfleet.server.metrics.ServerMetrics("gateway", "test"), clock);
    UpstreamMirror mirror = new UpstreamMirror(upstream, new UpstreamCache(database), List.of(""),
        config.cacheStaleAfter(), config.retryAfter(), clock);
    GatewayIdentity gatewayIdentity = new GatewayIdentity(identity, dir.resolve("server.pem"),
        dir.resolve("server.key"), mirror::anchors, mirror::refresh, clock, TestPki.RANDOM);
    return new Forwarder(queue, upstream, mirror, gatewayIdentity, config, clock, TestPki.RANDOM);
  }

  @AfterEach
  void stop() throws Exception {
    listener.close();
    for (Socket socket : held) {
      socket.close();
    }
    threads.shutdownNow();
    threads.awaitTermination(10, TimeUnit.SECONDS);
    forwarder.close();
    database.close();
  }

  @Test
  void devicesRequestInFlightElsewhere_waitsForThatForwardAndAnswersItsOutcome_withoutForwardingAgain()
      throws Exception {
    PendingEnrollment stored = store("device-1");
    Future<Optional<PendingEnrollment>> round = threads.submit(() -> forwarder.forward(stored));
    Await.until("the round's forward reaches the upstream", Duration.ofSeconds(10), () -> held.size() == 1);

    // The round does not wait for another thread's forward; a device's request does.
    assertEquals(Optional.empty(), forwarder.forward(stored));
    AtomicReference<Thread> device = new AtomicReference<>();
    Future<Optional<PendingEnrollment>> answer = threads.submit(() -> {
      device.set(Thread.currentThread());
      return forwarder.forwardOrAwait(stored, WAIT);
    });
    Await.until("the device's request waits for the round's forward", Duration.ofSeconds(10),
        () -> device.get() != null && Arrays.stream(device.get().getStackTrace())
            .anyMatch(frame -> frame.getClassName().equals(CountDownLatch.class.getName())));
    assertFalse(answer.isDone());

    held.get(0).close();
    Optional<PendingEnrollment> afterRound = round.get(40, TimeUnit.SECONDS);
    Optional<PendingEnrollment> told = answer.get(40, TimeUnit.SECONDS);

    assertTrue(afterRound.isPresent(), "the round's forward ended with the request stored");
    assertEquals(1, afterRound.get().attempts(), "the upstream closed the connection: one failed attempt");
    assertTrue(told.isPresent(), "the device is told the request as the round's forward left it");
    assertEquals(stored.requestId(), told.get().requestId());
    assertEquals(PendingEnrollment.Status.PENDING, told.get().status());
    assertEquals(1, told.get().attempts(), "the device's request did not forward it a second time");
    assertEquals(1, held.size(), "one connection reached the upstream");
  }

  @Test
  void noOtherForwardInFlight_theDevicesRequestForwardsItself() throws Exception {
    PendingEnrollment stored = store("device-2");
    Future<Optional<PendingEnrollment>> answer = threads.submit(() -> forwarder.forwardOrAwait(stored, WAIT));
    Await.until("the device's request reaches the upstream", Duration.ofSeconds(10), () -> held.size() == 1);
    held.get(0).close();

    Optional<PendingEnrollment> told = answer.get(40, TimeUnit.SECONDS);

    assertTrue(told.isPresent());
    assertEquals(1, told.get().attempts());
    assertNotNull(told.get().lastError(), "the failed attempt is recorded");
  }

  @Test
  void aSlowUpstream_theDeviceIsToldWithinItsWait_andTheForwardGoesOnToRecordItsOutcome() throws Exception {
    PendingEnrollment stored = store("device-4");

    // The upstream holds the forward: the device's request ends without an outcome.
    Optional<PendingEnrollment> told = forwarder.forwardOrAwait(stored, Duration.ofMillis(500));
    assertEquals(Optional.empty(), told);
    Await.until("the forward reaches the upstream", Duration.ofSeconds(10), () -> held.size() == 1);
    assertEquals(Optional.empty(), forwarder.forward(stored), "and is still claimed: never forwarded twice at once");
    assertEquals(0, queue.byId(stored.id()).orElseThrow().attempts());

    // The forward ends after the device was told: its outcome is recorded for the retry.
    held.get(0).close();
    Await.until("the forward records its outcome", Duration.ofSeconds(40),
        () -> queue.byId(stored.id()).orElseThrow().attempts() == 1);
    assertNotNull(queue.byId(stored.id()).orElseThrow().lastError());
    assertEquals(1, held.size(), "one connection reached the upstream");
  }

  @Test
  void requestGivenALaterAttemptMeanwhile_notForwardedBeforeThen() throws Exception {
    PendingEnrollment stored = store("device-3");
    queue.retryLater(stored.id(), "the upstream deferred it", clock.instant().plusSeconds(60), clock.instant());

    Optional<PendingEnrollment> told = forwarder.forwardOrAwait(stored, WAIT);

    assertTrue(told.isPresent());
    assertEquals(PendingEnrollment.Status.PENDING, told.get().status());
    assertEquals(1, told.get().attempts(), "only the earlier attempt");
    assertEquals(0, held.size(), "nothing reached the upstream");
  }

  @Test
  void aStoredRequestThatCanNoLongerBeRead_isRefusedForItsDevice_notForwarded() throws Exception {
    // Say an earlier release stored a CSR this one's parser refuses.
    PendingEnrollment unreadable = queue.accept("request-old", "device-old", "old-key", "", "simpleenroll",
        new byte[] {0x30, 0x03, 0x02, 0x01, 0x01}, "token", "device-old:secret", null, false, clock.instant(), 100, 100)
        .record().orElseThrow();

    Optional<PendingEnrollment> after = forwarder.forward(unreadable);

    assertTrue(after.isPresent());
    assertEquals(PendingEnrollment.Status.REFUSED, after.get().status());
    assertEquals(400, after.get().resultStatus());
    assertEquals("the gateway cannot forward this request: body is not a DER PKCS#10 certification request",
        after.get().resultMessage());
    assertEquals(0, held.size(), "nothing reached the upstream");
  }

  private PendingEnrollment store(String deviceId) {
    KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    Csr csr = new CsrBuilder().commonName(deviceId).sign(keys);
    return queue.accept("request-" + deviceId, deviceId, Certificates.publicKeyFingerprint(csr.publicKey()), "",
        "simpleenroll", csr.der(), "token", deviceId + ":secret", null, false, clock.instant(), 100, 100)
        .record().orElseThrow();
  }
}
