package org.estfleet.it.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.estfleet.it.Project;
import org.estfleet.json.JsonFiles;
import org.estfleet.pki.Pem;
import org.estfleet.server.EstTestClient;
import org.estfleet.server.auth.BootstrapTokens;
import org.estfleet.server.store.Database;
import org.estfleet.server.store.TokenRecords;
import org.estfleet.testing.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CA process is killed (SIGKILL) while a fleet renews, then started again: its ledger is
 * intact, no certificate is issued twice, and every device renews.
 */
class ServerKilledTest {
  @TempDir
  Path dir;

  @Test
  void caKilledWhileAgentsRenew_everyDeviceRenewsAndNothingIsLost() throws Exception {
    Instant start = Instant.now();
    int devices = Math.max(2, (int) Math.round(100 * Double.parseDouble(System.getProperty("fleet.scale", "1"))));
    Path jar = Project.jar("est-server/target/est-server.jar");
    Path data = dir.resolve("ca");
    Project.Result init = Project.run(dir, Project.java(jar, "init", "--data", data.toString()), Map.of(), 60);
    assertEquals(0, init.exit(), init.err());
    // A restart costs seconds of a short lifetime: the grace period lets a certificate that expired
    // meanwhile still renew, as an operator would configure for such lifetimes.
    JsonFiles.patch(data.resolve("server.json"),
        "{\"defaultProfile\": {\"lifetime\": \"30s\", \"backdate\": \"0s\"}, \"reenroll\": {\"gracePeriod\": \"1m\"}}");
    X509Certificate root = Pem.readCertificates(data.resolve("ca/root.pem")).get(0);
    X509Certificate issuing = Pem.readCertificates(data.resolve("ca/issuing.pem")).get(0);

    Map<Integer, Long> responses = new HashMap<>();
    try (ServerProcess ca = ServerProcess.start(jar, data, dir.resolve("ca.log")); Fleet fleet = new Fleet(dir)) {
      fleet.startAgents(8);
      fleet.enroll(tokens(data, Fleet.ids("device", devices)), ca.baseUri(), "ca", data.resolve("ca/root.pem"), 4);
      Await.until("renewals under way", Duration.ofMinutes(2), Duration.ofMillis(200),
          () -> Fleet.ledger(data).size() >= devices + devices / 3);

      FleetReport.add(responses, responses(ca, root));
      ca.kill();
      Instant restarted = Instant.now();
      ca.restart();
      Await.until("every device renewed after the restart", Duration.ofMinutes(2), Duration.ofMillis(500),
          () -> fleet.renewedSince(restarted) == devices);
      fleet.stopAgents();

      fleet.verify(data, root, issuing);
      FleetReport.add(responses, responses(ca, root));
      Map<String, List<org.estfleet.server.store.IssuanceRecord>> byDevice = Fleet.byDevice(data);
      long renewals = fleet.devices().stream().mapToLong(d -> byDevice.get(d.id()).size() - 1).sum();
      int fewest = fleet.devices().stream().mapToInt(d -> byDevice.get(d.id()).size() - 1).min().orElse(0);
      new FleetReport("ca-killed", devices, renewals, fewest, fleet.retries(), responses.getOrDefault(202, 0L),
          responses.getOrDefault(503, 0L), FleetReport.named(responses), fleet.longestWithoutCertificate(data).toSeconds(),
          Duration.between(start, Instant.now()).toMillis() / 1000.0, null).publish();
    }
  }

  private static Map<String, String> tokens(Path data, List<String> ids) {
    Map<String, String> tokens = new LinkedHashMap<>();
    try (Database database = Database.open(data.resolve("estfleet.db"))) {
      BootstrapTokens factory = new BootstrapTokens(new TokenRecords(database), Clock.systemUTC(), new SecureRandom());
      for (String id : ids) {
        tokens.put(id, factory.create(id, Duration.ofHours(1)).secret());
      }
    }
    return tokens;
  }

  /** The server's responses by status, from its {@code /health}. */
  private static Map<Integer, Long> responses(ServerProcess ca, X509Certificate root) throws Exception {
    HttpClient http = HttpClient.newBuilder().sslContext(EstTestClient.trustingOnly(root)).build();
    HttpResponse<String> health = http.send(HttpRequest.newBuilder(ca.baseUri().resolve("/health")).build(),
        HttpResponse.BodyHandlers.ofString());
    JsonObject counts = JsonParser.parseString(health.body()).getAsJsonObject().getAsJsonObject("responses");
    Map<Integer, Long> result = new HashMap<>();
    counts.entrySet().forEach(entry -> result.put(Integer.parseInt(entry.getKey()), entry.getValue().getAsLong()));
    return result;
  }
}
