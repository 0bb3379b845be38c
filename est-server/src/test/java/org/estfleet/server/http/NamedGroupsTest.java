package org.estfleet.server.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.estfleet.pki.BouncyCastle;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.server.EstTestClient;
import org.estfleet.server.TestServer;
import org.estfleet.testing.Await;
import org.estfleet.testing.TlsRelay;
import org.estfleet.tls.KeyExchangeGroups;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * The key exchange groups the server accepts ({@code tls.namedGroups}), read off the wire: each
 * client connects through a {@link TlsRelay}, which reads the groups the server chose from its
 * ServerHello (or TLS 1.2 ServerKeyExchange).
 */
class NamedGroupsTest {
  @TempDir
  Path dir;

  @Test
  void byDefault_bouncyCastleTakesTheKeyShareTheClientSent() throws Exception {
    try (TestServer server = TestServer.start(dir.resolve("server"))) {
      // x25519's key share sent, the hybrid offered after it: the client's choice stands.
      assertEquals(List.of("x25519"), handshake(server, BouncyCastle.JSSE, "TLSv1.3", "x25519", "X25519MLKEM768"));
    }
  }

  @Test
  void theServersOrderWins_withAHelloRetryRequestWhenTheClientSharedAnotherGroup() throws Exception {
    try (TestServer server = TestServer.start(dir.resolve("server"),
        "{\"tls\": {\"namedGroups\": [\"x25519mlkem768\", \"X25519\", \"secp256r1\"]}}")) {
      assertEquals(List.of("retry X25519MLKEM768", "X25519MLKEM768"),
          handshake(server, BouncyCastle.JSSE, "TLSv1.3", "x25519", "X25519MLKEM768"));
      // The key share of the server's first choice: no retry.
      assertEquals(List.of("X25519MLKEM768"), handshake(server, BouncyCastle.JSSE, "TLSv1.3"));
      // The JDK's client (the agent's) offers no hybrid, and connects.
      assertEquals(List.of("x25519"), handshake(server, null, "TLSv1.3"));
      assertEquals(List.of("retry secp256r1", "secp256r1"),
          handshake(server, BouncyCastle.JSSE, "TLSv1.3", "secp384r1", "secp256r1"));
      // In TLS 1.2 Bouncy Castle takes the client's order among the groups it accepts (no retry there).
      assertEquals(List.of("secp256r1"), handshake(server, BouncyCastle.JSSE, "TLSv1.2", "secp256r1", "x25519"));
      assertEquals(List.of("x25519"), handshake(server, BouncyCastle.JSSE, "TLSv1.2", "secp384r1", "x25519"));
    }
  }

  @Test
  void classicalGroupsOnly_refuseTheHybrid_toAClientThatPrefersIt() throws Exception {
    try (TestServer server = TestServer.start(dir.resolve("server"),
        "{\"tls\": {\"namedGroups\": [\"x25519\", \"secp256r1\"]}}")) {
      // Bouncy Castle's client offers X25519MLKEM768 first, its key share sent with x25519's: x25519, no retry.
      assertEquals(List.of("x25519"), handshake(server, BouncyCastle.JSSE, "TLSv1.3"));
      refused(() -> handshake(server, BouncyCastle.JSSE, "TLSv1.3", "X25519MLKEM768"));
    }
  }

  @Test
  void onAGateway_too() throws Exception {
    try (TestServer upstream = TestServer.start(dir.resolve("ca"));
        TestServer gateway = TestServer.startGateway(dir.resolve("gateway"), upstream,
            "{\"tls\": {\"protocols\": [\"TLSv1.3\"], \"namedGroups\": [\"X25519MLKEM768\"]}}")) {
      assertEquals(List.of("X25519MLKEM768"),
          handshake(gateway.port(), upstream.rootCertificate(), BouncyCastle.JSSE, "TLSv1.3"));
      refused(() -> handshake(gateway.port(), upstream.rootCertificate(), BouncyCastle.JSSE, "TLSv1.3", "x25519"));
    }
  }

