package org.estfleet.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.estfleet.agent.store.AgentState;
import org.estfleet.agent.store.CredentialStore;
import org.estfleet.agent.store.StateDir;
import org.estfleet.est.EstException;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.TestClock;
import org.estfleet.server.ForwardingCa;
import org.estfleet.server.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The renewal logic against a real est-server over TLS, on a clock the test moves. */
class RenewerTest {
  @TempDir
  Path dir;

  private TestServer server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  private CredentialStore.Credentials current(Path state) throws Exception {
    return StateDir.open(state).credentials().current().orElseThrow();
  }

  @Test
  void aCertificateIssuedButNotInstalled_isCollectedAgainByTheSameRequest_notIssuedAnew() throws Exception {
    server = TestServer.start(dir.resolve("server"));
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    X509Certificate before = current(state).certificate();
    Renewer renewer = AgentFixture.renewer(state, server.clock());
    Path credentials = state.resolve("credentials");
    // Read-only for root too: immutable (as a full disk would make the install fail).
    Assumptions.assumeTrue(AgentFixture.chattr("+i", credentials), "chattr +i makes a directory read-only for root");
    Renewer.Result failed;
    X509Certificate during;
    try {
      failed = renewer.renew(true);
      during = current(state).certificate();
    } finally {
      AgentFixture.chattr("-i", credentials);
    }
    Renewer.Result collected = renewer.renew(true);

    assertEquals(Renewer.Outcome.FAILED, failed.outcome(), failed.message());
    assertTrue(failed.message().matches("the certificate serial (\\p{XDigit}+) from \\S+ cannot be installed in "
        + java.util.regex.Pattern.quote(credentials.toString()) + ": .+; keeping the certificate in force; the same "
        + "request is sent again"), failed.message());
    assertEquals(before, during, "the pair in force stays");
    assertEquals(Renewer.Outcome.RENEWED, collected.outcome(), collected.message());
    String issued = failed.message().replaceAll("^the certificate serial (\\p{XDigit}+) .*$", "$1");
    assertEquals(issued, Certificates.serialHex(current(state).certificate()),
        "the certificate issued for the first attempt is the one installed, not a new one");
  }

  @Test
  void renew_notDueDoesNothingAndSaysWhen() throws Exception {
    server = TestServer.start(dir.resolve("server"));
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    X509Certificate before = current(state).certificate();
    Renewer renewer = AgentFixture.renewer(state, server.clock());

    Renewer.Result result = renewer.renew(false);

    assertEquals(Renewer.Outcome.NOT_DUE, result.outcome());
    assertEquals(renewer.policy().dueAt(before), result.nextRunAt());
    assertEquals(before, current(state).certificate());
  }

  @Test
  void renew_whenDueInstallsNewKeyAndCertificateAndKeepsThePrevious() throws Exception {
    server = TestServer.start(dir.resolve("server"));
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    CredentialStore.Credentials before = current(state);
    Renewer renewer = AgentFixture.renewer(state, server.clock());
    server.clock().set(renewer.policy().dueAt(before.certificate()).plusSeconds(1));

    Renewer.Result result = renewer.renew(false);

    assertEquals(Renewer.Outcome.RENEWED, result.outcome(), result.message());
    CredentialStore.Credentials after = current(state);
    assertNotEquals(before.certificate().getSerialNumber(), after.certificate().getSerialNumber());
    assertFalse(java.util.Arrays.equals(before.certificate().getPublicKey().getEncoded(),
        after.certificate().getPublicKey().getEncoded()), "a new key at every renewal");
    assertEquals(before.certificate(), StateDir.open(state).credentials().previous().orElseThrow().certificate());
    assertEquals(Files.readString(state.resolve("cert.pem")), Files.readString(after.directory().resolve("cert.pem")));
    assertEquals(before.certificate(), org.estfleet.pki.Pem.readCertificates(state.resolve("cert.pem.prev")).get(0));
    assertEquals(renewer.policy().dueAt(after.certificate()), result.nextRunAt());
    AgentState agentState = StateDir.open(state).readState();
    assertEquals(1, agentState.renewals());
    assertNull(agentState.pending());
  }

  @Test
  void renew_withReuseKeyKeepsTheKey() throws Exception {
    server = TestServer.start(dir.resolve("server"));
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    AgentFixture.patchConfig(state, "{\"reuseKey\": true}");
    CredentialStore.Credentials before = current(state);

    assertEquals(Renewer.Outcome.RENEWED, AgentFixture.renewer(state, server.clock()).renew(true).outcome());

    assertArrayEquals(before.certificate().getPublicKey().getEncoded(), current(state).certificate().getPublicKey().getEncoded());
  }

  @Test
  void serverDown_backsOffThenRecoversWithTheSameCsr() throws Exception {
    AtomicReference<RecordingCa> recorder = new AtomicReference<>();
    server = TestServer.start(dir.resolve("server"), "{}", ca -> {
      recorder.set(new RecordingCa(ca));
      return recorder.get();
    });
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    X509Certificate before = current(state).certificate();
    Renewer renewer = AgentFixture.renewer(state, server.clock());
    server.clock().set(renewer.policy().dueAt(before).plusSeconds(1));
    server.close();

    Renewer.Result first = renewer.renew(false);
    Instant firstAt = server.clock().instant();
    byte[] pendingCsr = StateDir.open(state).pending().load().orElseThrow().csr().der();
    Renewer.Result waiting = renewer.renew(false);
    server.clock().set(first.nextRunAt());
    Renewer.Result second = renewer.renew(false);

    assertEquals(Renewer.Outcome.FAILED, first.outcome());
    assertTrue(first.message().contains("unreachable"), first.message());
    assertTrue(!first.nextRunAt().isAfter(firstAt.plusSeconds(31)), "first backoff at most 30s: " + first.nextRunAt());
    assertEquals(Renewer.Outcome.WAITING, waiting.outcome());
    assertEquals(Renewer.Outcome.FAILED, second.outcome());
    assertEquals(2, StateDir.open(state).readState().consecutiveFailures());
    assertEquals("failing", AgentStatus.of(StateDir.open(state), renewer.config(), renewer, server.clock().instant(),
        Instant.EPOCH).endpoints().get(0).health());

    server.restart();
    server.clock().set(second.nextRunAt());
    Renewer.Result recovered = renewer.renew(false);

    assertEquals(Renewer.Outcome.RENEWED, recovered.outcome(), recovered.message());
    List<byte[]> sent = recorder.get().csrs;
    assertArrayEquals(pendingCsr, sent.get(sent.size() - 1), "the CSR stored before the outage is the one sent");
    assertEquals(0, StateDir.open(state).readState().consecutiveFailures());
    assertEquals(before, StateDir.open(state).credentials().previous().orElseThrow().certificate());
  }

