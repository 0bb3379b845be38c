package org.estfleet.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import org.bouncycastle.asn1.x500.X500Name;
import org.estfleet.agent.store.StateDir;
import org.estfleet.agent.store.TrustStore;
import org.estfleet.est.EstException;
import org.estfleet.pki.CertificateBuilder;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.Pem;
import org.estfleet.pki.TestPki;
import org.estfleet.server.ForwardingCa;
import org.estfleet.server.TestServer;
import org.estfleet.server.ca.CaRollover;
import org.estfleet.server.ca.CertificateAuthority;
import org.estfleet.server.config.DataDir;
import org.estfleet.testing.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Root rollover (RFC 7030 section 4.1.3) as agents live it, against a real CA (and gateway) over
 * TLS, on the server's clock: staging, renewal under the new chain, retirement of the old root,
 * an agent that missed the staging, forged and tampered responses.
 */
class RootRotationTest {
  private static final Duration OVERLAP = Duration.ofMinutes(10);

  @TempDir
  Path dir;

  private final List<TestServer> servers = new ArrayList<>();

  @AfterEach
  void stop() {
    servers.forEach(TestServer::close);
  }

  private TestServer ca(UnaryOperator<CertificateAuthority> decorator) throws Exception {
    TestServer server = TestServer.start(dir.resolve("ca"), "{}", decorator);
    servers.add(server);
    return server;
  }

  private static CaRollover.Outcome rollover(TestServer ca) throws Exception {
    return rollover(ca, OVERLAP);
  }

  private static CaRollover.Outcome rollover(TestServer ca, Duration overlap) throws Exception {
    // Roots are dated to the second: a new root made in the old one's second could not be told newer.
    ca.clock().advance(Duration.ofSeconds(2));
    CaRollover.Outcome outcome = CaRollover.start(DataDir.open(ca.dataDir()), ca.clock().instant(), overlap, ca.clock(),
        TestPki.RANDOM);
    ca.restart();
    return outcome;
  }

  private static Map<String, TrustStore.State> states(Path state) throws Exception {
    return StateDir.open(state).trust().anchorRecords().stream()
        .collect(Collectors.toMap(TrustStore.Anchor::sha256, TrustStore.Anchor::state));
  }

  private static X509Certificate certificate(Path state) {
    return Pem.readCertificates(state.resolve("cert.pem")).get(0);
  }

  @Test
  void onlineAgent_stagesRenewsUnderTheNewChainAndRetiresTheOldRootAfterTheOverlap() throws Exception {
    TestServer ca = ca(UnaryOperator.identity());
    Path state = AgentFixture.enroll(ca, dir.resolve("agent"), "device-1");
    String oldRoot = Certificates.fingerprint(ca.rootCertificate());
    CaRollover.Outcome rollover = rollover(ca);
    String newRoot = Certificates.fingerprint(rollover.root());
    Renewer renewer = AgentFixture.renewer(state, ca.clock());

    Renewer.Result refreshed = renewer.refreshTrust();
    Map<String, TrustStore.State> staged = states(state);
    Renewer.Result renewed = renewer.renew(true);
    Map<String, TrustStore.State> switched = states(state);
    String status = AgentFixture.cli("status", "--state", state.toString()).out();
    ca.clock().advance(OVERLAP.plusMinutes(10));
    Renewer.Result afterOverlap = renewer.renew(true);

    assertEquals(Renewer.Outcome.NOT_DUE, refreshed.outcome(), refreshed.message());
    assertEquals(Map.of(oldRoot, TrustStore.State.ACTIVE, newRoot, TrustStore.State.STAGED), staged);
    assertEquals(Renewer.Outcome.RENEWED, renewed.outcome(), renewed.message());
    assertEquals(Map.of(oldRoot, TrustStore.State.RETIRING, newRoot, TrustStore.State.ACTIVE), switched);
    assertTrue(status.contains("retiring '") && status.contains("active '"), status);
    assertEquals(Renewer.Outcome.RENEWED, afterOverlap.outcome(), afterOverlap.message());
    assertEquals(Map.of(newRoot, TrustStore.State.ACTIVE), states(state));
    assertEquals(rollover.issuing().getSubjectX500Principal(), certificate(state).getIssuerX500Principal());
    TrustStore trust = StateDir.open(state).trust();
    assertFalse(trust.bootstrap().stream().anyMatch(c -> Certificates.fingerprint(c).equals(oldRoot)),
        "the retired root is no longer trusted for TLS either");
    assertTrue(trust.version() >= 4, "enroll, stage, switch, retire: " + trust.version());
    assertTrue(Files.exists(state.resolve("trust/history/anchors." + (trust.version() - 1) + ".json")));
  }

