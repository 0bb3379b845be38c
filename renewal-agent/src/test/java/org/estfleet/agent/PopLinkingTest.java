package org.estfleet.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.estfleet.agent.store.StateDir;
import org.estfleet.est.client.CsrAttrsOutcome;
import org.estfleet.est.client.EstClient;
import org.estfleet.pki.Pem;
import org.estfleet.server.TestServer;
import org.estfleet.server.store.IssuanceRecord;
import org.estfleet.testing.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent links its CSRs to their TLS connection (RFC 7030 section 3.5) where the server asks
 * for it, directly and through a gateway, which checks the link on its own connection.
 */
class PopLinkingTest {
  private static final String LINKED = "{\"defaultProfile\": {\"popLinking\": \"required\"}}";

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
  void enroll_linksWhenCsrattrsAsks_thenRenewsLinked() throws Exception {
    ca = TestServer.start(dir.resolve("ca"), LINKED);
    Path state = AgentFixture.enroll(ca, dir.resolve("agent"), "device-1");
    X509Certificate first = Pem.readCertificates(state.resolve("cert.pem")).get(0);

    Renewer.Result renewed = AgentFixture.renewer(state, Clock.systemUTC()).renew(true);

    assertTrue(StateDir.open(state).readState().linkingRequested());
    assertFalse(StateDir.open(state).readConfig().popLinking(), "followed from /csrattrs, not configured");
    assertEquals(Renewer.Outcome.RENEWED, renewed.outcome(), renewed.message());
    assertNotEquals(first, Pem.readCertificates(state.resolve("cert.pem")).get(0));
  }

  @Test
  void linkingTurnedOnAtTheCaLater_theNextRenewalLinks() throws Exception {
    ca = TestServer.start(dir.resolve("ca"), "{}");
    Path state = AgentFixture.enroll(ca, dir.resolve("agent"), "device-1");
    assertFalse(StateDir.open(state).readState().linkingRequested());
    ca.close();
    TestServer.patchConfig(ca.dataDir(), LINKED);
    ca.restart();

    Renewer.Result renewed = AgentFixture.renewer(state, Clock.systemUTC()).renew(true);

    assertEquals(Renewer.Outcome.RENEWED, renewed.outcome(), renewed.message());
    assertTrue(StateDir.open(state).readState().linkingRequested());
  }

  @Test
  void throughGateway_linkedAtTheGatewayAndForwarded() throws Exception {
    ca = TestServer.start(dir.resolve("ca"), LINKED);
    gateway = TestServer.startGateway(dir.resolve("gateway"), ca, "{}");
    awaitCsrattrsCopy();
    Path state = AgentFixture.enroll(ca, gateway, dir.resolve("agent"), "device-1");
    assertTrue(StateDir.open(state).readState().linkingRequested(), "the gateway passes the CA's /csrattrs on");

    Renewer.Result renewed = AgentFixture.renewer(state, Clock.systemUTC()).renew(true);

    assertEquals(Renewer.Outcome.RENEWED, renewed.outcome(), renewed.message());
    List<IssuanceRecord> records = ca.ledger(ledger -> ledger.byDevice("device-1"));
    assertEquals(2, records.size(), "enrolled and renewed once, both forwarded by the gateway");
    assertEquals("gateway-1", records.get(1).forwardedBy());
  }

  @Test
  void throughGatewayWhileTheCaIsDown_theLinkedRetryCollectsTheStoredAnswer_issuedOnce() throws Exception {
    ca = TestServer.start(dir.resolve("ca"), LINKED);
    gateway = TestServer.startGateway(dir.resolve("gateway"), ca,
        "{\"gateway\": {\"retryAfter\": \"1s\", \"forwardInterval\": \"100ms\", \"connectTimeout\": \"2s\"}}");
    awaitCsrattrsCopy();
    Path state = AgentFixture.enroll(ca, gateway, dir.resolve("agent"), "device-1");
    ca.close();

    Renewer.Result pending = AgentFixture.renewer(state, Clock.systemUTC()).renew(true);
    ca.restart();
    Await.until("the gateway forwarded the stored request", Duration.ofSeconds(30),
        () -> gateway.queue(queue -> queue.depth().pending()) == 0L);
    Renewer.Result collected = AgentFixture.renewer(state, Clock.systemUTC()).renew(true);

    assertEquals(Renewer.Outcome.PENDING, pending.outcome(), pending.message());
    assertEquals(Renewer.Outcome.RENEWED, collected.outcome(), collected.message());
    assertEquals(2, ca.ledger(ledger -> ledger.byDevice("device-1")).size(),
        "the retry, with a new challengePassword, is the same request: issued once");
  }

  /** Until the gateway serves a copy of the CA's {@code /csrattrs}, and so knows whether linking is required. */
  private void awaitCsrattrsCopy() throws InterruptedException {
    EstClient client = new EstClient(Duration.ofSeconds(5), Duration.ofSeconds(5), Clock.systemUTC(), new SecureRandom());
    List<X509Certificate> trust = List.of(ca.rootCertificate());
    Await.until("the gateway has a copy of the CA's /csrattrs", Duration.ofSeconds(20),
        () -> client.csrAttributes(gateway.baseUri(), "", trust) instanceof CsrAttrsOutcome.Fetched);
  }
}
