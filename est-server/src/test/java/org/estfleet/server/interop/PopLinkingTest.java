package org.estfleet.server.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.DERPrintableString;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.est.ESTException;
import org.bouncycastle.est.ESTService;
import org.bouncycastle.est.EnrollmentResponse;
import org.bouncycastle.est.HttpAuth;
import org.bouncycastle.est.jcajce.ChannelBindingProvider;
import org.bouncycastle.est.jcajce.JsseESTServiceBuilder;
import org.bouncycastle.est.jcajce.SSLSocketFactoryCreator;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.jsse.BCSSLSocket;
import org.bouncycastle.jsse.provider.BouncyCastleJsseProvider;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCS10CertificationRequestBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.estfleet.est.CsrAttributes;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.TestPki;
import org.estfleet.server.TestServer;
import org.estfleet.testing.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PoP linking (RFC 7030 section 3.5) with a client we did not write: Bouncy Castle's EST client
 * ({@code simpleEnrollPoP}) on its own TLS provider, which puts the connection's
 * {@code tls-unique} into the CSR's challengePassword. Label {@code linked} requires linking;
 * label {@code factory} does not.
 */
class PopLinkingTest {
  @TempDir
  Path dir;

  private TestServer server;

  @BeforeEach
  void start() throws Exception {
    server = TestServer.start(dir, "{\"labels\": {\"linked\": {\"popLinking\": \"required\"}, \"factory\": {}}}");
  }

  @AfterEach
  void stop() {
    server.close();
  }

  /** What Bouncy Castle's EST client needs to read a binding: BCJSSE's own API. */
  private static final ChannelBindingProvider BCJSSE_BINDINGS = new ChannelBindingProvider() {
    @Override
    public boolean canAccessChannelBinding(Socket socket) {
      return socket instanceof BCSSLSocket;
    }

    @Override
    public byte[] getChannelBinding(Socket socket, String binding) {
      return ((BCSSLSocket) socket).getConnection().getChannelBinding(binding);
    }
  };

  private JsseESTServiceBuilder builder(String label, String tlsVersion) throws Exception {
    return builder(server, label, tlsVersion, null);
  }

  private JsseESTServiceBuilder builder(String label, String tlsVersion, KeyManagerFactory keyManagers)
      throws Exception {
    return builder(server, label, tlsVersion, keyManagers);
  }

