package org.estfleet.server.http;

import static org.estfleet.server.EstTestClient.issued;
import static org.estfleet.server.EstTestClient.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.estfleet.est.Base64Body;
import org.estfleet.est.EstMediaType;
import org.estfleet.pki.BouncyCastle;
import org.estfleet.pki.Csr;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.TestPki;
import org.estfleet.server.EstTestClient;
import org.estfleet.server.ServerRuntime;
import org.estfleet.server.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clients that guess, stall, flood and send absurd requests, over real TLS on 127.0.0.1: each
 * gets its refusal, nothing stored changes, and a good client still enrolls afterwards.
 */
class HostileClientTest {
  @TempDir
  Path dir;

  private TestServer server;
  private EstTestClient client;

  @BeforeEach
  void start() throws Exception {
    server = TestServer.start(dir.resolve("server"),
        "{\"limits\": {\"authFailuresPerMinute\": 3, \"sourceAuthFailuresPerMinute\": 5, \"idleTimeout\": \"2s\", "
            + "\"maxHeaderBytes\": 4096}}");
    client = EstTestClient.anonymous(server);
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void tokenGuessing_beyondTheLimit429_evenWithTheRightToken_untilTheMinuteIsOver() throws Exception {
    String token = server.token("device-1");
    Csr csr = csr("device-1");
    long recorded = server.ledger(ledger -> ledger.count());
    for (int guess = 0; guess < 3; guess++) {
      assertEquals(401, client.enroll("simpleenroll", csr, "device-1", "guess-" + guess).statusCode());
    }

    HttpResponse<byte[]> limited = client.enroll("simpleenroll", csr, "device-1", token);

    assertEquals(429, limited.statusCode(), text(limited));
    assertTrue(Long.parseLong(limited.headers().firstValue("Retry-After").orElseThrow()) <= 60);
    assertTrue(text(limited).startsWith("too many failed authentications"), text(limited));
    assertTrue(text(limited).endsWith("; wait " + limited.headers().firstValue("Retry-After").orElseThrow() + "s\n"),
        "the text and Retry-After (" + limited.headers().firstValue("Retry-After").orElseThrow()
            + ") name the same wait: " + text(limited));
    long after = server.ledger(ledger -> ledger.count());
    assertEquals(recorded, after, "nothing issued, the token not consumed");
    server.clock().advance(Duration.ofSeconds(61));
    issued(client.enroll("simpleenroll", csr, "device-1", token));
  }

  @Test
  void guessingAcrossIdentities_limitedPerSourceAddress() throws Exception {
    for (int device = 0; device < 5; device++) {
      assertEquals(401, client.enroll("simpleenroll", csr("device-" + device), "device-" + device, "guess").statusCode());
    }

    HttpResponse<byte[]> limited = client.enroll("simpleenroll", csr("device-7"), "device-7", server.token("device-7"));

    assertEquals(429, limited.statusCode(), text(limited));
    assertTrue(text(limited).contains("from 127.0.0.1"), text(limited));
  }

  @Test
  void absurdHeaders_431_thenAGoodClientEnrolls() throws Exception {
    HttpResponse<byte[]> huge = client.send(HttpRequest.newBuilder(server.uri("/.well-known/est/cacerts"))
        .header("X-Padding", "a".repeat(20_000)).build());

    assertEquals(431, huge.statusCode());
    assertGoodClientEnrolls("device-9");
  }

  @Test
  void beyondMaxConnections_newConnectionsWaitUnaccepted_idleOnesAreClosedToMakeRoom() throws Exception {
    try (TestServer limited = TestServer.start(dir.resolve("limited"), "{\"limits\": {\"maxConnections\": 2}}")) {
      SSLContext tls = EstTestClient.trustingOnly(limited.rootCertificate());
      List<SSLSocket> idle = new ArrayList<>();
      try {
        for (int i = 0; i < 2; i++) {
          SSLSocket socket = (SSLSocket) tls.getSocketFactory().createSocket("127.0.0.1", limited.port());
          socket.startHandshake();
          idle.add(socket);
        }
        boolean handshook;
        try (SSLSocket third = (SSLSocket) tls.getSocketFactory().createSocket("127.0.0.1", limited.port())) {
          third.setSoTimeout(500);
          third.startHandshake();
          handshook = true;
        } catch (SocketTimeoutException e) {
          handshook = false;
        }

        HttpResponse<byte[]> response = EstTestClient.anonymous(limited).post("/.well-known/est/simpleenroll",
            Base64Body.encode(csr("device-10").der()), "Content-Type", EstMediaType.PKCS10,
            "Authorization", EstTestClient.basic("device-10", limited.token("device-10")));

        assertFalse(handshook, "a third connection is not accepted while two are open");
        issued(response);
        for (SSLSocket socket : idle) {
          // Closed by the server at the limit, long before the 30 s idle timeout.
          socket.setSoTimeout(10_000);
          assertEquals(-1, socket.getInputStream().read());
        }
      } finally {
        for (SSLSocket socket : idle) {
          socket.close();
        }
      }
    }
  }

  @Test
  void silentClient_disconnectedAfterTheIdleTimeout() throws Exception {
    try (Socket silent = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
      silent.setSoTimeout(20_000);
      InputStream in = silent.getInputStream();

      // It never starts TLS; the server closes the connection on its own (read sees the end).
      assertEquals(-1, in.read());
    }
  }

  @Test
  void plainHttpToTheTlsPort_400SayingToUseHttps_andNothingServed() throws Exception {
    long recorded = server.ledger(ledger -> ledger.count());
    String token = server.token("device-p");
    String csr = new String(Base64Body.encode(csr("device-p").der()), StandardCharsets.US_ASCII);
    for (String request : List.of("GET /.well-known/est/cacerts HTTP/1.1\r\nHost: est\r\n\r\n",
        "POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: est\r\nContent-Type: application/pkcs10\r\n"
            + "Authorization: " + EstTestClient.basic("device-p", token) + "\r\nContent-Length: " + csr.length()
            + "\r\n\r\n" + csr)) {
      try (Socket plain = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
        plain.setSoTimeout(20_000);
        plain.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));

        String answer = new String(plain.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);

        assertTrue(answer.startsWith("HTTP/1.1 400 Bad Request\r\n"), answer);
        assertTrue(answer.contains("Connection: close") && answer.endsWith(
            "\r\n\r\n400 Bad Request: this port speaks HTTPS (TLS); use https://\n"), answer);
      }
    }
    // A body that follows its headers later is left unread, and the answer still arrives whole
    // (closing on unread input would reset the connection under it).
    try (Socket plain = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
      plain.setSoTimeout(20_000);
      plain.getOutputStream().write(("POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: est\r\nContent-Length: 20000"
          + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      byte[] first = plain.getInputStream().readNBytes(12); // the answer has begun: "HTTP/1.1 400"
      plain.getOutputStream().write(new byte[20_000]);

      String answer = new String(first, StandardCharsets.US_ASCII)
          + new String(plain.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);

      assertTrue(answer.endsWith("400 Bad Request: this port speaks HTTPS (TLS); use https://\n"), answer);
    }
    assertEquals(recorded, (long) server.ledger(ledger -> ledger.count()));
    // Nothing reached the service: the token is still unused, over TLS.
    issued(client.post("/.well-known/est/simpleenroll", Base64Body.encode(csr("device-p").der()), "Content-Type",
        EstMediaType.PKCS10, "Authorization", EstTestClient.basic("device-p", token)));
  }

  @Test
  void thousandsOfConnectionsOpenedAndAbandoned_thenAGoodClientEnrolls() throws Exception {
    List<Socket> abandoned = new ArrayList<>();
    try {
      for (int i = 0; i < 2000; i++) {
        abandoned.add(new Socket(InetAddress.getLoopbackAddress(), server.port()));
        if (abandoned.size() == 200) {
          for (Socket socket : abandoned) {
            socket.close();
          }
          abandoned.clear();
        }
      }
      assertGoodClientEnrolls("device-8");
    } finally {
      for (Socket socket : abandoned) {
        socket.close();
      }
    }
  }

  @Test
  void auditLog_oneJsonLinePerAnswer_withoutSecrets() throws Exception {
    String token = server.token("device-1");
    issued(client.enroll("simpleenroll", csr("device-1"), "device-1", token));
    client.enroll("simpleenroll", csr("device-2"), "device-1", "wrong");
    server.close();

    List<String> lines = Files.readAllLines(server.dataDir().resolve(ServerRuntime.AUDIT_FILE));
    JsonObject issued = JsonParser.parseString(lines.get(lines.size() - 2)).getAsJsonObject();
    JsonObject refused = JsonParser.parseString(lines.get(lines.size() - 1)).getAsJsonObject();

    assertEquals("issued", issued.get("result").getAsString());
    assertEquals("device-1", issued.get("identity").getAsString());
    assertEquals("127.0.0.1", issued.get("source").getAsString());
    assertEquals("refused", refused.get("result").getAsString());
    assertEquals(401, refused.get("status").getAsInt());
    assertTrue(refused.get("reason").getAsString().contains("wrong enrollment token"), refused.toString());
    String all = String.join("\n", lines);
    assertFalse(all.contains(token), "the audit log holds no token");
  }

  @Test
  void slowBody_408AtTheRequestTimeout_thenAGoodClientEnrolls() throws Exception {
    server.close();
    server = TestServer.start(dir.resolve("server"), "{\"limits\": {\"requestTimeout\": \"3s\"}}");
    client = EstTestClient.anonymous(server);
    String token = server.token("device-1");
    byte[] body = Base64Body.encode(csr("device-1").der());
    long recorded = server.ledger(ledger -> ledger.count());
    try (SSLSocket slow = (SSLSocket) EstTestClient.trustingOnly(server.rootCertificate()).getSocketFactory()
        .createSocket(InetAddress.getLoopbackAddress(), server.port())) {
      slow.setSoTimeout(20_000);
      OutputStream out = slow.getOutputStream();
      out.write(("POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
          + EstMediaType.PKCS10 + "\r\nAuthorization: " + EstTestClient.basic("device-1", token)
          + "\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      // One byte every 200 ms: never idle for the 2 s idle timeout, far too slow for the body.
      Thread trickle = new Thread(() -> {
        try {
          for (int i = 0; i < body.length - 1; i++) {
            out.write(body[i]);
            out.flush();
            Thread.sleep(200);
          }
        } catch (Exception e) {
          // the server closed the connection: what is expected
        }
      });
      trickle.setDaemon(true);
      trickle.start();
      String status = new String(slow.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);

      assertEquals("HTTP/1.1 408", status);
      trickle.interrupt();
    }
    assertEquals(recorded, (long) server.ledger(ledger -> ledger.count()));
    issued(client.enroll("simpleenroll", csr("device-1"), "device-1", token));
  }

  @Test
  void pathsHttpRefuses_400WithTheReason() throws Exception {
    assertEquals("400 Bad Request: malformed percent-encoding in the request target\n",
        rawGet("/.well-known/est/%zz/cacerts"));
    assertEquals("400 Bad Request: Illegal character in path\n", rawGet("/.well-known/est/%00/cacerts"));
    assertEquals("400 Bad Request: Ambiguous URI empty segment\n", rawGet("/.well-known/est//cacerts"));
    assertEquals("400 Bad Request: Bad UTF-8 encoding\n", rawGet("/.well-known/est/%C3/cacerts"));
  }

  /** The body of the answer to {@code GET path}, sent as is on a TLS connection; the status must be 400. */
  private String rawGet(String path) throws Exception {
    try (SSLSocket socket = (SSLSocket) EstTestClient.trustingOnly(server.rootCertificate()).getSocketFactory()
        .createSocket(InetAddress.getLoopbackAddress(), server.port())) {
      socket.setSoTimeout(20_000);
      socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(answer.startsWith("HTTP/1.1 400 Bad Request\r\n") && answer.contains("\r\n\r\n"), answer);
      return answer.substring(answer.indexOf("\r\n\r\n") + 4);
    }
  }

  @Test
  void aTransferCodingBesidesChunked_501_tokenNotConsumed() throws Exception {
    String token = server.token("device-1");
    byte[] body = Base64Body.encode(csr("device-1").der());
    String answer;
    try (SSLSocket socket = (SSLSocket) EstTestClient.trustingOnly(server.rootCertificate()).getSocketFactory()
        .createSocket(InetAddress.getLoopbackAddress(), server.port())) {
      socket.setSoTimeout(20_000);
      OutputStream out = socket.getOutputStream();
      // The body is chunked as declared, and not gzip-coded: were the coding ignored, it would issue.
      out.write(("POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
          + EstMediaType.PKCS10 + "\r\nAuthorization: " + EstTestClient.basic("device-1", token)
          + "\r\nConnection: close\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
          + Integer.toHexString(body.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write(body);
      out.write("\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    }

    assertTrue(answer.startsWith("HTTP/1.1 501 "), answer);
    assertTrue(answer.endsWith("\r\n\r\nTransfer-Encoding 'gzip' is not supported; send the CSR with a Content-Length "
        + "or chunked only\n"), answer);
    assertEquals(0, server.ledger(ledger -> ledger.byDevice("device-1")).size());
    issued(client.enroll("simpleenroll", csr("device-1"), "device-1", token));
  }

  @Test
  void truncatedBody_connectionDropped_tokenNotConsumedAndNothingStored() throws Exception {
    String token = server.token("device-1");
    byte[] body = Base64Body.encode(csr("device-1").der());
    long recorded = server.ledger(ledger -> ledger.count());
    try (SSLSocket truncated = (SSLSocket) EstTestClient.trustingOnly(server.rootCertificate()).getSocketFactory()
        .createSocket(InetAddress.getLoopbackAddress(), server.port())) {
      OutputStream out = truncated.getOutputStream();
      out.write(("POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
          + EstMediaType.PKCS10 + "\r\nAuthorization: " + EstTestClient.basic("device-1", token)
          + "\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write(body, 0, body.length / 2);
      out.flush();
    }

    issued(client.enroll("simpleenroll", csr("device-1"), "device-1", token));
    assertEquals(recorded + 1, (long) server.ledger(ledger -> ledger.count()), "only the good request's certificate");
  }

  @Test
  void enrollmentsPerIdentity_429BeyondTheHourlyLimit_othersUnaffected() throws Exception {
    server.close();
    server = TestServer.start(dir.resolve("server"), "{\"limits\": {\"enrollmentsPerIdentityPerHour\": 2}}");
    client = EstTestClient.anonymous(server);
    KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    X509Certificate first = issued(client.enroll("simpleenroll", new CsrBuilder().commonName("device-1").sign(keys),
        "device-1", server.token("device-1")));
    EstTestClient device = EstTestClient.withCertificate(server, keys.getPrivate(), List.of(first));
    issued(device.enroll("simplereenroll", csr("device-1"), null, null));

    HttpResponse<byte[]> limited = device.enroll("simplereenroll", csr("device-1"), null, null);
    assertGoodClientEnrolls("device-2");
    server.clock().advance(Duration.ofMinutes(61));
    HttpResponse<byte[]> nextHour = device.enroll("simplereenroll", csr("device-1"), null, null);

    assertEquals(429, limited.statusCode(), text(limited));
    assertTrue(text(limited).startsWith("device-1 was issued 2 certificates in the last hour"), text(limited));
    assertTrue(Long.parseLong(limited.headers().firstValue("Retry-After").orElseThrow()) <= 3600);
    assertEquals(200, nextHour.statusCode(), text(nextHour));
  }

  @Test
  void enrollmentsPerSource_429BeyondTheLimitPerMinute() throws Exception {
    server.close();
    server = TestServer.start(dir.resolve("server"), "{\"limits\": {\"enrollmentsPerSourcePerMinute\": 3}}");
    client = EstTestClient.anonymous(server);
    for (int device = 0; device < 3; device++) {
      assertGoodClientEnrolls("device-" + device);
    }

    HttpResponse<byte[]> limited = client.enroll("simpleenroll", csr("device-3"), "device-3", server.token("device-3"));

    assertEquals(429, limited.statusCode(), text(limited));
    assertTrue(text(limited).startsWith("more than 3 enrollment requests from 127.0.0.1 in the last minute; wait "),
        text(limited));
    assertTrue(limited.headers().firstValue("Retry-After").isPresent());
  }

  private void assertGoodClientEnrolls(String deviceId) throws Exception {
    HttpResponse<byte[]> response = client.post("/.well-known/est/simpleenroll",
        Base64Body.encode(csr(deviceId).der()), "Content-Type", EstMediaType.PKCS10,
        "Authorization", EstTestClient.basic(deviceId, server.token(deviceId)));
    issued(response);
  }

  @Test
  void aClientCertificateTheJdkCannotParse_is401SayingWhich_notAnAbsentCertificate() throws Exception {
    // A critical URI subjectAltName with a line break: Bouncy Castle encodes and reads it, the
    // JDK's parser (which judges client certificates here) refuses it. Jetty, reading the chain itself, logged
    // a stack trace at every such request and went on as if no certificate had been presented.
    KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    java.time.Instant now = java.time.Instant.now();
    X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(new X500Name("CN=Self"), java.math.BigInteger.TEN,
        java.util.Date.from(now.minusSeconds(3600)), java.util.Date.from(now.plusSeconds(86400)),
        new X500Name("CN=device-9"), keys.getPublic())
        .addExtension(Extension.subjectAlternativeName, true,
            new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, "urn:dev:x\ny")));
    X509Certificate unreadable = new JcaX509CertificateConverter().setProvider(BouncyCastle.PROVIDER).getCertificate(
        builder.build(new JcaContentSignerBuilder("SHA256withECDSA").setProvider(BouncyCastle.PROVIDER)
            .build(keys.getPrivate())));

    java.io.PrintStream stderr = System.err;
    java.io.ByteArrayOutputStream log = new java.io.ByteArrayOutputStream();
    HttpResponse<byte[]> response;
    System.setErr(new java.io.PrintStream(log, true, StandardCharsets.UTF_8)); // slf4j-simple's target
    try {
      response = EstTestClient.withCertificate(server, keys.getPrivate(), List.of(unreadable))
          .enroll("simpleenroll", csr("device-9"), null, null);
    } finally {
      System.setErr(stderr);
    }

    String logged = log.toString(StandardCharsets.UTF_8);
    assertTrue(logged.contains("401 the client certificate cannot be read"), "the refusal is logged: " + logged);
    assertFalse(logged.contains("Unable to get X509CertChain"), logged);
    assertEquals(1, logged.lines().count(), logged);
    assertEquals(401, response.statusCode(), text(response));
    assertTrue(text(response).startsWith("the client certificate cannot be read (not a DER X.509 certificate: "),
        text(response));
    assertTrue(text(response).endsWith("; present a well-formed certificate, or authenticate with a token\n"),
        text(response));
  }

  private static Csr csr(String deviceId) {
    return new CsrBuilder().commonName(deviceId).sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM));
  }
}
