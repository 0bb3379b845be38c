package org.estfleet.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.estfleet.agent.store.AgentState;
import org.estfleet.json.Json;
import org.estfleet.pki.KeyPairs;
import org.estfleet.pki.Pem;
import org.estfleet.server.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The packaged {@code renewal-agent.jar} as a device runs it: enroll, run, SIGTERM, SIGKILL. */
class AgentProcessTest {
  @TempDir
  Path dir;

  private Path enroll(TestServer server, Path state) throws Exception {
    Path jar = Project.jar("renewal-agent/target/renewal-agent.jar");
    Project.Result enroll = Project.run(dir, Project.java(jar, "enroll", "--state", state.toString(), "--server",
        server.baseUri().toString(), "--trust", server.dataDir().resolve("ca/root.pem").toString(), "--token",
        "device-1:" + server.token("device-1")), Map.of(), 60);
    assertEquals(0, enroll.exit(), enroll.err());
    return jar;
  }

  @Test
  void oneShotCommands_printTheirOutcome_onceAndNotAlsoAsLogLines() throws Exception {
    Path jar = Project.jar("renewal-agent/target/renewal-agent.jar");
    Path state = dir.resolve("agent");
    Project.Result unreachable;
    Project.Result wrongToken;
    Project.Result enrolled;
    Project.Result verbose;
    Project.Result quiet;
    Project.Result quietFromFile;
    Project.Result verboseFromFile;
    Project.Result fromPipe;
    String url;
    try (TestServer server = TestServer.start(dir.resolve("server"))) {
      url = server.baseUri().toString();
      List<String> enroll = List.of("enroll", "--state", state.toString(), "--server", url,
          "--trust", server.dataDir().resolve("ca/root.pem").toString(), "--token");

      wrongToken = Project.run(dir, Project.java(jar, concat(enroll, "device-1:wrong")), Map.of(), 60);
      enrolled = Project.run(dir, Project.java(jar, concat(enroll, "device-1:" + server.token("device-1"))),
          Map.of(), 60);
      verbose = Project.run(dir, Project.java(jar, "renew", "--state", state.toString(), "--force", "--verbose"),
          Map.of(), 60);
      quiet = Project.run(dir, Project.java(jar, "renew", "--state", state.toString(), "--force"), Map.of(), 60);
      // The same from an @file (as a unit file may give them): logged as on the command line.
      Path args = Files.writeString(dir.resolve("renew.args"), "renew\n--state " + state + "\n--force\n");
      Path verboseArgs = Files.writeString(dir.resolve("renew-verbose.args"), "renew --state " + state + " --force "
          + "--verbose\n");
      quietFromFile = Project.run(dir, Project.java(jar, "@" + args), Map.of(), 60);
      verboseFromFile = Project.run(dir, Project.java(jar, "@" + verboseArgs), Map.of(), 60);
      // Read once: a pipe can be read only once (a token kept out of ps by @/dev/stdin).
      fromPipe = Project.run(dir, List.of("sh", "-c", "echo 'renew --state " + state + " --force' | "
          + String.join(" ", Project.java(jar, "@/dev/stdin"))), Map.of(), 60);
    }
    Project.Result fromDirectory = Project.run(dir, Project.java(jar, "@" + dir), Map.of(), 60);
    unreachable = Project.run(dir, Project.java(jar, "renew", "--state", state.toString(), "--force"), Map.of(), 60);

    assertEquals(1, wrongToken.exit(), wrongToken.err());
    assertEquals(List.of("renewal-agent: simpleenroll failed at " + url + ": refused (HTTP 401): unknown device "
        + "or wrong enrollment token for 'device-1'"), stderrLines(wrongToken));
    assertEquals(0, enrolled.exit(), enrolled.err());
    assertEquals(List.of(), stderrLines(enrolled));
    assertTrue(enrolled.out().startsWith("enrolled: serial "), enrolled.out());
    assertEquals(0, verbose.exit(), verbose.err());
    assertTrue(verbose.err().contains("[INFO] Renewer - device-1: renewed: serial "), verbose.err());
    assertEquals(0, quiet.exit(), quiet.err());
    assertEquals(List.of(), stderrLines(quiet));
    assertTrue(quiet.out().startsWith("renewed: serial "), quiet.out());
    assertEquals(0, quietFromFile.exit(), quietFromFile.err());
    assertEquals(List.of(), stderrLines(quietFromFile));
    assertTrue(quietFromFile.out().startsWith("renewed: serial "), quietFromFile.out());
    assertEquals(0, verboseFromFile.exit(), verboseFromFile.err());
    assertTrue(verboseFromFile.err().contains("[INFO] Renewer - device-1: renewed: serial "), verboseFromFile.err());
    assertEquals(0, fromPipe.exit(), fromPipe.err());
    assertTrue(fromPipe.out().startsWith("renewed: serial "), fromPipe.out());
    assertEquals(2, fromDirectory.exit(), fromDirectory.err());
    assertEquals(1, stderrLines(fromDirectory).size(), fromDirectory.err());
    assertTrue(stderrLines(fromDirectory).get(0).startsWith("renewal-agent: ") && fromDirectory.err().contains(dir.toString()),
        fromDirectory.err());
    // Warnings about anything but the outcome still show; the outcome is the last line, once.
    List<String> lines = stderrLines(unreachable);
    assertEquals(1, unreachable.exit(), unreachable.err());
    assertTrue(lines.get(0).contains("[WARN] Renewer - trust refresh failed: /cacerts from " + url), lines.get(0));
    assertTrue(lines.get(lines.size() - 1).startsWith("renewal-agent: failed: simplereenroll failed at " + url),
        unreachable.err());
    assertEquals(2, lines.size(), unreachable.err());
  }

