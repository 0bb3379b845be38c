package org.estfleet.it.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.estfleet.agent.store.StateDir;
import org.estfleet.agent.store.TrustStore;
import org.estfleet.pki.Pem;
import org.estfleet.server.ca.CaRollover;
import org.estfleet.server.config.DataDir;
import org.estfleet.server.TestServer;
import org.estfleet.server.store.IssuanceRecord;
import org.estfleet.testing.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fleet simulations in one JVM: a CA and gateways (real est-servers) and hundreds of real agents
 * over TLS on 127.0.0.1, with certificates living seconds so that renewals happen within the
 * test. Each scenario ends with {@link Fleet#verify} and publishes a {@link FleetReport}.
 */
class FleetTest {
  /** Fleet sizes scale with {@code -Dfleet.scale} (1 by default; e.g. 5 for a longer run by hand). */
  private static final double SCALE = Double.parseDouble(System.getProperty("fleet.scale", "1"));
  /** Every simulated device shares 127.0.0.1: the per-address limit on failed logins would lump them together. */
  private static final String SHARED_ADDRESS =
      "\"limits\": {\"sourceAuthFailuresPerMinute\": 100000, \"enrollmentsPerSourcePerMinute\": 1000000}";
  private static final String GATEWAY = gateway("1s");
  /**
   * The outage test's devices all poll while the CA is away: at a poll a second, 40 identities
   * on the hub's 4 threads queue a device falling due behind ~2 s of polls, a third of what a
   * 15 s certificate leaves between its renewal time and its expiry on a loaded machine.
   */
  private static final String OUTAGE_GATEWAY = gateway("3s");

  @TempDir
  Path dir;

  private static String gateway(String retryAfter) {
    return "{" + SHARED_ADDRESS + ", \"gateway\": {\"retryAfter\": \"" + retryAfter + "\", "
        + "\"forwardInterval\": \"200ms\", \"connectTimeout\": \"2s\"}}";
  }

  private static int scaled(int devices) {
    return Math.max(2, (int) Math.round(devices * SCALE));
  }

  @Test
  void steady_halfDirectHalfThroughGateway_everyDeviceRenewsThreeTimes() throws Exception {
    Instant start = Instant.now();
    int half = scaled(100);
    try (TestServer ca = TestServer.start(dir.resolve("ca"),
            "{" + SHARED_ADDRESS + ", \"defaultProfile\": {\"lifetime\": \"30s\", \"backdate\": \"0s\"}}");
        TestServer gateway = TestServer.startGateway(dir.resolve("gateway"), ca, GATEWAY);
        Fleet fleet = new Fleet(dir)) {
      Path trust = ca.dataDir().resolve("ca/root.pem");
      fleet.startAgents(8);
      fleet.enroll(ca.tokens(Fleet.ids("direct", half)), ca.baseUri(), "ca", trust, 4);
      fleet.enroll(ca.tokens(Fleet.ids("gw", half)), gateway.baseUri(), "gateway", trust, 4);

      Await.until("every device renewed three times", Duration.ofMinutes(4), Duration.ofMillis(500),
          () -> fleet.fewestCertificates(ca.dataDir()) >= 4);
      fleet.stopAgents();

      fleet.verify(ca.dataDir(), ca.rootCertificate(), ca.issuingCertificate());
      assertEquals(0L, (long) gateway.queue(queue -> queue.depth().pending()));
      long forwarded = Fleet.ledger(ca.dataDir()).stream()
          .filter(record -> record.deviceId().startsWith("gw-")).filter(r -> "gateway-1".equals(r.forwardedBy())).count();
      assertTrue(forwarded >= 4L * half, "every certificate of a gateway device was forwarded: " + forwarded);
      report("steady", fleet, ca, List.of(responses(ca), responses(gateway)), start, null);
    }
  }

  @Test
  void gatewayUpstreamCutBeyondLifetime_gatewayRestartedMidway_allRenewed() throws Exception {
    Instant start = Instant.now();
    int devices = scaled(40);
    try (TestServer ca = TestServer.start(dir.resolve("ca"),
            "{" + SHARED_ADDRESS + ", \"defaultProfile\": {\"lifetime\": \"15s\", \"backdate\": \"0s\"}}");
        TestServer gateway = TestServer.startGateway(dir.resolve("gateway"), ca, OUTAGE_GATEWAY);
        Fleet fleet = new Fleet(dir)) {
      Path trust = ca.dataDir().resolve("ca/root.pem");
      fleet.enroll(ca.tokens(Fleet.ids("gw", devices)), gateway.baseUri(), "gateway", trust, 4);
      Map<Integer, Long> gatewayResponses = new HashMap<>();
      Map<Integer, Long> caResponses = new HashMap<>(ca.responses());
      ca.close();
      fleet.startAgents(4);

      // Every device asks to renew while the CA is away: each request is held by the gateway.
      Await.until("every device's renewal is held at the gateway", Duration.ofSeconds(60), Duration.ofMillis(200),
          () -> gateway.queue(queue -> queue.depth().pending()) == devices);
      FleetReport.add(gatewayResponses, gateway.responses());
      gateway.restart();
      assertEquals((long) devices, (long) gateway.queue(queue -> queue.depth().pending()), "held across the restart");
      // The outage outlasts the renewal window: every certificate expires before the CA is back.
      Await.until("every device's certificate expired", Duration.ofSeconds(60), Duration.ofMillis(200),
          () -> fleet.devices().stream().allMatch(d -> Pem.readCertificates(d.state().resolve("cert.pem")).get(0)
              .getNotAfter().toInstant().isBefore(Instant.now())));
      Instant restored = Instant.now();
      ca.restart();

      Await.until("every device renewed after the outage", Duration.ofSeconds(90), Duration.ofMillis(500),
          () -> fleet.renewedSince(restored) == devices);
      fleet.stopAgents();

      fleet.verify(ca.dataDir(), ca.rootCertificate(), ca.issuingCertificate());
      assertEquals(0L, (long) gateway.queue(queue -> queue.depth().pending()));
      for (IssuanceRecord record : Fleet.ledger(ca.dataDir())) {
        if (record.deviceId().startsWith("gw-") && record.issuedAt().isAfter(restored)) {
          assertEquals("gateway-1", record.forwardedBy());
        }
      }
      FleetReport.add(gatewayResponses, gateway.responses());
      FleetReport.add(caResponses, ca.responses());
      assertTrue(gatewayResponses.getOrDefault(202, 0L) >= devices, "each device was told 202: " + gatewayResponses);
      report("gateway-outage", fleet, ca, List.of(caResponses, gatewayResponses), start, null);
    }
  }

  @Test
  void herd_allDueAtOnceAfterOutage_serverShedsLoadAndEveryoneRenews() throws Exception {
    Instant start = Instant.now();
    int devices = scaled(1000);
    try (TestServer ca = TestServer.start(dir.resolve("ca"),
            "{" + SHARED_ADDRESS + ", \"defaultProfile\": {\"lifetime\": \"120s\", \"backdate\": \"0s\"}, "
                + "\"reenroll\": {\"gracePeriod\": \"10m\"}}");
        Fleet fleet = new Fleet(dir)) {
      fleet.enroll(ca.tokens(Fleet.ids("herd", devices)), ca.baseUri(), "ca", ca.dataDir().resolve("ca/root.pem"), 4);
      Map<Integer, Long> responses = new HashMap<>(ca.responses());
      ca.close();
      // The server comes back serving 2 requests at a time: the herd is bound to be shed.
      TestServer.patchConfig(ca.dataDir(), "{\"limits\": {\"maxConcurrentRequests\": 2, \"busyRetryAfter\": \"2s\"}}");

      Await.until("every device is due", Duration.ofMinutes(3), Duration.ofMillis(500),
          () -> fleet.devices().stream().allMatch(d -> due(Pem.readCertificates(d.state().resolve("cert.pem")).get(0))));
      // More agents at once than the server serves: the rest are shed with 503 + Retry-After.
      fleet.startAgents(16);
      Instant restored = Instant.now();
      ca.restart();

      Await.until("the herd drained", Duration.ofMinutes(4), Duration.ofMillis(250),
          () -> fleet.renewedSince(restored) == devices);
      double drain = Duration.between(restored, Instant.now()).toMillis() / 1000.0;
      // Then the fleet settles: renewals due meanwhile go through the same narrow server.
      Await.until("every certificate valid for 10s more", Duration.ofMinutes(2), Duration.ofMillis(500),
          () -> fleet.devices().stream().allMatch(d -> Pem.readCertificates(d.state().resolve("cert.pem")).get(0)
              .getNotAfter().toInstant().isAfter(Instant.now().plusSeconds(10))));
      fleet.stopAgents();

      fleet.verify(ca.dataDir(), ca.rootCertificate(), ca.issuingCertificate());
      FleetReport.add(responses, ca.responses());
      assertTrue(responses.getOrDefault(503, 0L) > 0, "the server shed load: " + responses);
      report("herd", fleet, ca, List.of(responses), start, drain);
    }
  }

  @Test
  void rootRollover_partOfTheFleetOffline_everyDeviceEndsUnderTheNewRootOnly() throws Exception {
    Instant start = Instant.now();
    int half = scaled(30);
    Duration overlap = Duration.ofSeconds(40);
    // Gateway certificates live 20 s: the gateway renews its own under the new chain in the overlap.
    // The CA takes up the rollover and the retirement while it serves, as in production (no restart).
    try (TestServer ca = TestServer.start(dir.resolve("ca"), "{" + SHARED_ADDRESS + ", \"defaultProfile\": "
            + "{\"lifetime\": \"20s\", \"backdate\": \"0s\"}, \"gatewayProfile\": {\"lifetime\": \"20s\"}, "
            + "\"reenroll\": {\"gracePeriod\": \"10m\"}, \"ca\": {\"checkInterval\": \"200ms\"}}");
        TestServer gateway = TestServer.startGateway(dir.resolve("gateway"), ca,
            "{" + SHARED_ADDRESS + ", \"reenroll\": {\"gracePeriod\": \"10m\"}, \"gateway\": {\"retryAfter\": \"1s\", "
                + "\"forwardInterval\": \"200ms\", \"connectTimeout\": \"2s\", \"cacheRefresh\": \"1s\"}}");
        Fleet fleet = new Fleet(dir)) {
      Path trust = ca.dataDir().resolve("ca/root.pem");
      X509Certificate oldRoot = ca.rootCertificate();
      List<Fleet.Device> direct = fleet.enroll(ca.tokens(Fleet.ids("direct", half)), ca.baseUri(), "ca", trust, 4);
      List<Fleet.Device> viaGateway = fleet.enroll(ca.tokens(Fleet.ids("gw", half)), gateway.baseUri(), "gateway",
          trust, 4);
      // A third of the fleet is offline from before the rollover until after the new chain is active.
      List<Fleet.Device> offline = new java.util.ArrayList<>(direct.subList(0, half / 3));
      offline.addAll(viaGateway.subList(0, half / 3));
      List<Fleet.Device> online = fleet.devices().stream().filter(d -> !offline.contains(d)).toList();
      fleet.startAgents(8);
      fleet.stop(offline);

      CaRollover.Outcome rollover = CaRollover.start(DataDir.open(ca.dataDir()), Instant.now(), overlap,
          ca.clock(), new java.security.SecureRandom());
      Await.until("every online device renews under the new root", Duration.ofMinutes(2), Duration.ofMillis(500),
          () -> online.stream().allMatch(d -> anchorState(d, rollover.root()) == TrustStore.State.ACTIVE));
      fleet.start(offline);
      Await.until("every device, the offline ones too, retires the old root", Duration.ofMinutes(3),
          Duration.ofMillis(500), () -> fleet.devices().stream().allMatch(d -> anchors(d).equals(List.of(rollover.root()))));

      CaRollover.retire(DataDir.open(ca.dataDir()), false, ca.clock());
      Instant retired = Instant.now();
      Await.until("every device renews after the old root is retired", Duration.ofMinutes(2), Duration.ofMillis(500),
          () -> fleet.renewedSince(retired) == fleet.devices().size());
      fleet.stopAgents();

      fleet.verify(ca.dataDir(), rollover.root(), rollover.issuing());
      assertEquals(rollover.root(), ca.rootCertificate());
      assertTrue(fleet.devices().stream().noneMatch(d -> anchors(d).contains(oldRoot)));
      report("root-rollover", fleet, ca, List.of(responses(ca), responses(gateway)), start, null);
    }
  }

  private static List<X509Certificate> anchors(Fleet.Device device) {
    try {
      return StateDir.open(device.state()).trust().anchors();
    } catch (Exception e) {
      throw new IllegalStateException(device.id() + ": unreadable trust anchors: " + e.getMessage(), e);
    }
  }

  private static TrustStore.State anchorState(Fleet.Device device, X509Certificate root) {
    try {
      return StateDir.open(device.state()).trust().anchorRecords().stream().filter(a -> a.certificate().equals(root))
          .map(TrustStore.Anchor::state).findFirst().orElse(null);
    } catch (Exception e) {
      throw new IllegalStateException(device.id() + ": unreadable trust anchors: " + e.getMessage(), e);
    }
  }

  /** Past two thirds of its lifetime: due for every agent, whatever its jitter. */
  private static boolean due(X509Certificate certificate) {
    Instant notBefore = certificate.getNotBefore().toInstant();
    long lifetime = certificate.getNotAfter().getTime() - certificate.getNotBefore().getTime();
    return Instant.now().isAfter(notBefore.plusMillis(lifetime * 2 / 3));
  }

  private static Map<Integer, Long> responses(TestServer server) {
    return server.responses();
  }

  private static void report(String scenario, Fleet fleet, TestServer ca, List<Map<Integer, Long>> servers,
      Instant start, Double drain) throws Exception {
    Map<Integer, Long> total = new HashMap<>();
    servers.forEach(counts -> FleetReport.add(total, counts));
    Map<String, List<IssuanceRecord>> byDevice = Fleet.byDevice(ca.dataDir());
    long renewals = 0;
    int fewest = Integer.MAX_VALUE;
    for (Fleet.Device device : fleet.devices()) {
      int issued = byDevice.getOrDefault(device.id(), List.of()).size();
      renewals += issued - 1;
      fewest = Math.min(fewest, issued - 1);
    }
    new FleetReport(scenario, fleet.devices().size(), renewals, fewest, fleet.retries(), total.getOrDefault(202, 0L),
        total.getOrDefault(503, 0L), FleetReport.named(total), fleet.longestWithoutCertificate(ca.dataDir()).toSeconds(),
        Duration.between(start, Instant.now()).toMillis() / 1000.0, drain).publish();
  }
}
