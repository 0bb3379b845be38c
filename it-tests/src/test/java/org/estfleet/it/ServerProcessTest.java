package org.estfleet.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.estfleet.pki.Pem;
import org.estfleet.server.EstTestClient;
import org.estfleet.server.store.Database;
import org.estfleet.server.store.IssuedCertificates;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The packaged {@code est-server.jar} as an operator runs it: init, serve, SIGTERM. */
class ServerProcessTest {
  @TempDir
  Path dir;

  @Test
  void serve_printsItsAddressesServesAndStopsCleanlyOnSigterm() throws Exception {
    Path jar = Project.jar("est-server/target/est-server.jar");
    Path data = dir.resolve("data");
    Project.Result init = Project.run(dir, Project.java(jar, "init", "--data", data.toString()), Map.of(), 60);
    assertEquals(0, init.exit(), init.err());

    Process serve = new ProcessBuilder(Project.java(jar, "serve", "--data", data.toString(), "--port", "0",
        "--monitoring-port", "0")).redirectError(dir.resolve("serve.log").toFile()).start();
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(serve.getInputStream(), StandardCharsets.UTF_8));
      String line = out.readLine();
      assertTrue(line != null && line.matches("listening on https://127\\.0\\.0\\.1:\\d+"), String.valueOf(line));
      int port = Integer.parseInt(line.substring(line.lastIndexOf(':') + 1));
      String monitoringLine = out.readLine();
      assertTrue(monitoringLine != null && monitoringLine.matches("monitoring on http://127\\.0\\.0\\.1:\\d+"),
          String.valueOf(monitoringLine));
      HttpResponse<String> metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          java.net.URI.create(monitoringLine.substring("monitoring on ".length()) + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, metrics.statusCode());
      assertTrue(metrics.body().contains("estfleet_build_info{"), metrics.body());

      HttpClient http = HttpClient.newBuilder()
          .sslContext(EstTestClient.trustingOnly(Pem.readCertificates(data.resolve("ca/root.pem")).get(0)))
          .build();
      HttpResponse<String> cacerts = http.send(HttpRequest.newBuilder(
          java.net.URI.create("https://localhost:" + port + "/.well-known/est/cacerts")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, cacerts.statusCode());
      Project.Result second = Project.run(dir, Project.java(jar, "serve", "--data", data.toString(), "--port", "0"),
          Map.of(), 60);
      Project.Result force = Project.run(dir, Project.java(jar, "init", "--data", data.toString(), "--force"),
          Map.of(), 60);
      assertEquals(2, second.exit(), second.err());
      assertTrue(second.err().strip().endsWith(data.toAbsolutePath().normalize() + " is already served by another "
          + "est-server (pid " + serve.pid() + "); one server per data directory"), second.err());
      assertEquals(2, force.exit(), force.err());
      assertEquals(List.of("est-server: " + data + " is being served by est-server (pid " + serve.pid()
          + "): stop it first"), force.err().lines().toList());

      serve.destroy(); // SIGTERM
      assertTrue(serve.waitFor(30, TimeUnit.SECONDS), "stopped within 30s of SIGTERM");
      assertEquals(143, serve.exitValue(), "128 + SIGTERM");
    } finally {
      serve.destroyForcibly();
    }
    String log = Files.readString(dir.resolve("serve.log"));
    assertTrue(!log.contains("Exception"), log);
    try (Database database = Database.open(data.resolve("estfleet.db"))) {
      assertEquals(1, new IssuedCertificates(database).count(), "the TLS certificate init recorded");
    }
  }

  @Test
  void init_onExistingDirectoryExits2WithOneLine() throws Exception {
    Path jar = Project.jar("est-server/target/est-server.jar");
    Project.run(dir, Project.java(jar, "init", "--data", "data"), Map.of(), 60);

    Project.Result again = Project.run(dir, Project.java(jar, "init", "--data", "data"), Map.of(), 60);

    assertEquals(2, again.exit());
    assertEquals(List.of("est-server: data already exists and is not empty; use --force to replace its CA, "
        + "TLS identity and database"), again.err().lines().toList());
  }
}