  /** Enrolls device-1 at {@code ca} trusting {@code root} alone (its --trust file). */
  private Path enrollTrusting(TestServer ca, X509Certificate root) throws Exception {
    Path trustFile = dir.resolve("trust-" + Certificates.fingerprint(root) + ".pem");
    Files.writeString(trustFile, Pem.encode(root));
    Path state = dir.resolve("agent");
    AgentFixture.Run run = AgentFixture.cli("enroll", "--state", state.toString(), "--server", ca.baseUri().toString(),
        "--trust", trustFile.toString(), "--token", "device-1:" + ca.token("device-1"));
    assertEquals(0, run.exit(), run.err());
    return state;
  }

  @Test
  void agentEnrolledDuringTheOverlap_onTheOldRoot_retiresItAsAgentsEnrolledBefore() throws Exception {
    TestServer ca = ca(UnaryOperator.identity());
    X509Certificate oldRoot = ca.rootCertificate();
    CaRollover.Outcome rollover = rollover(ca);

    Path state = enrollTrusting(ca, oldRoot);
    Map<String, TrustStore.State> enrolled = states(state);
    ca.clock().advance(OVERLAP.plusMinutes(10));
    Renewer.Result afterOverlap = AgentFixture.renewer(state, ca.clock()).renew(true);

    // Issued under the new chain at once: the new root, staged at enrollment, is promoted.
    assertEquals(Map.of(Certificates.fingerprint(oldRoot), TrustStore.State.RETIRING,
        Certificates.fingerprint(rollover.root()), TrustStore.State.ACTIVE), enrolled);
    assertEquals(Renewer.Outcome.RENEWED, afterOverlap.outcome(), afterOverlap.message());
    assertEquals(Map.of(Certificates.fingerprint(rollover.root()), TrustStore.State.ACTIVE), states(state));
    assertTrue(StateDir.open(state).trust().bootstrap().isEmpty(), "the old root, retired, leaves bootstrap.pem too");
  }

  @Test
  void agentEnrolledDuringTheOverlap_onTheNewRoot_neverTrustsTheOldOne() throws Exception {
    TestServer ca = ca(UnaryOperator.identity());
    X509Certificate oldRoot = ca.rootCertificate();
    CaRollover.Outcome rollover = rollover(ca);

    Path state = enrollTrusting(ca, rollover.root());
    Map<String, TrustStore.State> enrolled = states(state);
    Renewer.Result refreshed = AgentFixture.renewer(state, ca.clock()).refreshTrust();

    // The response's OldWithNew certifies the old root's key under the new root: not a reason to trust it.
    assertEquals(Map.of(Certificates.fingerprint(rollover.root()), TrustStore.State.ACTIVE), enrolled);
    assertEquals(Renewer.Outcome.NOT_DUE, refreshed.outcome(), refreshed.message());
    assertEquals(Map.of(Certificates.fingerprint(rollover.root()), TrustStore.State.ACTIVE), states(state));
    assertFalse(StateDir.open(state).trust().tlsAnchors().contains(oldRoot));
  }