  @Test
  void anUnreadableStateFile_keepsTheRequestInFlight_andTheDamagedFile() throws Exception {
    AtomicReference<RecordingCa> recorder = new AtomicReference<>();
    server = TestServer.start(dir.resolve("server"), "{}", ca -> {
      recorder.set(new RecordingCa(ca));
      return recorder.get();
    });
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    Renewer renewer = AgentFixture.renewer(state, server.clock());
    server.clock().set(renewer.policy().dueAt(current(state).certificate()).plusSeconds(1));
    server.close();
    assertEquals(Renewer.Outcome.FAILED, renewer.renew(false).outcome());
    byte[] pendingCsr = StateDir.open(state).pending().load().orElseThrow().csr().der();
    byte[] damaged = {'{', '"', 'l', (byte) 0xff, (byte) 0xfe};
    Files.write(state.resolve("state.json"), damaged);

    server.restart();
    Renewer.Result recovered = AgentFixture.renewer(state, server.clock()).renew(true);

    assertEquals(Renewer.Outcome.RENEWED, recovered.outcome(), recovered.message());
    List<byte[]> sent = recorder.get().csrs;
    assertArrayEquals(pendingCsr, sent.get(sent.size() - 1), "the request in flight, not a new one");
    assertArrayEquals(damaged, Files.readAllBytes(state.resolve("state.json.unreadable")));
  }

  @Test
  void aDamagedRequestInFlight_isDropped_andTheRenewalGoesOnWithANewOne() throws Exception {
    server = TestServer.start(dir.resolve("server"));
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    Renewer renewer = AgentFixture.renewer(state, server.clock());
    server.clock().set(renewer.policy().dueAt(current(state).certificate()).plusSeconds(1));
    server.close();
    assertEquals(Renewer.Outcome.FAILED, renewer.renew(false).outcome());
    Files.delete(state.resolve("pending/key.pem"));

    server.restart();
    Renewer.Result renewed = AgentFixture.renewer(state, server.clock()).renew(true);

    assertEquals(Renewer.Outcome.RENEWED, renewed.outcome(), renewed.message());
    assertTrue(StateDir.open(state).pending().load().isEmpty());
  }

  @Test
  void aDamagedOrMissingAnchorsPem_isWrittenAgainFromAnchorsJson_theFileFoundKept() throws Exception {
    server = TestServer.start(dir.resolve("server"));
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    Path pem = state.resolve("trust/anchors.pem");
    String exported = Files.readString(pem);
    Renewer renewer = AgentFixture.renewer(state, server.clock());

    Files.writeString(pem, "garbled by a bad disk");
    renewer.repairAnchorsExport();

    assertEquals(exported, Files.readString(pem));
    assertEquals("garbled by a bad disk", Files.readString(state.resolve("trust/anchors.pem.replaced")));
    // The trust refresh job checks it too; a missing export is written again.
    Files.delete(pem);
    assertEquals(Renewer.Outcome.NOT_DUE, renewer.refreshTrust().outcome());
    assertEquals(exported, Files.readString(pem));
    assertEquals(List.of(server.rootCertificate()), StateDir.open(state).trust().anchors());
  }

  @Test
  void missingOrEmptiedAnchors_areRebuiltFromTheRootsBootstrapPemHolds() throws Exception {
    server = TestServer.start(dir.resolve("server"));
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    List<java.security.cert.X509Certificate> anchors = StateDir.open(state).trust().anchors();
    for (boolean deleted : new boolean[] {true, false}) {
      if (deleted) { // without anchors.json the roots are read from anchors.pem (older agents): both gone
        Files.delete(state.resolve("trust/anchors.json"));
        Files.delete(state.resolve("trust/anchors.pem"));
      } else {
        Files.writeString(state.resolve("trust/anchors.json"), "{\"version\": 9, \"anchors\": []}");
      }
      assertEquals(List.of(), StateDir.open(state).trust().anchors());

      Renewer.Result renewed = AgentFixture.renewer(state, server.clock()).renew(true);

      assertEquals(Renewer.Outcome.RENEWED, renewed.outcome(), renewed.message());
      assertEquals(anchors, StateDir.open(state).trust().anchors(), deleted ? "deleted" : "emptied");
    }
  }

  @Test
  void aDamagedIntermediatesFile_isKeptAside_andRebuiltFromCacerts() throws Exception {
    server = TestServer.start(dir.resolve("server"));
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    Path intermediates = state.resolve("trust/intermediates.pem");
    byte[] good = Files.readAllBytes(intermediates);
    byte[] damaged = {'-', '-', '-', '-', '-', 'B', 'E', (byte) 0xc3, (byte) 0xa9};
    Files.write(intermediates, damaged);
    Renewer renewer = AgentFixture.renewer(state, server.clock());

    Renewer.Result renewed = renewer.renew(true);

    assertEquals(Renewer.Outcome.RENEWED, renewed.outcome(), renewed.message());
    assertArrayEquals(good, Files.readAllBytes(intermediates), "rebuilt from /cacerts");
    assertArrayEquals(damaged, Files.readAllBytes(state.resolve("trust/intermediates.pem.unreadable")));
  }