  @Test
  void aGatewaysConnectionsToItsCa_takeItsTlsProvider() throws Exception {
    for (String provider : List.of("BCJSSE", "SunJSSE")) {
      try (TestServer ca = TestServer.start(dir.resolve("ca-" + provider));
          TlsRelay relay = new TlsRelay(ca.port());
          TestServer gateway = TestServer.startGateway(dir.resolve("gateway-" + provider), ca,
              "{\"tls\": {\"provider\": \"" + provider + "\"}, \"gateway\": {\"upstream\": \"https://127.0.0.1:"
                  + relay.port() + "\", \"forwardInterval\": \"100ms\"}}")) {
        KeyPair keys = KeyAlgorithm.EC_P256.generate(new SecureRandom());
        HttpResponse<byte[]> enrolled = EstTestClient.anonymous(gateway).enroll("simpleenroll",
            new CsrBuilder().commonName("device-1").sign(keys), "device-1", ca.token("device-1"));
        assertEquals(200, enrolled.statusCode(), EstTestClient.text(enrolled));

        // The gateway's /cacerts mirror and its forwards, each connection: BCJSSE's hybrid, or the JDK's x25519.
        // A connection the gateway has just opened (its next refresh) shows no ServerHello yet: wait for each so far.
        int made = relay.chosenGroups().size();
        assertTrue(made >= 2, relay.chosenGroups().toString());
        Await.until("the server's answer on each of the gateway's " + made + " connections", Duration.ofSeconds(10),
            () -> relay.chosenGroups().subList(0, made).stream().noneMatch(List::isEmpty));
        List<List<String>> upstream = relay.chosenGroups().subList(0, made);
        for (List<String> connection : upstream) {
          assertEquals(List.of(provider.equals("BCJSSE") ? "X25519MLKEM768" : "x25519"), connection,
              provider + ": " + upstream);
        }
      }
    }
  }

  @Test
  void withoutTheCertificatesCurve_tls13Only() throws Exception {
    // TLS 1.3's signature schemes name their curve: the P-256 certificate signs without secp256r1 among the groups.
    try (TestServer server = TestServer.start(dir.resolve("server"),
        "{\"tls\": {\"protocols\": [\"TLSv1.3\"], \"namedGroups\": [\"x25519\"]}}")) {
      assertEquals(List.of("x25519"), handshake(server, null, "TLSv1.3"));
    }
  }

  @Test
  void aClientOfferingNoneOfThem_failsItsHandshake_andIsCounted() throws Exception {
    try (TestServer server = TestServer.start(dir.resolve("server"),
        "{\"tls\": {\"protocols\": [\"TLSv1.3\"], \"namedGroups\": [\"X25519MLKEM768\"]}, "
            + "\"monitoring\": {\"port\": 0}}")) {
      refused(() -> handshake(server, null, "TLSv1.3"));
      refused(() -> handshake(server, BouncyCastle.JSSE, "TLSv1.3", "x25519", "secp256r1"));
      // Read over the monitoring listener's plain HTTP: the test's HTTP client is the JDK's, refused on the TLS port.
      HttpClient http = HttpClient.newHttpClient();
      HttpRequest metrics = HttpRequest.newBuilder(server.monitoringUri().orElseThrow().resolve("/metrics")).build();
      Await.until("both failed handshakes counted", Duration.ofSeconds(10), () -> failedHandshakes(http, metrics) == 2);

      assertEquals(List.of("X25519MLKEM768"), handshake(server, BouncyCastle.JSSE, "TLSv1.3"));
    }
  }

  @Test
  void inTls12_onlyTheNamedCurves() throws Exception {
    try (TestServer server = TestServer.start(dir.resolve("server"),
        "{\"tls\": {\"protocols\": [\"TLSv1.2\"], \"namedGroups\": [\"secp256r1\"]}}")) {
      refused(() -> handshake(server, BouncyCastle.JSSE, "TLSv1.2", "x25519"));

      assertEquals(List.of("secp256r1"), handshake(server, BouncyCastle.JSSE, "TLSv1.2", "x25519", "secp256r1"));
      assertEquals(List.of("secp256r1"), handshake(server, null, "TLSv1.2"));
    }
  }

