package org.estfleet.est.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Function;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.estfleet.est.CertsOnly;
import org.estfleet.pki.CertificateBuilder;
import org.estfleet.pki.Csr;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.TestPki;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link EstClient} against an EST server that is not est-server, answering over real TLS on
 * 127.0.0.1 in forms RFC 7030 and HTTP allow, which Bouncy Castle's EST client on its own
 * HTTP misread (an interop probe with a server of that kind found each of them).
 */
class ForeignServerTest {
  private final TestPki.Ca root = TestPki.rootCa("Foreign Root");
  private final TestPki.Ca issuing = root.subCa("Foreign Issuing");
  private final EstClient client = new EstClient(Duration.ofSeconds(5), Duration.ofSeconds(5), Clock.systemUTC(),
      TestPki.RANDOM);
  /** What the server answers to each request in turn: the request's head and body to the raw answer. */
  private final BlockingQueue<Function<String, String>> answers = new LinkedBlockingQueue<>();
  private final List<String> requests = Collections.synchronizedList(new ArrayList<>());
  private SSLServerSocket server;
  private Thread serving;
  /** Whether the server goes on sending header lines after the answer queued, never ending it. */
  private volatile boolean dripping;

  @BeforeEach
  void start() throws Exception {
    TestPki.Held tls = issuing.issue("127.0.0.1", b -> b.keyUsage(KeyUsage.digitalSignature)
        .extendedKeyUsage(KeyPurposeId.id_kp_serverAuth).subjectAltName(new GeneralName(GeneralName.iPAddress, "127.0.0.1")));
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(TestPki.keyManagers(tls.privateKey(), tls.chain().toArray(X509Certificate[]::new)).getKeyManagers(),
        null, TestPki.RANDOM);
    server = (SSLServerSocket) context.getServerSocketFactory().createServerSocket(0, 10,
        InetAddress.getLoopbackAddress());
    serving = new Thread(this::serve, "foreign-est-server");
    serving.setDaemon(true);
    serving.start();
  }

  @AfterEach
  void stop() throws Exception {
    server.close();
    serving.join(5_000);
  }

