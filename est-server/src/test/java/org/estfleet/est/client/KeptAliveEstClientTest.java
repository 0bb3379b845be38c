package org.estfleet.est.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.estfleet.est.Base64Body;
import org.estfleet.est.CertsOnly;
import org.estfleet.pki.Csr;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.TestClock;
import org.estfleet.pki.TestPki;
import org.estfleet.server.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kept-alive client against our server, through a TCP relay on 127.0.0.1 that counts the
 * connections the client opens and can break one; and against a scripted HTTPS peer for the
 * answers our server does not give (202, oversized, none).
 */
@Timeout(120)
class KeptAliveEstClientTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  @TempDir
  Path dir;

  private final ExecutorService threads = Executors.newCachedThreadPool();
  private final List<AutoCloseable> closing = new CopyOnWriteArrayList<>();

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable resource : closing) {
      resource.close();
    }
    threads.shutdownNow();
    threads.awaitTermination(10, TimeUnit.SECONDS);
  }

  private TestServer server() throws Exception {
    TestServer server = TestServer.start(dir);
    closing.add(server);
    return server;
  }

  private KeptAliveEstClient client(int port) {
    return client(port, TIMEOUT, TIMEOUT);
  }

  private static Csr csr(String commonName, KeyPair keys) {
    return new CsrBuilder().commonName(commonName).sign(keys);
  }

  private static X509Certificate issued(EnrollOutcome outcome) {
    return assertInstanceOf(EnrollOutcome.Issued.class, outcome, () -> outcome.toString()).certificate();
  }

  private static KeptAliveEstClient client(int port, Duration connectTimeout, Duration readTimeout) {
    return new KeptAliveEstClient(URI.create("https://127.0.0.1:" + port), connectTimeout, readTimeout,
        Clock.systemUTC(), TestPki.RANDOM);
  }

  /** A token-less {@code simpleenroll} of a new key with {@code client}, given at most 30 s. */
  private static EnrollOutcome enrollNewKey(KeptAliveEstClient client, TestPki.Ca ca) {
    return assertTimeoutPreemptively(Duration.ofSeconds(30), () -> client.enroll("", false,
        csr("device-1", KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), ClientAuth.none(),
        List.of(ca.certificate()), Map.of()));
  }

  private static Failure failure(EnrollOutcome outcome) {
    return assertInstanceOf(EnrollOutcome.Failed.class, outcome, () -> outcome.toString()).failure();
  }

  @Test
  void enroll_manyRequestsTravelOnOneConnection() throws Exception {
    TestServer server = server();
    Relay relay = relay(server.port());
    KeptAliveEstClient client = client(relay.port());
    List<X509Certificate> anchors = List.of(server.rootCertificate());

    for (int i = 0; i < 5; i++) {
      String device = "device-" + i;
      KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
      X509Certificate certificate = issued(client.enroll("", false, csr(device, keys),
          new ClientAuth.Token(device, server.token(device)), anchors, Map.of()));
      assertEquals("CN=" + device, certificate.getSubjectX500Principal().getName());
      assertEquals(keys.getPublic(), certificate.getPublicKey());
    }

    assertEquals(1, relay.accepted());
  }

  @Test
  void anotherClientCertificate_isPresentedOnANewConnection() throws Exception {
    TestServer server = server();
    Relay relay = relay(server.port());
    KeptAliveEstClient client = client(relay.port());
    List<X509Certificate> anchors = List.of(server.rootCertificate());
    ClientAuth.Certificate a = enrolled(client, server, "device-a", anchors);
    ClientAuth.Certificate b = enrolled(client, server, "device-b", anchors);
    assertEquals(1, relay.accepted());

    // simplereenroll keeps the subject of the certificate the connection presents (RFC 7030 4.2.2)
    X509Certificate renewedA = issued(client.enroll("", true,
        csr("device-a", KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), a, anchors, Map.of()));
    X509Certificate renewedB = issued(client.enroll("", true,
        csr("device-b", KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), b, anchors, Map.of()));

    assertEquals("CN=device-a", renewedA.getSubjectX500Principal().getName());
    assertEquals("CN=device-b", renewedB.getSubjectX500Principal().getName());
    assertEquals(3, relay.accepted());
  }

  /** {@code simpleenroll} of a new key for {@code device} with a new token of {@code server}. */
  private static EnrollOutcome tokenEnroll(KeptAliveEstClient client, TestServer server, String device,
      List<X509Certificate> anchors) {
    return client.enroll("", false, csr(device, KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)),
        new ClientAuth.Token(device, server.token(device)), anchors, Map.of());
  }

  private static ClientAuth.Certificate enrolled(KeptAliveEstClient client, TestServer server, String device,
      List<X509Certificate> anchors) {
    KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    X509Certificate certificate = issued(client.enroll("", false, csr(device, keys),
        new ClientAuth.Token(device, server.token(device)), anchors, Map.of()));
    return new ClientAuth.Certificate(keys.getPrivate(), List.of(certificate, server.issuingCertificate()));
  }

  @Test
  void otherTrustAnchors_openANewConnection() throws Exception {
    TestServer server = server();
    Relay relay = relay(server.port());
    KeptAliveEstClient client = client(relay.port());
    X509Certificate unrelated = TestPki.rootCa("Unrelated Root").certificate();

    issued(tokenEnroll(client, server, "device-1", List.of(server.rootCertificate())));
    issued(tokenEnroll(client, server, "device-2", List.of(server.rootCertificate(), unrelated)));
    Failure untrusted = failure(tokenEnroll(client, server, "device-3", List.of(unrelated)));

    assertEquals(Failure.Kind.TLS_TRUST, untrusted.kind());
    assertTrue(untrusted.message().startsWith("server "), untrusted.message());
    assertEquals(3, relay.accepted());
  }

  @Test
  void serverCertificateExpiredByTheClientsClock_isNotTrustedOnAKeptConnection() throws Exception {
    TestServer server = server();
    Relay relay = relay(server.port());
    TestClock clock = TestClock.startingNow();
    KeptAliveEstClient client = new KeptAliveEstClient(URI.create("https://127.0.0.1:" + relay.port()), TIMEOUT,
        TIMEOUT, clock, TestPki.RANDOM);
    List<X509Certificate> anchors = List.of(server.rootCertificate());
    issued(tokenEnroll(client, server, "device-1", anchors));

    clock.advance(Duration.ofDays(365 * 30));
    Failure expired = failure(tokenEnroll(client, server, "device-2", anchors));

    assertEquals(Failure.Kind.TLS_TRUST, expired.kind());
    assertEquals(2, relay.accepted());
  }

  @Test
  void serverRestarted_nextRequestGoesOnANewConnection() throws Exception {
    TestServer server = server();
    KeptAliveEstClient client = client(server.port());
    List<X509Certificate> anchors = List.of(server.rootCertificate());
    issued(tokenEnroll(client, server, "device-1", anchors));

    server.restart();
    X509Certificate second = issued(tokenEnroll(client, server, "device-2", anchors));

    assertEquals("CN=device-2", second.getSubjectX500Principal().getName());
  }

  @Test
  void connectionBrokenBeforeTheAnswer_requestIsSentOnceMoreOnANewConnection() throws Exception {
    TestServer server = server();
    Relay relay = relay(server.port());
    KeptAliveEstClient client = client(relay.port());
    List<X509Certificate> anchors = List.of(server.rootCertificate());
    issued(tokenEnroll(client, server, "device-1", anchors));

    relay.breakNextRequest();
    X509Certificate second = issued(tokenEnroll(client, server, "device-2", anchors));

    assertEquals("CN=device-2", second.getSubjectX500Principal().getName());
    assertEquals(2, relay.accepted());
    assertEquals(1, relay.broken());
  }

  @Test
  void refusal_isRefusedWithTheServersStatusAndText() throws Exception {
    TestServer server = server();
    KeptAliveEstClient client = client(server.port());

    Failure refused = failure(client.enroll("", false,
        csr("device-1", KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), new ClientAuth.Token("device-1", "wrong"),
        List.of(server.rootCertificate()), Map.of()));

    assertEquals(Failure.Kind.REFUSED, refused.kind());
    assertEquals(401, refused.status());
    assertTrue(!refused.message().isEmpty() && !refused.message().equals("HTTP 401"), refused.message());
  }

  @Test
  void accepted202_isPendingForTheServersRetryAfter() throws Exception {
    TestPki.Ca ca = TestPki.rootCa("Scripted Peer Root");
    ScriptedPeer peer = peer(ca, "127.0.0.1",
        request -> "HTTP/1.1 202 Accepted\r\nRetry-After: 17\r\nContent-Length: 0\r\n\r\n");

    EnrollOutcome outcome = client(peer.port()).enroll("factory", false,
        csr("device-1", KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), ClientAuth.none(),
        List.of(ca.certificate()), Map.of("EST-Fleet-Request-Id", "r-1"));

    assertEquals(new EnrollOutcome.Pending(Duration.ofSeconds(17)), outcome);
    String request = peer.requests().get(0);
    assertTrue(request.startsWith("POST /.well-known/est/factory/simpleenroll HTTP/1.1\r\n"), request);
    assertTrue(request.contains("\r\nEST-Fleet-Request-Id: r-1\r\n"), request);
    assertTrue(request.toLowerCase().contains("\r\ncontent-type: application/pkcs10\r\n"), request);
  }

  @Test
  void unavailable503_isUnavailableWithRetryAfter() throws Exception {
    TestPki.Ca ca = TestPki.rootCa("Scripted Peer Root");
    ScriptedPeer peer = peer(ca, "127.0.0.1", request ->
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 30\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\n"
            + "busy now\n");

    Failure failure = failure(enrollAt(peer, ca));

    assertEquals(new Failure(Failure.Kind.UNAVAILABLE, 503, "busy now", Duration.ofSeconds(30)), failure);
  }

  @Test
  void answerOfTheWrongType_isABadResponse() throws Exception {
    TestPki.Ca ca = TestPki.rootCa("Scripted Peer Root");
    ScriptedPeer peer = peer(ca, "127.0.0.1",
        request -> "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nhi");

    Failure failure = failure(enrollAt(peer, ca));

    assertEquals(Failure.Kind.BAD_RESPONSE, failure.kind());
    assertTrue(failure.message().contains("text/html"), failure.message());
  }

  @Test
  void certificateForAnotherKey_isABadResponse() throws Exception {
    TestPki.Ca ca = TestPki.rootCa("Scripted Peer Root");
    X509Certificate other = ca.issueClient("someone-else").certificate();
    X509Certificate another = ca.issueClient("someone-else-too").certificate();
    String body = new String(Base64Body.encode(CertsOnly.encode(List.of(other, another))), StandardCharsets.US_ASCII);
    ScriptedPeer peer = peer(ca, "127.0.0.1", request -> "HTTP/1.1 200 OK\r\n"
        + "Content-Type: application/pkcs7-mime; smime-type=certs-only\r\nContent-Length: " + body.length()
        + "\r\n\r\n" + body);

    Failure failure = failure(enrollAt(peer, ca));

    assertEquals(Failure.Kind.BAD_RESPONSE, failure.kind());
    assertTrue(failure.message().contains("none for the key of the CSR"), failure.message());
  }

  @Test
  void answerLongerThanAMegabyte_isABadResponseAndNotAskedAgain() throws Exception {
    TestPki.Ca ca = TestPki.rootCa("Scripted Peer Root");
    int length = 2 * 1024 * 1024;
    ScriptedPeer peer = peer(ca, "127.0.0.1", request -> "HTTP/1.1 200 OK\r\n"
        + "Content-Type: application/pkcs7-mime\r\nContent-Length: " + length + "\r\n\r\n" + "A".repeat(length));

    Failure failure = failure(enrollAt(peer, ca));

    assertEquals(Failure.Kind.BAD_RESPONSE, failure.kind());
    assertTrue(failure.message().contains("longer than"), failure.message());
    assertEquals(1, peer.requests().size());
  }

  @Test
  void noAnswer_timesOutWithinTheConnectAndReadTimeouts() throws Exception {
    TestPki.Ca ca = TestPki.rootCa("Scripted Peer Root");
    ScriptedPeer peer = peer(ca, "127.0.0.1", request -> null);
    KeptAliveEstClient client = client(peer.port(), Duration.ofSeconds(1), Duration.ofSeconds(1));

    long start = System.nanoTime();
    Failure failure = failure(enrollNewKey(client, ca));
    Duration waited = Duration.ofNanos(System.nanoTime() - start);

    assertEquals(Failure.Kind.TIMEOUT, failure.kind());
    // bounded by the two timeouts (2 s), far from the test's own limit
    assertTrue(waited.compareTo(Duration.ofSeconds(20)) < 0, waited.toString());
    assertEquals(1, peer.requests().size());
  }

  @Test
  void answerWhoseBodyStopsComing_timesOutByTheDeadlineAndClosesItsConnection() throws Exception {
    TestPki.Ca ca = TestPki.rootCa("Scripted Peer Root");
    AtomicInteger answered = new AtomicInteger();
    // first the head and four bytes of a 4,000-byte body, and then nothing; then a 202
    ScriptedPeer peer = peer(ca, "127.0.0.1", request -> answered.getAndIncrement() == 0
        ? "HTTP/1.1 200 OK\r\nContent-Type: application/pkcs7-mime\r\nContent-Length: 4000\r\n\r\nMIIB"
        : "HTTP/1.1 202 Accepted\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n");
    KeptAliveEstClient client = client(peer.port(), Duration.ofSeconds(1), Duration.ofSeconds(1));

    long start = System.nanoTime();
    Failure failure = failure(enrollNewKey(client, ca));
    Duration waited = Duration.ofNanos(System.nanoTime() - start);

    assertEquals(Failure.Kind.TIMEOUT, failure.kind(), failure.message());
    // due within the two timeouts (2 s) from the start, the head's arrival notwithstanding
    assertTrue(waited.compareTo(Duration.ofMillis(1900)) >= 0 && waited.compareTo(Duration.ofSeconds(5)) < 0,
        waited.toString());
    assertEquals(1, peer.requests().size());
    // the peer serves one connection at a time: the next request is answered only if the client
    // closed the one whose body was late
    EnrollOutcome next = enrollNewKey(client, ca);
    assertInstanceOf(EnrollOutcome.Pending.class, next, next.toString());
    assertEquals(2, peer.requests().size());
  }

  @Test
  void requestSentAgain_getsWhatIsLeftOfTheDeadline() throws Exception {
    TestPki.Ca ca = TestPki.rootCa("Scripted Peer Root");
    AtomicInteger answered = new AtomicInteger();
    // the first connection is closed unanswered after 1.8 s, the second never answers
    ScriptedPeer peer = peer(ca, "127.0.0.1", request -> {
      if (answered.getAndIncrement() > 0) {
        return null;
      }
      try {
        Thread.sleep(1800);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return "";
    });
    KeptAliveEstClient client = client(peer.port(), Duration.ofSeconds(1), Duration.ofSeconds(2));

    long start = System.nanoTime();
    Failure failure = failure(enrollNewKey(client, ca));
    Duration waited = Duration.ofNanos(System.nanoTime() - start);

    assertEquals(Failure.Kind.TIMEOUT, failure.kind(), failure.message());
    assertEquals(2, peer.requests().size());
    // the whole is due within the two timeouts (3 s); a fresh read timeout (2 s) for the second
    // sending would end at 3.8 s
    assertTrue(waited.compareTo(Duration.ofMillis(3500)) < 0, waited.toString());
  }

  @Test
  void serverCertificateForAnotherName_isATrustFailure() throws Exception {
    TestPki.Ca ca = TestPki.rootCa("Scripted Peer Root");
    ScriptedPeer peer = peer(ca, "elsewhere.example",
        request -> "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");

    Failure failure = failure(enrollAt(peer, ca));

    assertEquals(Failure.Kind.TLS_TRUST, failure.kind());
    assertTrue(failure.message().contains("does not name the host: 127.0.0.1"), failure.message());
    assertEquals(0, peer.requests().size());
  }

  @Test
  void serverCertificateWhoseKeyMayNotSign_isATrustFailure_onEitherTlsProvider() throws Exception {
    TestPki.Ca ca = TestPki.rootCa("Scripted Peer Root");
    ScriptedPeer peer = peer(ca, "127.0.0.1", KeyUsage.keyEncipherment | KeyUsage.keyAgreement,
        request -> "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");

    for (java.security.Provider provider : java.util.Arrays.asList(null, org.estfleet.pki.BouncyCastle.JSSE)) {
      KeptAliveEstClient client = new KeptAliveEstClient(URI.create("https://127.0.0.1:" + peer.port()), TIMEOUT,
          TIMEOUT, Clock.systemUTC(), TestPki.RANDOM, provider);
      Failure failure = failure(client.enroll("", false, csr("device-1", KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)),
          ClientAuth.none(), List.of(ca.certificate()), Map.of()));
      EstClient oneShot = new EstClient(TIMEOUT, TIMEOUT, Clock.systemUTC(), TestPki.RANDOM, provider);
      CaCertsOutcome caCerts = oneShot.caCertificates(URI.create("https://127.0.0.1:" + peer.port()), "",
          List.of(ca.certificate()));

      String which = provider == null ? "SunJSSE" : "BCJSSE";
      assertEquals(Failure.Kind.TLS_TRUST, failure.kind(), which + ": " + failure.describe());
      Failure oneShotFailure = assertInstanceOf(CaCertsOutcome.Failed.class, caCerts, () -> caCerts.toString())
          .failure();
      assertEquals(Failure.Kind.TLS_TRUST, oneShotFailure.kind(), which + ": " + oneShotFailure.describe());
      // Said as such on both (without the check, Bouncy Castle's TLS failed the handshake later
      // with internal_error, not a trust failure, and the JDK's sent the request).
      assertTrue(failure.message().contains("may not sign its handshake (its key usage lacks digitalSignature)"),
          which + ": " + failure.message());
      assertTrue(oneShotFailure.message().contains("its key usage lacks digitalSignature"),
          which + ": " + oneShotFailure.message());
    }
    assertEquals(0, peer.requests().size(), "nothing sent to a server not authenticated");
  }

  @Test
  void nothingListening_isUnreachable() throws Exception {
    int port;
    try (ServerSocket closed = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = closed.getLocalPort();
    }

    Failure failure = failure(client(port).enroll("", false,
        csr("device-1", KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), ClientAuth.none(),
        List.of(TestPki.rootCa("Any Root").certificate()), Map.of()));

    assertEquals(Failure.Kind.UNREACHABLE, failure.kind());
    assertEquals("unreachable: connection refused", failure.describe());
  }

  /** A token-less {@code simpleenroll} of a new key at a scripted peer whose certificate {@code ca} issued. */
  private EnrollOutcome enrollAt(ScriptedPeer peer, TestPki.Ca ca) {
    return client(peer.port()).enroll("", false, csr("device-1", KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)),
        ClientAuth.none(), List.of(ca.certificate()), Map.of());
  }

  private Relay relay(int targetPort) throws IOException {
    Relay relay = new Relay(targetPort);
    closing.add(relay);
    threads.submit(relay::run);
    return relay;
  }

  private ScriptedPeer peer(TestPki.Ca ca, String name, Function<String, String> answer) throws Exception {
    return peer(ca, name, KeyUsage.digitalSignature, answer);
  }

  /** A scripted peer whose certificate {@code ca} issued, with the key usage bits {@code keyUsage}. */
  private ScriptedPeer peer(TestPki.Ca ca, String name, int keyUsage, Function<String, String> answer)
      throws Exception {
    GeneralName generalName = name.matches("[0-9.]+")
        ? new GeneralName(GeneralName.iPAddress, name)
        : new GeneralName(GeneralName.dNSName, name);
    TestPki.Held held = ca.issue(name, b -> b.keyUsage(keyUsage)
        .extendedKeyUsage(KeyPurposeId.id_kp_serverAuth).subjectAltName(generalName));
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(TestPki.keyManagers(held.privateKey(), held.chain().toArray(X509Certificate[]::new))
        .getKeyManagers(), null, TestPki.RANDOM);
    ScriptedPeer peer = new ScriptedPeer(context, answer);
    closing.add(peer);
    threads.submit(peer::run);
    return peer;
  }

  /** A TCP relay on 127.0.0.1 to {@code targetPort}: counts connections; can break one request. */
  private final class Relay implements AutoCloseable {
    private final ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    private final int targetPort;
    private final AtomicInteger accepted = new AtomicInteger();
    private final AtomicInteger broken = new AtomicInteger();
    private final AtomicBoolean breakNext = new AtomicBoolean();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();

    Relay(int targetPort) throws IOException {
      this.targetPort = targetPort;
    }

    int port() {
      return listener.getLocalPort();
    }

    int accepted() {
      return accepted.get();
    }

    int broken() {
      return broken.get();
    }

    /** The next bytes a client sends close its connection (and the server's side) unrelayed. */
    void breakNextRequest() {
      breakNext.set(true);
    }

    Void run() {
      while (!listener.isClosed()) {
        try {
          Socket client = listener.accept();
          Socket upstream = new Socket(InetAddress.getLoopbackAddress(), targetPort);
          sockets.add(client);
          sockets.add(upstream);
          accepted.incrementAndGet();
          threads.submit(() -> pump(client, upstream, true));
          threads.submit(() -> pump(upstream, client, false));
        } catch (IOException closed) {
          return null;
        }
      }
      return null;
    }

    private Void pump(Socket from, Socket to, boolean fromClient) {
      byte[] buffer = new byte[16 * 1024];
      try (from; to) {
        InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream();
        for (int n; (n = in.read(buffer)) > 0; ) {
          if (fromClient && breakNext.compareAndSet(true, false)) {
            broken.incrementAndGet();
            return null;
          }
          out.write(buffer, 0, n);
          out.flush();
        }
      } catch (IOException closed) {
        // either side went away; closing both ends the relayed connection
      }
      return null;
    }

    @Override
    public void close() throws IOException {
      listener.close();
      for (Socket socket : sockets) {
        socket.close();
      }
    }
  }

  /**
   * An HTTPS/1.1 peer on 127.0.0.1 that answers each request with {@code answer}'s raw response
   * (or not at all when it gives null; an empty one closes the connection unanswered), keeping the
   * connection open, one connection at a time.
   */
  private static final class ScriptedPeer implements AutoCloseable {
    private final SSLServerSocket listener;
    private final Function<String, String> answer;
    private final List<String> requests = new CopyOnWriteArrayList<>();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();

    ScriptedPeer(SSLContext context, Function<String, String> answer) throws IOException {
      this.listener = (SSLServerSocket) context.getServerSocketFactory()
          .createServerSocket(0, 50, InetAddress.getLoopbackAddress());
      this.answer = answer;
    }

    int port() {
      return listener.getLocalPort();
    }

    List<String> requests() {
      return requests;
    }

    Void run() {
      while (!listener.isClosed()) {
        try (Socket socket = listener.accept()) {
          sockets.add(socket);
          InputStream in = socket.getInputStream();
          OutputStream out = socket.getOutputStream();
          for (String request; (request = read(in)) != null; ) {
            requests.add(request);
            String response = answer.apply(request);
            if (response == null) {
              in.readAllBytes();
              break;
            }
            if (response.isEmpty()) {
              break;
            }
            out.write(response.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
          }
        } catch (IOException e) {
          // the client closed, failed the handshake, or the test ended
        }
      }
      return null;
    }

    /** One request, its head and its body (by Content-Length); null at the end of the stream. */
    private static String read(InputStream in) throws IOException {
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
        int b = in.read();
        if (b < 0) {
          return null;
        }
        head.write(b);
      }
      String text = head.toString(StandardCharsets.ISO_8859_1);
      int length = 0;
      for (String line : text.split("\r\n")) {
        if (line.toLowerCase().startsWith("content-length:")) {
          length = Integer.parseInt(line.substring("content-length:".length()).trim());
        }
      }
      return text + new String(in.readNBytes(length), StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() throws IOException {
      listener.close();
      for (Socket socket : sockets) {
        socket.close();
      }
    }
  }
}