  @Test
  void theJdksTls_fromJava20On_takesThemInTheClientsOrder() throws Exception {
    assumeTrue(KeyExchangeGroups.perConnectionInSunJsse(), "SSLParameters.setNamedGroups is Java 20 on");
    try (TestServer server = TestServer.start(dir.resolve("server"),
        "{\"tls\": {\"provider\": \"SunJSSE\", \"namedGroups\": [\"secp256r1\", \"x25519\"]}, "
            + "\"monitoring\": {\"port\": 0}}")) {
      assertEquals(List.of("x25519"), handshake(server, BouncyCastle.JSSE, "TLSv1.3", "x25519", "secp256r1"));
      assertEquals(List.of("secp256r1"), handshake(server, BouncyCastle.JSSE, "TLSv1.3", "secp256r1", "x25519"));
      // Refused too, with another alert (unexpected_message, from the JDK 25 here), and counted.
      assertThrows(IOException.class, () -> handshake(server, BouncyCastle.JSSE, "TLSv1.3", "secp384r1"));
      HttpClient http = HttpClient.newHttpClient();
      HttpRequest metrics = HttpRequest.newBuilder(server.monitoringUri().orElseThrow().resolve("/metrics")).build();
      Await.until("the failed handshake counted", Duration.ofSeconds(10), () -> failedHandshakes(http, metrics) == 1);
    }
  }

  /** The failed TLS handshakes the server's {@code /metrics} counts. */
  private static double failedHandshakes(HttpClient http, HttpRequest metrics) {
    String prefix = "estfleet_tls_handshakes_total{result=\"failed\"} ";
    try {
      return http.send(metrics, HttpResponse.BodyHandlers.ofString()).body().lines()
          .filter(line -> line.startsWith(prefix))
          .mapToDouble(line -> Double.parseDouble(line.substring(prefix.length()))).findFirst().orElse(0);
    } catch (IOException | InterruptedException e) {
      throw new AssertionError("GET " + metrics.uri() + ": " + e, e);
    }
  }

  /** The server ended the handshake with a handshake_failure alert (no group in common). */
  private static void refused(Executable handshake) {
    IOException refusal = assertThrows(IOException.class, handshake);
    assertTrue(String.valueOf(refusal.getMessage()).contains("handshake_failure"), refusal.toString());
  }

  /**
   * A handshake and one {@code /cacerts} request on a new connection through a relay; the groups
   * the server chose, in the order sent ({@code retry G}: a HelloRetryRequest asking for G).
   *
   * @param provider the client's TLS, null for the JDK's
   * @param groups offered, most preferred first; none for the provider's default
   */
  private static List<String> handshake(TestServer server, Provider provider, String protocol, String... groups)
      throws Exception {
    return handshake(server.port(), server.rootCertificate(), provider, protocol, groups);
  }

  /** As {@link #handshake(TestServer, Provider, String, String...)}, to the server on {@code port}, trusting {@code root}. */
  private static List<String> handshake(int port, X509Certificate root, Provider provider, String protocol,
      String... groups) throws Exception {
    try (TlsRelay relay = new TlsRelay(port);
        SSLSocket socket = (SSLSocket) client(root, provider).getSocketFactory()
            .createSocket("127.0.0.1", relay.port())) {
      socket.setSoTimeout(10_000);
      socket.setEnabledProtocols(new String[] {protocol});
      if (groups.length > 0) {
        KeyExchangeGroups.offer(socket, groups);
      }
      socket.startHandshake();
      OutputStream out = socket.getOutputStream();
      out.write(("GET /.well-known/est/cacerts HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String status = new String(socket.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
      assertEquals("HTTP/1.1 200", status);
      return relay.chosenGroups().get(0);
    }
  }

  private static SSLContext client(X509Certificate root, Provider provider) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("root", root);
    TrustManagerFactory trustManagers = TrustManagerFactory.getInstance("PKIX");
    trustManagers.init(trust);
    SSLContext context = provider == null ? SSLContext.getInstance("TLS") : SSLContext.getInstance("TLS", provider);
    context.init(null, trustManagers.getTrustManagers(), new SecureRandom());
    return context;
  }
}