  @Test
  void aDamagedBootstrapFile_failsTheRenewal_andStatusSaysWhy() throws Exception {
    server = TestServer.start(dir.resolve("server"));
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    Files.writeString(state.resolve("trust/bootstrap.pem"), "not a certificate\n");
    Renewer renewer = AgentFixture.renewer(state, server.clock());

    AgentException failed = assertThrows(AgentException.class, () -> renewer.renew(true));

    String expected = "renewal failed: " + state.resolve("trust/bootstrap.pem") + ": no PEM CERTIFICATE block found";
    assertEquals(expected, failed.getMessage());
    AgentState saved = StateDir.open(state).readState();
    assertEquals(expected, saved.lastAttempt().message());
    assertEquals(AgentState.Outcome.FAILED, saved.lastAttempt().outcome());
    assertEquals(1, saved.consecutiveFailures());
    assertArrayEquals("not a certificate\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII),
        Files.readAllBytes(state.resolve("trust/bootstrap.pem")), "the operator's file is left as it is");
    AgentFixture.Run status = AgentFixture.cli("status", "--state", state.toString());
    assertEquals(0, status.exit(), "the certificate in force is still good: " + status.err());
    assertTrue(status.out().contains("FAILING") && status.out().matches("(?s).*\\nproblem: +" + java.util.regex.Pattern
        .quote(state.resolve("trust/bootstrap.pem") + ": no PEM CERTIFICATE block found") + "\\n.*"), status.out());

    Files.writeString(state.resolve("current").toRealPath().resolve("key.pem"), "damaged\n");
    AgentFixture.Run noKey = AgentFixture.cli("status", "--state", state.toString(), "--json");
    assertEquals(3, noKey.exit(), "no usable certificate: " + noKey.err());
    assertTrue(noKey.out().contains("\"state\": \"FAILING\"") && noKey.out().contains("\"problem\": "), noKey.out());
  }