  @Test
  void promotedRoot_retiresEveryRootItDescendsFrom() throws Exception {
    // A device that staged a rollover's root, missed the rest of it while offline, and staged the
    // next rollover's root from the first one's: then a certificate under the newest root.
    TestServer ca = ca(UnaryOperator.identity());
    X509Certificate middle = ca.rootCertificate();
    CaRollover.Outcome rollover = rollover(ca);
    Path state = enrollTrusting(ca, rollover.root());
    X509Certificate first = TestPki.rootCa("Root before").certificate();
    java.time.Instant overlapEnds = ca.clock().instant().plus(Duration.ofMinutes(1));
    TrustStore trust = StateDir.open(state).trust();
    trust.writeAnchorRecords(List.of(TrustStore.Anchor.active(first, null),
        new TrustStore.Anchor(middle, TrustStore.State.STAGED, null, Certificates.fingerprint(first), overlapEnds),
        new TrustStore.Anchor(rollover.root(), TrustStore.State.STAGED, null, Certificates.fingerprint(middle),
            overlapEnds)));
    Renewer renewer = AgentFixture.renewer(state, ca.clock());

    renewer.refreshTrust();
    Map<String, TrustStore.State> promoted = states(state);
    ca.clock().advance(Duration.ofMinutes(10));
    Renewer.Result renewed = renewer.renew(true);

    assertEquals(Map.of(Certificates.fingerprint(first), TrustStore.State.RETIRING, Certificates.fingerprint(middle),
        TrustStore.State.RETIRING, Certificates.fingerprint(rollover.root()), TrustStore.State.ACTIVE), promoted);
    assertEquals(Renewer.Outcome.RENEWED, renewed.outcome(), renewed.message());
    assertEquals(Map.of(Certificates.fingerprint(rollover.root()), TrustStore.State.ACTIVE), states(state));
  }

  @Test
  void certificateUnderAChainActivatedSinceTheTrustRefresh_readsCacertsAgain_andIsInstalled() throws Exception {
    // The agent reads /cacerts as it was before the rollover (a gateway's copy, or a rollover
    // activated between its read and its request), and is issued a certificate under the new
    // chain: a first enrollment, whose token is spent once the certificate is issued.
    java.util.concurrent.atomic.AtomicInteger staleAnswers = new java.util.concurrent.atomic.AtomicInteger();
    List<X509Certificate> before = new ArrayList<>();
    TestServer ca = ca(real -> new ForwardingCa(real) {
      @Override
      public List<X509Certificate> caCertificates(String label) throws EstException {
        return staleAnswers.getAndDecrement() > 0 ? before : super.caCertificates(label);
      }
    });
    before.addAll(List.of(ca.rootCertificate(), ca.issuingCertificate()));
    CaRollover.Outcome rollover = rollover(ca);
    staleAnswers.set(1);

    Path state = enrollTrusting(ca, rollover.oldRoot());

    assertEquals(rollover.issuing().getSubjectX500Principal(), certificate(state).getIssuerX500Principal());
    assertEquals(Map.of(Certificates.fingerprint(rollover.oldRoot()), TrustStore.State.RETIRING,
        Certificates.fingerprint(rollover.root()), TrustStore.State.ACTIVE), states(state));
  }

  @Test
  void agentThatMissedTheStaging_comesBackTrustingOnlyTheOldRootAndRecovers() throws Exception {
    TestServer ca = ca(UnaryOperator.identity());
    Path state = AgentFixture.enroll(ca, dir.resolve("agent"), "device-1");
    String oldRoot = Certificates.fingerprint(ca.rootCertificate());
    CaRollover.Outcome rollover = rollover(ca, Duration.ofDays(90));
    ca.clock().advance(Duration.ofDays(25)); // past 2/3 of the 30-day lifetime, the new chain long active
    Renewer renewer = AgentFixture.renewer(state, ca.clock());

    Renewer.Result result = renewer.renew(false);

    assertEquals(Renewer.Outcome.RENEWED, result.outcome(), result.message());
    assertEquals(rollover.issuing().getSubjectX500Principal(), certificate(state).getIssuerX500Principal());
    assertEquals(Map.of(oldRoot, TrustStore.State.RETIRING, Certificates.fingerprint(rollover.root()),
        TrustStore.State.ACTIVE), states(state));
  }

  @Test
  void agentOfflinePastTheWholeOverlap_failsWithATrustFailureAndKeepsItsAnchors() throws Exception {
    TestServer ca = ca(UnaryOperator.identity());
    Path state = AgentFixture.enroll(ca, dir.resolve("agent"), "device-1");
    List<X509Certificate> anchors = StateDir.open(state).trust().anchors();
    rollover(ca);
    ca.clock().advance(OVERLAP.plusDays(25)); // the links (and so the server's path to the old root) expired

    Renewer.Result result = AgentFixture.renewer(state, ca.clock()).renew(false);

    assertEquals(Renewer.Outcome.FAILED, result.outcome(), result.message());
    assertTrue(result.message().contains("TLS trust failure"), result.message());
    assertTrue(result.message().endsWith("if the CA's root was replaced while this device was away, enroll it again "
        + "(renewal-agent enroll --force --trust NEW-ROOT-FILE with a token or its IDevID)"), result.message());
    assertEquals(anchors, StateDir.open(state).trust().anchors());
  }

