package org.estfleet.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.estfleet.agent.store.AgentConfig;
import org.estfleet.agent.store.StateDir;
import org.estfleet.agent.store.StateLock;
import org.estfleet.json.Json;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.Pem;
import org.estfleet.pki.TestPki;
import org.estfleet.server.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The renewal-agent command line: what enroll writes, status, and the exit codes. */
class CommandLineTest {
  @TempDir
  Path dir;

  private TestServer server;
  private String trust;

  @BeforeEach
  void start() throws Exception {
    server = TestServer.start(dir.resolve("server"));
    trust = server.dataDir().resolve("ca/root.pem").toString();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void enroll_withTokenWritesKeyCertificateTrustAndSettings() throws Exception {
    Path state = dir.resolve("agent");

    AgentFixture.Run run = AgentFixture.cli("enroll", "--state", state.toString(), "--server", server.baseUri().toString(),
        "--trust", trust, "--token", "device-1:" + server.token("device-1"));

    assertEquals(0, run.exit(), run.err());
    assertTrue(run.out().startsWith("enrolled: serial "), run.out());
    X509Certificate certificate = Pem.readCertificates(state.resolve("cert.pem")).get(0);
    assertEquals("CN=device-1", certificate.getSubjectX500Principal().getName());
    assertEquals(List.of(certificate, server.issuingCertificate()), Pem.readCertificates(state.resolve("chain.pem")));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(state.resolve("key.pem"))));
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(state)));
    assertEquals(List.of(server.rootCertificate()), Pem.readCertificates(state.resolve("trust/anchors.pem")));
    assertTrue(StateDir.open(state).readState().lastTrustRefresh() != null, "enrollment's /cacerts is a trust refresh");
    AgentConfig config = Json.parse(Files.readString(state.resolve("agent.json")), AgentConfig.class, "agent.json");
    assertEquals("device-1", config.identity());
    assertEquals(List.of(server.baseUri()), config.endpoints());
    String written = Files.readString(state.resolve("agent.json"));
    for (String key : List.of("\"fraction\"", "\"jitter\"", "\"initial\": \"30s\"", "\"max\": \"6h\"", "\"connect\": \"10s\"",
        "\"refreshInterval\": \"1d\"", "\"keyType\": \"ec-p256\"", "\"reuseKey\": false")) {
      assertTrue(written.contains(key), "defaults written out: " + key + " in " + written);
    }
  }

  @Test
  void aServerAskingForAnotherKeyType_isWarnedAbout_andTheDevicesKeyTypeKept() throws Exception {
    // /csrattrs as in RFC 7030 section 4.5.2's example: an EC key on secp384r1.
    TestServer.patchConfig(server.dataDir(), "{\"defaultProfile\": {\"csrAttributes\": [{\"oid\": "
        + "\"1.2.840.10045.2.1\", \"values\": [\"1.3.132.0.34\"]}]}}");
    server.restart();
    Path state = dir.resolve("agent");

    String token = server.token("device-1");
    java.io.PrintStream stderr = System.err;
    java.io.ByteArrayOutputStream log = new java.io.ByteArrayOutputStream();
    System.setErr(new java.io.PrintStream(log, true, java.nio.charset.StandardCharsets.UTF_8)); // slf4j-simple's target
    AgentFixture.Run run;
    try {
      run = AgentFixture.cli("enroll", "--state", state.toString(), "--server", server.baseUri().toString(),
          "--trust", trust, "--token", "device-1:" + token);
    } finally {
      System.setErr(stderr);
    }

    String logged = log.toString(java.nio.charset.StandardCharsets.UTF_8);
    assertEquals(0, run.exit(), run.err());
    assertTrue(logged.contains("asks for an EC key on secp384r1; this device makes ec-p256 keys (agent.json keyType)"),
        logged);
    assertEquals(1, logged.split("asks for an EC key", -1).length - 1, "once: " + logged);
  }

  @Test
  void enroll_withIdevidTakesTheIdentityFromItsCn() throws Exception {
    TestPki.Ca factory = TestPki.rootCa("Factory");
    TestPki.Held idevid = factory.issueClient("SN-42");
    Files.writeString(server.dataDir().resolve("factory.pem"), Pem.encode(factory.certificate()));
    TestServer.patchConfig(server.dataDir(), "{\"bootstrap\": {\"manufacturerCas\": [\"factory.pem\"]}}");
    server.restart();
    Path certificate = Files.writeString(dir.resolve("idevid.pem"), Pem.encode(idevid.chain()));
    Path key = Files.writeString(dir.resolve("idevid.key"), Pem.encodePrivateKey(idevid.privateKey()));

    AgentFixture.Run run = AgentFixture.cli("enroll", "--state", dir.resolve("agent").toString(), "--server",
        server.baseUri().toString(), "--trust", trust, "--idevid", certificate.toString(), "--idevid-key", key.toString());

    assertEquals(0, run.exit(), run.err());
    assertEquals("CN=SN-42", Pem.readCertificates(dir.resolve("agent/cert.pem")).get(0).getSubjectX500Principal().getName());
    assertTrue(Files.readString(dir.resolve("agent/agent.json")).contains(certificate.toString()));
  }

  @Test
  void enroll_withIdevidWithoutCn_takesTheIdentityFromItsSerialNumber_andRenews() throws Exception {
    // IEEE 802.1AR: the device's serial number in the subject's serialNumber attribute, no CN.
    TestPki.Ca factory = TestPki.rootCa("Factory");
    TestPki.Held idevid = factory.issue("unused", b -> b.subject(new X500Name("O=Acme,SERIALNUMBER=PID:EF-200 SN:7781"))
        .keyUsage(KeyUsage.digitalSignature).extendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
    Files.writeString(server.dataDir().resolve("factory.pem"), Pem.encode(factory.certificate()));
    TestServer.patchConfig(server.dataDir(), "{\"bootstrap\": {\"manufacturerCas\": [\"factory.pem\"], "
        + "\"idevidIdentity\": [\"cn\", \"serialNumber\"]}}");
    server.restart();
    Path certificate = Files.writeString(dir.resolve("idevid.pem"), Pem.encode(idevid.chain()));
    Path key = Files.writeString(dir.resolve("idevid.key"), Pem.encodePrivateKey(idevid.privateKey()));
    String state = dir.resolve("agent").toString();

    AgentFixture.Run enrolled = AgentFixture.cli("enroll", "--state", state, "--server", server.baseUri().toString(),
        "--trust", trust, "--idevid", certificate.toString(), "--idevid-key", key.toString());
    AgentFixture.Run renewed = AgentFixture.cli("renew", "--state", state, "--force");

    assertEquals(0, enrolled.exit(), enrolled.err());
    assertEquals(0, renewed.exit(), renewed.err());
    assertEquals("CN=PID:EF-200 SN:7781",
        Pem.readCertificates(dir.resolve("agent/cert.pem")).get(0).getSubjectX500Principal().getName());
    assertEquals("PID:EF-200 SN:7781", Json.parse(Files.readString(dir.resolve("agent/agent.json")), AgentConfig.class,
        "agent.json").identity());
  }

  @Test
  void anErrorQuotingALineBreak_isStillOneLine() throws Exception {
    AgentFixture.Run run = AgentFixture.cli("enroll", "--state", dir.resolve("agent").toString(), "--server",
        server.baseUri().toString(), "--trust", trust, "--token", "device-1:abc", "--subject", "device-1\nevil");

    assertEquals(2, run.exit(), run.err());
    assertEquals(1, run.err().lines().count(), run.err());
    assertTrue(run.err().contains("--subject device-1\\nevil differs"), run.err());
  }

  @Test
  void enroll_withIdevid_keepsAnIdentityBeginningWithHashOrBackslashAsItIs() throws Exception {
    // Bouncy Castle reads a string RDN value "#..." as hex and drops a leading backslash.
    TestPki.Ca factory = TestPki.rootCa("Factory");
    Files.writeString(server.dataDir().resolve("factory.pem"), Pem.encode(factory.certificate()));
    TestServer.patchConfig(server.dataDir(), "{\"bootstrap\": {\"manufacturerCas\": [\"factory.pem\"]}}");
    server.restart();
    for (String identity : List.of("#42", "\\43")) {
      TestPki.Held idevid = factory.issue("unused", b -> b.subject(new X500NameBuilder().addRDN(BCStyle.CN,
          new DERUTF8String(identity)).build()).keyUsage(KeyUsage.digitalSignature)
          .extendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
      Path certificate = Files.writeString(dir.resolve("idevid.pem"), Pem.encode(idevid.chain()));
      Path key = Files.writeString(dir.resolve("idevid.key"), Pem.encodePrivateKey(idevid.privateKey()));
      Path state = dir.resolve("agent-" + identity.hashCode());

      AgentFixture.Run enrolled = AgentFixture.cli("enroll", "--state", state.toString(), "--server",
          server.baseUri().toString(), "--trust", trust, "--idevid", certificate.toString(), "--idevid-key", key.toString());
      AgentFixture.Run renewed = AgentFixture.cli("renew", "--state", state.toString(), "--force");

      assertEquals(0, enrolled.exit(), enrolled.err());
      assertEquals(0, renewed.exit(), renewed.err());
      assertEquals(Optional.of(identity), Certificates.commonName(Pem.readCertificates(state.resolve("cert.pem")).get(0)
          .getSubjectX500Principal()));
    }
  }

  @Test
  void enrollUnderALabel_needsATokenForIt_andRenewsUnderIt() throws Exception {
    TestServer.patchConfig(server.dataDir(), "{\"labels\": {\"factory\": {\"lifetime\": \"2h\"}}}");
    server.restart();
    Path state = dir.resolve("agent");
    String[] enroll = {"enroll", "--state", state.toString(), "--server", server.baseUri().toString(), "--trust", trust,
        "--label", "factory", "--token", null};

    enroll[enroll.length - 1] = "device-1:" + server.token("device-1");
    AgentFixture.Run unlabelledToken = AgentFixture.cli(enroll);
    enroll[enroll.length - 1] = "device-1:" + server.tokenFor("device-1", "factory");
    AgentFixture.Run labelledToken = AgentFixture.cli(enroll);
    AgentFixture.Run renewed = AgentFixture.cli("renew", "--state", state.toString(), "--force");

    assertEquals(1, unlabelledToken.exit(), unlabelledToken.err());
    assertTrue(unlabelledToken.err().contains("403")
        && unlabelledToken.err().contains("enrolls only without a label"), unlabelledToken.err());
    assertEquals(0, labelledToken.exit(), labelledToken.err());
    assertEquals(0, renewed.exit(), renewed.err());
    assertTrue(renewed.out().startsWith("renewed: serial "), renewed.out());
    X509Certificate certificate = Pem.readCertificates(state.resolve("cert.pem")).get(0);
    assertEquals("factory", server.ledger(l -> l.find(Certificates.serialHex(certificate))).orElseThrow().label());
    assertEquals(2, server.ledger(l -> l.byDevice("device-1")).size());
    assertTrue(certificate.getNotAfter().toInstant().isBefore(server.clock().instant().plus(Duration.ofHours(2)))
        && certificate.getNotAfter().toInstant().isAfter(server.clock().instant().plus(Duration.ofMinutes(110))),
        "the label's lifetime: " + certificate.getNotAfter());
  }

  @Test
  void enroll_usageErrorsExit2WithOneLine() throws Exception {
    String state = dir.resolve("agent").toString();
    String server = this.server.baseUri().toString();
    Files.writeString(dir.resolve("empty.pem"), "");

    List<AgentFixture.Run> runs = List.of(
        AgentFixture.cli("enroll", "--state", state, "--server", server, "--trust", trust, "--token", "no-colon"),
        AgentFixture.cli("enroll", "--state", state, "--server", server, "--trust", trust),
        AgentFixture.cli("enroll", "--state", state, "--server", server, "--trust", trust, "--token", "a:b", "--idevid", "x", "--idevid-key", "y"),
        AgentFixture.cli("enroll", "--state", state, "--server", server, "--trust", dir.resolve("empty.pem").toString(), "--token", "a:b"),
        AgentFixture.cli("enroll", "--state", state, "--server", server, "--trust", trust, "--token", "a:b", "--subject", "c"),
        AgentFixture.cli("enroll", "--state", state, "--server", "http://plain:80", "--trust", trust, "--token", "a:b"),
        AgentFixture.cli("enroll", "--state", state, "--server", server, "--trust", trust, "--token", "a:b", "--key-type", "dsa"));

    for (AgentFixture.Run run : runs) {
      assertEquals(2, run.exit(), run.err());
      assertEquals(1, run.err().lines().count(), run.err());
      assertTrue(run.err().startsWith("renewal-agent: "), run.err());
    }
    assertTrue(runs.get(5).err().contains("is not an https://host[:port] URL"), runs.get(5).err());
    assertTrue(runs.get(6).err().contains("unknown key type 'dsa'"), runs.get(6).err());
  }

  @Test
  void enroll_againNeedsForce() throws Exception {
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");

    AgentFixture.Run again = AgentFixture.cli("enroll", "--state", state.toString(), "--server", server.baseUri().toString(),
        "--trust", trust, "--token", "device-1:" + server.token("device-1"));
    AgentFixture.Run forced = AgentFixture.cli("enroll", "--state", state.toString(), "--server", server.baseUri().toString(),
        "--trust", trust, "--token", "device-1:" + server.token("device-1"), "--force");

    assertEquals(2, again.exit());
    assertTrue(again.err().contains("is already enrolled"), again.err());
    assertEquals(0, forced.exit(), forced.err());
  }

  @Test
  void enrollForce_thatReachesNoServerItTrusts_leavesTheDeviceAsItWas() throws Exception {
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    StateDir stateDir = StateDir.open(state);
    List<X509Certificate> anchors = stateDir.trust().anchors();
    // agent.json kept elsewhere (configuration management) and linked in: the link comes back.
    Path managed = Files.move(state.resolve("agent.json"), dir.resolve("managed-agent.json"));
    Files.createSymbolicLink(state.resolve("agent.json"), managed);
    String config = Files.readString(state.resolve("agent.json"));
    byte[] bootstrap = Files.readAllBytes(state.resolve("trust/bootstrap.pem"));
    byte[] anchorsFile = Files.readAllBytes(state.resolve("trust/anchors.json"));
    X509Certificate certificate = stateDir.credentials().current().orElseThrow().certificate();
    Path otherRoot = dir.resolve("other-root.pem");
    Files.writeString(otherRoot, Pem.encode(TestPki.rootCa("not the server's").certificate()));
    int closedPort;
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closedPort = socket.getLocalPort();
    }

    AgentFixture.Run unreachable = AgentFixture.cli("enroll", "--state", state.toString(), "--server",
        "https://127.0.0.1:" + closedPort, "--trust", trust, "--token", "device-1:whatever", "--force");
    AgentFixture.Run wrongTrust = AgentFixture.cli("enroll", "--state", state.toString(), "--server",
        server.baseUri().toString(), "--trust", otherRoot.toString(), "--token", "device-1:whatever", "--force");

    for (AgentFixture.Run run : List.of(unreachable, wrongTrust)) {
      assertEquals(1, run.exit(), run.err());
      assertTrue(run.err().contains("nothing changed: the settings, trust anchors and state from before --force are "
          + "back"), run.err());
      assertEquals(anchors, stateDir.trust().anchors());
      assertEquals(config, Files.readString(state.resolve("agent.json")));
      assertEquals(managed, Files.readSymbolicLink(state.resolve("agent.json")));
      assertTrue(java.util.Arrays.equals(anchorsFile, Files.readAllBytes(state.resolve("trust/anchors.json"))),
          "the same version");
      assertFalse(Files.exists(state.resolve("trust/history")), "no version written, so none kept in the history");
      assertTrue(java.util.Arrays.equals(bootstrap, Files.readAllBytes(state.resolve("trust/bootstrap.pem"))));
      assertEquals(certificate, stateDir.credentials().current().orElseThrow().certificate());
    }
    AgentFixture.Run renew = AgentFixture.cli("renew", "--state", state.toString(), "--force");
    assertEquals(0, renew.exit(), "the device still renews with its server: " + renew.err());
  }

  @Test
  void theCurrentLinkRemoved_saysWhichPairToPutBack() throws Exception {
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    Path pair = state.resolve("current").toRealPath();
    Files.delete(state.resolve("current"));

    AgentFixture.Run renew = AgentFixture.cli("renew", "--state", state.toString(), "--force");

    assertEquals(3, renew.exit(), renew.err());
    String relative = state.relativize(pair).toString();
    assertTrue(renew.err().contains("; but " + relative + " holds a pair: if the link 'current' was removed by mistake, "
        + "put it back (ln -sfn " + relative + " " + state.resolve("current") + ")"), renew.err());
    Files.createSymbolicLink(state.resolve("current"), Path.of(relative)); // as the hint says
    assertEquals(0, AgentFixture.cli("renew", "--state", state.toString(), "--force").exit());
  }

  @Test
  void enrollForce_whileTheStateIsLocked_changesNothing() throws Exception {
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    StateDir stateDir = StateDir.open(state);
    List<X509Certificate> anchors = stateDir.trust().anchors();
    String config = Files.readString(state.resolve("agent.json"));
    X509Certificate certificate = stateDir.credentials().current().orElseThrow().certificate();

    String token = server.token("device-1");
    AgentFixture.Run forced;
    ExecutorService other = Executors.newSingleThreadExecutor();
    try (StateLock held = stateDir.lock()) { // a renewal-agent run mid-attempt, on another thread of this process
      forced = other.submit(() -> AgentFixture.cli("enroll", "--state", state.toString(), "--server",
          server.baseUri().toString(), "--trust", trust, "--token", "device-1:" + token, "--force", "--key-type",
          "rsa-2048")).get();
    } finally {
      other.shutdown();
    }

    assertEquals(1, forced.exit(), forced.err());
    assertTrue(forced.err().contains("in use by another agent"), forced.err());
    assertEquals(anchors, stateDir.trust().anchors());
    assertEquals(config, Files.readString(state.resolve("agent.json")));
    assertEquals(certificate, stateDir.credentials().current().orElseThrow().certificate());
  }

  @Test
  void aDamagedPairInForce_isNamed_andEnrollForceReplacesIt() throws Exception {
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    Path pair = state.resolve("current").toRealPath();
    Files.delete(pair.resolve("cert.pem"));

    AgentFixture.Run again = AgentFixture.cli("enroll", "--state", state.toString(), "--server",
        server.baseUri().toString(), "--trust", trust, "--token", "device-1:" + server.token("device-1"));
    AgentFixture.Run forced = AgentFixture.cli("enroll", "--state", state.toString(), "--server",
        server.baseUri().toString(), "--trust", trust, "--token", "device-1:" + server.token("device-1"), "--force");

    assertEquals(2, again.exit(), again.err());
    assertTrue(again.err().contains("cert.pem: no such file") && again.err().contains("enroll again with --force"),
        again.err());
    assertEquals(0, forced.exit(), forced.err());
    assertEquals(0, AgentFixture.cli("status", "--state", state.toString()).exit());
  }

  @Test
  void renew_onAClockBeforeTheCertificateInForce_saysClockSkewOnce_andLeavesThePair() throws Exception {
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    Path cert = state.resolve("current").toRealPath().resolve("cert.pem");
    X509Certificate enrolled = Pem.readCertificates(cert).get(0);
    // Its own certificate, as the CA would issue it on a clock a day ahead of the device's.
    java.time.Instant tomorrow = java.time.Instant.now().plus(java.time.Duration.ofDays(1));
    X509Certificate ahead = new org.estfleet.pki.CertificateBuilder()
        .subject(org.bouncycastle.asn1.x500.X500Name.getInstance(enrolled.getSubjectX500Principal().getEncoded()))
        .publicKey(enrolled.getPublicKey())
        .serial(org.estfleet.pki.CertificateBuilder.randomSerial(org.estfleet.pki.TestPki.RANDOM))
        .validity(tomorrow, tomorrow.plus(java.time.Duration.ofDays(30)))
        .keyUsage(org.bouncycastle.asn1.x509.KeyUsage.digitalSignature)
        .extendedKeyUsage(org.bouncycastle.asn1.x509.KeyPurposeId.id_kp_clientAuth)
        .signWith(server.issuingCertificate(), server.issuingKey());
    Files.writeString(cert, Pem.encode(List.of(ahead)));

    AgentFixture.Run renew = AgentFixture.cli("renew", "--state", state.toString(), "--force");

    assertEquals(1, renew.exit(), renew.err());
    assertTrue(renew.err().startsWith("renewal-agent: clock skew: the device clock ("), renew.err());
    assertTrue(renew.err().contains(") is before the certificate in force became valid ("), renew.err());
    assertEquals(1, renew.err().split("clock skew", -1).length - 1, renew.err());
    assertEquals(ahead, Pem.readCertificates(cert).get(0), "the pair in force is kept");
  }

  /** {@code run} logs it and goes on (AgentProcessTest's hub test). */
  @Test
  void aDamagedAnchorsFile_stopsRenew_andStatusShowsItAsAProblem_sayingWhereTheRootsAre() throws Exception {
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    Path anchors = state.resolve("trust/anchors.json");
    Files.write(anchors, java.util.Arrays.copyOf(Files.readAllBytes(anchors), 200)); // cut short by a failing disk

    AgentFixture.Run status = AgentFixture.cli("status", "--state", state.toString());
    AgentFixture.Run prometheus = AgentFixture.cli("status", "--state", state.toString(), "--prometheus");
    AgentFixture.Run renewNotDue = AgentFixture.cli("renew", "--state", state.toString());
    Files.delete(anchors);
    Files.createSymbolicLink(anchors, Path.of("/dev/zero")); // a device in its place: refused, not read
    AgentFixture.Run zero = AgentFixture.cli("status", "--state", state.toString());

    String restore = "; the roots it held are in " + state.resolve("trust/anchors.pem")
        + ": restore it, or enroll again with renewal-agent enroll --force";
    assertEquals(1, renewNotDue.exit(), renewNotDue.err());
    assertEquals(1, renewNotDue.err().lines().count(), renewNotDue.err());
    assertTrue(renewNotDue.err().startsWith("renewal-agent: " + anchors + ": "), renewNotDue.err());
    assertTrue(renewNotDue.err().strip().endsWith(restore), renewNotDue.err());
    // status reports it, the certificate still in force: what a monitoring system must see.
    assertEquals(0, status.exit(), status.err());
    assertTrue(status.out().contains("state:          FAILING\n"), status.out());
    String problem = status.out().lines().filter(line -> line.startsWith("problem:")).findFirst().orElseThrow();
    assertTrue(problem.startsWith("problem:        " + anchors + ": ") && problem.endsWith(restore), problem);
    assertTrue(status.out().contains("certificate:    serial "), status.out());
    assertEquals(0, prometheus.exit(), prometheus.err());
    assertTrue(prometheus.out().contains("estfleet_agent_problem{identity=\"device-1\"} 1.0\n"), prometheus.out());
    assertTrue(prometheus.out().contains("estfleet_agent_state{identity=\"device-1\",state=\"FAILING\"} 1.0\n"),
        prometheus.out());
    assertEquals(0, zero.exit(), zero.err());
    assertTrue(zero.out().contains("problem:        " + anchors + ": not a regular file (a device, a pipe or a socket)"
        + restore + "\n"), zero.out());
  }

  @Test
  void anEmptiedTrustDirectory_isTheDevicesProblem_notTheServers() throws Exception {
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    for (String name : List.of("anchors.json", "anchors.pem", "bootstrap.pem")) {
      Files.delete(state.resolve("trust").resolve(name));
    }

    AgentFixture.Run renewNotDue = AgentFixture.cli("renew", "--state", state.toString());
    AgentFixture.Run renew = AgentFixture.cli("renew", "--state", state.toString(), "--force");
    AgentFixture.Run status = AgentFixture.cli("status", "--state", state.toString());

    String expected = "no trust anchors: " + state.resolve("trust") + " holds no root (anchors.json, anchors.pem) nor "
        + "bootstrap.pem to authenticate the server by; restore them, or enroll again with renewal-agent enroll --force "
        + "--trust CAFILE";
    assertEquals(0, status.exit(), "the certificate in force is still good: " + status.err());
    assertTrue(status.out().matches("(?s).*\\nstate: +FAILING\\nproblem: +" + java.util.regex.Pattern.quote(expected)
        + "\\n.*"), status.out());
    assertTrue(status.out().contains("last attempt:   ") && status.out().contains(" failed: renewal failed: " + expected),
        "recorded as a failed attempt, which run makes again after the backoff: " + status.out());
    assertEquals(0, renewNotDue.exit(), "nothing to do before it is due: " + renewNotDue.err());
    assertEquals(1, renew.exit(), renew.err());
    assertEquals("renewal-agent: renewal failed: " + expected, renew.err().strip());
  }

  @Test
  void aStateDirectoryThatCannotBeWritten_isAProblemStatusShows() throws Exception {
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    AgentFixture.Run before = AgentFixture.cli("status", "--state", state.toString());
    // Read-only for root too (as a file system remounted read-only).
    Assumptions.assumeTrue(AgentFixture.chattr("+i", state), "chattr +i makes a directory read-only for root");
    AgentFixture.Run status;
    AgentFixture.Run renew;
    try {
      status = AgentFixture.cli("status", "--state", state.toString(), "--json");
      renew = AgentFixture.cli("renew", "--state", state.toString(), "--force");
    } finally {
      AgentFixture.chattr("-i", state);
    }

    assertTrue(before.out().contains("state:          OK"), before.out());
    assertEquals(0, status.exit(), status.err());
    assertTrue(status.out().contains("\"state\": \"FAILING\""), status.out());
    assertTrue(status.out().contains("\"problem\": \"" + state + " cannot be written (a read-only file system, its "
        + "mode, owner or attributes): a renewal can be neither installed nor recorded\""), status.out());
    assertEquals(1, renew.exit(), renew.err());
  }

  @Test
  void aFileWhereThePendingRequestIsKept_isNamed() throws Exception {
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    Files.delete(state.resolve("pending")); // empty between requests
    Files.writeString(state.resolve("pending"), "left here by hand\n");

    AgentFixture.Run renew = AgentFixture.cli("renew", "--state", state.toString(), "--force");

    assertEquals(1, renew.exit(), renew.err());
    assertEquals("renewal-agent: renewal failed: " + state.resolve("pending") + " is not a directory (a file, or a link "
        + "to one): the agent keeps the key and CSR of a request in flight there; move it away", renew.err().strip());
    assertEquals("left here by hand\n", Files.readString(state.resolve("pending")));
  }

  @Test
  void settingsOrStateLinkedToADevice_areRefusedInOneLine_notReadIntoMemory() throws Exception {
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    Path config = state.resolve("agent.json");
    Path saved = Files.move(config, dir.resolve("agent.json.saved"));
    Files.createSymbolicLink(config, Path.of("/dev/zero"));
    AgentFixture.Run linkedConfig = AgentFixture.cli("status", "--state", state.toString());
    Files.delete(config);
    Files.move(saved, config);
    Path stateFile = state.resolve("state.json");
    Files.move(stateFile, dir.resolve("state.json.saved"));
    Files.createSymbolicLink(stateFile, Path.of("/dev/zero"));
    AgentFixture.Run linkedState = AgentFixture.cli("renew", "--state", state.toString());

    assertEquals(2, linkedConfig.exit(), linkedConfig.err());
    assertEquals("renewal-agent: cannot read " + config + ": not a regular file (a device, a pipe or a socket)",
        linkedConfig.err().strip());
    assertEquals(1, linkedState.err().lines().count(), linkedState.err());
    assertTrue(linkedState.err().contains("state.json") && linkedState.err().contains("not a regular file"),
        linkedState.err());
  }

  @Test
  void aFileGivenAsTheStateDirectory_isAUsageError() throws Exception {
    Path file = Files.writeString(dir.resolve("not-a-directory"), "x");

    AgentFixture.Run enroll = AgentFixture.cli("enroll", "--state", file.toString(), "--server",
        server.baseUri().toString(), "--trust", trust, "--token", "device-1:x");
    AgentFixture.Run status = AgentFixture.cli("status", "--state", file.toString());

    for (AgentFixture.Run run : List.of(enroll, status)) {
      assertEquals(2, run.exit(), run.err());
      assertEquals("renewal-agent: " + file + " is a file, not a state directory", run.err().trim());
    }
    assertEquals("x", Files.readString(file));
  }

  @Test
  void aCertificateInForceWithoutAgentJson_isSaidSo_notNeverEnrolled() throws Exception {
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    Files.delete(state.resolve(StateDir.CONFIG));

    AgentFixture.Run status = AgentFixture.cli("status", "--state", state.toString());
    AgentFixture.Run renew = AgentFixture.cli("renew", "--state", state.toString());

    for (AgentFixture.Run refused : List.of(status, renew)) {
      assertEquals(2, refused.exit(), refused.err());
      assertEquals("renewal-agent: " + state + " holds a certificate but no agent.json: restore it (its settings: "
          + "identity, endpoints, label), or enroll again with renewal-agent enroll --force --state " + state,
          refused.err().trim());
    }
  }

  @Test
  void anEmptyStateDirectory_isAUsageError_notTheCurrentDirectory() throws Exception {
    // What a script's unset variable gives: --state "$DIR".
    AgentFixture.Run enroll = AgentFixture.cli("enroll", "--state", "", "--server", server.baseUri().toString(),
        "--trust", trust, "--token", "device-1:x");
    AgentFixture.Run status = AgentFixture.cli("status", "--state", " ");
    AgentFixture.Run run = AgentFixture.cli("run", "--state", "");

    for (AgentFixture.Run refused : List.of(enroll, status, run)) {
      assertEquals(2, refused.exit(), refused.err());
      assertEquals(1, refused.err().lines().count(), refused.err());
      assertTrue(refused.err().contains("--state") && refused.err().contains("an empty path"), refused.err());
    }
    assertFalse(Files.exists(Path.of("agent.json")), "nothing written in the current directory");
  }

  @Test
  void enroll_failuresExit1WithTheCause() throws Exception {
    TestPki.Ca other = TestPki.rootCa("Not the server's");
    Files.writeString(dir.resolve("other.pem"), Pem.encode(other.certificate()));

    AgentFixture.Run wrongTrust = AgentFixture.cli("enroll", "--state", dir.resolve("a").toString(), "--server",
        server.baseUri().toString(), "--trust", dir.resolve("other.pem").toString(), "--token", "device-1:x");
    AgentFixture.Run wrongToken = AgentFixture.cli("enroll", "--state", dir.resolve("b").toString(), "--server",
        server.baseUri().toString(), "--trust", trust, "--token", "device-1:wrong");

    assertEquals(1, wrongTrust.exit());
    assertTrue(wrongTrust.err().contains("TLS trust failure: server certificate"), wrongTrust.err());
    assertEquals(1, wrongToken.exit());
    assertTrue(wrongToken.err().contains("refused (HTTP 401): unknown device or wrong enrollment token"), wrongToken.err());
    AgentFixture.Run status = AgentFixture.cli("status", "--state", dir.resolve("b").toString());
    assertEquals(3, status.exit());
    assertEquals("renewal-agent: no usable certificate (NOT_ENROLLED)", status.err().trim());
    // A refused request is not kept: status does not call it pending, nor promise to resend it.
    assertFalse(status.out().contains("PENDING"), status.out());
    assertFalse(wrongToken.err().contains("the request is kept"), wrongToken.err());
    assertTrue(StateDir.open(dir.resolve("b")).pending().load().isEmpty());
  }

  @Test
  void status_textAndJson() throws Exception {
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    X509Certificate certificate = Pem.readCertificates(state.resolve("cert.pem")).get(0);

    AgentFixture.Run text = AgentFixture.cli("status", "--state", state.toString());
    AgentFixture.Run json = AgentFixture.cli("status", "--state", state.toString(), "--json");

    assertEquals(0, text.exit(), text.err());
    assertTrue(text.out().contains("identity:       device-1"), text.out());
    assertTrue(text.out().contains("state:          OK"), text.out());
    assertTrue(text.out().contains(org.estfleet.pki.Certificates.serialHex(certificate)), text.out());
    assertTrue(text.out().contains("trust anchor:   active"), text.out());
    assertTrue(text.out().contains("endpoint:       " + server.baseUri() + " ok"), text.out());
    assertEquals(0, json.exit());
    JsonObject status = JsonParser.parseString(json.out()).getAsJsonObject();
    assertEquals("OK", status.get("state").getAsString());
    assertEquals(org.estfleet.pki.Certificates.serialHex(certificate),
        status.getAsJsonObject("certificate").get("serial").getAsString());
    assertNotNull(status.get("nextRenewal"));
    assertEquals("active", status.getAsJsonArray("trustAnchors").get(0).getAsJsonObject().get("state").getAsString());
  }

  @Test
  void status_prometheus_forATextfileCollector() throws Exception {
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    X509Certificate certificate = Pem.readCertificates(state.resolve("cert.pem")).get(0);
    String serial = org.estfleet.pki.Certificates.serialHex(certificate);

    AgentFixture.Run prometheus = AgentFixture.cli("status", "--state", state.toString(), "--prometheus");
    AgentFixture.Run both = AgentFixture.cli("status", "--state", state.toString(), "--prometheus", "--json");
    Files.delete(state.resolve("current").toRealPath().resolve("key.pem"));
    AgentFixture.Run noKey = AgentFixture.cli("status", "--state", state.toString(), "--prometheus");

    assertEquals(0, prometheus.exit(), prometheus.err());
    java.util.Map<String, String> samples = new java.util.HashMap<>();
    for (String line : prometheus.out().split("\n")) {
      if (!line.startsWith("#") && !line.isBlank()) {
        samples.put(line.substring(0, line.lastIndexOf(' ')), line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    String id = "identity=\"device-1\"";
    assertEquals("1.0", samples.get("estfleet_agent_state{" + id + ",state=\"OK\"}"), prometheus.out());
    assertEquals("0.0", samples.get("estfleet_agent_state{" + id + ",state=\"EXPIRED\"}"));
    assertEquals(certificate.getNotAfter().getTime() / 1000.0, Double.parseDouble(
        samples.get("estfleet_agent_certificate_expiry_timestamp_seconds{" + id + ",serial=\"" + serial + "\"}")));
    assertEquals("0.0", samples.get("estfleet_agent_consecutive_failures{" + id + "}"));
    assertEquals("0.0", samples.get("estfleet_agent_problem{" + id + "}"));
    assertEquals("1.0", samples.get("estfleet_agent_endpoint_up{" + id + ",url=\"" + server.baseUri() + "\"}"));
    assertTrue(samples.containsKey("estfleet_agent_next_attempt_timestamp_seconds{" + id + "}"), prometheus.out());
    assertTrue(samples.keySet().stream().anyMatch(name -> name.startsWith(
        "estfleet_agent_trust_anchor_expiry_timestamp_seconds{" + id + ",sha256=")), prometheus.out());
    assertTrue(prometheus.out().contains("# TYPE estfleet_agent_state gauge"), prometheus.out());
    assertEquals(2, both.exit(), both.err());
    assertEquals("renewal-agent: --json and --prometheus are two formats: give one", both.err().strip());
    assertEquals(3, noKey.exit(), "no usable certificate, as status says it: " + noKey.err());
    assertTrue(noKey.out().contains("estfleet_agent_state{" + id + ",state=\"FAILING\"} 1.0")
        && noKey.out().contains("estfleet_agent_problem{" + id + "} 1.0"), noKey.out());
  }

  @Test
  void aPrivateKeyEveryoneCanRead_isWarnedAbout_untilTheNextKeyIsWrittenPrivate() throws Exception {
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    Path key = state.resolve("current").toRealPath().resolve("key.pem");
    AgentFixture.Run enrolled = AgentFixture.cli("status", "--state", state.toString(), "--json");
    Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r--r--"));
    AgentFixture.Run unreachable = AgentFixture.cli("status", "--state", state.toString(), "--json");
    // every directory above the key open to others, as a state directory under /var/lib can be
    for (Path directory = key.getParent(); !directory.equals(dir.getParent()); directory = directory.getParent()) {
      Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r-----"));
    AgentFixture.Run groupRead = AgentFixture.cli("status", "--state", state.toString(), "--json");
    Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r--r--"));

    AgentFixture.Run text = AgentFixture.cli("status", "--state", state.toString());
    AgentFixture.Run json = AgentFixture.cli("status", "--state", state.toString(), "--json");

    assertFalse(JsonParser.parseString(enrolled.out()).getAsJsonObject().has("warning"), enrolled.out());
    assertFalse(JsonParser.parseString(unreachable.out()).getAsJsonObject().has("warning"),
        "in the agent's own rwx------ directory nobody else reaches it: " + unreachable.out());
    assertFalse(JsonParser.parseString(groupRead.out()).getAsJsonObject().has("warning"), "group read is a setup's choice");
    assertEquals(0, text.exit(), "a warning, the certificate works: " + text.err());
    assertTrue(text.out().contains("state:          OK"), text.out());
    assertTrue(text.out().contains("warning:        the private key " + key + " is readable by everyone (rw-r--r--); chmod o-r "
        + key + "\n"), text.out());
    assertTrue(JsonParser.parseString(json.out()).getAsJsonObject().get("warning").getAsString().startsWith(
        "the private key " + key), json.out());
    assertEquals(0, AgentFixture.cli("renew", "--state", state.toString(), "--force").exit());
    AgentFixture.Run renewed = AgentFixture.cli("status", "--state", state.toString(), "--json");
    assertFalse(JsonParser.parseString(renewed.out()).getAsJsonObject().has("warning"), renewed.out());
  }

  @Test
  void stateDirectory_missingIsExit3_worldWritableIsExit2() throws Exception {
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxrwxrwx"));

    AgentFixture.Run missing = AgentFixture.cli("status", "--state", dir.resolve("nothing").toString());
    AgentFixture.Run open = AgentFixture.cli("renew", "--state", state.toString());

    assertEquals(3, missing.exit());
    assertEquals(2, open.exit());
    assertTrue(open.err().contains("is writable by everyone"), open.err());
  }

  @Test
  void whatTheAgentTrusts_ownedByAnotherUser_isRefused() throws Exception {
    // Giving a file away takes root; CI runs as root.
    Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root to chown");
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    Path config = state.resolve("agent.json");
    UserPrincipal nobody = state.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
    UserPrincipal me = Files.getOwner(state);

    Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.setOwner(config, nobody);
    AgentFixture.Run foreignConfig = AgentFixture.cli("status", "--state", state.toString());
    Files.setOwner(config, me);
    Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwx------"));
    Files.setOwner(state, nobody);
    AgentFixture.Run foreignState = AgentFixture.cli("status", "--state", state.toString());
    Files.setOwner(state, me);
    AgentFixture.Run fixed = AgentFixture.cli("status", "--state", state.toString());

    assertEquals(2, foreignConfig.exit(), foreignConfig.err());
    assertTrue(foreignConfig.err().contains(config + " is owned by nobody, who could change it, and the agent runs as "
        + "root; run the agent as nobody (root running it would run that user's postRenewHook): sudo -u nobody "
        + "renewal-agent ..."), foreignConfig.err());
    assertEquals(2, foreignState.exit(), foreignState.err());
    assertTrue(foreignState.err().contains(state + " is owned by nobody"), foreignState.err());
    assertEquals(0, fixed.exit(), fixed.err());
  }

  @Test
  void insideAStateDirectoryOthersMayEnter_whatTheAgentTrustsOrRuns_mustNotBeTheirsToChange() throws Exception {
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    Path config = state.resolve("agent.json");
    Path trustDir = state.resolve("trust");
    Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-rw-rw-"));
    AgentFixture.Run privateTop = AgentFixture.cli("status", "--state", state.toString());
    // Linked in from elsewhere, a file is reached there, whatever the state directory's mode.
    Path keptElsewhere = Files.move(config, Files.createDirectory(dir.resolve("etc")).resolve("agent.json"))
        .toRealPath();
    Files.createSymbolicLink(config, keptElsewhere);
    AgentFixture.Run linkedIntoPrivate = AgentFixture.cli("renew", "--state", state.toString(), "--force");
    Files.delete(config);
    Files.move(keptElsewhere, config);

    Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxr-xr-x"));
    AgentFixture.Run writableConfig = AgentFixture.cli("renew", "--state", state.toString(), "--force");
    Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-------"));
    Files.setPosixFilePermissions(trustDir, PosixFilePermissions.fromString("rwxrwxr-x"));
    AgentFixture.Run groupTrust = AgentFixture.cli("renew", "--state", state.toString(), "--force");
    Files.setPosixFilePermissions(trustDir, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path pair = state.resolve("current").toRealPath();
    Files.setPosixFilePermissions(pair, PosixFilePermissions.fromString("rwxrwxrwx"));
    AgentFixture.Run openPair = AgentFixture.cli("renew", "--state", state.toString(), "--force");
    Files.setPosixFilePermissions(pair, PosixFilePermissions.fromString("rwx------"));
    Path shared = Files.createDirectory(dir.resolve("shared"),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxrwxrwx")));
    Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx")); // whatever the umask
    Path managed = Files.move(config, shared.resolve("agent.json"));
    Files.createSymbolicLink(config, managed);
    AgentFixture.Run linkedIntoShared = AgentFixture.cli("status", "--state", state.toString());
    Files.delete(config);
    Files.move(managed, config);
    AgentFixture.Run fixed = AgentFixture.cli("renew", "--state", state.toString(), "--force");

    assertEquals(0, privateTop.exit(), "inside a 0700 directory nobody else reaches it: " + privateTop.err());
    assertEquals(2, linkedIntoPrivate.exit(), linkedIntoPrivate.err());
    assertTrue(linkedIntoPrivate.err().contains(config + " is writable by everyone (rw-rw-rw-); make it private: "
        + "chmod go-w " + keptElsewhere), linkedIntoPrivate.err());
    assertEquals(2, writableConfig.exit(), writableConfig.err());
    assertTrue(writableConfig.err().contains(config + " is writable by everyone (rw-rw-rw-); make it private: chmod go-w "
        + config), writableConfig.err());
    assertEquals(2, groupTrust.exit(), groupTrust.err());
    assertTrue(groupTrust.err().contains(trustDir + " is writable by its group"), groupTrust.err());
    assertEquals(2, openPair.exit(), openPair.err());
    assertTrue(openPair.err().contains("current is writable by everyone"), openPair.err());
    assertEquals(2, linkedIntoShared.exit(), linkedIntoShared.err());
    assertTrue(linkedIntoShared.err().contains(shared + " is writable by everyone"), linkedIntoShared.err());
    assertEquals(0, fixed.exit(), fixed.err());
  }

  @Test
  void aForcedRenewalRefused_beforeItIsDue_nextComesWhenItIsDue_asStatusSays() throws Exception {
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    org.estfleet.server.Cli.run("revoke", "--data", server.dataDir().toString(), "--device", "device-1");
    server.clock().advance(java.time.Duration.ofSeconds(3)); // the server reads revocations every 2 s

    AgentFixture.Run refused = AgentFixture.cli("renew", "--state", state.toString(), "--force");
    AgentFixture.Run next = AgentFixture.cli("renew", "--state", state.toString());
    AgentFixture.Run status = AgentFixture.cli("status", "--state", state.toString(), "--json");

    assertEquals(1, refused.exit(), refused.err());
    assertTrue(refused.err().contains("was revoked at "), refused.err());
    // The refusal's backoff ends long before renewal is due: nothing is attempted before then.
    assertEquals(0, next.exit(), next.err());
    assertTrue(next.out().startsWith("not due: renewal due at "), next.out());
    String due = next.out().strip().substring("not due: renewal due at ".length());
    assertEquals(due, JsonParser.parseString(status.out()).getAsJsonObject().get("nextRenewal").getAsString(),
        status.out());
  }

  @Test
  void renew_exitCodes() throws Exception {
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");

    AgentFixture.Run notDue = AgentFixture.cli("renew", "--state", state.toString());
    AgentFixture.Run forced = AgentFixture.cli("renew", "--state", state.toString(), "--force");
    server.close();
    AgentFixture.Run down = AgentFixture.cli("renew", "--state", state.toString(), "--force");

    assertEquals(0, notDue.exit(), notDue.err());
    assertTrue(notDue.out().startsWith("not due: renewal due at "), notDue.out());
    assertEquals(0, forced.exit(), forced.err());
    assertTrue(forced.out().startsWith("renewed: serial "), forced.out());
    assertEquals(1, down.exit());
    assertTrue(down.err().contains("unreachable"), down.err());
  }
}
