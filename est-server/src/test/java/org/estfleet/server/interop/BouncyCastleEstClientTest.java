package org.estfleet.server.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.est.CACertsResponse;
import org.bouncycastle.est.CSRRequestResponse;
import org.bouncycastle.est.ESTException;
import org.bouncycastle.est.ESTService;
import org.bouncycastle.est.EnrollmentResponse;
import org.bouncycastle.est.HttpAuth;
import org.bouncycastle.est.jcajce.JsseESTServiceBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.estfleet.est.client.CsrAttrsOutcome;
import org.estfleet.est.client.EstClient;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.KeyPairs;
import org.estfleet.pki.Pem;
import org.estfleet.pki.TestPki;
import org.estfleet.server.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Interoperability with a client we did not write: Bouncy Castle's EST client
 * ({@code org.bouncycastle.est}), as configured by its documentation.
 */
class BouncyCastleEstClientTest {
  @TempDir
  Path dir;

  private TestServer server;

  @BeforeEach
  void start() throws Exception {
    server = TestServer.start(dir, "{\"labels\": {\"factory\": {}}}");
  }

  @AfterEach
  void stop() {
    server.close();
  }

  /**
   * The client trusts only the server's root, through the JDK's PKIX trust manager
   * ({@code JcaJceUtils.getCertPathTrustManager} would need Bouncy Castle installed as a global
   * provider, which we never do).
   */
  private JsseESTServiceBuilder builder() throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("root", server.rootCertificate());
    TrustManagerFactory trustManagers = TrustManagerFactory.getInstance("PKIX");
    trustManagers.init(trust);
    return new JsseESTServiceBuilder("127.0.0.1:" + server.port(), (X509TrustManager) trustManagers.getTrustManagers()[0])
        .withTimeout(10_000);
  }

  private static PKCS10CertificationRequest csr(String commonName, KeyPair keys) throws Exception {
    return new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=" + commonName), keys.getPublic())
        .build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate()));
  }

  private static X509Certificate single(EnrollmentResponse response) {
    assertTrue(response.isCompleted());
    List<X509CertificateHolder> holders = List.copyOf(response.getStore().getMatches(null));
    assertEquals(1, holders.size());
    try {
      return Certificates.fromDer(holders.get(0).getEncoded());
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void cacerts_withAndWithoutLabel() throws Exception {
    CACertsResponse plain = builder().build().getCACerts();
    CACertsResponse labelled = ((JsseESTServiceBuilder) builder().withLabel("factory")).build().getCACerts();

    Set<X509Certificate> expected = Set.of(server.rootCertificate(), server.issuingCertificate());
    for (CACertsResponse response : List.of(plain, labelled)) {
      assertTrue(response.hasCertificates());
      Set<X509Certificate> got = new HashSet<>();
      for (X509CertificateHolder holder : response.getCertificateStore().getMatches(null)) {
        got.add(Certificates.fromDer(holder.getEncoded()));
      }
      assertEquals(expected, got);
    }
  }

  @Test
  void csrattrs_parse() throws Exception {
    CSRRequestResponse response = builder().build().getCSRAttributes();

    assertTrue(response.hasAttributesResponse());
    assertEquals(2, response.getAttributesResponse().getRequirements().size());
  }

  @Test
  void enrollWithTokenThenReenrollWithTheIssuedCertificate() throws Exception {
    String token = server.token("bc-device");
    KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);

    X509Certificate issued = single(builder().build()
        .simpleEnroll(false, csr("bc-device", keys), new HttpAuth("estfleet", "bc-device", token.toCharArray())));

    assertEquals("CN=bc-device", issued.getSubjectX500Principal().getName());
    KeyManagerFactory keyManagers = TestPki.keyManagers(keys.getPrivate(), issued, server.issuingCertificate());
    ESTService withCertificate = builder().withKeyManagers(keyManagers.getKeyManagers()).build();
    KeyPair newKeys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);

    X509Certificate renewed = single(withCertificate.simpleEnroll(true, csr("bc-device", newKeys), null));

    assertEquals(issued.getSubjectX500Principal(), renewed.getSubjectX500Principal());
    assertEquals(newKeys.getPublic(), renewed.getPublicKey());
  }

  @Test
  void serverKeygen_theClientReadsTheKeyAndItsCertificate() throws Exception {
    String token = server.token("bc-keygen");
    KeyPair csrKeys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);

    EnrollmentResponse response = builder().build().simpleEnrollWithServersideCreation(csr("bc-keygen", csrKeys),
        new HttpAuth("estfleet", "bc-keygen", token.toCharArray()));

    X509Certificate issued = single(response);
    PrivateKey key = KeyFactory.getInstance("EC")
        .generatePrivate(new PKCS8EncodedKeySpec(response.getPrivateKeyInfo().getEncoded()));
    assertEquals("CN=bc-keygen", issued.getSubjectX500Principal().getName());
    assertTrue(KeyPairs.matches(issued.getPublicKey(), key), "the key Bouncy Castle read is the certificate's");
  }

  @Test
  void refusalsReachTheClientAsEstExceptionsWithStatus() throws Exception {
    KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    ESTService service = builder().build();

    ESTException forbidden = assertThrows(ESTException.class, () -> service.simpleEnroll(false,
        csr("someone-else", keys), new HttpAuth("estfleet", "bc-device", server.token("bc-device").toCharArray())));
    ESTException unauthorized = assertThrows(ESTException.class,
        () -> service.simpleEnroll(false, csr("bc-device", keys), new HttpAuth("estfleet", "bc-device", "wrong".toCharArray())));

    assertEquals(403, forbidden.getStatusCode());
    assertEquals(401, unauthorized.getStatusCode());
  }

  /**
   * The project's own EST client (the agent's, the gateway's) beside Bouncy Castle's, which it
   * wraps: a 404 to /csrattrs means "no attributes" (RFC 7030 section 4.5.2) also when it carries
   * a body (read by the client first, so that Bouncy Castle's close of the answer does not fail).
   */
  @Test
  void estClientCsrAttrs_aKnownLabelsAreFetched_a404IsNoAttributes() throws Exception {
    EstClient client = new EstClient(Duration.ofSeconds(5), Duration.ofSeconds(5), Clock.systemUTC(), new SecureRandom());
    List<X509Certificate> anchors = Pem.readCertificates(server.dataDir().resolve("ca/root.pem"));

    CsrAttrsOutcome known = client.csrAttributes(server.baseUri(), "factory", anchors);
    CsrAttrsOutcome unknown = client.csrAttributes(server.baseUri(), "nosuch", anchors);

    assertTrue(known instanceof CsrAttrsOutcome.Fetched fetched && fetched.der().isPresent(), known.toString());
    assertTrue(unknown instanceof CsrAttrsOutcome.Fetched, "a 404 with its body: " + unknown);
    assertEquals(Optional.empty(), ((CsrAttrsOutcome.Fetched) unknown).der());
  }
}