  @Test
  void forgedRootAndOmittedRoot_leaveTheTrustAnchorsAsTheyWere() throws Exception {
    // The forger controls a server the agent trusts, but not the old root's key: it signs a
    // "NewWithOld" for its own root with a key of its own under the old root's name.
    KeyPair forgerKeys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    List<X509Certificate> forged = new ArrayList<>();
    List<Boolean> omitOldRoot = new ArrayList<>(List.of(false));
    TestServer ca = ca(real -> new ForwardingCa(real) {
      @Override
      public List<X509Certificate> caCertificates(String label) throws EstException {
        List<X509Certificate> certificates = new ArrayList<>(super.caCertificates(label));
        if (omitOldRoot.get(0)) {
          certificates.removeIf(c -> c.getSubjectX500Principal().equals(c.getIssuerX500Principal()));
        }
        certificates.addAll(forged);
        return certificates;
      }
    });
    Path state = AgentFixture.enroll(ca, dir.resolve("agent"), "device-1");
    X509Certificate oldRoot = ca.rootCertificate();
    X500Name oldName = X500Name.getInstance(oldRoot.getSubjectX500Principal().getEncoded());
    X509Certificate impostor = new CertificateBuilder().subject(oldName).publicKey(forgerKeys.getPublic())
        .serial(CertificateBuilder.randomSerial(TestPki.RANDOM))
        .validity(ca.clock().instant().minusSeconds(60), ca.clock().instant().plus(Duration.ofDays(365))).ca(1)
        .selfSign(forgerKeys.getPrivate());
    TestPki.Ca forgedRoot = TestPki.rootCa("EST Fleet Development Root CA 00000000");
    X509Certificate forgedLink = new CertificateBuilder()
        .subject(X500Name.getInstance(forgedRoot.certificate().getSubjectX500Principal().getEncoded()))
        .publicKey(forgedRoot.certificate().getPublicKey()).serial(CertificateBuilder.randomSerial(TestPki.RANDOM))
        .validity(ca.clock().instant().minusSeconds(60), ca.clock().instant().plus(Duration.ofDays(30))).ca(1)
        .signWith(impostor, forgerKeys.getPrivate());
    forged.addAll(List.of(impostor, forgedRoot.certificate(), forgedLink));
    TrustStore trust = StateDir.open(state).trust();
    List<X509Certificate> anchors = trust.anchors();
    int version = trust.version();
    Renewer renewer = AgentFixture.renewer(state, ca.clock());

    Renewer.Result forgedRefresh = renewer.refreshTrust();
    omitOldRoot.set(0, true);
    Renewer.Result omittedRefresh = renewer.refreshTrust();
    Renewer.Result renewed = renewer.renew(true);

    assertEquals(Renewer.Outcome.NOT_DUE, forgedRefresh.outcome(), forgedRefresh.message());
    assertEquals(Renewer.Outcome.NOT_DUE, omittedRefresh.outcome(), omittedRefresh.message());
    assertEquals(Renewer.Outcome.RENEWED, renewed.outcome(), renewed.message());
    assertEquals(List.of(oldRoot), anchors);
    assertEquals(anchors, trust.anchors());
    assertEquals(version, trust.version(), "not even rewritten");
  }

  @Test
  void tamperedLinkCertificate_isRefusedAndTheNewRootNotStaged() throws Exception {
    List<Boolean> tamper = new ArrayList<>(List.of(true));
    TestServer ca = ca(real -> new ForwardingCa(real) {
      @Override
      public List<X509Certificate> caCertificates(String label) throws EstException {
        List<X509Certificate> certificates = new ArrayList<>(super.caCertificates(label));
        if (tamper.get(0)) {
          certificates.replaceAll(c -> isLink(c) ? tampered(c) : c);
        }
        return certificates;
      }
    });
    Path state = AgentFixture.enroll(ca, dir.resolve("agent"), "device-1");
    String oldRoot = Certificates.fingerprint(ca.rootCertificate());
    CaRollover.Outcome rollover = rollover(ca);
    Renewer renewer = AgentFixture.renewer(state, ca.clock());

    Renewer.Result refreshed = renewer.refreshTrust();
    Map<String, TrustStore.State> whileTampered = states(state);
    tamper.set(0, false);
    renewer.refreshTrust();

    assertEquals(Renewer.Outcome.NOT_DUE, refreshed.outcome(), refreshed.message());
    assertEquals(Map.of(oldRoot, TrustStore.State.ACTIVE), whileTampered);
    assertEquals(TrustStore.State.STAGED, states(state).get(Certificates.fingerprint(rollover.root())),
        "the genuine link, once served, stages it");
  }