  /** To {@code target} (the CA or a gateway), on the client's own BCJSSE instance (nothing shared with the server's). */
  private JsseESTServiceBuilder builder(TestServer target, String label, String tlsVersion,
      KeyManagerFactory keyManagers) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("root", server.rootCertificate());
    TrustManagerFactory trustManagers = TrustManagerFactory.getInstance("PKIX");
    trustManagers.init(trust);
    SSLContext context = SSLContext.getInstance(tlsVersion, new BouncyCastleJsseProvider(new BouncyCastleProvider()));
    context.init(keyManagers == null ? null : keyManagers.getKeyManagers(), trustManagers.getTrustManagers(),
        TestPki.RANDOM);
    SSLSocketFactoryCreator sockets = new SSLSocketFactoryCreator() {
      @Override
      public SSLSocketFactory createFactory() {
        return context.getSocketFactory();
      }

      @Override
      public boolean isTrusted() {
        return true;
      }
    };
    JsseESTServiceBuilder builder = new JsseESTServiceBuilder("127.0.0.1:" + target.port(), sockets);
    builder.withTimeout(10_000).withChannelBindingProvider(BCJSSE_BINDINGS);
    builder.withLabel(label);
    return builder;
  }

  private static PKCS10CertificationRequestBuilder request(String commonName, KeyPair keys) {
    return new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=" + commonName), keys.getPublic());
  }

  private static PKCS10CertificationRequest withChallengePassword(String commonName, KeyPair keys, String password)
      throws Exception {
    return request(commonName, keys)
        .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_challengePassword, new DERPrintableString(password))
        .build(signer(keys));
  }

  private static ContentSigner signer(KeyPair keys) throws Exception {
    return new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate());
  }

  private static X509Certificate single(EnrollmentResponse response) throws IOException {
    assertTrue(response.isCompleted());
    List<X509CertificateHolder> holders = List.copyOf(response.getStore().getMatches(null));
    assertEquals(1, holders.size());
    return Certificates.fromDer(holders.get(0).getEncoded());
  }

  private static String body(ESTException e) throws IOException {
    try (InputStream in = e.getBody()) {
      return in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void csrattrs_asksForChallengePasswordOnlyWhereLinkingIsRequired() throws Exception {
    byte[] linked = builder("linked", "TLSv1.2").build().getCSRAttributes().getAttributesResponse().getEncoded();
    byte[] factory = builder("factory", "TLSv1.2").build().getCSRAttributes().getAttributesResponse().getEncoded();

    assertTrue(CsrAttributes.decode(linked).requestsLinking());
    assertFalse(CsrAttributes.decode(factory).requestsLinking());
  }

  @Test
  void simpleEnrollPoP_onTls12_tokenEnrollThenCertificateReenroll() throws Exception {
    String token = server.tokenFor("pop-device", "linked");
    KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);

    X509Certificate issued = single(builder("linked", "TLSv1.2").build().simpleEnrollPoP(false,
        request("pop-device", keys), signer(keys), new HttpAuth("estfleet", "pop-device", token.toCharArray())));

    assertEquals("CN=pop-device", issued.getSubjectX500Principal().getName());
    KeyManagerFactory keyManagers = TestPki.keyManagers(keys.getPrivate(), issued, server.issuingCertificate());
    KeyPair newKeys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);

    X509Certificate renewed = single(builder("linked", "TLSv1.2", keyManagers).build()
        .simpleEnrollPoP(true, request("pop-device", newKeys), signer(newKeys), null));

    assertEquals(newKeys.getPublic(), renewed.getPublicKey());
  }

  @Test
  void unlinkedCsr_400_wrongBinding_403_tokenKeptForTheLinkedRetry() throws Exception {
    String token = server.tokenFor("pop-device", "linked");
    HttpAuth auth = new HttpAuth("estfleet", "pop-device", token.toCharArray());
    KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    ESTService service = builder("linked", "TLSv1.2").build();
    long recorded = server.ledger(ledger -> ledger.count());

    ESTException unlinked = assertThrows(ESTException.class,
        () -> service.simpleEnroll(false, request("pop-device", keys).build(signer(keys)), auth));
    // A tls-unique is 12 bytes; these are another connection's, as far as the server can tell.
    PKCS10CertificationRequest replayed = withChallengePassword("pop-device", keys, "AAECAwQFBgcICQoL");
    ESTException wrong = assertThrows(ESTException.class, () -> service.simpleEnroll(false, replayed, auth));

    assertEquals(400, unlinked.getStatusCode());
    assertTrue(body(unlinked).contains("challengePassword"), body(unlinked));
    assertEquals(403, wrong.getStatusCode());
    assertTrue(body(wrong).contains("tls-unique of this TLS connection"), body(wrong));
    assertEquals(recorded, (long) server.ledger(ledger -> ledger.count()), "nothing issued");
    X509Certificate issued = single(service.simpleEnrollPoP(false, request("pop-device", keys), signer(keys), auth));
    assertEquals(keys.getPublic(), issued.getPublicKey());
  }

  @Test
  void linkedLabelOverTls13_400SaysToUseTls12() throws Exception {
    String token = server.tokenFor("pop-device", "linked");
    KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    PKCS10CertificationRequest csr = withChallengePassword("pop-device", keys, "AAECAwQFBgcICQoL");

    ESTException refused = assertThrows(ESTException.class, () -> builder("linked", "TLSv1.3").build()
        .simpleEnroll(false, csr, new HttpAuth("estfleet", "pop-device", token.toCharArray())));

    assertEquals(400, refused.getStatusCode());
    assertTrue(body(refused).contains("connect with TLS 1.2"), body(refused));
  }

  @Test
  void labelWithoutLinking_ignoresTheChallengePassword() throws Exception {
    String token = server.tokenFor("plain-device", "factory");
    KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    PKCS10CertificationRequest csr = withChallengePassword("plain-device", keys, "not-a-binding");

    X509Certificate issued = single(builder("factory", "TLSv1.3").build()
        .simpleEnroll(false, csr, new HttpAuth("estfleet", "plain-device", token.toCharArray())));

    assertEquals(keys.getPublic(), issued.getPublicKey());
  }

  private void awaitCsrattrsCopy(TestServer gateway) throws Exception {
    Await.until("the gateway has a copy of the CA's /csrattrs", Duration.ofSeconds(20), () -> {
      try {
        return builder(gateway, "linked", "TLSv1.2", null).build().getCSRAttributes().hasAttributesResponse();
      } catch (Exception e) {
        return false;
      }
    });
  }

  @Test
  void gateway_checksLinkingOnItsConnection_andSaysSoUpstream() throws Exception {
    try (TestServer gateway = TestServer.startGateway(dir.resolve("gateway"), server,
        "{\"gateway\": {\"labels\": [\"linked\"]}}")) {
      awaitCsrattrsCopy(gateway);
      KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
      HttpAuth auth = new HttpAuth("estfleet", "pop-device", server.tokenFor("pop-device", "linked").toCharArray());
      ESTService viaGateway = builder(gateway, "linked", "TLSv1.2", null).build();

      ESTException unlinked = assertThrows(ESTException.class,
          () -> viaGateway.simpleEnroll(false, request("pop-device", keys).build(signer(keys)), auth));
      long storedAfterRefusal = gateway.queue(queue -> queue.depth().pending() + queue.depth().answered());
      X509Certificate issued = single(viaGateway.simpleEnrollPoP(false, request("pop-device", keys), signer(keys), auth));

      assertEquals(400, unlinked.getStatusCode());
      assertTrue(body(unlinked).contains("challengePassword"), body(unlinked));
      assertEquals(0, storedAfterRefusal, "refused at the gateway, nothing stored or forwarded");
      assertEquals(keys.getPublic(), issued.getPublicKey());
      assertEquals("gateway-1", server.ledger(ledger -> ledger.byDevice("pop-device")).get(0).forwardedBy());
    }
  }

  @Test
  void gatewayThatDoesNotKnowTheRequirement_caRefusesWhatItDidNotCheck_acceptsWhatItChecked() throws Exception {
    server.close();
    TestServer.patchConfig(server.dataDir(), "{\"labels\": {\"linked\": {\"popLinking\": \"off\"}}}");
    server.restart();
    try (TestServer gateway = TestServer.startGateway(dir.resolve("gateway"), server,
        "{\"gateway\": {\"labels\": [\"linked\"]}}")) {
      awaitCsrattrsCopy(gateway);
      // The CA now requires linking; the gateway's copy of /csrattrs (refreshed hourly) does not say so.
      server.close();
      TestServer.patchConfig(server.dataDir(), "{\"labels\": {\"linked\": {\"popLinking\": \"required\"}}}");
      server.restart();
      KeyPair unlinkedKeys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
      KeyPair linkedKeys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
      ESTService viaGateway = builder(gateway, "linked", "TLSv1.2", null).build();

      ESTException refused = assertThrows(ESTException.class, () -> viaGateway.simpleEnroll(false,
          request("device-a", unlinkedKeys).build(signer(unlinkedKeys)),
          new HttpAuth("estfleet", "device-a", server.tokenFor("device-a", "linked").toCharArray())));
      X509Certificate issued = single(viaGateway.simpleEnrollPoP(false, request("device-b", linkedKeys),
          signer(linkedKeys), new HttpAuth("estfleet", "device-b", server.tokenFor("device-b", "linked").toCharArray())));

      assertEquals(400, refused.getStatusCode());
      assertTrue(body(refused).contains("forwarded it without having checked"), body(refused));
      assertEquals(linkedKeys.getPublic(), issued.getPublicKey());
    }
  }
}
