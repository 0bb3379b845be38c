package org.estfleet.server.ca;

import static org.estfleet.server.Cli.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLHandshakeException;
import org.bouncycastle.asn1.x500.X500Name;
import org.estfleet.est.Base64Body;
import org.estfleet.est.CertsOnly;
import org.estfleet.pki.CertificateBuilder;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.Pem;
import org.estfleet.pki.RootRollover;
import org.estfleet.pki.TestPki;
import org.estfleet.server.AdvertisedIssuers;
import org.estfleet.server.Cli.Run;
import org.estfleet.server.EstTestClient;
import org.estfleet.server.TestServer;
import org.estfleet.server.config.DataDir;
import org.estfleet.testing.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code est-server rollover} and {@code retire-root}: /cacerts, TLS chains and issuance over real TLS. */
class RolloverTest {
  @TempDir
  Path dir;

  private TestServer server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  private List<X509Certificate> cacerts(X509Certificate trusting) throws Exception {
    HttpClient http = HttpClient.newBuilder().sslContext(EstTestClient.trustingOnly(trusting))
        .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
    HttpResponse<byte[]> response = http.send(HttpRequest.newBuilder(server.uri("/.well-known/est/cacerts")).build(),
        HttpResponse.BodyHandlers.ofByteArray());
    assertEquals(200, response.statusCode());
    return CertsOnly.decode(Base64Body.decode(response.body()));
  }