  @Test
  void throughAGateway_agentRotatesAndTheGatewayFollowsTheUpstreamRoot() throws Exception {
    // Gateway certificates live 15 s here: the gateway renews its own under the new chain
    // during the overlap, as it must before the old root is retired.
    TestServer ca = TestServer.start(dir.resolve("ca"), "{\"gatewayProfile\": {\"lifetime\": \"15s\"}}");
    servers.add(ca);
    TestServer gateway = TestServer.startGateway(dir.resolve("gateway"), ca,
        "{\"gateway\": {\"cacheRefresh\": \"1s\", \"forwardInterval\": \"200ms\"}}");
    servers.add(gateway);
    Path state = AgentFixture.enroll(ca, gateway, dir.resolve("agent"), "device-1");
    String oldRoot = Certificates.fingerprint(ca.rootCertificate());
    CaRollover.Outcome rollover = rollover(ca);
    String newRoot = Certificates.fingerprint(rollover.root());
    Renewer renewer = AgentFixture.renewer(state, ca.clock());

    Await.until("the agent stages the new root from the gateway's /cacerts", Duration.ofSeconds(30), () -> {
      try {
        renewer.refreshTrust();
        return states(state).get(newRoot) == TrustStore.State.STAGED;
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    Renewer.Result renewed = renewer.renew(true);
    Await.until("the gateway renews its certificate under the new chain", Duration.ofSeconds(40), () ->
        Pem.readCertificates(gateway.dataDir().resolve("tls/server.pem")).get(0).getIssuerX500Principal()
            .equals(rollover.issuing().getSubjectX500Principal()));
    List<X509Certificate> gatewayTrust = Pem.readCertificates(gateway.dataDir().resolve("upstream/trust.pem"));
    CaRollover.retire(DataDir.open(ca.dataDir()), true, ca.clock());
    ca.restart();
    Renewer.Result afterRetirement = renewer.renew(true);
    if (afterRetirement.outcome() == Renewer.Outcome.PENDING) {
      // The gateway's probe (each second here) may have found the CA down while it restarted: the
      // request is then stored (202) and forwarded once a probe finds the CA up, which is as
      // much the gateway reaching the CA as an answer at once.
      Await.until("the gateway forwards the stored request", Duration.ofSeconds(30),
          () -> gateway.queue(queue -> queue.depth().pending()) == 0);
      afterRetirement = renewer.renew(true);
    }

    assertEquals(Renewer.Outcome.RENEWED, renewed.outcome(), renewed.message());
    assertEquals(Map.of(oldRoot, TrustStore.State.RETIRING, newRoot, TrustStore.State.ACTIVE), states(state));
    assertTrue(gatewayTrust.stream().anyMatch(c -> Certificates.fingerprint(c).equals(newRoot)),
        "the gateway trusts the upstream's new root: " + gatewayTrust.size() + " roots");
    assertEquals(Renewer.Outcome.RENEWED, afterRetirement.outcome(), "the gateway still reaches the CA, whose TLS "
        + "chain no longer leads to the old root: " + afterRetirement.message());
    assertEquals(rollover.issuing().getSubjectX500Principal(), certificate(state).getIssuerX500Principal());
  }

  private static boolean isLink(X509Certificate certificate) {
    return !certificate.getSubjectX500Principal().equals(certificate.getIssuerX500Principal())
        && certificate.getBasicConstraints() > 0;
  }

  private static X509Certificate tampered(X509Certificate certificate) {
    try {
      byte[] der = certificate.getEncoded();
      der[der.length - 3] ^= 0x01;
      return Certificates.fromDer(der);
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }
}
