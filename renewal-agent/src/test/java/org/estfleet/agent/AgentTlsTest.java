package org.estfleet.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.estfleet.agent.store.AgentConfig;
import org.estfleet.agent.store.StateDir;
import org.estfleet.pki.Pem;
import org.estfleet.pki.TestPki;
import org.estfleet.server.TestServer;
import org.estfleet.testing.TlsRelay;
import org.estfleet.tls.TlsProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's TLS ({@code enroll --tls-provider}, {@code tls.provider} in agent.json), read off
 * the wire: the agent reaches est-server through a {@link TlsRelay}, which reads the key
 * exchange the server chose on each connection.
 */
class AgentTlsTest {
  @TempDir
  Path dir;

  @Test
  void onBouncyCastlesTls_everyConnectionHasTheHybridKeyExchange() throws Exception {
    List<List<String>> groups = enrollAndRenew("--tls-provider", "BCJSSE");

    assertEquals(TlsProvider.BCJSSE, StateDir.open(dir.resolve("agent")).readConfig().tls().provider());
    assertAll(groups, "X25519MLKEM768");
  }

  @Test
  void byDefault_theJdksTls_withItsClassicalKeyExchange() throws Exception {
    List<List<String>> groups = enrollAndRenew();

    assertEquals(TlsProvider.SUN_JSSE, StateDir.open(dir.resolve("agent")).readConfig().tls().provider());
    assertTrue(Files.readString(dir.resolve("agent").resolve(StateDir.CONFIG)).contains("\"provider\": \"SunJSSE\""));
    assertAll(groups, "x25519");
  }

  @Test
  void anUnknownTlsProvider_isRefused_exit2_nothingWritten() {
    AgentFixture.Run run = AgentFixture.cli("enroll", "--state", dir.resolve("agent").toString(), "--server",
        "https://127.0.0.1:1", "--trust", dir.resolve("root.pem").toString(), "--token", "device-1:x",
        "--tls-provider", "OpenSSL");

    assertEquals(2, run.exit(), run.err());
    assertTrue(run.err().contains("'OpenSSL' is neither SunJSSE nor BCJSSE"), run.err());
    assertFalse(Files.exists(dir.resolve("agent")));
  }

  @Test
  void onBouncyCastlesTls_aServerTheTrustDoesNotAuthenticate_isATrustFailure_notANetworkOne() throws Exception {
    Files.writeString(dir.resolve("other.pem"), Pem.encode(TestPki.rootCa("Not the server's").certificate()));
    try (TestServer server = TestServer.start(dir.resolve("ca"))) {
      AgentFixture.Run run = AgentFixture.cli("enroll", "--state", dir.resolve("agent").toString(), "--server",
          server.baseUri().toString(), "--trust", dir.resolve("other.pem").toString(), "--token",
          "device-1:" + server.token("device-1"), "--tls-provider", "BCJSSE", "--wait", "1m");

      // A refusal: --wait does not try again for its minute.
      assertEquals(1, run.exit(), run.err());
      assertTrue(run.err().contains("TLS trust failure: server certificate"), run.err());
    }
  }

  @Test
  void enrollForce_withoutTheOption_keepsBouncyCastlesTls() throws Exception {
    try (TestServer server = TestServer.start(dir.resolve("ca"))) {
      Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1", "--tls-provider", "BCJSSE");

      AgentFixture.enroll(server, state, "device-1", "--force");

      assertEquals(TlsProvider.BCJSSE, StateDir.open(state).readConfig().tls().provider());
    }
  }

