package org.estfleet.agent.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.estfleet.agent.AgentFixture;
import org.estfleet.agent.Renewer;
import org.estfleet.pki.Pem;
import org.estfleet.server.TestServer;
import org.estfleet.server.store.IssuanceRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon's scheduling on the real clock, with certificates living 12 seconds: renewal runs by
 * itself, again and again, with a new key each time.
 */
class AgentSchedulerTest {
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
  void run_renewsRepeatedlyOnItsOwn() throws Exception {
    server = TestServer.start(dir.resolve("server"), "{\"defaultProfile\": {\"lifetime\": \"12s\", \"backdate\": \"0s\"}}");
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    Renewer renewer = AgentFixture.renewer(state, Clock.systemUTC());

    try (AgentScheduler scheduler = new AgentScheduler(2, Clock.systemUTC(), new SecureRandom())) {
      scheduler.add("device-1", renewer);
      Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
      while (server.ledger(l -> l.byDevice("device-1")).size() < 3 && Instant.now().isBefore(deadline)) {
        Thread.sleep(200);
      }
    }

    List<IssuanceRecord> issued = server.ledger(l -> l.byDevice("device-1"));
    assertTrue(issued.size() >= 3, "enrolled and renewed at least twice: " + issued.size());
    Set<String> keys = new HashSet<>();
    for (IssuanceRecord record : issued) {
      keys.add(record.publicKeySha256());
    }
    assertEquals(issued.size(), keys.size(), "a new key at every renewal");
    assertEquals(issued.get(issued.size() - 1).serial(),
        org.estfleet.pki.Certificates.serialHex(Pem.readCertificates(state.resolve("cert.pem")).get(0)),
        "the newest certificate is the one installed");
  }

  @Test
  void run_aRenewalFailedOnALocalFile_isTriedAgainAfterTheBackoff_onceTheFileIsRight() throws Exception {
    server = TestServer.start(dir.resolve("server"), "{\"defaultProfile\": {\"lifetime\": \"12s\", \"backdate\": \"0s\"}}");
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    // The first backoff a second or two; the longest (the old retry after such a failure) 6 hours.
    AgentFixture.patchConfig(state, "{\"retry\": {\"initial\": \"1s\", \"max\": \"6h\"}}");
    Path bootstrap = state.resolve("trust/bootstrap.pem");
    byte[] good = java.nio.file.Files.readAllBytes(bootstrap);
    java.nio.file.Files.writeString(bootstrap, "not a certificate\n");
    Renewer renewer = AgentFixture.renewer(state, Clock.systemUTC());

    try (AgentScheduler scheduler = new AgentScheduler(2, Clock.systemUTC(), new SecureRandom())) {
      scheduler.add("device-1", renewer);
      Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
      while (org.estfleet.agent.store.StateDir.open(state).readState().consecutiveFailures() == 0
          && Instant.now().isBefore(deadline)) {
        Thread.sleep(100); // the renewal (due after 8 s of 12) fails on the file
      }
      assertTrue(org.estfleet.agent.store.StateDir.open(state).readState().consecutiveFailures() > 0,
          "the renewal failed on the damaged file");
      java.nio.file.Files.write(bootstrap, good); // the operator puts it right

      while (server.ledger(l -> l.byDevice("device-1")).size() < 2 && Instant.now().isBefore(deadline)) {
        Thread.sleep(200);
      }
    }

    assertEquals(2, server.ledger(l -> l.byDevice("device-1")).size(), "renewed once the file was right again");
  }

  @Test
  void add_twiceForOneNameIsRefused() throws Exception {
    server = TestServer.start(dir.resolve("server"));
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    Renewer renewer = AgentFixture.renewer(state, Clock.systemUTC());
    try (AgentScheduler scheduler = new AgentScheduler(1, Clock.systemUTC(), new SecureRandom())) {
      scheduler.add("device-1", renewer);

      org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> scheduler.add("device-1", renewer));
      assertEquals(1, scheduler.size());
    }
  }
}