  @Test
  void afterAFailedRenewal_runTriesAgain_afterTheLocalFailuresBackoff_orElseTheLongest() throws Exception {
    server = TestServer.start(dir.resolve("server"));
    Path mine = AgentFixture.enroll(server, dir.resolve("agent-1"), "device-1");
    Path theirs = AgentFixture.enroll(server, dir.resolve("agent-2"), "device-2");
    Renewer renewer = AgentFixture.renewer(mine, server.clock());
    Path bootstrap = mine.resolve("trust/bootstrap.pem");
    byte[] good = Files.readAllBytes(bootstrap);
    Files.writeString(bootstrap, "not a certificate\n");

    assertThrows(AgentException.class, () -> renewer.renew(true));
    Instant afterLocal = renewer.nextAttemptAfterFailure();

    Instant now = server.clock().instant();
    assertTrue(afterLocal.isAfter(now) && afterLocal.isBefore(now.plus(Duration.ofMinutes(2))),
        "the first backoff (30 s, jittered): " + afterLocal);
    assertEquals(afterLocal, StateDir.open(mine).readState().nextAttemptAt(), "as recorded for status");

    // Then a refusal that records no time of its own (another device's pair): the longest backoff,
    // not the time the earlier failure left in state.json, which passes and would mean every second.
    Files.write(bootstrap, good);
    Path pair = mine.resolve("current").toRealPath();
    for (String file : List.of("key.pem", "cert.pem", "chain.pem")) {
      Files.copy(theirs.resolve("current").toRealPath().resolve(file), pair.resolve(file),
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
    assertThrows(AgentException.class, () -> renewer.renew(true));
    Instant longest = server.clock().instant().plus(Duration.ofHours(6)); // retry.max
    Instant next = renewer.nextAttemptAfterFailure();
    assertTrue(!next.isBefore(longest.minusSeconds(5)) && !next.isAfter(longest.plusSeconds(5)), "retry.max: " + next);
  }

  @Test
  void anotherDevicesPairCopiedIn_isNotRenewed_andCostsTheCaNothing() throws Exception {
    server = TestServer.start(dir.resolve("server"));
    Path mine = AgentFixture.enroll(server, dir.resolve("agent-1"), "device-1");
    Path theirs = AgentFixture.enroll(server, dir.resolve("agent-2"), "device-2");
    Path pair = mine.resolve("current").toRealPath();
    for (String file : List.of("key.pem", "cert.pem", "chain.pem")) {
      Files.copy(theirs.resolve("current").toRealPath().resolve(file), pair.resolve(file),
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    AgentException refused = org.junit.jupiter.api.Assertions.assertThrows(AgentException.class,
        () -> AgentFixture.renewer(mine, server.clock()).renew(true));

    assertTrue(refused.getMessage().startsWith("not renewing: the certificate in force names 'device-2', not this device 'device-1'"),
        refused.getMessage());
    assertEquals(1, server.ledger(l -> l.byDevice("device-2")).size(), "nothing issued for the copied pair");
    AgentFixture.Run status = AgentFixture.cli("status", "--state", mine.toString());
    assertTrue(status.out().contains("FAILING") && !status.out().contains("OK"), "not OK: " + status.out());
  }

  @Test
  void pending202_survivesARestartAndResendsTheSameCsr() throws Exception {
    TestClock clock = TestClock.ticking();
    AtomicReference<DeferringCa> deferring = new AtomicReference<>();
    server = TestServer.start(dir.resolve("server"), "{}", clock, ca -> {
      DeferringCa ca202 = new DeferringCa(ca, Duration.ofMinutes(10), clock);
      deferring.set(ca202);
      return ca202;
    });
    Path state = dir.resolve("agent");
    AgentFixture.Run enroll = AgentFixture.cli("enroll", "--state", state.toString(), "--server",
        server.baseUri().toString(), "--trust", server.dataDir().resolve("ca/root.pem").toString(), "--token",
        "device-1:" + server.token("device-1"));
    assertEquals(0, enroll.exit(), enroll.err());
    assertTrue(enroll.out().contains("enrollment pending"), enroll.out());

    AgentState pending = StateDir.open(state).readState();
    Renewer.Result early = AgentFixture.renewer(state, clock).renew(false);
    clock.advance(Duration.ofMinutes(11));
    Renewer restarted = AgentFixture.renewer(state, clock);
    Renewer.Result done = restarted.renew(false);

    assertTrue(pending.pending().accepted());
    assertEquals("simpleenroll", pending.pending().operation());
    assertEquals(Renewer.Outcome.WAITING, early.outcome());
    assertEquals(Renewer.Outcome.ENROLLED, done.outcome(), done.message());
    assertEquals(2, deferring.get().csrs.size());
    assertArrayEquals(deferring.get().csrs.get(0), deferring.get().csrs.get(1));
    assertFalse(Files.exists(state.resolve("pending/csr.der")));
    assertEquals("CN=device-1", current(state).certificate().getSubjectX500Principal().getName());
  }

  @Test
  void aFirstEnrollmentWhoseAnswerWasLost_isCollectedByTheRetry_withTheSameTokenAndCsr() throws Exception {
    // given: a server that records the device's certificate, then fails to answer, once
    TestClock clock = TestClock.ticking();
    List<byte[]> csrs = new java.util.concurrent.CopyOnWriteArrayList<>();
    server = TestServer.start(dir.resolve("server"), "{}", clock, losingAnswer(new AtomicReference<>(true), csrs));
    Path state = dir.resolve("agent");
    AgentFixture.Run enroll = AgentFixture.cli(enrollArgs(state, "device-1:" + server.token("device-1")));
    assertEquals(1, server.ledger(l -> l.byDevice("device-1")).size(), "recorded, though not received");
    String recorded = server.ledger(l -> l.byDevice("device-1")).get(0).serial();

    // when: the agent's next attempt
    clock.advance(Duration.ofMinutes(2));
    Renewer.Result done = AgentFixture.renewer(state, clock).renew(false);

    // then: the certificate recorded the first time, and no second one
    assertEquals(1, enroll.exit(), "the lost answer is a failure for enroll: " + enroll.out());
    assertTrue(enroll.err().contains("the request is kept: renewal-agent run"), enroll.err());
    assertEquals(Renewer.Outcome.ENROLLED, done.outcome(), done.message());
    assertEquals(1, csrs.size(), "the retry was answered from the ledger, not signed again");
    assertEquals(recorded, Certificates.serialHex(current(state).certificate()));
    assertEquals(1, server.ledger(l -> l.byDevice("device-1")).size());
  }

  @Test
  void aFirstEnrollmentCutOffWhileTheCaIssues_leavesItsRequestRecorded_andIsCollectedAsItWas() throws Exception {
    // given: a CA that holds its answer once it has issued; a copy of the state directory taken
    // then is what a power cut (or kill -9) would leave on the device's disk
    java.util.concurrent.CountDownLatch issued = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    server = TestServer.start(dir.resolve("server"), "{}", real -> new ForwardingCa(real) {
      @Override
      public org.estfleet.server.ca.IssueResult issue(org.estfleet.server.ca.IssueRequest request) throws EstException {
        org.estfleet.server.ca.IssueResult result = super.issue(request);
        issued.countDown();
        try {
          release.await(30, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return result;
      }
    });
    Path state = dir.resolve("agent");
    Path cut = dir.resolve("agent-at-the-cut");
    java.util.concurrent.ExecutorService single = java.util.concurrent.Executors.newSingleThreadExecutor();
    AgentFixture.Run first;
    try {
      // The first endpoint is down: the request goes to the second, where it is issued.
      int closed;
      try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
        closed = socket.getLocalPort();
      }
      String[] args = enrollArgs(state, "device-1:" + server.token("device-1"), "--gateway",
          "https://127.0.0.1:" + closed, "--gateways-first");
      java.util.concurrent.Future<AgentFixture.Run> enrolling = single.submit(() -> AgentFixture.cli(args));
      assertTrue(issued.await(30, java.util.concurrent.TimeUnit.SECONDS), "the CA issues");
      assertEquals(0, new ProcessBuilder("cp", "-a", state.toString(), cut.toString()).start().waitFor());
      release.countDown();
      first = enrolling.get(60, java.util.concurrent.TimeUnit.SECONDS);
    } finally {
      release.countDown();
      single.shutdownNow();
    }

    AgentState.Pending recorded = StateDir.open(cut).readState().pending();

    // when: the device is back, and its daemon starts
    AgentFixture.Run resumed = AgentFixture.cli("renew", "--state", cut.toString());

    // then: the same CSR, answered with the certificate issued before the cut, not a second one
    assertEquals(0, first.exit(), first.err());
    assertEquals(server.baseUri().toString().replaceAll("/$", ""), recorded.endpoint(), "where it was sent");
    assertEquals(0, resumed.exit(), resumed.err() + resumed.out());
    assertEquals(Certificates.serialHex(current(state).certificate()), Certificates.serialHex(current(cut).certificate()));
    assertEquals(1, server.ledger(l -> l.byDevice("device-1")).size());
  }

  @Test
  void aBackoffThatWouldPassTheExpiry_isCutShort_whileTheCertificateIsValid() throws Exception {
    // given: a device whose backoff spans six hours, ten minutes before its certificate expires,
    // its server down
    TestClock clock = TestClock.ticking();
    server = TestServer.start(dir.resolve("server"), "{}", clock, java.util.function.UnaryOperator.identity());
    Path state = dir.resolve("agent");
    AgentFixture.Run enrolled = AgentFixture.cli(enrollArgs(state, "device-1:" + server.token("device-1")));
    assertEquals(0, enrolled.exit(), enrolled.err());
    AgentFixture.patchConfig(state, "{\"retry\": {\"initial\": \"6h\", \"max\": \"6h\"}}");
    Instant expires = current(state).certificate().getNotAfter().toInstant();
    server.close();
    clock.set(expires.minus(Duration.ofMinutes(10)));
    Renewer renewer = AgentFixture.renewer(state, clock);

    // when: attempts fail (forced, one after the other)
    List<Instant> scheduled = new java.util.ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Renewer.Result failed = renewer.renew(true);
      assertEquals(Renewer.Outcome.FAILED, failed.outcome(), failed.message());
      scheduled.add(failed.nextRunAt());
    }

    // then: each next attempt is before the expiry (a backoff of up to 6 h would mostly pass it)
    for (Instant next : scheduled) {
      assertTrue(next.isBefore(expires), next + " is after the expiry " + expires);
    }
  }

  @Test
  void enrollWithWait_sendsTheSameCsrAgainAfterRetryAfter_untilIssued() throws Exception {
    TestClock clock = TestClock.ticking();
    AtomicReference<DeferringCa> deferring = new AtomicReference<>();
    server = TestServer.start(dir.resolve("server"), "{}", clock, ca -> {
      DeferringCa ca202 = new DeferringCa(ca, Duration.ofSeconds(1), clock);
      deferring.set(ca202);
      return ca202;
    });
    Path state = dir.resolve("agent");

    AgentFixture.Run enroll =
        AgentFixture.cli(enrollArgs(state, "device-1:" + server.token("device-1"), "--wait", "2m"));

    assertEquals(0, enroll.exit(), enroll.err());
    assertTrue(enroll.out().contains("trying again in "), enroll.out());
    assertTrue(enroll.out().contains("enrolled: serial "), enroll.out());
    List<byte[]> sent = deferring.get().csrs;
    assertTrue(sent.size() >= 2, "sent again after Retry-After: " + sent.size());
    for (byte[] csr : sent) {
      assertArrayEquals(sent.get(0), csr, "the same CSR every time");
    }
    assertEquals("CN=device-1", current(state).certificate().getSubjectX500Principal().getName());
  }

  @Test
  void enrollWithWait_aRefusalEndsItAtOnce() throws Exception {
    server = TestServer.start(dir.resolve("server"));
    server.token("device-1");

    AgentFixture.Run enroll =
        AgentFixture.cli(enrollArgs(dir.resolve("agent"), "device-1:not-the-token", "--wait", "10m"));

    assertEquals(1, enroll.exit());
    assertTrue(enroll.err().contains("HTTP 401"), enroll.err());
    assertFalse(enroll.out().contains("trying again"), enroll.out());
    assertFalse(enroll.err().contains("the request is kept"), enroll.err());
  }

  @Test
  void enrollRunAgainWithTheSameToken_afterALostAnswer_sendsTheKeptRequest() throws Exception {
    TestClock clock = TestClock.ticking();
    server = TestServer.start(dir.resolve("server"), "{}", clock,
        losingAnswer(new AtomicReference<>(true), new java.util.ArrayList<>()));
    String[] enroll = enrollArgs(dir.resolve("agent"), "device-1:" + server.token("device-1"));
    AgentFixture.Run first = AgentFixture.cli(enroll);
    String recorded = server.ledger(l -> l.byDevice("device-1")).get(0).serial();

    AgentFixture.Run again = AgentFixture.cli(enroll);

    assertEquals(1, first.exit(), first.out());
    assertEquals(0, again.exit(), again.err());
    assertEquals(recorded, Certificates.serialHex(current(dir.resolve("agent")).certificate()));
    assertEquals(1, server.ledger(l -> l.byDevice("device-1")).size());
  }

  @Test
  void enrollForce_aFailureIsNotTheOldCertificate_andALostAnswerResumesWithTheSameToken() throws Exception {
    TestClock clock = TestClock.ticking();
    AtomicReference<Boolean> loseAnswer = new AtomicReference<>(false);
    server = TestServer.start(dir.resolve("server"), "{}", clock,
        losingAnswer(loseAnswer, new java.util.ArrayList<>()));
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    X509Certificate old = current(state).certificate();

    AgentFixture.Run refused = AgentFixture.cli(enrollArgs(state, "device-1:not-a-token", "--force"));
    loseAnswer.set(true);
    String token = "device-1:" + server.token("device-1");
    AgentFixture.Run lost = AgentFixture.cli(enrollArgs(state, token, "--force"));
    AgentFixture.Run again = AgentFixture.cli(enrollArgs(state, token, "--force"));

    assertEquals(1, refused.exit(), refused.out());
    assertEquals(1, lost.exit(), lost.out());
    assertEquals(0, again.exit(), again.err());
    List<String> serials = server.ledger(l -> l.byDevice("device-1")).stream().map(r -> r.serial()).toList();
    assertEquals(2, serials.size(), "the first certificate and the forced one, issued once: " + serials);
    assertEquals(serials.get(1), Certificates.serialHex(current(state).certificate()));
    assertNotEquals(old, current(state).certificate());
    // The same server's roots: the anchors stay the version they were (no empty one in between).
    assertFalse(Files.exists(state.resolve("trust/history")), "no new version of the same roots");

    // The same, completed by renew (as run does) rather than enroll again: the kept request goes
    // with its token, and the certificate issued for it is collected, not a second one.
    X509Certificate forced = current(state).certificate();
    loseAnswer.set(true);
    String second = "device-1:" + server.token("device-1");
    AgentFixture.Run lostAgain = AgentFixture.cli(enrollArgs(state, second, "--force"));
    assertEquals(1, lostAgain.exit(), lostAgain.out());
    assertTrue(lostAgain.err().contains("the request is kept"), lostAgain.err());

    Renewer.Result resent = AgentFixture.renewer(state, clock).renew(true);

    assertEquals(Renewer.Outcome.ENROLLED, resent.outcome(), resent.message());
    List<String> after = server.ledger(l -> l.byDevice("device-1")).stream().map(r -> r.serial()).toList();
    assertEquals(3, after.size(), "the forced enrollment's certificate, issued once: " + after);
    assertEquals(after.get(2), Certificates.serialHex(current(state).certificate()));
    assertNotEquals(forced, current(state).certificate());
  }

  /** renewal-agent enroll into {@code state} at {@link #server} with {@code token}, then {@code extra}. */
  private String[] enrollArgs(Path state, String token, String... extra) {
    List<String> args = new java.util.ArrayList<>(List.of("enroll", "--state", state.toString(), "--server",
        server.baseUri().toString(), "--trust", server.dataDir().resolve("ca/root.pem").toString(), "--token", token));
    args.addAll(List.of(extra));
    return args.toArray(String[]::new);
  }

  /**
   * The real CA, remembering each CSR in {@code csrs}, which records a certificate and then
   * fails to answer (503) when {@code lose} is set, once: an answer lost on the way.
   */
  private static java.util.function.UnaryOperator<org.estfleet.server.ca.CertificateAuthority> losingAnswer(
      AtomicReference<Boolean> lose, List<byte[]> csrs) {
    return ca -> new ForwardingCa(ca) {
      @Override
      public org.estfleet.server.ca.IssueResult issue(org.estfleet.server.ca.IssueRequest request) throws EstException {
        csrs.add(request.csr().der());
        org.estfleet.server.ca.IssueResult issued = super.issue(request);
        if (lose.getAndSet(false)) {
          throw EstException.serviceUnavailable("the answer was lost", Duration.ofSeconds(60));
        }
        return issued;
      }
    };
  }

  @Test
  void retryAfter_countsFromTheAnswer_notFromTheStartOfTheAttempt() throws Exception {
    // The CA takes 30 s to answer 202 with Retry-After: 60, then 503 with Retry-After: 600 (the
    // clock moved on by the CA).
    TestClock clock = TestClock.ticking();
    java.util.concurrent.atomic.AtomicBoolean defer = new java.util.concurrent.atomic.AtomicBoolean();
    java.util.concurrent.atomic.AtomicBoolean unavailable = new java.util.concurrent.atomic.AtomicBoolean();
    AtomicReference<Instant> answeredAt = new AtomicReference<>();
    server = TestServer.start(dir.resolve("server"), "{}", clock, ca -> new ForwardingCa(ca) {
      @Override
      public org.estfleet.server.ca.IssueResult issue(org.estfleet.server.ca.IssueRequest request) throws EstException {
        if (!defer.get()) {
          return super.issue(request);
        }
        clock.advance(Duration.ofSeconds(30));
        answeredAt.set(clock.instant());
        if (unavailable.get()) {
          throw EstException.serviceUnavailable("busy", Duration.ofSeconds(600));
        }
        return new org.estfleet.server.ca.IssueResult.Pending(Duration.ofSeconds(60));
      }
    });
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    defer.set(true);

    Renewer.Result pending = AgentFixture.renewer(state, clock).renew(true);
    Instant pendingAnswer = answeredAt.get();
    StateDir agent = StateDir.open(state);
    agent.pending().clear();
    agent.writeState(agent.readState().withPending(null).withFailures(0, null));
    unavailable.set(true);
    Renewer.Result busy = AgentFixture.renewer(state, clock).renew(true);

    assertEquals(Renewer.Outcome.PENDING, pending.outcome(), pending.message());
    assertFalse(pending.nextRunAt().isBefore(pendingAnswer.plusSeconds(60)),
        pending.nextRunAt() + " is less than 60 s after the answer at " + pendingAnswer);
    assertEquals(Renewer.Outcome.FAILED, busy.outcome(), busy.message());
    assertFalse(busy.nextRunAt().isBefore(answeredAt.get().plusSeconds(600)),
        busy.nextRunAt() + " is less than 600 s after the answer at " + answeredAt.get());
  }

  @Test
  void aFirstEnrollmentAnswered503_isFailing_notPending_untilAccepted() throws Exception {
    TestClock clock = TestClock.ticking();
    java.util.concurrent.atomic.AtomicBoolean busy = new java.util.concurrent.atomic.AtomicBoolean(true);
    server = TestServer.start(dir.resolve("server"), "{}", clock, ca -> new ForwardingCa(new DeferringCa(ca,
        Duration.ofSeconds(60), clock)) {
      @Override
      public org.estfleet.server.ca.IssueResult issue(org.estfleet.server.ca.IssueRequest request) throws EstException {
        if (busy.get()) {
          throw EstException.serviceUnavailable("busy", Duration.ofSeconds(1));
        }
        return super.issue(request);
      }
    });
    Path state = dir.resolve("agent");

    AgentFixture.Run unavailable = AgentFixture.cli(enrollArgs(state, "device-1:" + server.token("device-1")));
    AgentFixture.Run failing = AgentFixture.cli("status", "--state", state.toString(), "--json");
    busy.set(false);
    AgentFixture.Run accepted = AgentFixture.cli("renew", "--state", state.toString(), "--force");
    AgentFixture.Run pending = AgentFixture.cli("status", "--state", state.toString(), "--json");

    assertEquals(1, unavailable.exit(), unavailable.err());
    assertEquals(3, failing.exit(), "no usable certificate: " + failing.out());
    assertEquals("FAILING", com.google.gson.JsonParser.parseString(failing.out()).getAsJsonObject().get("state")
        .getAsString(), failing.out());
    assertEquals(0, accepted.exit(), accepted.err());
    assertEquals(3, pending.exit(), pending.out());
    assertEquals("PENDING", com.google.gson.JsonParser.parseString(pending.out()).getAsJsonObject().get("state")
        .getAsString(), pending.out());
  }

  @Test
  void enrollWithWait_notEnrolledWithinIt_exits1AndKeepsTheRequest() throws Exception {
    TestClock clock = TestClock.ticking();
    server = TestServer.start(dir.resolve("server"), "{}", clock,
        ca -> new DeferringCa(ca, Duration.ofSeconds(60), clock));
    Path state = dir.resolve("agent");

    AgentFixture.Run enroll =
        AgentFixture.cli(enrollArgs(state, "device-1:" + server.token("device-1"), "--wait", "2s"));

    assertEquals(1, enroll.exit(), enroll.out());
    assertTrue(enroll.err().contains("not enrolled within --wait 2s"), enroll.err());
    assertTrue(enroll.err().contains("the request is kept"), enroll.err());
    assertTrue(StateDir.open(state).readState().pending().accepted());
  }

  @Test
  void enrollWithWait_aTooManyRequests429_isNotARefusal() throws Exception {
    server = TestServer.start(dir.resolve("server"), "{\"limits\": {\"enrollmentsPerSourcePerMinute\": 1}}");
    Path state = dir.resolve("agent");
    // Another device's enrollment request from this address uses up the minute's one.
    AgentFixture.cli(enrollArgs(dir.resolve("other"), "device-0:" + server.token("device-0")));

    AgentFixture.Run enroll =
        AgentFixture.cli(enrollArgs(state, "device-1:" + server.token("device-1"), "--wait", "2s"));

    assertEquals(1, enroll.exit(), enroll.out());
    assertTrue(enroll.err().contains("too many requests (HTTP 429)"), enroll.err());
    assertTrue(enroll.err().contains("not enrolled within --wait 2s"), "waited, as for a server that is busy: "
        + enroll.err());
    assertEquals(AgentState.Outcome.FAILED, StateDir.open(state).readState().lastAttempt().outcome());
  }

  @Test
  void enrollWithWait_acrossAnUnavailable503_sendsTheSameCsrWithTheSameTokenUntilIssued() throws Exception {
    // One 503: the next attempt comes after the first backoff (up to retry.initial, 30s), not
    // after the 1s of Retry-After alone.
    java.util.concurrent.atomic.AtomicInteger refusals = new java.util.concurrent.atomic.AtomicInteger(1);
    List<byte[]> sent = new java.util.concurrent.CopyOnWriteArrayList<>();
    server = TestServer.start(dir.resolve("server"), "{}", ca -> new ForwardingCa(ca) {
      @Override
      public org.estfleet.server.ca.IssueResult issue(org.estfleet.server.ca.IssueRequest request) throws EstException {
        sent.add(request.csr().der());
        if (refusals.getAndDecrement() > 0) {
          throw EstException.serviceUnavailable("busy", Duration.ofSeconds(1));
        }
        return super.issue(request);
      }
    });
    Path state = dir.resolve("agent");

    AgentFixture.Run enroll =
        AgentFixture.cli(enrollArgs(state, "device-1:" + server.token("device-1"), "--wait", "45s"));

    assertEquals(0, enroll.exit(), enroll.err());
    assertTrue(enroll.out().contains("unavailable (HTTP 503): busy"), enroll.out());
    assertTrue(enroll.out().contains("enrolled: serial "), enroll.out());
    assertEquals(2, sent.size(), "a 503, then the certificate");
    assertArrayEquals(sent.get(0), sent.get(1), "the same CSR, with the same token");
    assertEquals(1, server.ledger(l -> l.byDevice("device-1")).size());
    assertTrue(StateDir.open(state).pending().load().isEmpty());
  }

  @Test
  void retryAfterOf503_isHonoured() throws Exception {
    TestClock clock = TestClock.ticking();
    AtomicReference<Boolean> overloaded = new AtomicReference<>(false);
    server = TestServer.start(dir.resolve("server"), "{}", clock, ca -> new ForwardingCa(ca) {
      @Override
      public org.estfleet.server.ca.IssueResult issue(org.estfleet.server.ca.IssueRequest request) throws EstException {
        if (overloaded.get()) {
          throw EstException.serviceUnavailable("busy", Duration.ofSeconds(900));
        }
        return super.issue(request);
      }
    });
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    overloaded.set(true);
    Instant now = clock.instant();

    Renewer renewer = AgentFixture.renewer(state, clock);
    Renewer.Result result = renewer.renew(true);

    assertEquals(Renewer.Outcome.FAILED, result.outcome());
    assertTrue(result.message().contains("unavailable (HTTP 503)"), result.message());
    assertTrue(!result.nextRunAt().isBefore(now.plusSeconds(900)), "waits the server's Retry-After: " + result.nextRunAt());
    // The kept request goes again then, though the renewal is not due for weeks: status says so.
    assertEquals(result.nextRunAt(), AgentStatus.of(StateDir.open(state), renewer.config(), renewer, clock.instant(),
        Instant.EPOCH).nextRenewal());
  }

  @Test
  void failover_toTheNextEndpointWhenTheFirstIsDownOrUntrusted() throws Exception {
    server = TestServer.start(dir.resolve("server"));
    try (TestServer stranger = TestServer.start(dir.resolve("stranger"))) {
      int deadPort;
      try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
        deadPort = socket.getLocalPort();
      }
      Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
      AgentFixture.patchConfig(state, "{\"endpoints\": [\"https://localhost:" + deadPort + "\", \""
          + stranger.baseUri() + "\", \"" + server.baseUri() + "\"]}");
      Renewer renewer = AgentFixture.renewer(state, server.clock());

      Renewer.Result result = renewer.renew(true);

      assertEquals(Renewer.Outcome.RENEWED, result.outcome(), result.message());
      assertTrue(result.message().contains(server.baseUri().toString()), result.message());
      List<AgentStatus.EndpointView> endpoints = AgentStatus.of(StateDir.open(state), renewer.config(), renewer,
          server.clock().instant(), Instant.EPOCH).endpoints();
      assertEquals("failing", endpoints.get(0).health());
      assertTrue(endpoints.get(0).lastError().startsWith("unreachable"), endpoints.get(0).lastError());
      assertEquals("failing", endpoints.get(1).health());
      assertTrue(endpoints.get(1).lastError().startsWith("TLS trust failure: server certificate"), endpoints.get(1).lastError());
      assertTrue(endpoints.get(1).lastError().contains("does not chain to a trusted root"), endpoints.get(1).lastError());
      assertEquals("ok", endpoints.get(2).health());
    }
  }

  @Test
  void expired_reenrollsWithinTheServersGracePeriod() throws Exception {
    server = TestServer.start(dir.resolve("server"), "{\"reenroll\": {\"gracePeriod\": \"7d\"}}");
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    server.clock().set(current(state).certificate().getNotAfter().toInstant().plus(Duration.ofDays(2)));

    Renewer.Result result = AgentFixture.renewer(state, server.clock()).renew(false);

    assertEquals(Renewer.Outcome.RENEWED, result.outcome(), result.message());
    String serial = Certificates.serialHex(current(state).certificate());
    assertEquals("certificate", server.ledger(l -> l.find(serial)).orElseThrow().authMethod());
  }

  @Test
  void expired_bootstrapsAgainWithTheIdevid() throws Exception {
    org.estfleet.pki.TestPki.Ca factory = org.estfleet.pki.TestPki.rootCa("Factory");
    org.estfleet.pki.TestPki.Held idevid = factory.issue("device-1", b -> b
        .validity(Instant.now().minus(Duration.ofDays(1)), Instant.now().plus(Duration.ofDays(3650)))
        .keyUsage(org.bouncycastle.asn1.x509.KeyUsage.digitalSignature)
        .extendedKeyUsage(org.bouncycastle.asn1.x509.KeyPurposeId.id_kp_clientAuth));
    Path data = dir.resolve("server");
    TestServer.init(data);
    Files.writeString(data.resolve("factory.pem"), org.estfleet.pki.Pem.encode(factory.certificate()));
    server = TestServer.start(data, "{\"bootstrap\": {\"manufacturerCas\": [\"factory.pem\"]}}");
    Path certificate = Files.writeString(dir.resolve("idevid.pem"), org.estfleet.pki.Pem.encode(idevid.chain()));
    Path key = Files.writeString(dir.resolve("idevid.key"), org.estfleet.pki.Pem.encodePrivateKey(idevid.privateKey()));
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    AgentFixture.patchConfig(state, "{\"idevid\": {\"certificate\": \"" + certificate + "\", \"key\": \"" + key + "\"}}");
    server.clock().set(current(state).certificate().getNotAfter().toInstant().plus(Duration.ofDays(2)));

    Renewer.Result result = AgentFixture.renewer(state, server.clock()).renew(false);

    assertEquals(Renewer.Outcome.RENEWED, result.outcome(), result.message());
    String serial = Certificates.serialHex(current(state).certificate());
    assertEquals("idevid", server.ledger(l -> l.find(serial)).orElseThrow().authMethod());
  }

  @Test
  void expired_withoutAnyPathReportsExpiredAndKeepsTrying() throws Exception {
    server = TestServer.start(dir.resolve("server"));
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    X509Certificate before = current(state).certificate();
    server.clock().set(before.getNotAfter().toInstant().plus(Duration.ofDays(2)));
    Renewer renewer = AgentFixture.renewer(state, server.clock());

    Renewer.Result result = renewer.renew(false);
    AgentStatus status = AgentStatus.of(StateDir.open(state), renewer.config(), renewer, server.clock().instant(), Instant.EPOCH);

    assertEquals(Renewer.Outcome.EXPIRED, result.outcome());
    assertTrue(result.message().contains("refused (HTTP 401)"), result.message());
    assertTrue(result.nextRunAt().isAfter(server.clock().instant()), "keeps trying");
    assertEquals("EXPIRED", status.state());
    assertTrue(status.unusable());
    assertEquals(before, current(state).certificate(), "nothing deleted");
  }

  @Test
  void clockSkew_nothingIsAttemptedOrReplaced() throws Exception {
    server = TestServer.start(dir.resolve("server"));
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    X509Certificate before = current(state).certificate();
    TestClock reset = new TestClock(Instant.parse("1970-01-01T00:00:00Z"));
    StateDir stateDir = StateDir.open(state);
    Renewer renewer = new Renewer(stateDir, stateDir.readConfig(), reset, new java.security.SecureRandom(),
        Instant.parse("2026-01-01T00:00:00Z"));

    Renewer.Result result = renewer.renew(true);

    assertEquals(Renewer.Outcome.CLOCK_SKEW, result.outcome());
    assertTrue(result.message().contains("before this agent was built"), result.message());
    assertEquals(before, current(state).certificate());
    assertEquals("CLOCK_SKEW", AgentStatus.of(stateDir, renewer.config(), renewer, reset.instant(),
        Instant.parse("2026-01-01T00:00:00Z")).state());
  }

  @Test
  void neverEnrolled_isExit3() throws Exception {
    Path state = Files.createDirectories(dir.resolve("empty"));

    AgentException e = assertThrows(AgentException.class, () -> AgentFixture.renewer(state, TestClock.ticking()));

    assertEquals(AgentException.NOT_ENROLLED, e.exitCode());
  }
}
