package org.estfleet.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.estfleet.agent.schedule.AgentScheduler;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.Pem;
import org.estfleet.server.TestServer;
import org.estfleet.server.store.IssuanceRecord;
import org.estfleet.testing.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's daemon renews through a gateway while the gateway's upstream CA is down, with no
 * one touching it: 202 from the gateway, retries with the same CSR, the certificate once the CA
 * is back. Certificates live 20 seconds, so renewal falls due within the test.
 */
class GatewayOutageTest {
  @TempDir
  Path dir;

  private TestServer ca;
  private TestServer gateway;

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
    if (ca != null) {
      ca.close();
    }
  }

  @Test
  void run_renewsThroughGatewayAcrossUpstreamOutage() throws Exception {
    ca = TestServer.start(dir.resolve("ca"), "{\"defaultProfile\": {\"lifetime\": \"20s\", \"backdate\": \"0s\"}}");
    gateway = TestServer.startGateway(dir.resolve("gateway"), ca,
        "{\"gateway\": {\"retryAfter\": \"1s\", \"forwardInterval\": \"100ms\", \"connectTimeout\": \"2s\"}}");
    Path state = AgentFixture.enroll(ca, gateway, dir.resolve("agent"), "device-1");
    X509Certificate first = Pem.readCertificates(state.resolve("cert.pem")).get(0);
    ca.close();

    try (AgentScheduler scheduler = new AgentScheduler(1, Clock.systemUTC(), new SecureRandom())) {
      scheduler.add("device-1", AgentFixture.renewer(state, Clock.systemUTC()));
      Await.until("the renewal waits at the gateway", Duration.ofSeconds(30),
          () -> gateway.queue(queue -> queue.depth().pending()) == 1L);
      ca.restart();
      Await.until("the agent installed a new certificate", Duration.ofSeconds(30),
          () -> !Pem.readCertificates(state.resolve("cert.pem")).get(0).equals(first));
    }

    X509Certificate renewed = Pem.readCertificates(state.resolve("cert.pem")).get(0);
    List<IssuanceRecord> records = ca.ledger(ledger -> ledger.byDevice("device-1"));
    assertEquals(2, records.size(), "enrolled once and renewed once, never issued twice");
    assertEquals(Certificates.serialHex(renewed), records.get(1).serial());
    assertEquals("gateway-1", records.get(1).forwardedBy());
    assertEquals("certificate", records.get(1).authMethod());
    assertNotEquals(first.getPublicKey(), renewed.getPublicKey());
    assertTrue(renewed.getNotAfter().after(first.getNotAfter()));
  }
}