  @Test
  void enrollForce_onAnAgentJsonThatCannotBeRead_keepsItsTlsProvider_orAsksForOne() throws Exception {
    try (TestServer server = TestServer.start(dir.resolve("ca"))) {
      Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1", "--tls-provider", "BCJSSE");
      Path config = state.resolve(StateDir.CONFIG);
      String written = Files.readString(config);

      // Another setting broken: its tls.provider is still read, and kept.
      Files.writeString(config, written.replaceFirst("\\{", "{\"retry\": {\"initial\": \"abc\"},"));
      AgentFixture.enroll(server, state, "device-1", "--force");
      assertEquals(TlsProvider.BCJSSE, StateDir.open(state).readConfig().tls().provider());

      // Not JSON, or its tls.provider unknown: the operator says which, nothing changed meanwhile.
      for (String damaged : List.of("{\"identity\": ", written.replace("\"BCJSSE\"", "\"bcjsse\""))) {
        Files.writeString(config, damaged);
        byte[] state0 = Files.readAllBytes(state.resolve("state.json"));
        AgentFixture.Run refused = AgentFixture.cli("enroll", "--state", state.toString(), "--server",
            server.baseUri().toString(), "--trust", server.dataDir().resolve("ca/root.pem").toString(), "--token",
            "device-1:" + server.token("device-1"), "--force");

        assertEquals(2, refused.exit(), refused.err());
        assertEquals(1, refused.err().lines().count(), refused.err());
        assertTrue(refused.err().contains("the TLS provider this device used cannot be read (")
            && refused.err().contains("give --tls-provider SunJSSE or BCJSSE"), refused.err());
        assertEquals(damaged, Files.readString(config));
        assertTrue(java.util.Arrays.equals(state0, Files.readAllBytes(state.resolve("state.json"))));
      }
      AgentFixture.enroll(server, state, "device-1", "--force", "--tls-provider", "BCJSSE");
      assertEquals(TlsProvider.BCJSSE, StateDir.open(state).readConfig().tls().provider());
    }
  }

  @Test
  void enrollWithoutForce_onAnEnrolledDevice_saysSo_beforeAskingForItsTlsProvider() throws Exception {
    try (TestServer server = TestServer.start(dir.resolve("ca"))) {
      Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1", "--tls-provider", "BCJSSE");
      Files.writeString(state.resolve(StateDir.CONFIG), "{\"identity\": ");

      AgentFixture.Run refused = AgentFixture.cli("enroll", "--state", state.toString(), "--server",
          server.baseUri().toString(), "--trust", server.dataDir().resolve("ca/root.pem").toString(), "--token",
          "device-1:" + server.token("device-1"));

      assertEquals(2, refused.exit(), refused.err());
      assertTrue(refused.err().contains("is already enrolled (") && refused.err().contains("use --force"),
          refused.err());
      assertFalse(refused.err().contains("--tls-provider"), refused.err());
    }
  }

  /** Enrolls through a relay with {@code options}, then renews; the groups of each connection. */
  private List<List<String>> enrollAndRenew(String... options) throws Exception {
    try (TestServer server = TestServer.start(dir.resolve("ca"));
        TlsRelay relay = new TlsRelay(server.port())) {
      Path state = dir.resolve("agent");
      List<String> args = new ArrayList<>(List.of("enroll", "--state", state.toString(), "--server",
          "https://127.0.0.1:" + relay.port(), "--trust", server.dataDir().resolve("ca/root.pem").toString(),
          "--token", "device-1:" + server.token("device-1")));
      args.addAll(List.of(options));
      AgentFixture.Run enrolled = AgentFixture.cli(args.toArray(String[]::new));
      assertEquals(0, enrolled.exit(), enrolled.err() + enrolled.out());

      Renewer.Result renewed = AgentFixture.renewer(state, Clock.systemUTC()).renew(true);

      assertEquals(Renewer.Outcome.RENEWED, renewed.outcome(), renewed.message());
      return relay.chosenGroups();
    }
  }

  /** At least the four connections of an enrollment and a renewal, each with {@code group} alone. */
  private static void assertAll(List<List<String>> groups, String group) {
    assertTrue(groups.size() >= 4, groups.toString());
    for (List<String> connection : groups) {
      assertEquals(List.of(group), connection, groups.toString());
    }
  }
}