  private X509Certificate enroll(String deviceId) throws Exception {
    HttpResponse<byte[]> response = EstTestClient.anonymous(server).enroll("simpleenroll",
        new CsrBuilder().commonName(deviceId).sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), deviceId,
        server.token(deviceId));
    assertEquals(200, response.statusCode(), EstTestClient.text(response));
    return EstTestClient.issued(response);
  }

  @Test
  void rollover_publishesBothRootsAndLinks_tlsValidatesWithEither_issuesUnderTheNewChainFromActivation()
      throws Exception {
    server = TestServer.start(dir.resolve("ca"));
    X509Certificate oldRoot = server.rootCertificate();
    X509Certificate oldIssuing = server.issuingCertificate();

    Run rollover = run("rollover", "--data", server.dataDir().toString(), "--activate-at", "+1h", "--overlap", "30d");
    server.restart();
    CaRollover.Layout files = CaRollover.files(DataDir.open(server.dataDir()));
    X509Certificate newRoot = Pem.readCertificates(files.root()).get(0);
    X509Certificate newIssuing = Pem.readCertificates(files.issuing()).get(0);
    List<X509Certificate> viaOld = cacerts(oldRoot);
    List<X509Certificate> viaNew = cacerts(newRoot);
    X509Certificate beforeActivation = enroll("device-1");
    server.clock().advance(Duration.ofHours(1).plusMinutes(1));
    X509Certificate afterActivation = enroll("device-2");

    assertEquals(0, rollover.exit(), rollover.err());
    assertTrue(rollover.out().contains("rollover started"), rollover.out());
    assertEquals(6, viaOld.size());
    assertEquals(new HashSet<>(viaOld), new HashSet<>(viaNew), "the same bag whichever root the client trusts");
    RootRollover.Classification classified = RootRollover.classify(viaOld, List.of(oldRoot), server.clock().instant());
    assertEquals(List.of(oldRoot), classified.known());
    assertEquals(1, classified.vouched().size());
    assertEquals(newRoot, classified.vouched().get(0).newRoot());
    assertTrue(viaOld.containsAll(List.of(oldIssuing, newIssuing)));
    X509Certificate oldWithNew = Pem.readCertificates(files.oldWithNew()).get(0);
    oldWithNew.verify(newRoot.getPublicKey());
    assertTrue(RootRollover.sameKey(oldWithNew.getPublicKey(), oldRoot.getPublicKey()));
    assertTrue(viaOld.contains(oldWithNew));
    beforeActivation.verify(oldIssuing.getPublicKey());
    afterActivation.verify(newIssuing.getPublicKey());
    List<X509Certificate> tlsChain = Pem.readCertificates(server.dataDir().resolve("tls/server.pem"));
    assertEquals(List.of(newIssuing, classified.vouched().get(0).newWithOld()), tlsChain.subList(1, 3));
    // OpenSSL (curl, libest) applies the trust anchor's own path length: a root limited to one CA
    // below it would refuse the path through the link certificate.
    assertEquals("OK", opensslVerify(oldRoot, tlsChain), "trusting only the old root");
    assertEquals("OK", opensslVerify(newRoot, tlsChain), "trusting only the new root");
  }

  /** {@code openssl verify} of the chain's first certificate, trusting only {@code root}: "OK" or its complaint. */
  private String opensslVerify(X509Certificate root, List<X509Certificate> chain) throws Exception {
    Path rootFile = Files.writeString(Files.createTempFile(dir, "root", ".pem"), Pem.encode(root));
    Path leafFile = Files.writeString(Files.createTempFile(dir, "leaf", ".pem"), Pem.encode(chain.get(0)));
    Path untrusted = Files.createTempFile(dir, "untrusted", ".pem");
    for (X509Certificate certificate : chain.subList(1, chain.size())) {
      Files.writeString(untrusted, Pem.encode(certificate), java.nio.file.StandardOpenOption.APPEND);
    }
    Process openssl = new ProcessBuilder("openssl", "verify", "-CAfile", rootFile.toString(), "-untrusted",
        untrusted.toString(), leafFile.toString()).redirectErrorStream(true).start();
    String output = new String(openssl.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    return openssl.waitFor() == 0 && output.endsWith(": OK") ? "OK" : output;
  }

  @Test
  void rolloverAndRetirement_areTakenUpByTheRunningServer_withoutARestart() throws Exception {
    server = TestServer.start(dir.resolve("ca"), "{\"ca\": {\"checkInterval\": \"100ms\"}}");
    X509Certificate oldRoot = server.rootCertificate();
    String data = server.dataDir().toString();
    KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    HttpResponse<byte[]> first = EstTestClient.anonymous(server).enroll("simpleenroll",
        new CsrBuilder().commonName("device-1").sign(keys), "device-1", server.token("device-1"));
    X509Certificate underOld = EstTestClient.issued(first);
    KeyPair otherKeys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    X509Certificate otherUnderOld = EstTestClient.issued(EstTestClient.anonymous(server).enroll("simpleenroll",
        new CsrBuilder().commonName("device-2").sign(otherKeys), "device-2", server.token("device-2")));

    Run rollover = run("rollover", "--data", data, "--overlap", "30d");
    assertEquals(0, rollover.exit(), rollover.err());
    CaRollover.Layout files = CaRollover.files(DataDir.open(server.dataDir()));
    X509Certificate newRoot = Pem.readCertificates(files.root()).get(0);
    X509Certificate newIssuing = Pem.readCertificates(files.issuing()).get(0);
    Await.until("the running server publishes the rollover", Duration.ofSeconds(20),
        () -> published(oldRoot) == 6);
    // The TLS chain it presents now leads to either root, it names the new CAs to clients choosing
    // a certificate, and it issues under the new issuing CA.
    assertEquals(6, cacerts(newRoot).size());
    assertTrue(AdvertisedIssuers.of(server).containsAll(List.of(oldRoot.getSubjectX500Principal(),
        newRoot.getSubjectX500Principal(), newIssuing.getSubjectX500Principal())), "named in the CertificateRequest");
    KeyPair renewedKeys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    X509Certificate underNew = EstTestClient.issued(EstTestClient.withCertificate(server, keys.getPrivate(),
        List.of(underOld)).enroll("simplereenroll", new CsrBuilder().commonName("device-1").sign(renewedKeys), null,
        null));
    underNew.verify(newIssuing.getPublicKey());

    Run retired = run("retire-root", "--data", data, "--force");
    assertEquals(0, retired.exit(), retired.err());
    Await.until("the running server drops the old root", Duration.ofSeconds(20),
        () -> published(newRoot) == 2);

    assertEquals(Set.of(newRoot, newIssuing), new HashSet<>(cacerts(newRoot)));
    assertFalse(AdvertisedIssuers.of(server).contains(oldRoot.getSubjectX500Principal()), "the old root no longer named");
    assertThrows(SSLHandshakeException.class, () -> cacerts(oldRoot), "the TLS chain no longer leads to the old root");
    // A device holding a certificate of the new chain renews; one that kept its old-chain certificate
    // through the overlap no longer can.
    X509Certificate again = EstTestClient.issued(EstTestClient.withCertificate(server, renewedKeys.getPrivate(),
        List.of(underNew)).enroll("simplereenroll",
            new CsrBuilder().commonName("device-1").sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), null, null));
    again.verify(newIssuing.getPublicKey());
    HttpResponse<byte[]> oldChain = EstTestClient.withCertificate(server, otherKeys.getPrivate(), List.of(otherUnderOld))
        .enroll("simplereenroll", new CsrBuilder().commonName("device-2").sign(otherKeys), null, null);
    assertEquals(401, oldChain.statusCode(), EstTestClient.text(oldChain));
  }

  @Test
  void changedFilesThatCannotBeTakenUp_makeHealthDegraded_untilPutRight() throws Exception {
    server = TestServer.start(dir.resolve("ca"), "{\"ca\": {\"checkInterval\": \"100ms\"}}");
    Path state = CaRollover.files(DataDir.open(server.dataDir())).state();

    Files.writeString(state, "{\"createdAt\": ");
    Await.until("GET /health says the CA files cannot be taken up", Duration.ofSeconds(20),
        () -> "degraded".equals(server.health().get("status").getAsString()));
    JsonObject degraded = server.health();
    Files.delete(state);
    Await.until("GET /health is ok again", Duration.ofSeconds(20), () -> "ok".equals(server.health().get("status").getAsString()));

    assertTrue(degraded.get("caFiles").getAsString().contains("cannot be taken up"), degraded.toString());
    assertFalse(server.health().has("caFiles"));
    assertEquals(200, EstTestClient.anonymous(server).get("/.well-known/est/cacerts").statusCode(), "serving all along");
  }

  @Test
  void aRolloverWhoseOverlapHasEnded_makesHealthDegraded_untilTheOldRootIsRetired() throws Exception {
    server = TestServer.start(dir.resolve("ca"));
    CaRollover.Outcome outcome = CaRollover.start(DataDir.open(server.dataDir()), server.clock().instant(),
        Duration.ofDays(30), server.clock(), TestPki.RANDOM);
    server.restart();
    JsonObject during = server.health();
    java.util.Map<String, Double> duringMetrics = server.metrics();

    server.clock().advance(Duration.ofDays(30).plusSeconds(1));
    JsonObject overdue = server.health();
    java.util.Map<String, Double> overdueMetrics = server.metrics();
    CaRollover.retire(DataDir.open(server.dataDir()), false, server.clock());
    server.restart();

    assertEquals("ok", during.get("status").getAsString(), during.toString());
    assertFalse(during.has("rollover"), during.toString());
    assertEquals(1.0, duringMetrics.get("estfleet_health_ok"));
    assertEquals(outcome.overlapEndsAt().toEpochMilli() / 1000.0,
        duringMetrics.get("estfleet_certificate_expiry_timestamp_seconds{certificate=\"ca-links\"}"));
    assertEquals("degraded", overdue.get("status").getAsString(), overdue.toString());
    assertEquals("the overlap ended " + outcome.overlapEndsAt() + ": the link certificates have expired; run "
        + "est-server retire-root", overdue.get("rollover").getAsString());
    assertFalse(overdue.has("caFiles"), overdue.toString());
    assertEquals(0.0, overdueMetrics.get("estfleet_health_ok"));
    assertEquals("ok", server.health().get("status").getAsString());
    assertFalse(server.metrics().containsKey("estfleet_certificate_expiry_timestamp_seconds{certificate=\"ca-links\"}"));
  }

  @Test
  void anExpiredIssuingCa_refusesEnrollmentsWith503_andHealthSaysWhy_untilARolloverIsInForce() throws Exception {
    server = TestServer.start(dir.resolve("ca"));
    Path data = server.dataDir();
    server.close();
    // The issuing CA certificate re-signed by the root (same key) with a validity that has ended.
    X509Certificate issuing = Pem.readCertificates(data.resolve("ca/issuing.pem")).get(0);
    Instant now = Instant.now();
    X509Certificate expired = new CertificateBuilder()
        .subject(X500Name.getInstance(issuing.getSubjectX500Principal().getEncoded()))
        .publicKey(issuing.getPublicKey()).serial(CertificateBuilder.randomSerial(TestPki.RANDOM))
        .validity(now.minus(Duration.ofDays(2)), now.minus(Duration.ofDays(1))).ca(0)
        .signWith(Pem.readCertificates(data.resolve("ca/root.pem")).get(0), Pem.readPrivateKey(data.resolve("ca/root.key")));
    Files.writeString(data.resolve("ca/issuing.pem"), Pem.encode(expired));
    server = TestServer.start(data);
    String problem = "the issuing CA certificate " + Certificates.describe(expired) + " expired at "
        + expired.getNotAfter().toInstant() + ": this CA issues nothing until it is renewed (est-server rollover)";

    String token = server.token("device-1");
    HttpResponse<byte[]> refused = EstTestClient.anonymous(server).enroll("simpleenroll",
        new CsrBuilder().commonName("device-1").sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), "device-1", token);
    JsonObject health = server.health();
    java.util.Map<String, Double> metrics = server.metrics();
    run("rollover", "--data", data.toString());
    server.restart();

    assertEquals(503, refused.statusCode(), EstTestClient.text(refused));
    assertEquals(problem + "; retry later\n", EstTestClient.text(refused));
    assertEquals("3600", refused.headers().firstValue("Retry-After").orElseThrow());
    assertEquals("degraded", health.get("status").getAsString(), health.toString());
    assertEquals(problem, health.get("issuing").getAsString());
    assertEquals(0.0, metrics.get("estfleet_health_ok"));
    assertEquals("ok", server.health().get("status").getAsString(), "the new issuing CA in force");
    assertFalse(server.health().has("issuing"));
    HttpResponse<byte[]> enrolled = EstTestClient.anonymous(server).enroll("simpleenroll",
        new CsrBuilder().commonName("device-1").sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), "device-1", token);
    assertEquals(200, enrolled.statusCode(), "the token refused with 503 was not spent: " + EstTestClient.text(enrolled));
  }

  /** How many certificates /cacerts holds, over TLS trusting only {@code trusting}; -1 if that fails. */
  private int published(X509Certificate trusting) {
    try {
      return cacerts(trusting).size();
    } catch (Exception e) {
      return -1;
    }
  }

  @Test
  void retireRoot_refusedBeforeActivationAndBeforeTheOverlapEnds_thenRemovesTheOldRoot() throws Exception {
    server = TestServer.start(dir.resolve("ca"));
    String data = server.dataDir().toString();

    Run started = run("rollover", "--data", data, "--activate-at", "+1h");
    Run again = run("rollover", "--data", data);
    Run early = run("retire-root", "--data", data);

    assertEquals(0, started.exit(), started.err());
    assertEquals(2, again.exit());
    assertTrue(again.err().contains("a rollover is already under way"), again.err());
    assertEquals(2, early.exit());
    assertTrue(early.err().contains("not active before"), early.err());
  }

  @Test
  void retireRoot_afterActivation_needsForceWithinTheOverlap_andLeavesOnlyTheNewChain() throws Exception {
    server = TestServer.start(dir.resolve("ca"));
    X509Certificate oldRoot = server.rootCertificate();
    String data = server.dataDir().toString();
    Run started = run("rollover", "--data", data, "--overlap", "30d");
    X509Certificate newRoot = Pem.readCertificates(CaRollover.files(DataDir.open(server.dataDir())).root()).get(0);
    server.restart();
    X509Certificate issuedUnderNew = enroll("device-1");

    Run withinOverlap = run("retire-root", "--data", data);
    Run forced = run("retire-root", "--data", data, "--force");
    server.restart();
    List<X509Certificate> after = cacerts(newRoot);

    assertEquals(0, started.exit(), started.err());
    assertEquals(2, withinOverlap.exit());
    assertTrue(withinOverlap.err().contains("the overlap lasts until"), withinOverlap.err());
    assertEquals(0, forced.exit(), forced.err());
    assertEquals(newRoot, server.rootCertificate());
    assertEquals(Set.of(newRoot, server.issuingCertificate()), new HashSet<>(after));
    issuedUnderNew.verify(server.issuingCertificate().getPublicKey());
    assertThrows(SSLHandshakeException.class, () -> cacerts(oldRoot),
        "the TLS chain no longer leads to the old root");
    String archived = Certificates.fingerprint(oldRoot).substring(0, 16);
    assertEquals(oldRoot, Pem.readCertificates(server.dataDir().resolve("ca/retired/" + archived + "/root.pem")).get(0));
    assertTrue(Files.exists(server.dataDir().resolve("ca/retired/" + archived + "/root.key")));
    assertTrue(forced.out().contains("), archived in " + server.dataDir().resolve("ca/retired/" + archived) + "\n"),
        forced.out());
    assertFalse(Files.exists(server.dataDir().resolve("ca/rollover.json")));
    assertFalse(Files.exists(server.dataDir().resolve("ca/next")));
    assertEquals(List.of(server.issuingCertificate()),
        Pem.readCertificates(server.dataDir().resolve("tls/server.pem")).subList(1, 2));
    assertEquals(2, Pem.readCertificates(server.dataDir().resolve("tls/server.pem")).size());
    // Both changes are in the audit log, beside the server's lines; the refused retire-root is not.
    List<JsonObject> operator = server.audit().stream()
        .filter(line -> !line.get("event").getAsString().equals("enroll")).toList();
    assertEquals(List.of("rollover", "retire-root"), operator.stream().map(line -> line.get("event").getAsString())
        .toList(), operator.toString());
    assertEquals(Certificates.fingerprint(newRoot), operator.get(0).get("rootSha256").getAsString());
    assertEquals(Certificates.fingerprint(oldRoot), operator.get(0).get("oldRootSha256").getAsString());
    assertEquals(Certificates.fingerprint(oldRoot), operator.get(1).get("rootSha256").getAsString());
    assertEquals(Certificates.fingerprint(newRoot), operator.get(1).get("newRootSha256").getAsString());
    assertTrue(forced.out().contains("retired:     " + oldRoot.getSubjectX500Principal().getName() + " (sha256 "
        + Certificates.fingerprint(oldRoot) + ")"), forced.out());
    assertTrue(operator.get(1).get("forced").getAsBoolean());
    assertEquals(System.getProperty("user.name"), operator.get(1).get("by").getAsString());
  }

  @Test
  void retireRoot_interruptedAfterItsFirstFile_isCompletedAtTheNextStart() throws Exception {
    server = TestServer.start(dir.resolve("ca"));
    CaRollover.Outcome outcome = CaRollover.start(DataDir.open(server.dataDir()), server.clock().instant(),
        Duration.ofDays(30), server.clock(), TestPki.RANDOM);
    CaRollover.Layout files = CaRollover.files(DataDir.open(server.dataDir()));
    // retire-root's first step, then a crash.
    Files.copy(files.issuing(), server.dataDir().resolve("ca/issuing.pem"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);

    server.restart();

    assertEquals(outcome.root(), server.rootCertificate());
    assertEquals(outcome.issuing(), server.issuingCertificate());
    assertFalse(Files.exists(files.state()));
    assertEquals(200, EstTestClient.anonymous(server).get("/.well-known/est/cacerts").statusCode());
  }

  @Test
  void retireRoot_refusedWhileADeviceHoldsOnlyAValidCertificateOfTheOldChain() throws Exception {
    // Certificates living longer than the overlap: device-1's, issued before the activation, is
    // still valid when the links expire, and it has renewed under the new chain only later.
    // device-3 enrolls after the activation, before the running server took the rollover up (it
    // checks its files every 10 s here): under the old issuing CA all the same.
    server = TestServer.start(dir.resolve("ca"), "{\"defaultProfile\": {\"lifetime\": \"90d\"}}");
    X509Certificate oldIssuing = server.issuingCertificate();
    enroll("device-1");
    CaRollover.start(DataDir.open(server.dataDir()), server.clock().instant(), Duration.ofDays(30), server.clock(),
        TestPki.RANDOM);
    X509Certificate beforeTakenUp = enroll("device-3");
    server.restart();
    enroll("device-2");
    server.clock().advance(Duration.ofDays(31));

    org.estfleet.server.config.ConfigException refused = assertThrows(org.estfleet.server.config.ConfigException.class,
        () -> CaRollover.retire(DataDir.open(server.dataDir()), false, server.clock()));
    X509Certificate renewed = enroll("device-1");
    enroll("device-3");
    CaRollover.Outcome retired = CaRollover.retire(DataDir.open(server.dataDir()), false, server.clock());

    assertEquals(oldIssuing.getSubjectX500Principal(), beforeTakenUp.getIssuerX500Principal());
    assertTrue(refused.getMessage().startsWith("2 device(s) or gateway(s) hold a certificate of the old chain valid "
        + "until "), refused.getMessage());
    assertTrue(refused.getMessage().contains("or --force retires it now"), refused.getMessage());
    assertEquals(retired.issuing().getSubjectX500Principal(), renewed.getIssuerX500Principal());
    assertFalse(Files.exists(CaRollover.files(DataDir.open(server.dataDir())).state()), "retired once device-1 renewed");
  }

  /** Sets or clears the immutable attribute: writes to the file fail, for root too. */
  private static boolean chattr(String flag, Path file) throws Exception {
    try {
      return new ProcessBuilder("chattr", flag, file.toString()).redirectErrorStream(true).start().waitFor() == 0;
    } catch (java.io.IOException noChattr) {
      return false;
    }
  }

  @Test
  void rollover_stoppedAtItsTlsCertificate_isNotInForce_andRunsAgain() throws Exception {
    server = TestServer.start(dir.resolve("ca"));
    Path tlsKey = server.dataDir().resolve("tls/server.key");
    org.junit.jupiter.api.Assumptions.assumeTrue(chattr("+i", tlsKey), "chattr +i on " + tlsKey);
    Run stopped;
    try {
      stopped = run("rollover", "--data", server.dataDir().toString());
    } finally {
      chattr("-i", tlsKey);
    }
    boolean inForce = Files.exists(server.dataDir().resolve("ca/rollover.json"));

    Run again = run("rollover", "--data", server.dataDir().toString());
    server.restart();

    assertEquals(1, stopped.exit(), stopped.err());
    assertFalse(inForce, "a rollover without its TLS chain is not put in force");
    assertEquals(0, again.exit(), again.err());
    List<X509Certificate> chain = Pem.readCertificates(server.dataDir().resolve("tls/server.pem"));
    assertEquals(3, chain.size(), "server certificate, new issuing CA, NewWithOld");
    assertEquals(Pem.readCertificates(CaRollover.files(DataDir.open(server.dataDir())).newWithOld()).get(0),
        chain.get(2));
  }

  @Test
  void retireRoot_stoppedWhileInstalling_hasItsTlsChainDone_andIsCompletedAtTheNextStart() throws Exception {
    server = TestServer.start(dir.resolve("ca"));
    CaRollover.Outcome outcome = CaRollover.start(DataDir.open(server.dataDir()), server.clock().instant(),
        Duration.ofDays(30), server.clock(), TestPki.RANDOM);
    Path rootFile = server.dataDir().resolve("ca/root.pem"); // the last file installed
    org.junit.jupiter.api.Assumptions.assumeTrue(chattr("+i", rootFile), "chattr +i on " + rootFile);
    try {
      assertThrows(java.io.IOException.class,
          () -> CaRollover.retire(DataDir.open(server.dataDir()), true, server.clock()));
    } finally {
      chattr("-i", rootFile);
    }
    List<X509Certificate> chainAfterStop = Pem.readCertificates(server.dataDir().resolve("tls/server.pem"));

    server.restart();

    assertEquals(List.of(outcome.tls(), outcome.issuing()), chainAfterStop, "the link leaves the TLS chain first");
    assertEquals(outcome.root(), server.rootCertificate());
    assertFalse(Files.exists(CaRollover.files(DataDir.open(server.dataDir())).state()));
    assertEquals(List.of(outcome.tls(), outcome.issuing()),
        Pem.readCertificates(server.dataDir().resolve("tls/server.pem")));
    assertEquals(200, EstTestClient.anonymous(server).get("/.well-known/est/cacerts").statusCode());
  }

  @Test
  void rollover_badActivationTime_isAUsageError() throws Exception {
    server = TestServer.start(dir.resolve("ca"));

    Run run = run("rollover", "--data", server.dataDir().toString(), "--activate-at", "tomorrow");
    Run noOverlap = run("rollover", "--data", server.dataDir().toString(), "--overlap", "0s");

    assertEquals(2, run.exit());
    assertTrue(run.err().contains("--activate-at: 'tomorrow' is neither an instant"), run.err());
    assertEquals(2, noOverlap.exit());
    assertTrue(noOverlap.err().contains("--overlap: must be positive"), noOverlap.err());
    assertFalse(Files.exists(server.dataDir().resolve("ca/rollover.json")));
  }

  @Test
  void rollover_withAnOverlapShorterThanACertificateLifetime_warns_andStarts() throws Exception {
    server = TestServer.start(dir.resolve("ca"), "{\"defaultProfile\": {\"lifetime\": \"30d\"}, "
        + "\"gatewayProfile\": {\"lifetime\": \"20d\"}, \"labels\": {\"meters\": {\"lifetime\": \"60d\"}}}");
    Path data = server.dataDir();

    Run shortOverlap = run("rollover", "--data", data.toString(), "--overlap", "7d");
    CaRollover.retire(DataDir.open(data), true, server.clock());
    Run longOverlap = run("rollover", "--data", data.toString(), "--overlap", "61d");

    assertEquals(0, shortOverlap.exit(), shortOverlap.err());
    assertEquals("est-server: warning: the overlap (7d) is shorter than the certificate lifetime of labels.meters "
        + "(60d): a device or gateway that renews only after the overlap can no longer follow the link certificates "
        + "to the new root; an overlap longer than every lifetime lets each renew under the new chain first\n",
        shortOverlap.err());
    assertEquals(0, longOverlap.exit(), longOverlap.err());
    assertEquals("", longOverlap.err());
  }

  @Test
  void rollover_withARootKeyThatIsNotTheRoots_writesNothing() throws Exception {
    server = TestServer.start(dir.resolve("ca"));
    Path data = server.dataDir();
    byte[] rootKey = Files.readAllBytes(data.resolve("ca/root.key"));
    Files.copy(data.resolve("ca/issuing.key"), data.resolve("ca/root.key"), StandardCopyOption.REPLACE_EXISTING);

    Run run = run("rollover", "--data", data.toString());

    assertEquals(2, run.exit(), run.err());
    assertEquals("est-server: " + data.resolve("ca/root.key") + ": this key does not belong to the root CA certificate "
        + data.resolve("ca/root.pem") + "; nothing was written\n", run.err());
    assertFalse(Files.exists(data.resolve("ca/rollover.json")), "not in force");
    assertFalse(Files.exists(data.resolve("ca/next")), "nothing of the new generation written");
    Files.write(data.resolve("ca/root.key"), rootKey);
    assertEquals(0, run("rollover", "--data", data.toString()).exit(), "runs once the key is put right");
  }

  @Test
  void rollover_onADatabaseThatIsNotOne_writesNothing_andCanBeRunAgainOnceItIsBack() throws Exception {
    server = TestServer.start(dir.resolve("ca"));
    Path data = server.dataDir();
    server.close();
    server = null;
    Path database = data.resolve("estfleet.db");
    Path saved = dir.resolve("saved.db");
    Files.move(database, saved);
    Files.writeString(database, "this is not a database");
    byte[] tls = Files.readAllBytes(data.resolve("tls/server.pem"));

    Run run = run("rollover", "--data", data.toString());

    assertEquals(1, run.exit(), run.err());
    assertTrue(run.err().contains("not a database"), run.err());
    assertFalse(Files.exists(data.resolve("ca/rollover.json")), "not in force");
    assertFalse(Files.exists(data.resolve("ca/next")), "nothing of the new generation written");
    assertTrue(java.util.Arrays.equals(tls, Files.readAllBytes(data.resolve("tls/server.pem"))));
    Files.move(saved, database, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Run again = run("rollover", "--data", data.toString());
    assertEquals(0, again.exit(), again.err());
    assertTrue(Files.exists(data.resolve("ca/rollover.json")));
  }
}