  /** What a command wrote on stderr, without what the JVM itself may print (JAVA_TOOL_OPTIONS). */
  private static List<String> stderrLines(Project.Result result) {
    return result.err().lines().filter(line -> !line.startsWith("Picked up ")).toList();
  }

  private static String[] concat(List<String> args, String last) {
    List<String> all = new java.util.ArrayList<>(args);
    all.add(last);
    return all.toArray(String[]::new);
  }

  @Test
  void run_renewsUntilSigtermThenStopsCleanly() throws Exception {
    try (TestServer server = TestServer.start(dir.resolve("server"),
        "{\"defaultProfile\": {\"lifetime\": \"10s\", \"backdate\": \"0s\"}}")) {
      Path state = dir.resolve("agent");
      Path jar = enroll(server, state);

      Process run = new ProcessBuilder(Project.java(jar, "run", "--state", state.toString()))
          .redirectError(dir.resolve("agent.log").toFile()).start();
      try {
        String line = new BufferedReader(new InputStreamReader(run.getInputStream(), StandardCharsets.UTF_8)).readLine();
        assertEquals("running for device-1 (state " + state + ")", line);
        Project.Result second = Project.run(dir, Project.java(jar, "run", "--state", state.toString()), Map.of(), 60);
        assertEquals(1, second.exit(), second.err());
        assertEquals("renewal-agent: " + state + " is already in use by another renewal-agent run (pid " + run.pid()
            + "); one daemon per state directory", second.err().strip());
        // enroll --force beside it is refused: the daemon would keep the old certificate's schedule.
        Project.Result forced = Project.run(dir, Project.java(jar, "enroll", "--state", state.toString(), "--server",
            server.baseUri().toString(), "--trust", server.dataDir().resolve("ca/root.pem").toString(), "--token",
            "device-1:" + server.token("device-1"), "--force"), Map.of(), 60);
        assertEquals(1, forced.exit(), forced.err());
        assertTrue(forced.err().contains(state + " is in use by renewal-agent run (pid " + run.pid() + "), which would go "
            + "on with the old certificate's schedule: stop it, enroll --force, then start it again"), forced.err());
        Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
        while (server.ledger(l -> l.byDevice("device-1")).size() < 3 && Instant.now().isBefore(deadline)) {
          Thread.sleep(250);
        }
        run.destroy(); // SIGTERM
        assertTrue(run.waitFor(30, TimeUnit.SECONDS));
        assertEquals(143, run.exitValue());
      } finally {
        run.destroyForcibly();
      }
      String log = Files.readString(dir.resolve("agent.log"));
      assertTrue(server.ledger(l -> l.byDevice("device-1")).size() >= 3, "two renewals at least: " + log);
      assertTrue(log.contains("renewed: serial"), log);
      assertTrue(log.contains("stopping"), log);
      AgentState saved = Json.parse(Files.readString(state.resolve("state.json")), AgentState.class, "state.json");
      assertTrue(saved.renewals() >= 2, "state.json records the renewals: " + saved.renewals());

      Process again = new ProcessBuilder(Project.java(jar, "run", "--state", state.toString()))
          .redirectError(ProcessBuilder.Redirect.DISCARD).start();
      try { // the stopped daemon's hold ended with it
        String line = new BufferedReader(new InputStreamReader(again.getInputStream(), StandardCharsets.UTF_8)).readLine();
        assertEquals("running for device-1 (state " + state + ")", line);
      } finally {
        again.destroyForcibly();
        again.waitFor(30, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void hub_damagedIdentities_doNotStopTheOthers_andRenewOnceTheirFilesAreBack() throws Exception {
    // The files are put back once the healthy identity has renewed, ~7 s into the damaged ones'
    // 10 s certificates, and their backoff may carry the next attempt past the expiry: the grace
    // period lets that attempt re-enroll all the same, what this test is about.
    try (TestServer server = TestServer.start(dir.resolve("server"),
        "{\"defaultProfile\": {\"lifetime\": \"10s\", \"backdate\": \"0s\"}, \"reenroll\": {\"gracePeriod\": \"5m\"}}")) {
      Path jar = Project.jar("renewal-agent/target/renewal-agent.jar");
      Path healthy = dir.resolve("healthy");
      Path damaged = dir.resolve("damaged");
      Path untrusting = dir.resolve("untrusting");
      for (Path state : List.of(healthy, damaged, untrusting)) {
        String device = state.getFileName().toString();
        Project.Result enroll = Project.run(dir, Project.java(jar, "enroll", "--state", state.toString(), "--server",
            server.baseUri().toString(), "--trust", server.dataDir().resolve("ca/root.pem").toString(), "--token",
            device + ":" + server.token(device)), Map.of(), 60);
        assertEquals(0, enroll.exit(), enroll.err());
        Files.writeString(state.resolve("agent.json"), Files.readString(state.resolve("agent.json"))
            .replace("\"initial\": \"30s\"", "\"initial\": \"1s\""));
      }
      Path key = damaged.resolve("current").toRealPath().resolve("key.pem");
      byte[] good = Files.readAllBytes(key);
      Files.writeString(key, "-----BEGIN PRIVATE KEY-----\ntruncated\n");
      Path anchors = untrusting.resolve("trust/anchors.json");
      byte[] goodAnchors = Files.readAllBytes(anchors);
      Files.write(anchors, java.util.Arrays.copyOf(goodAnchors, goodAnchors.length / 2));

      Path metrics = dir.resolve("textfile/estfleet.prom");
      Files.createDirectories(metrics.getParent());
      Process run = new ProcessBuilder(Project.java(jar, "run", "--state", healthy.toString(), "--state",
          damaged.toString(), "--state", untrusting.toString(), "--prometheus-file", metrics.toString()))
          .redirectError(dir.resolve("hub.log").toFile()).start();
      try {
        BufferedReader out = new BufferedReader(new InputStreamReader(run.getInputStream(), StandardCharsets.UTF_8));
        assertEquals("running for healthy (state " + healthy + ")", out.readLine(), Files.readString(dir.resolve("hub.log")));
        assertEquals("running for damaged (state " + damaged + ")", out.readLine());
        assertEquals("running for untrusting (state " + untrusting + ")", out.readLine());
        Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
        while (!Files.exists(metrics) && Instant.now().isBefore(deadline)) {
          Thread.sleep(100);
        }
        // Written at start: every identity's series, each gauge declared once.
        String figures = Files.readString(metrics);
        assertEquals(1, figures.lines().filter(line -> line.equals("# TYPE estfleet_agent_state gauge")).count(), figures);
        assertTrue(figures.contains("estfleet_agent_problem{identity=\"healthy\"} 0.0\n"), figures);
        assertTrue(figures.contains("estfleet_agent_problem{identity=\"damaged\"} 1.0\n"), figures);
        assertTrue(figures.contains("estfleet_agent_state{identity=\"damaged\",state=\"FAILING\"} 1.0\n"), figures);
        assertTrue(figures.contains("estfleet_agent_problem{identity=\"untrusting\"} 1.0\n"), figures);
        assertEquals("rw-r--r--", java.nio.file.attribute.PosixFilePermissions.toString(
            Files.getPosixFilePermissions(metrics)), "readable by node_exporter's user");
        while (server.ledger(l -> l.byDevice("healthy")).size() < 2 && Instant.now().isBefore(deadline)) {
          Thread.sleep(250);
        }
        assertTrue(server.ledger(l -> l.byDevice("healthy")).size() >= 2, "the healthy identity renews");
        assertEquals(1, server.ledger(l -> l.byDevice("untrusting")).size(), "no renewal without its anchors");
        Files.write(key, good); // the operator puts the key back
        Files.write(anchors, goodAnchors); // and the anchors
        while ((server.ledger(l -> l.byDevice("damaged")).size() < 2
            || server.ledger(l -> l.byDevice("untrusting")).size() < 2) && Instant.now().isBefore(deadline)) {
          Thread.sleep(250);
        }
      } finally {
        run.destroy();
        run.waitFor(30, TimeUnit.SECONDS);
        run.destroyForcibly();
      }
      String log = Files.readString(dir.resolve("hub.log"));
      assertTrue(!Files.exists(metrics), "a stopped daemon's figures are removed, not left as they were");
      assertTrue(log.contains("damaged: ") && log.contains("renewals fail until it is put right"), log);
      assertTrue(server.ledger(l -> l.byDevice("damaged")).size() >= 2, "renewed once its key was back: " + log);
      assertTrue(log.contains("untrusting: " + anchors) && log.contains("renewals fail until it is restored"), log);
      assertTrue(server.ledger(l -> l.byDevice("untrusting")).size() >= 2, "renewed once its anchors were back: " + log);
    }
  }

  @Test
  void killedMidRenewal_alwaysLeavesAConsistentPair() throws Exception {
    try (TestServer server = TestServer.start(dir.resolve("server"))) {
      Path state = dir.resolve("agent");
      Path jar = enroll(server, state);
      Random random = new Random(42);
      Set<String> installed = new HashSet<>();

      for (int i = 0; i < 12; i++) {
        Process renew = new ProcessBuilder(Project.java(jar, "renew", "--state", state.toString(), "--force"))
            .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        if (!renew.waitFor(200 + random.nextInt(1200), TimeUnit.MILLISECONDS)) {
          renew.destroyForcibly(); // SIGKILL: no shutdown hook, no cleanup
          renew.waitFor(10, TimeUnit.SECONDS);
        }
        X509Certificate certificate = Pem.readCertificates(state.resolve("cert.pem")).get(0);
        PrivateKey key = Pem.readPrivateKey(state.resolve("key.pem"));
        assertTrue(KeyPairs.matches(certificate.getPublicKey(), key), "key.pem and cert.pem agree after kill " + i);
        installed.add(certificate.getSerialNumber().toString(16));
      }

      Project.Result last = Project.run(dir, Project.java(jar, "renew", "--state", state.toString(), "--force"), Map.of(), 60);
      assertEquals(0, last.exit(), last.err());
      Project.Result status = Project.run(dir, Project.java(jar, "status", "--state", state.toString()), Map.of(), 60);
      assertEquals(0, status.exit(), status.err());
      assertTrue(status.out().contains("state:          OK"), status.out());
      List<org.estfleet.server.store.IssuanceRecord> issued = server.ledger(l -> l.byDevice("device-1"));
      assertTrue(issued.size() >= installed.size(), issued.size() + " issued, " + installed.size() + " seen installed");
    }
  }
}