  private void serve() {
    while (!server.isClosed()) {
      try (SSLSocket socket = (SSLSocket) server.accept()) {
        String request = readRequest(socket.getInputStream());
        requests.add(request);
        Function<String, String> answer = answers.poll();
        OutputStream out = socket.getOutputStream();
        out.write((answer == null ? "HTTP/1.1 500 Nothing queued\r\nContent-Length: 0\r\n\r\n" : answer.apply(request))
            .getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        for (int i = 0; dripping && i < 100 && !server.isClosed(); i++) {
          Thread.sleep(200);
          out.write(("X-Drip-" + i + ": more\r\n").getBytes(StandardCharsets.ISO_8859_1));
          out.flush();
        }
      } catch (IOException closedOrFailed) {
        // the test closed the server, or a client gave up on a connection
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /** The request's head and body, the body by its Content-Length. */
  private static String readRequest(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("closed within the request head");
      }
      head.write(b);
    }
    String text = head.toString(StandardCharsets.ISO_8859_1);
    int length = 0;
    for (String line : text.split("\r\n")) {
      if (line.toLowerCase().startsWith("content-length:")) {
        length = Integer.parseInt(line.substring(15).trim());
      }
    }
    return text + new String(in.readNBytes(length), StandardCharsets.ISO_8859_1);
  }

  private URI endpoint() {
    return URI.create("https://127.0.0.1:" + server.getLocalPort());
  }

  private List<X509Certificate> anchors() {
    return List.of(root.certificate());
  }

  /** Base64 in lines of 64 ending in LF, as libest and {@code openssl base64} write it. */
  private static String base64Lines(byte[] der) {
    return Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der) + "\n";
  }

  /** {@code body} in HTTP/1.1 chunks of 100 bytes. */
  private static String chunked(String body) {
    StringBuilder chunks = new StringBuilder();
    for (int i = 0; i < body.length(); i += 100) {
      String chunk = body.substring(i, Math.min(body.length(), i + 100));
      chunks.append(Integer.toHexString(chunk.length())).append("\r\n").append(chunk).append("\r\n");
    }
    return chunks.append("0\r\n\r\n").toString();
  }

  /** GET /cacerts answered with {@code answer}, asserted to fail: the failure. */
  private Failure cacertsFailing(String answer) {
    answers.add(request -> answer);
    CaCertsOutcome outcome = client.caCertificates(endpoint(), "", anchors());
    return assertInstanceOf(CaCertsOutcome.Failed.class, outcome, outcome.toString()).failure();
  }

  private byte[] cacerts() {
    return CertsOnly.encode(List.of(root.certificate(), issuing.certificate()));
  }

  @Test
  void cacerts_withoutContentTransferEncoding_chunked_inUpperCase() {
    answers.add(request -> "HTTP/1.1 200 OK\r\nContent-Type: Application/PKCS7-MIME\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunked(base64Lines(cacerts())));

    CaCertsOutcome outcome = client.caCertificates(endpoint(), "", anchors());

    assertEquals(java.util.Set.of(root.certificate(), issuing.certificate()), java.util.Set.copyOf(
        assertInstanceOf(CaCertsOutcome.Fetched.class, outcome, outcome.toString()).certificates()));
  }

  @Test
  void cacerts_endingWithTheConnection_asHttp10() {
    answers.add(request -> "HTTP/1.0 200 OK\r\nContent-Type: application/pkcs7-mime\r\nConnection: close\r\n\r\n"
        + base64Lines(cacerts()));

    CaCertsOutcome outcome = client.caCertificates(endpoint(), "", anchors());

    assertEquals(2, assertInstanceOf(CaCertsOutcome.Fetched.class, outcome, outcome.toString()).certificates().size());
  }

  @Test
  void simpleenroll_challengedWithABody_thenIssuedWithoutContentTransferEncoding() throws Exception {
    KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    Csr csr = new CsrBuilder().commonName("device-1").sign(keys);
    X509Certificate issued = new CertificateBuilder().subject(new org.bouncycastle.asn1.x500.X500Name("CN=device-1"))
        .publicKey(keys.getPublic()).serial(CertificateBuilder.randomSerial(TestPki.RANDOM))
        .validity(java.time.Instant.now().minusSeconds(60), java.time.Instant.now().plus(Duration.ofDays(1)))
        .signWith(issuing.certificate(), issuing.held().privateKey());
    String body = base64Lines(CertsOnly.encode(List.of(issued)));
    answers.add(request -> "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"est\"\r\n"
        + "Content-Type: text/plain\r\nContent-Length: 23\r\n\r\nauthentication required");
    answers.add(request -> "HTTP/1.1 200 OK\r\nContent-Type: application/pkcs7-mime; smime-type=certs-only\r\n"
        + "Content-Length: " + body.length() + "\r\n\r\n" + body);

    EnrollOutcome outcome = client.enroll(endpoint(), "", false, csr, new ClientAuth.Token("device-1", "secret"),
        anchors());

    assertEquals(issued, assertInstanceOf(EnrollOutcome.Issued.class, outcome, outcome.toString()).certificate());
    assertEquals(2, requests.size());
    assertTrue(requests.get(1).contains("Authorization: Basic "
        + Base64.getEncoder().encodeToString("device-1:secret".getBytes(StandardCharsets.UTF_8))), requests.get(1));
  }

  @Test
  void accepted_withABody_isPending_forItsRetryAfter() throws Exception {
    Csr csr = new CsrBuilder().commonName("device-1").sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM));
    answers.add(request -> "HTTP/1.1 202 Accepted\r\nRetry-After: 7\r\nContent-Type: text/plain\r\n"
        + "Content-Length: 12\r\n\r\nwait a while");

    EnrollOutcome outcome = client.enroll(endpoint(), "", false, csr, ClientAuth.none(), anchors());

    assertEquals(Duration.ofSeconds(7), assertInstanceOf(EnrollOutcome.Pending.class, outcome, outcome.toString())
        .retryAfter());
  }

