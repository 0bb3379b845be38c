package org.estfleet.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.estfleet.agent.store.AgentState;
import org.estfleet.agent.store.StateDir;
import org.estfleet.est.EstException;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.Pem;
import org.estfleet.pki.TestPki;
import org.estfleet.server.ForwardingCa;
import org.estfleet.server.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The post-renew hook, and what the trust refresh takes from /cacerts and what it refuses. */
class HookAndTrustTest {
  @TempDir
  Path dir;

  private TestServer server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void hook_runsAfterTheSwitchWithThePaths() throws Exception {
    server = TestServer.start(dir.resolve("server"));
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    Path out = dir.resolve("hook.out");
    AgentFixture.patchConfig(state, "{\"postRenewHook\": {\"command\": [\"sh\", \"-c\", "
        + "\"echo $ESTFLEET_SERIAL $ESTFLEET_IDENTITY > " + out + "; openssl x509 -noout -serial -in $ESTFLEET_CERT >> " + out + "\"]}}");

    Renewer.Result result = AgentFixture.renewer(state, server.clock()).renew(true);

    X509Certificate current = Pem.readCertificates(state.resolve("cert.pem")).get(0);
    String serial = Certificates.serialHex(current);
    assertEquals(Renewer.Outcome.RENEWED, result.outcome());
    assertEquals(serial + " device-1\nserial=" + serial.toUpperCase() + "\n", Files.readString(out));
    assertEquals(0, StateDir.open(state).readState().lastHook().exitCode());
  }

  @Test
  void hook_failureOrTimeoutIsReportedNotFatal() throws Exception {
    server = TestServer.start(dir.resolve("server"));
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    AgentFixture.patchConfig(state, "{\"postRenewHook\": {\"command\": [\"sh\", \"-c\", \"echo reload failed; exit 3\"]}}");

    Renewer.Result failing = AgentFixture.renewer(state, server.clock()).renew(true);
    AgentState.HookRun failed = StateDir.open(state).readState().lastHook();
    AgentFixture.patchConfig(state, "{\"postRenewHook\": {\"command\": [\"sleep\", \"30\"], \"timeout\": \"300ms\"}}");
    Renewer.Result slow = AgentFixture.renewer(state, server.clock()).renew(true);
    AgentState.HookRun killed = StateDir.open(state).readState().lastHook();

    assertEquals(Renewer.Outcome.RENEWED, failing.outcome());
    assertEquals(3, failed.exitCode());
    assertEquals("reload failed", failed.message());
    assertEquals(Renewer.Outcome.RENEWED, slow.outcome());
    assertEquals(null, killed.exitCode());
    assertEquals("killed after 300ms", killed.message());
    String status = AgentFixture.cli("status", "--state", state.toString()).out();
    assertTrue(status.matches("(?s).*\\npost-renew hook: \\d{4}-.*"), status);
  }

  @Test
  void trustRefresh_ignoresAnUnauthenticatedRootAndKeepsTheAnchors() throws Exception {
    TestPki.Ca rogue = TestPki.rootCa("Rogue root");
    List<Boolean> addRogue = new ArrayList<>(List.of(false));
    server = TestServer.start(dir.resolve("server"), "{}", ca -> new ForwardingCa(ca) {
      @Override
      public List<X509Certificate> caCertificates(String label) throws EstException {
        List<X509Certificate> certificates = new ArrayList<>(super.caCertificates(label));
        if (addRogue.get(0)) {
          certificates.add(rogue.certificate());
        }
        return certificates;
      }
    });
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    List<X509Certificate> anchors = StateDir.open(state).trust().anchors();
    addRogue.set(0, true);

    Renewer.Result result = AgentFixture.renewer(state, server.clock()).refreshTrust();

    assertEquals(Renewer.Outcome.NOT_DUE, result.outcome(), result.message());
    assertEquals(anchors, StateDir.open(state).trust().anchors());
    assertEquals(List.of(server.rootCertificate()), anchors);
    assertEquals(List.of(server.issuingCertificate()), StateDir.open(state).trust().intermediates());
    assertTrue(StateDir.open(state).readState().lastTrustRefresh() != null);
  }
}
