package org.estfleet.server.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.estfleet.server.Cli;
import org.estfleet.server.EstTestClient;
import org.estfleet.server.TestServer;
import org.estfleet.server.config.DataDir;
import org.estfleet.server.config.ServerConfig;
import org.estfleet.testing.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code monitoring} in server.json: /health and /metrics on a listener of their own, or nowhere. */
class MonitoringTest {
  private static final HttpClient PLAIN = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  @TempDir
  Path dir;

  @Test
  void ownListener_servesHealthAndMetricsOverPlainHttp_andTheTlsPortServesNeither() throws Exception {
    try (TestServer server = TestServer.start(dir.resolve("server"), "{\"monitoring\": {\"port\": 0}}")) {
      URI monitoring = server.monitoringUri().orElseThrow();
      assertTrue(monitoring.toString().matches("http://127\\.0\\.0\\.1:\\d+"), monitoring.toString());
      assertTrue(monitoring.getPort() != server.port());
      EstTestClient device = EstTestClient.anonymous(server);

      HttpResponse<String> health = get(monitoring, "/health");
      HttpResponse<String> post = PLAIN.send(HttpRequest.newBuilder(monitoring.resolve("/metrics"))
          .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
      HttpResponse<String> est = get(monitoring, "/.well-known/est/cacerts");
      int healthOnTls = device.get("/health").statusCode();
      int metricsOnTls = device.get("/metrics").statusCode();
      int cacertsOnTls = device.get("/.well-known/est/cacerts").statusCode();

      assertEquals(200, health.statusCode(), health.body());
      assertTrue(health.body().contains("\"status\": \"ok\""), health.body());
      assertEquals(405, post.statusCode(), "GET only, as on the TLS port");
      assertEquals(404, est.statusCode(), "no EST on the monitoring listener");
      assertEquals(404, healthOnTls);
      assertEquals(404, metricsOnTls);
      assertEquals(200, cacertsOnTls);
      // Both listeners' answers are counted together, the monitoring listener's under its own endpoints.
      Await.until("the last answer is counted", Duration.ofSeconds(10),
          () -> get(monitoring, "/metrics").body().contains("estfleet_http_responses_total{endpoint=\"cacerts\","
              + "status=\"200\"} 1.0"));
      String metrics = get(monitoring, "/metrics").body();
      assertTrue(metrics.contains("estfleet_health_ok 1.0"), metrics);
      assertTrue(metrics.contains("estfleet_http_responses_total{endpoint=\"health\",status=\"200\"} 1.0"), metrics);
      assertTrue(metrics.contains("estfleet_http_responses_total{endpoint=\"health\",status=\"404\"} 1.0"), metrics);
      assertTrue(metrics.contains("estfleet_http_responses_total{endpoint=\"metrics\",status=\"405\"} 1.0"), metrics);
      assertTrue(metrics.contains("estfleet_http_responses_total{endpoint=\"other\",status=\"404\"} 1.0"), metrics);
      assertFalse(metrics.contains("endpoint=\"cacerts\",status=\"404\""), "the monitoring listener's 404 is 'other'");
      server.close();
      try (ServerSocket again = new ServerSocket(monitoring.getPort(), 1, InetAddress.getLoopbackAddress())) {
        assertEquals(monitoring.getPort(), again.getLocalPort(), "closed with the server");
      }
    }
  }

  @Test
  void disabled_neitherIsServed_andEstIs() throws Exception {
    try (TestServer server = TestServer.start(dir.resolve("server"), "{\"monitoring\": {\"enabled\": false}}")) {
      EstTestClient device = EstTestClient.anonymous(server);

      assertEquals(404, device.get("/health").statusCode());
      assertEquals(404, device.get("/metrics").statusCode());
      assertEquals(200, device.get("/.well-known/est/cacerts").statusCode());
      assertTrue(server.monitoringUri().isEmpty());
    }
  }

  @Test
  void aPortInUse_stopsTheStart_namingItsSetting_andReleasesTheOtherPort() throws Exception {
    Path data = dir.resolve("data");
    TestServer.init(data);
    int tlsPort;
    // The port taken first: a free port picked before it could be handed out again to it.
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      tlsPort = freePort();
      Cli.Run serve = Cli.run("serve", "--data", data.toString(), "--port", Integer.toString(tlsPort),
          "--monitoring-port", Integer.toString(taken.getLocalPort()));

      assertEquals(1, serve.exit(), serve.err());
      assertEquals(List.of("est-server: cannot listen on 127.0.0.1 port " + taken.getLocalPort() + ": Address already "
          + "in use (monitoring.bindAddress and monitoring.port in server.json, or serve --monitoring-port)"),
          serve.err().lines().toList());
    }
    try (ServerSocket again = new ServerSocket(tlsPort, 1, InetAddress.getLoopbackAddress())) {
      assertEquals(tlsPort, again.getLocalPort(), "the TLS listener was closed");
    }
    // The other way round: the TLS port taken, the monitoring listener is closed again.
    int monitoringPort;
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      monitoringPort = freePort();
      Cli.Run serve = Cli.run("serve", "--data", data.toString(), "--port", Integer.toString(taken.getLocalPort()),
          "--monitoring-port", Integer.toString(monitoringPort));

      assertEquals(1, serve.exit(), serve.err());
      assertEquals(List.of("est-server: cannot listen on 127.0.0.1 port " + taken.getLocalPort() + ": Address already "
          + "in use (bindAddress and port in server.json, or serve --port)"), serve.err().lines().toList());
    }
    try (ServerSocket again = new ServerSocket(monitoringPort, 1, InetAddress.getLoopbackAddress())) {
      assertEquals(monitoringPort, again.getLocalPort(), "the monitoring listener was closed");
    }
  }

  @Test
  void badMonitoringSettings_exit2WithOneLine() throws Exception {
    Path data = dir.resolve("data");
    TestServer.init(data);
    Files.writeString(data.resolve(DataDir.CONFIG_FILE), "{\"port\": 9443, \"monitoring\": {\"port\": 9443}}");
    Cli.Run samePort = Cli.run("serve", "--data", data.toString());
    Files.writeString(data.resolve(DataDir.CONFIG_FILE), "{\"monitoring\": {\"enabled\": false, \"port\": 9090}}");
    Cli.Run disabledWithPort = Cli.run("serve", "--data", data.toString());
    Files.writeString(data.resolve(DataDir.CONFIG_FILE), "{\"monitoring\": {\"port\": 70000}}");
    Cli.Run outOfRange = Cli.run("serve", "--data", data.toString());
    Files.writeString(data.resolve(DataDir.CONFIG_FILE), "{\"monitoring\": {\"prot\": 9090}}");
    Cli.Run unknownKey = Cli.run("serve", "--data", data.toString());
    Files.writeString(data.resolve(DataDir.CONFIG_FILE), "{\"port\": 9443}");
    Cli.Run sameOnTheCommandLine = Cli.run("serve", "--data", data.toString(), "--monitoring-port", "9443");
    Cli.Run badOption = Cli.run("serve", "--data", data.toString(), "--monitoring-port", "-1");
    Files.writeString(data.resolve(DataDir.CONFIG_FILE), "{\"monitoring\": {\"bindAddress\": \" \", \"port\": 9090}}");
    Cli.Run blankAddress = Cli.run("serve", "--data", data.toString());

    for (Cli.Run run : List.of(samePort, disabledWithPort, outOfRange, unknownKey, sameOnTheCommandLine, badOption,
        blankAddress)) {
      assertEquals(2, run.exit(), run.err());
      assertEquals(1, run.err().lines().count(), run.err());
    }
    assertTrue(samePort.err().contains("monitoring.port 9443 is the TLS port ('port')"), samePort.err());
    assertTrue(disabledWithPort.err().contains("monitoring.port is set and monitoring.enabled is false"),
        disabledWithPort.err());
    assertTrue(outOfRange.err().contains("monitoring.port 70000 is not between 0 and 65535"), outOfRange.err());
    assertTrue(unknownKey.err().contains("unknown key 'prot' at $.monitoring"), unknownKey.err());
    assertTrue(sameOnTheCommandLine.err().contains("monitoring.port 9443 is the TLS port"), sameOnTheCommandLine.err());
    assertTrue(badOption.err().contains("--monitoring-port: -1 is not between 0 and 65535"), badOption.err());
    assertTrue(blankAddress.err().contains("monitoring.bindAddress is empty"), blankAddress.err());
  }

  @Test
  void portsFromTheCommandLine_areJudgedAsThePairTheyMake() throws Exception {
    Path data = dir.resolve("data");
    TestServer.init(data);
    Files.writeString(data.resolve(DataDir.CONFIG_FILE), "{\"port\": 8443, \"monitoring\": {\"port\": 9464}}");
    ServerConfig config = DataDir.open(data).config();

    // serve --port 9464 --monitoring-port 9465, and the two swapped: each pair is valid.
    ServerConfig moved = config.withPorts(9464, 9465);
    ServerConfig swapped = config.withPorts(9464, 8443);

    assertEquals(9464, moved.port());
    assertEquals(9465, moved.monitoring().port());
    assertEquals(8443, swapped.monitoring().port());
    assertEquals(9464, config.withPorts(null, null).monitoring().port());
    assertThrows(IllegalArgumentException.class, () -> config.withPorts(9464, null), "the file's monitoring port");
  }

  private static HttpResponse<String> get(URI base, String path) {
    try {
      return PLAIN.send(HttpRequest.newBuilder(base.resolve(path)).build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException | InterruptedException e) {
      throw new AssertionError("GET " + path, e);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }
}