  @Test
  void aRefusal_chunked_isSaidWithTheServersText() throws Exception {
    Csr csr = new CsrBuilder().commonName("device-1").sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM));
    answers.add(request -> "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunked("subject not allowed"));

    EnrollOutcome outcome = client.enroll(endpoint(), "", false, csr, ClientAuth.none(), anchors());

    Failure failure = assertInstanceOf(EnrollOutcome.Failed.class, outcome, outcome.toString()).failure();
    assertEquals(Failure.Kind.REFUSED, failure.kind());
    assertEquals(403, failure.status());
    assertEquals("subject not allowed", failure.message());
  }

  @Test
  void aBodyThatIsNeitherBase64NorDer_isABadResponse_notANetworkError() {
    Failure failure = cacertsFailing("HTTP/1.1 200 OK\r\nContent-Type: application/pkcs7-mime\r\n"
        + "Content-Length: 10\r\n\r\nnot%base64");

    assertEquals(Failure.Kind.BAD_RESPONSE, failure.kind(), failure.toString());
    assertTrue(failure.message().contains("not base64"), failure.message());
  }

  @Test
  void aServerCertificateForAnotherName_isRefused_beforeAnyRequestIsSent() {
    // The certificate names 127.0.0.1 only; the client asks for localhost (the same socket).
    URI byName = URI.create("https://localhost:" + server.getLocalPort());

    CaCertsOutcome outcome = client.caCertificates(byName, "", anchors());

    Failure failure = assertInstanceOf(CaCertsOutcome.Failed.class, outcome, outcome.toString()).failure();
    assertEquals(Failure.Kind.TLS_TRUST, failure.kind(), failure.toString());
    assertTrue(failure.message().contains("localhost"), failure.message());
    assertEquals(List.of(), requests, "nothing sent to a server for another name");
  }

  @Test
  void aLongHeader_doesNotHideTheRefusal() throws Exception {
    Csr csr = new CsrBuilder().commonName("device-1").sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM));
    answers.add(request -> "HTTP/1.1 403 Forbidden\r\nContent-Security-Policy: " + "x".repeat(2048)
        + "\r\nContent-Type: text/plain\r\nContent-Length: 19\r\n\r\nsubject not allowed");

    EnrollOutcome outcome = client.enroll(endpoint(), "", false, csr, ClientAuth.none(), anchors());

    Failure failure = assertInstanceOf(EnrollOutcome.Failed.class, outcome, outcome.toString()).failure();
    assertEquals(Failure.Kind.REFUSED, failure.kind(), failure.toString());
    assertEquals("subject not allowed", failure.message());
  }

  @Test
  void redirects_areFollowedWithinTheServer_notToAnother() {
    answers.add(request -> "HTTP/1.1 302 Found\r\nLocation: /.well-known/est/other/cacerts\r\nContent-Length: 0\r\n\r\n");
    answers.add(request -> "HTTP/1.1 200 OK\r\nContent-Type: application/pkcs7-mime\r\nContent-Length: "
        + base64Lines(cacerts()).length() + "\r\n\r\n" + base64Lines(cacerts()));
    answers.add(request -> "HTTP/1.1 302 Found\r\nLocation: https://127.0.0.1:1/.well-known/est/cacerts\r\n"
        + "Content-Length: 0\r\n\r\n");

    CaCertsOutcome followed = client.caCertificates(endpoint(), "", anchors());
    CaCertsOutcome elsewhere = client.caCertificates(endpoint(), "", anchors());

    assertInstanceOf(CaCertsOutcome.Fetched.class, followed, followed.toString());
    assertTrue(requests.get(1).startsWith("GET /.well-known/est/other/cacerts HTTP/1.1"), requests.get(1));
    Failure failure = assertInstanceOf(CaCertsOutcome.Failed.class, elsewhere, elsewhere.toString()).failure();
    assertTrue(failure.message().contains("another server"), failure.message());
    assertEquals(3, requests.size(), "127.0.0.1:1 never asked");
  }

  @Test
  void aChunkLongerThanItsSize_isABadResponse() {
    Failure failure = cacertsFailing("HTTP/1.1 200 OK\r\nContent-Type: application/pkcs7-mime\r\n"
        + "Transfer-Encoding: chunked\r\n\r\n4\r\nMIIBextra\r\n0\r\n\r\n");

    assertEquals(Failure.Kind.BAD_RESPONSE, failure.kind(), failure.toString());
    assertTrue(failure.message().contains("longer than its size"), failure.message());
  }

  @Test
  void anAnswerThatNeverEnds_endsAtTheDeadline_notAtEachRead() {
    // A head line every 200 ms: each read is quick, the answer never whole.
    answers.add(request -> "HTTP/1.1 200 OK\r\n");
    EstClient quick = new EstClient(Duration.ofMillis(500), Duration.ofMillis(500), Clock.systemUTC(), TestPki.RANDOM);
    dripping = true;

    long started = System.nanoTime();
    CaCertsOutcome outcome = quick.caCertificates(endpoint(), "", anchors());
    long tookMillis = (System.nanoTime() - started) / 1_000_000;

    Failure failure = assertInstanceOf(CaCertsOutcome.Failed.class, outcome, outcome.toString()).failure();
    assertEquals(Failure.Kind.TIMEOUT, failure.kind(), failure.toString());
    assertTrue(failure.message().contains("did not come whole within"), failure.message());
    assertTrue(tookMillis < 10_000, "ended by the deadline of 1s, took " + tookMillis + " ms");
  }

  @Test
  void aBinaryDerBody_withALineBreakAfterIt_isRead() {
    byte[] der = cacerts();
    answers.add(request -> "HTTP/1.1 200 OK\r\nContent-Type: application/pkcs7-mime\r\nContent-Length: "
        + (der.length + 2) + "\r\n\r\n" + new String(der, StandardCharsets.ISO_8859_1) + "\r\n");

    CaCertsOutcome outcome = client.caCertificates(endpoint(), "", anchors());

    assertEquals(2, assertInstanceOf(CaCertsOutcome.Fetched.class, outcome, outcome.toString()).certificates().size());
  }
}
