package org.estfleet.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.estfleet.est.Base64Body;
import org.estfleet.est.CertsOnly;
import org.estfleet.pki.CertificateBuilder;
import org.estfleet.pki.Csr;
import org.estfleet.pki.Pem;
import org.estfleet.pki.TestPki;
import org.estfleet.testing.ScriptedServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent enrolling at an EST server that is not est-server, over real TLS on 127.0.0.1: one
 * whose {@code /cacerts} holds only its root (against RFC 7030 section 4.1.3), which sends the
 * intermediate it issues under with the certificate instead (against section 4.2.3).
 */
class ForeignCaTest {
  @TempDir
  Path dir;

  /**
   * A server whose {@code /cacerts} is its root alone and whose enrollment answers hold the
   * certificate issued for the CSR's key under {@code issuing} and then {@code sentWith(issuing)}.
   */
  private ScriptedServer server(Function<ScriptedServer, TestPki.Ca> issuer,
      Function<TestPki.Ca, List<X509Certificate>> sentWith) throws Exception {
    TestPki.Ca[] issuing = new TestPki.Ca[1];
    ScriptedServer server = new ScriptedServer(dir, (self, in, out) -> {
      for (ScriptedServer.Request request = self.read(in); request != null; request = self.read(in)) {
        if (request.line().startsWith("GET ") && request.line().contains("/.well-known/est/cacerts ")) {
          out.write(ScriptedServer.response("200 OK", "Content-Type: application/pkcs7-mime\r\n",
              Base64Body.encode(CertsOnly.encode(List.of(self.root().certificate())))));
        } else if (request.line().startsWith("POST ") && request.line().contains("/simpleenroll ")) {
          Csr csr = Csr.fromDer(Base64Body.decode(request.body()));
          Instant now = Instant.now();
          X509Certificate issued = new CertificateBuilder().subject(csr.subject()).publicKey(csr.publicKey())
              .serial(CertificateBuilder.randomSerial(TestPki.RANDOM))
              .validity(now.minusSeconds(60), now.plusSeconds(86_400))
              .keyUsage(KeyUsage.digitalSignature).extendedKeyUsage(KeyPurposeId.id_kp_clientAuth)
              .signWith(issuing[0].certificate(), issuing[0].held().privateKey());
          List<X509Certificate> answer = new ArrayList<>(List.of(issued));
          answer.addAll(sentWith.apply(issuing[0]));
          out.write(ScriptedServer.response("200 OK", "Content-Type: application/pkcs7-mime; smime-type=certs-only\r\n",
              Base64Body.encode(CertsOnly.encode(answer))));
        } else {
          out.write(ScriptedServer.response("404 Not Found", "Content-Type: text/plain\r\n", new byte[0]));
        }
        out.flush();
      }
    });
    issuing[0] = issuer.apply(server);
    return server;
  }

  private static AgentFixture.Run enroll(ScriptedServer server, Path state) {
    return AgentFixture.cli("enroll", "--state", state.toString(), "--server", server.url(),
        "--trust", server.trust().toString(), "--token", "device-1:0123456789abcdef");
  }

  @Test
  void anIntermediateSentWithTheCertificate_completesItsPath() throws Exception {
    Path state = dir.resolve("agent");
    try (ScriptedServer server = server(self -> self.root().subCa("Foreign Issuing"),
        issuing -> List.of(issuing.certificate()))) {
      AgentFixture.Run run = enroll(server, state);

      assertEquals(0, run.exit(), run.err());
      List<X509Certificate> chain = Pem.readCertificates(state.resolve("chain.pem"));
      assertEquals(2, chain.size(), chain.toString());
      assertEquals("CN=device-1", chain.get(0).getSubjectX500Principal().getName());
      assertTrue(chain.get(1).getSubjectX500Principal().getName().startsWith("CN=Foreign Issuing"), chain.toString());
      assertEquals(List.of(server.root().certificate()), Pem.readCertificates(state.resolve("trust/anchors.pem")));
    }
  }

  @Test
  void withoutTheIntermediate_theCertificateIsRefused() throws Exception {
    Path state = dir.resolve("agent");
    try (ScriptedServer server = server(self -> self.root().subCa("Foreign Issuing"), issuing -> List.of())) {
      AgentFixture.Run run = enroll(server, state);

      assertEquals(1, run.exit(), run.out() + run.err());
      assertTrue(run.err().contains("is unusable"), run.err());
      assertFalse(Files.exists(state.resolve("cert.pem")), "nothing installed");
    }
  }

  @Test
  void anIntermediateUnderAnotherRoot_sentWithTheCertificate_isNoPath() throws Exception {
    Path state = dir.resolve("agent");
    // The certificate is issued under a CA of a root the device does not trust, both sent along:
    // refused, the root sent being no anchor.
    TestPki.Ca stranger = TestPki.rootCa("Stranger Root");
    try (ScriptedServer server = server(self -> stranger.subCa("Stranger Issuing"),
        issuing -> List.of(issuing.certificate(), stranger.certificate()))) {
      AgentFixture.Run run = enroll(server, state);

      assertEquals(1, run.exit(), run.out() + run.err());
      assertTrue(run.err().contains("is unusable"), run.err());
      assertFalse(Files.exists(state.resolve("cert.pem")), "nothing installed");
    }
  }
}
