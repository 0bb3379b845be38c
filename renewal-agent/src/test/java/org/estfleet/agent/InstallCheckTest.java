package org.estfleet.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.estfleet.agent.store.StateDir;
import org.estfleet.est.EstException;
import org.estfleet.pki.CertificateBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.Pem;
import org.estfleet.pki.TestPki;
import org.estfleet.server.ForwardingCa;
import org.estfleet.server.TestServer;
import org.estfleet.server.ca.CertificateAuthority;
import org.estfleet.server.ca.IssueRequest;
import org.estfleet.server.ca.IssueResult;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server that hands back a bad certificate: the agent refuses it, and the pair in force stays.
 * The bad certificates are signed with the server's real issuing key, so only the agent's checks
 * stand between them and the device.
 */
class InstallCheckTest {
  @TempDir
  Path dir;

  private TestServer server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  /** How to spoil a certificate for a request. */
  private interface Spoiler {
    X509Certificate spoil(IssueRequest request) throws Exception;
  }

  private void refuses(Spoiler spoiler, String reason) throws Exception {
    AtomicReference<Boolean> spoiling = new AtomicReference<>(false);
    UnaryOperator<CertificateAuthority> decorator = ca -> new ForwardingCa(ca) {
      @Override
      public IssueResult issue(IssueRequest request) throws EstException {
        if (!spoiling.get()) {
          return super.issue(request);
        }
        try {
          return new IssueResult.Issued(spoiler.spoil(request));
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }
    };
    server = TestServer.start(dir.resolve("server"), "{}", decorator);
    Path state = AgentFixture.enroll(server, dir.resolve("agent"), "device-1");
    X509Certificate before = StateDir.open(state).credentials().current().orElseThrow().certificate();
    spoiling.set(true);

    Renewer.Result result = AgentFixture.renewer(state, server.clock()).renew(true);

    assertEquals(Renewer.Outcome.FAILED, result.outcome());
    assertTrue(result.message().contains("is unusable: "), result.message());
    assertTrue(result.message().contains(reason), result.message());
    assertTrue(result.message().endsWith("keeping the certificate in force"), result.message());
    assertEquals(before, StateDir.open(state).credentials().current().orElseThrow().certificate());
    assertEquals(before, Pem.readCertificates(state.resolve("cert.pem")).get(0));
    assertFalse(Files.exists(state.resolve("pending/csr.der")), "the request is dropped: the next attempt starts afresh");
  }

  private X509Certificate sign(X500Name subject, java.security.PublicKey key) {
    Instant now = Instant.now();
    return new CertificateBuilder().subject(subject).publicKey(key)
        .serial(CertificateBuilder.randomSerial(TestPki.RANDOM))
        .validity(now.minusSeconds(60), now.plus(Duration.ofDays(30)))
        .extendedKeyUsage(KeyPurposeId.id_kp_clientAuth)
        .signWith(server.issuingCertificate(), server.issuingKey());
  }

  @Test
  void certificateForAnotherKey_isRefused() throws Exception {
    KeyPair other = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    refuses(request -> sign(request.csr().subject(), other.getPublic()), "not for the key this device generated");
  }

  @Test
  void certificateForAnotherIdentity_isRefused() throws Exception {
    refuses(request -> sign(new X500Name("CN=device-2"), request.csr().publicKey()), "names 'device-2', not this device");
  }

  @Test
  void certificateFromAnotherCa_isRefused() throws Exception {
    TestPki.Ca foreign = TestPki.rootCa("Foreign");
    refuses(request -> new CertificateBuilder().subject(request.csr().subject()).publicKey(request.csr().publicKey())
        .serial(CertificateBuilder.randomSerial(TestPki.RANDOM))
        .validity(Instant.now().minusSeconds(60), Instant.now().plus(Duration.ofDays(30)))
        .signWith(foreign.certificate(), foreign.held().privateKey()), "does not chain to a trusted root");
  }

  @Test
  void certificateAlreadyExpired_isRefused() throws Exception {
    refuses(request -> new CertificateBuilder().subject(request.csr().subject()).publicKey(request.csr().publicKey())
        .serial(CertificateBuilder.randomSerial(TestPki.RANDOM))
        .validity(Instant.now().minus(Duration.ofDays(3)), Instant.now().minus(Duration.ofDays(1)))
        .signWith(server.issuingCertificate(), server.issuingKey()), "has expired");
  }
}
