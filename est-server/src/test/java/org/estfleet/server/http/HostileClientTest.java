package org.estfleet.server.http;

import static org.estfleet.server.EstTestClient.issued;
import static org.estfleet.server.EstTestClient.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.estfleet.est.Base64Body;
import org.estfleet.est.EstMediaType;
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
  void silentClient_disconnectedAfterTheIdleTimeout() throws Exception {
    try (Socket silent = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
      silent.setSoTimeout(20_000);
      InputStream in = silent.getInputStream();

      // It never starts TLS; the server closes the connection on its own (read sees the end).
      assertEquals(-1, in.read());
    }
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

  private void assertGoodClientEnrolls(String deviceId) throws Exception {
    HttpResponse<byte[]> response = client.post("/.well-known/est/simpleenroll",
        Base64Body.encode(csr(deviceId).der()), "Content-Type", EstMediaType.PKCS10,
        "Authorization", EstTestClient.basic(deviceId, server.token(deviceId)));
    issued(response);
  }

  private static Csr csr(String deviceId) {
    return new CsrBuilder().commonName(deviceId).sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM));
  }
}
