package org.estfleet.bench.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.estfleet.est.ServerGeneratedKey;
import org.estfleet.json.Json;
import org.estfleet.pki.Pem;
import org.estfleet.pki.TestPki;
import org.estfleet.server.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** est-load against a real est-server over TLS on 127.0.0.1, with small counts: options, counts, outputs. */
class EstLoadTest {
  @TempDir
  Path dir;

  private TestServer server;
  private Path trust;

  @BeforeEach
  void start() throws Exception {
    server = TestServer.start(dir.resolve("server"));
    trust = server.dataDir().resolve("ca/root.pem");
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private record Run(int exit, String out, String err) {}

  private static Run load(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = EstLoad.commandLine(new PrintWriter(out, true), new PrintWriter(err, true)).execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  private List<String> common(String op, String... more) {
    List<String> args = new ArrayList<>(List.of("--url", server.baseUri().toString(), "--op", op, "--trust",
        trust.toString(), "--quiet"));
    args.addAll(List.of(more));
    return args;
  }

  private Run load(List<String> args) {
    return load(args.toArray(String[]::new));
  }

  private Path tokens(String prefix, int count) throws Exception {
    StringBuilder lines = new StringBuilder();
    List<String> ids = new ArrayList<>();
    for (int i = 1; i <= count; i++) {
      ids.add(prefix + "-" + i);
    }
    for (Map.Entry<String, String> token : server.tokens(ids).entrySet()) {
      lines.append(token.getKey()).append(':').append(token.getValue()).append('\n');
    }
    Path file = dir.resolve(prefix + ".tokens");
    Files.writeString(file, lines.toString());
    return file;
  }

  private LoadResult result(Path json) throws Exception {
    return Json.parse(Files.readString(json, StandardCharsets.UTF_8), LoadResult.class, json.toString());
  }

  @Test
  void cacerts_keepAlive_countsAddUp_jsonAndHgrmWritten() throws Exception {
    Path json = dir.resolve("cacerts.json");
    Path hgrm = dir.resolve("cacerts.hgrm");

    Run run = load(common("cacerts", "--count", "40", "--concurrency", "4", "--json", json.toString(), "--hgrm",
        hgrm.toString()));

    assertEquals(0, run.exit(), run.err());
    LoadResult result = result(json);
    assertEquals(40, result.requests());
    assertEquals(40, result.ok());
    assertEquals(Map.of("200", 40L), result.outcomes());
    assertEquals("cacerts", result.op());
    // The run's bounds and settings, for reading the figures later.
    assertEquals(40L, result.countLimit());
    assertEquals(null, result.durationLimitSeconds());
    assertEquals(30.0, result.timeoutSeconds());
    assertEquals(null, result.keyPool());
    assertFalse(result.validateEveryHandshake());
    assertTrue(result.latencyMs().p50() > 0 && result.latencyMs().max() >= result.latencyMs().p99());
    assertTrue(run.out().contains("40 ok"), run.out());
    String percentiles = Files.readString(hgrm);
    assertTrue(percentiles.contains("Value") && percentiles.contains("Percentile") && percentiles.contains("#[Max"),
        percentiles);
  }

  @Test
  void aServerNotUnderTrust_isRefusedAtEveryHandshake_whetherChainsAreRememberedOrNot() throws Exception {
    Path otherRoot = dir.resolve("other-root.pem");
    Files.writeString(otherRoot, Pem.encode(TestPki.rootCa("not the server's").certificate()));
    for (boolean everyHandshake : new boolean[] {false, true}) {
      List<String> args = new ArrayList<>(List.of("--url", server.baseUri().toString(), "--op", "cacerts", "--trust",
          otherRoot.toString(), "--quiet", "--count", "4", "--concurrency", "1", "--new-connection-per-request",
          "--tls-provider", "BCJSSE"));
      if (everyHandshake) {
        args.add("--validate-every-handshake");
      }

      Run run = load(args);

      assertEquals(EstLoad.EXIT_FAILURE, run.exit(), run.out() + run.err());
      assertTrue(run.out().contains("0 ok"), run.out());
    }
    Run trusted = load(common("cacerts", "--count", "4", "--concurrency", "1", "--new-connection-per-request",
        "--tls-provider", "BCJSSE", "--validate-every-handshake"));
    assertEquals(0, trusted.exit(), trusted.err());
    assertTrue(trusted.out().contains("4 ok"), trusted.out());
  }

  @Test
  void aServerCertificateForAnotherHost_isRefused_onBothTlsProviders() throws Exception {
    Path data = dir.resolve("elsewhere");
    org.estfleet.server.Cli.Run init = org.estfleet.server.Cli.run("init", "--data", data.toString(), "--hostname",
        "example.test");
    assertEquals(0, init.exit(), init.err());
    try (TestServer elsewhere = TestServer.start(data)) {
      for (String provider : List.of("SunJSSE", "BCJSSE")) {
        for (boolean everyHandshake : new boolean[] {false, true}) {
          List<String> args = new ArrayList<>(List.of("--url", "https://127.0.0.1:" + elsewhere.baseUri().getPort(),
              "--op", "cacerts", "--trust", data.resolve("ca/root.pem").toString(), "--quiet", "--count", "2",
              "--concurrency", "1", "--tls-provider", provider));
          if (everyHandshake) {
            args.add("--validate-every-handshake");
          }

          Run run = load(args);

          assertEquals(EstLoad.EXIT_FAILURE, run.exit(), provider + ": " + run.out() + run.err());
          assertTrue(run.out().contains("0 ok"), provider + ": " + run.out());
          // Why, once: SunJSSE "No subject alternative names matching IP address 127.0.0.1 found", BCJSSE alike.
          assertTrue(run.err().contains(", the first: ") && run.err().contains("matching IP address 127.0.0.1"),
              provider + ": " + run.err());
        }
        // The same address under the name its certificate has: SNI, Host and the check use it.
        Path json = dir.resolve("named-" + provider + ".json");
        Run named = load("--url", "https://127.0.0.1:" + elsewhere.baseUri().getPort(), "--server-name",
            "example.test", "--op", "cacerts", "--trust", data.resolve("ca/root.pem").toString(), "--quiet", "--count",
            "3", "--concurrency", "1", "--new-connection-per-request", "--tls-provider", provider, "--json",
            json.toString());
        assertEquals(0, named.exit(), provider + ": " + named.err());
        assertEquals(Map.of("200", 3L), result(json).outcomes());
        assertEquals("example.test", result(json).serverName());
        Run otherName = load("--url", "https://127.0.0.1:" + elsewhere.baseUri().getPort(), "--server-name",
            "other.test", "--op", "cacerts", "--trust", data.resolve("ca/root.pem").toString(), "--quiet", "--count",
            "1", "--tls-provider", provider);
        assertEquals(EstLoad.EXIT_FAILURE, otherName.exit(), provider + ": a name the certificate lacks");
      }
    }
  }

  @Test
  void simpleenroll_withTokens_newConnectionEachTime_tls12_rsa() throws Exception {
    Path json = dir.resolve("enroll.json");
    long before = server.ledger(ledger -> ledger.count());

    Run run = load(common("simpleenroll", "--tokens", tokens("load", 6).toString(), "--count", "6", "--concurrency",
        "2", "--new-connection-per-request", "--tls", "1.2", "--key-type", "rsa-2048", "--key-pool", "2", "--json",
        json.toString()));

    assertEquals(0, run.exit(), run.err());
    LoadResult result = result(json);
    assertEquals(6, result.ok(), result.outcomes().toString());
    assertEquals("TLSv1.2", result.tls());
    assertEquals("SunJSSE", result.tlsProvider());
    assertEquals("rsa-2048", result.keyType());
    assertEquals(2, result.keyPool());
    assertTrue(result.newConnectionPerRequest());
    assertEquals(before + 6, (long) server.ledger(ledger -> ledger.count()));
  }

  @Test
  void simpleenroll_withGroups_enrollsOverTheGroupsGiven_andSaysWhich() throws Exception {
    Path json = dir.resolve("groups.json");

    // secp256r1 alone: not the first group of either end's default (what is sent is in EstLoadGroupsTest).
    Run run = load(common("simpleenroll", "--tokens", tokens("groups", 4).toString(), "--count", "4",
        "--concurrency", "2", "--new-connection-per-request", "--tls-provider", "BCJSSE", "--groups", "secp256r1",
        "--json", json.toString()));

    assertEquals(0, run.exit(), run.err());
    LoadResult result = result(json);
    assertEquals(4, result.ok(), result.outcomes().toString());
    assertEquals(List.of("secp256r1"), result.groups());
    assertTrue(run.out().contains("BCJSSE (groups secp256r1)"), run.out());

    Path plain = dir.resolve("default-groups.json");
    assertEquals(0, load(common("cacerts", "--count", "1", "--json", plain.toString())).exit());
    assertNull(result(plain).groups());
    assertFalse(Files.readString(plain).contains("\"groups\""), "the provider's: absent from the JSON");
  }

  @Test
  void serverkeygen_withTokens_eachAnswerAKeyAndItsCertificate() throws Exception {
    Path json = dir.resolve("keygen.json");
    long before = server.ledger(ledger -> ledger.count());

    Run run = load(common("serverkeygen", "--tokens", tokens("keygen", 4).toString(), "--count", "4",
        "--concurrency", "2", "--json", json.toString()));

    assertEquals(0, run.exit(), run.err());
    LoadResult result = result(json);
    assertEquals(4, result.ok(), result.outcomes().toString());
    assertEquals("serverkeygen", result.op());
    assertEquals(1, result.keyPool(), "one CSR key, naming the type of key wanted");
    assertEquals(before + 4, (long) server.ledger(ledger -> ledger.count()));
  }

  @Test
  void serverkeygenAnswers_areChecked_keyAgainstCertificate() throws Exception {
    TestPki.Held held = TestPki.rootCa("Keygen Check Root").issueClient("device-1");
    TestPki.Held other = TestPki.rootCa("Keygen Check Other").issueClient("device-1");
    byte[] good = ServerGeneratedKey.of(held.privateKey(), held.certificate()).encode();
    byte[] mismatched = ServerGeneratedKey.of(other.privateKey(), held.certificate()).encode();

    assertNull(EstLoad.badGeneratedKey(ServerGeneratedKey.CONTENT_TYPE, good));
    assertEquals("the private key is not the certificate's",
        EstLoad.badGeneratedKey(ServerGeneratedKey.CONTENT_TYPE, mismatched));
    assertTrue(EstLoad.badGeneratedKey("application/pkcs7-mime", good).startsWith("not a serverkeygen answer ("));
  }

  @Test
  void simplereenroll_enrollsItsIdentitiesFirstThenReenrollsOverMutualTls() throws Exception {
    Path json = dir.resolve("reenroll.json");
    long before = server.ledger(ledger -> ledger.count());

    Run run = load(common("simplereenroll", "--tokens", tokens("client", 3).toString(), "--identities", "3",
        "--count", "12", "--concurrency", "3", "--tls-provider", "BCJSSE", "--json", json.toString()));

    assertEquals(0, run.exit(), run.err());
    assertTrue(run.err().contains("enrolled 3 client identities"), run.err());
    LoadResult result = result(json);
    assertEquals(12, result.ok(), result.outcomes().toString());
    assertEquals("BCJSSE", result.tlsProvider());
    assertEquals(before + 3 + 12, (long) server.ledger(ledger -> ledger.count()));

    Run timed = load(common("simplereenroll", "--tokens", tokens("timed", 2).toString(), "--identities", "2",
        "--concurrency", "2", "--duration", "1s"));
    assertEquals(0, timed.exit(), timed.err());
    assertTrue(!timed.err().contains("ran out"), "its tokens enrolled the identities, before the run: " + timed.err());
  }

  @Test
  void simplereenroll_identitiesAnswered202_areAskedAgainAfterRetryAfter() throws Exception {
    server.close();
    java.util.Set<String> deferred = java.util.concurrent.ConcurrentHashMap.newKeySet();
    // The first request for each key is held (202, Retry-After 1 s), as a gateway whose CA is away.
    server = TestServer.start(dir.resolve("deferring"), "{}", ca -> new org.estfleet.server.ForwardingCa(ca) {
      @Override
      public org.estfleet.server.ca.IssueResult issue(org.estfleet.server.ca.IssueRequest request)
          throws org.estfleet.est.EstException {
        if (!request.reenroll()
            && deferred.add(org.estfleet.pki.Certificates.publicKeyFingerprint(request.csr().publicKey()))) {
          return new org.estfleet.server.ca.IssueResult.Pending(java.time.Duration.ofSeconds(1));
        }
        return super.issue(request);
      }
    });
    trust = server.dataDir().resolve("ca/root.pem");
    long before = server.ledger(ledger -> ledger.count());

    Run run = load(common("simplereenroll", "--tokens", tokens("held", 2).toString(), "--identities", "2",
        "--concurrency", "2", "--count", "2"));
    Run tooShort = load(common("simplereenroll", "--tokens", tokens("short", 1).toString(), "--identities", "1",
        "--concurrency", "1", "--count", "1", "--timeout", "500ms"));

    assertEquals(0, run.exit(), run.err());
    assertTrue(run.err().contains("enrolled 2 client identities"), run.err());
    assertEquals(before + 2 + 2, (long) server.ledger(ledger -> ledger.count()),
        "each identity issued once, after its 202, then the two re-enrollments");
    assertEquals(3, deferred.size(), "the two identities' and the short run's first requests were held");
    assertEquals(1, tooShort.exit(), tooShort.err());
    assertTrue(tooShort.err().contains("HTTP 202: still pending (Retry-After 1) when --timeout 500ms would end"),
        tooShort.err());
  }

  @Test
  void simplereenroll_moreIdentitiesThanWorkers_presentsEachInTurn_onBothTlsProviders() throws Exception {
    for (String provider : List.of("SunJSSE", "BCJSSE")) {
      String prefix = "turn-" + provider;

      Run run = load(common("simplereenroll", "--tokens", tokens(prefix, 4).toString(), "--identities", "4",
          "--concurrency", "2", "--count", "24", "--new-connection-per-request", "--tls-provider", provider));

      assertEquals(0, run.exit(), run.err());
      assertTrue(run.out().contains("24 ok"), run.out());
      for (int i = 1; i <= 4; i++) {
        String device = prefix + "-" + i;
        // Its enrollment, then at least one re-enrollment over TLS with its certificate.
        int records = server.ledger(ledger -> ledger.byDevice(device)).size();
        assertTrue(records >= 2, device + " was re-enrolled " + (records - 1) + " times");
      }
    }
  }

  @Test
  void tokensUsedUp_stopsEarly() throws Exception {
    Path json = dir.resolve("few.json");

    Run run = load(common("simpleenroll", "--tokens", tokens("few", 3).toString(), "--count", "10", "--json",
        json.toString()));

    assertEquals(0, run.exit(), run.err());
    assertEquals(3, result(json).requests());
    assertTrue(run.err().contains("est-load: the tokens ran out after 3 requests"), run.err());
  }

  @Test
  void refusals_areCountedByStatus_andNoSuccessIsExit1() throws Exception {
    Path wrong = dir.resolve("wrong.tokens");
    Files.writeString(wrong, "device-1:not-a-token\ndevice-2:not-a-token\n");
    Path json = dir.resolve("wrong.json");

    Run run = load(common("simpleenroll", "--tokens", wrong.toString(), "--json", json.toString()));

    assertEquals(1, run.exit());
    assertTrue(run.err().contains("no request succeeded"), run.err());
    assertEquals(Map.of("401", 2L), result(json).outcomes());
    assertEquals(null, result(json).latencyMs(), "no latency where nothing succeeded");
    assertTrue(run.out().contains("latency: none, no request succeeded"), run.out());
    Path table = dir.resolve("wrong.md");
    Report.main(new String[] {dir.resolve("all.json").toString(), table.toString(), "# rows", json.toString()});
    assertTrue(Files.readString(table).contains("| wrong | 8 | 0.0 | - | - | - | - | 0 | 401: 2 |"),
        Files.readString(table));
  }

  @Test
  void nothingListening_isCountedWithoutSpinning() throws Exception {
    int closedPort;
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closedPort = socket.getLocalPort();
    }
    Path json = dir.resolve("refused.json");

    Run run = load("--url", "https://127.0.0.1:" + closedPort, "--op", "cacerts", "--trust", trust.toString(),
        "--quiet", "--duration", "1s", "--concurrency", "2", "--validate-every-handshake", "--timeout", "5s", "--json",
        json.toString());

    assertEquals(EstLoad.EXIT_FAILURE, run.exit(), run.err());
    LoadResult result = result(json);
    assertEquals(1.0, result.durationLimitSeconds());
    assertEquals(null, result.countLimit());
    assertEquals(5.0, result.timeoutSeconds());
    assertTrue(result.validateEveryHandshake());
    assertEquals(Map.of("io:ConnectException", result.requests()), result.outcomes());
    // Each worker waits 100 ms after a refusal: about 20 in the second, not thousands.
    assertTrue(result.requests() >= 2 && result.requests() <= 2 * (1000 / EstLoad.FAILURE_PAUSE.toMillis() + 2),
        "refusals " + result.requests());
    assertTrue(run.err().contains("io:ConnectException, the first: Connection refused"), run.err());
  }

  @Test
  void aServerCertificateRefused_isCountedWithoutSpinning_aResetIsNot() throws Exception {
    Path json = dir.resolve("wrong-name.json");

    // The server's certificate names localhost, not this: every handshake refuses it.
    Run run = load(common("cacerts", "--server-name", "wrong.example", "--duration", "2s", "--concurrency", "4",
        "--new-connection-per-request", "--json", json.toString()));

    assertEquals(EstLoad.EXIT_FAILURE, run.exit(), run.err());
    LoadResult result = result(json);
    assertEquals(Map.of("io:SSLHandshakeException", result.requests()), result.outcomes());
    // 100 ms after each: at most about 20 a worker in 2 s; without the pause, full handshakes back to back.
    assertTrue(result.requests() >= 4 && result.requests() <= 4 * (2000 / EstLoad.FAILURE_PAUSE.toMillis() + 2),
        "refused handshakes " + result.requests());
    assertFalse(EstLoad.isPersistent(new javax.net.ssl.SSLHandshakeException("Remote host terminated the handshake")),
        "a handshake the server cut short (overload) is measured, not paced");
    assertFalse(EstLoad.isPersistent(new java.net.SocketException("Connection reset")));
  }

  /** est-load in its own JVM, as run from a shell: {@code ARGS}, its output read as it comes. */
  private Process estLoadProcess(Path log, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), EstLoad.class.getName()));
    command.addAll(List.of(args));
    return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  private static void awaitLine(Path log, String text, Process process) throws Exception {
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
    while (!Files.readString(log).contains(text)) {
      assertTrue(process.isAlive(), "est-load ended early: " + Files.readString(log));
      assertTrue(System.nanoTime() < deadline, "no '" + text + "' in a minute: " + Files.readString(log));
      Thread.sleep(50);
    }
  }

  @Test
  void interrupted_reportsWhatItMeasured_andWritesItsFiles() throws Exception {
    Path json = dir.resolve("interrupted.json");
    Path hgrm = dir.resolve("interrupted.hgrm");
    Path log = dir.resolve("interrupted.log");
    Process process = estLoadProcess(log, "--url", server.baseUri().toString(), "--op", "cacerts", "--trust",
        trust.toString(), "--duration", "10m", "--concurrency", "2", "--json", json.toString(), "--hgrm",
        hgrm.toString());
    try {
      awaitLine(log, "ok (", process); // the first progress line: the measured run is under way

      process.destroy(); // SIGTERM, as Ctrl-C's SIGINT

      assertTrue(process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS), Files.readString(log));
      assertEquals(143, process.exitValue(), "the signal's exit status: " + Files.readString(log));
      String output = Files.readString(log);
      assertTrue(output.contains("(interrupted; requests in flight then not counted)"), output);
      LoadResult result = result(json);
      assertTrue(result.interrupted());
      assertTrue(result.ok() > 0 && result.ok() == result.requests(), result.toString());
      assertEquals(Map.of("200", result.ok()), result.outcomes());
      assertTrue(result.seconds() >= 1 && result.seconds() < 60, "the time until the interruption: "
          + result.seconds());
      assertTrue(Files.readString(hgrm).contains("#[Max"), "the percentile file written too");
    } finally {
      process.destroyForcibly();
    }
  }

  @Test
  void interruptedWhileEnrollingIdentities_fromAServerThatNeverAnswers_saysSoAtOnce() throws Exception {
    Path log = dir.resolve("silent.log");
    Path tokens = Files.writeString(dir.resolve("silent.tokens"), "d-1:t\n");
    try (java.net.ServerSocket silent = new java.net.ServerSocket(0, 10, java.net.InetAddress.getLoopbackAddress())) {
      Process process = estLoadProcess(log, "--url", "https://127.0.0.1:" + silent.getLocalPort(), "--op",
          "simplereenroll", "--tokens", tokens.toString(), "--trust", trust.toString(), "--timeout", "5m",
          "--count", "1", "--concurrency", "1");
      try (java.net.Socket held = silent.accept()) { // est-load is connected, waiting for a ServerHello
        long signalled = System.nanoTime();

        process.destroy();

        assertTrue(process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS), Files.readString(log));
        assertTrue(System.nanoTime() - signalled < java.util.concurrent.TimeUnit.SECONDS.toNanos(9),
            "not the shutdown hook's 10 s limit: the wait on the socket was ended");
        assertEquals(143, process.exitValue());
        assertTrue(Files.readString(log).contains("est-load: interrupted before the run began; nothing measured"),
            Files.readString(log));
      } finally {
        process.destroyForcibly();
      }
    }
  }

  @Test
  void interruptedInTheWarmup_saysNothingWasMeasured() throws Exception {
    Path json = dir.resolve("warm-interrupted.json");
    Path log = dir.resolve("warm-interrupted.log");
    long before = server.responses().getOrDefault(200, 0L);
    Process process = estLoadProcess(log, "--url", server.baseUri().toString(), "--op", "cacerts", "--trust",
        trust.toString(), "--warmup", "10m", "--duration", "10m", "--concurrency", "1", "--json", json.toString());
    try {
      long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
      while (server.responses().getOrDefault(200, 0L) == before) { // the warm-up has reached the server
        assertTrue(process.isAlive() && System.nanoTime() < deadline, Files.readString(log));
        Thread.sleep(50);
      }

      process.destroy();

      assertTrue(process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS), Files.readString(log));
      assertEquals(143, process.exitValue());
      assertTrue(Files.readString(log).contains("est-load: interrupted during the warm-up; nothing measured"),
          Files.readString(log));
      assertTrue(!Files.exists(json), "no result file for a run that measured nothing");
    } finally {
      process.destroyForcibly();
    }
  }

  @Test
  void durationBound_runsForItsDurationAndStops() throws Exception {
    Path json = dir.resolve("timed.json");

    Run run = load(common("cacerts", "--duration", "1s", "--concurrency", "2", "--json", json.toString()));

    assertEquals(0, run.exit(), run.err());
    LoadResult result = result(json);
    assertTrue(result.seconds() >= 1.0, "ran its second: " + result.seconds());
    assertEquals(result.requests(), result.ok());
  }

  @Test
  void rate_openLoop_sendsOnSchedule() throws Exception {
    Path json = dir.resolve("rate.json");

    Run run = load(common("cacerts", "--rate", "20", "--duration", "2s", "--concurrency", "4", "--json",
        json.toString()));

    assertEquals(0, run.exit(), run.err());
    LoadResult result = result(json);
    assertEquals(20.0, result.offeredRate());
    // 20 a second for 2 s: 40 scheduled sends, give or take the one in flight at the deadline.
    assertTrue(result.requests() >= 30 && result.requests() <= 41, "requests " + result.requests());
    assertTrue(run.out().contains("open loop at 20.0/s"), run.out());
  }

  @Test
  void warmup_runsFirstAndIsNotCounted() throws Exception {
    Path json = dir.resolve("warm.json");

    Run run = load(common("cacerts", "--warmup", "1s", "--count", "5", "--json", json.toString()));

    assertEquals(0, run.exit(), run.err());
    LoadResult result = result(json);
    assertEquals(5, result.requests(), "only the measured requests: " + result.outcomes());
    assertTrue(server.responses().getOrDefault(200, 0L) > 5, "the warm-up sent requests too: " + server.responses());
  }

  @Test
  void warmup_keepAlive_measuredRequestsAllSucceed_onBothTlsProviders() throws Exception {
    for (String provider : List.of("SunJSSE", "BCJSSE")) {
      // given: kept-alive workers whose warm-up connections (checked with a 1 ms read) carry over
      Path json = dir.resolve("carry-" + provider + ".json");

      // when
      Run run = load(common("cacerts", "--tls-provider", provider, "--concurrency", "3", "--warmup", "1s",
          "--count", "12", "--json", json.toString()));

      // then: every measured request went through on them
      assertEquals(0, run.exit(), run.err());
      assertEquals(Map.of("200", 12L), result(json).outcomes(), provider);
    }
  }

  @Test
  void badUsage_isExit2WithOneLine() throws Exception {
    Run noTrust = load("--url", server.baseUri().toString(), "--op", "cacerts");
    Run badOp = load(common("bogus").toArray(String[]::new));
    Run badTls = load(common("cacerts", "--tls", "1.1"));
    Run badProvider = load(common("cacerts", "--tls-provider", "OpenSSL"));
    Run badRate = load(common("cacerts", "--rate", "0"));
    Run noCredentials = load(common("simpleenroll"));
    Run plainHttp = load("--url", "http://127.0.0.1:1", "--op", "cacerts", "--trust", trust.toString());
    Run badTokens = load(common("simpleenroll", "--tokens", Files.writeString(dir.resolve("bad.tokens"), "nocolon\n")
        .toString()));

    Run resumptionAlone = load(common("cacerts", "--tls-resumption"));
    Run noWarmup = load(common("cacerts", "--warmup", "0s"));
    Run noIdentities = load(common("simplereenroll", "--basic", "a:b", "--identities", "0"));
    Run resumedIdentities = load(common("simplereenroll", "--basic", "a:b", "--identities", "3", "--concurrency", "2",
        "--new-connection-per-request", "--tls-resumption"));
    Run pooledReenrollment = load(common("simplereenroll", "--basic", "a:b", "--key-type", "rsa-2048", "--key-pool",
        "4"));
    Run noTimeout = load(common("cacerts", "--timeout", "0s"));
    Run noSuchPort = load("--url", "https://127.0.0.1:99999", "--op", "cacerts", "--trust", trust.toString());
    Run bcResumption = load(common("cacerts", "--new-connection-per-request", "--tls-resumption", "--tls-provider",
        "BCJSSE"));
    Run jsonNowhere = load(common("cacerts", "--json", dir.resolve("missing/result.json").toString()));
    Run noTokensFile = load(common("simpleenroll", "--tokens", dir.resolve("none.tokens").toString()));
    Run userInfo = load("--url", "https://user:pw@127.0.0.1:1", "--op", "cacerts", "--trust", trust.toString());
    Run bothCredentials = load(common("simpleenroll", "--basic", "a:b", "--tokens", "x.tokens"));
    Run idleIdentities = load(common("simplereenroll", "--basic", "a:b", "--identities", "6", "--concurrency", "2"));
    Run badServerName = load(common("cacerts", "--server-name", "est.example:8443"));
    Run identitiesToEnroll = load(common("simpleenroll", "--basic", "a:b", "--identities", "2"));
    long issued = server.ledger(ledger -> ledger.count());
    Run tooFewTokens = load(common("simplereenroll", "--tokens", tokens("few", 2).toString(), "--identities", "4",
        "--new-connection-per-request", "--concurrency", "2", "--count", "2"));

    for (Run run : List.of(noTrust, badOp, badTls, badProvider, badRate, noCredentials, plainHttp, badTokens,
        resumptionAlone, noWarmup, noIdentities, resumedIdentities, pooledReenrollment, noTimeout, noSuchPort,
        bcResumption, jsonNowhere, noTokensFile, userInfo, bothCredentials, idleIdentities, badServerName,
        identitiesToEnroll, tooFewTokens)) {
      assertEquals(2, run.exit(), run.err());
      assertEquals(1, run.err().strip().lines().count(), run.err());
      assertTrue(run.err().startsWith("est-load: "), run.err());
    }
    assertTrue(noCredentials.err().contains("needs --tokens FILE or --basic"), noCredentials.err());
    assertTrue(badTokens.err().contains("line 1: expected ID:TOKEN"), badTokens.err());
    assertTrue(badProvider.err().contains("neither SunJSSE nor BCJSSE"), badProvider.err());
    assertTrue(resumedIdentities.err().contains("as its previous identity"), resumedIdentities.err());
    assertTrue(pooledReenrollment.err().contains("simplereenroll makes a new key each time"), pooledReenrollment.err());
    assertTrue(jsonNowhere.err().contains("missing is not a directory"), jsonNowhere.err());
    assertTrue(noTokensFile.err().contains("none.tokens: no such file"), noTokensFile.err());
    assertTrue(identitiesToEnroll.err().contains("--identities: client certificates are for simplereenroll"),
        identitiesToEnroll.err());
    assertTrue(tooFewTokens.err().contains("--tokens: 2 tokens for 4 client identities"), tooFewTokens.err());
    assertEquals(issued, (long) server.ledger(ledger -> ledger.count()), "no token spent by a run that could not go on");
  }
}
