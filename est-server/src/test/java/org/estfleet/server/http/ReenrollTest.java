package org.estfleet.server.http;

import static org.estfleet.server.EstTestClient.issued;
import static org.estfleet.server.EstTestClient.text;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionService;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.estfleet.pki.CertificateBuilder;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.Csr;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.TestPki;
import org.estfleet.server.EstTestClient;
import org.estfleet.server.GatheringCa;
import org.estfleet.server.TestServer;
import org.estfleet.testing.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code /simplereenroll} (RFC 7030 4.2.2) over mutual TLS. */
class ReenrollTest {
  @TempDir
  Path dir;

  private TestServer server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  /** A device enrolled with a token: its key and certificate. */
  private record Device(KeyPair keys, X509Certificate certificate) {
    EstTestClient client(TestServer server) throws Exception {
      return EstTestClient.withCertificate(server, keys.getPrivate(), List.of(certificate));
    }
  }

  private Device enroll(String deviceId, GeneralName... names) throws Exception {
    KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    Csr csr = new CsrBuilder().commonName(deviceId).subjectAltNames(List.of(names)).sign(keys);
    X509Certificate certificate = issued(EstTestClient.anonymous(server)
        .enroll("simpleenroll", csr, deviceId, server.token(deviceId)));
    return new Device(keys, certificate);
  }

  @Test
  void reenroll_withNewKeyIssuesNewCertificateForSameSubject() throws Exception {
    server = TestServer.start(dir);
    Device device = enroll("device-1", new GeneralName(GeneralName.dNSName, "d1.example"));
    KeyPair newKeys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    Csr csr = new CsrBuilder().commonName("device-1")
        .subjectAltName(new GeneralName(GeneralName.dNSName, "d1.example")).sign(newKeys);

    X509Certificate renewed = issued(device.client(server).enroll("simplereenroll", csr, null, null));

    assertEquals(device.certificate().getSubjectX500Principal(), renewed.getSubjectX500Principal());
    assertNotEquals(device.certificate().getSerialNumber(), renewed.getSerialNumber());
    assertArrayEquals(newKeys.getPublic().getEncoded(), renewed.getPublicKey().getEncoded());
    assertEquals("certificate", server.ledger(l -> l.find(Certificates.serialHex(renewed))).orElseThrow().authMethod());
  }

  @Test
  void reenroll_sameRequestAgain_afterALostAnswer_getsTheSameCertificate() throws Exception {
    server = TestServer.start(dir);
    Device device = enroll("device-1");
    KeyPair next = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    Csr csr = new CsrBuilder().commonName("device-1").sign(next);

    X509Certificate first = issued(device.client(server).enroll("simplereenroll", csr, null, null));
    X509Certificate again = issued(device.client(server).enroll("simplereenroll", csr, null, null));
    X509Certificate renewedWithIt = issued(EstTestClient.withCertificate(server, next.getPrivate(), List.of(first))
        .enroll("simplereenroll", csr, null, null));

    assertEquals(first, again);
    assertEquals(3, server.ledger(l -> l.byDevice("device-1")).size(), "enrolled, renewed once for two sends, renewed");
    assertNotEquals(first, renewedWithIt, "a request under the new certificate is a new one");
  }

  @Test
  void reenroll_aResentCertificate_isAuditedAsResent_andNotCountedAsAnotherThisHour() throws Exception {
    server = TestServer.start(dir, "{\"limits\": {\"enrollmentsPerIdentityPerHour\": 3}}");
    Device device = enroll("device-1");
    Csr csr = new CsrBuilder().commonName("device-1").sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM));
    X509Certificate renewed = issued(device.client(server).enroll("simplereenroll", csr, null, null));

    // the same request again (its answer lost), then a third certificate within the hour's three
    X509Certificate resent = issued(device.client(server).enroll("simplereenroll", csr, null, null));
    X509Certificate third = issued(device.client(server).enroll("simplereenroll",
        new CsrBuilder().commonName("device-1").sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), null, null));
    HttpResponse<byte[]> fourth = device.client(server).enroll("simplereenroll",
        new CsrBuilder().commonName("device-1").sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), null, null);

    assertEquals(renewed, resent);
    assertNotEquals(renewed, third);
    assertEquals(429, fourth.statusCode(), text(fourth));
    server.close();
    List<JsonObject> audited = server.audit();
    assertEquals(List.of("issued", "issued", "resent", "issued", "rate-limited"),
        audited.stream().map(line -> line.get("result").getAsString()).toList());
    assertEquals(Certificates.serialHex(renewed), audited.get(2).get("serial").getAsString());
  }

  @Test
  void reenroll_atTheHourlyLimit_aLostAnswerIsStillSentAgain_butNothingNewIsIssued() throws Exception {
    server = TestServer.start(dir, "{\"limits\": {\"enrollmentsPerIdentityPerHour\": 2}}");
    Device device = enroll("device-1");
    Csr csr = new CsrBuilder().commonName("device-1").sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM));
    // the hour's second certificate, its answer lost
    X509Certificate renewed = issued(device.client(server).enroll("simplereenroll", csr, null, null));

    HttpResponse<byte[]> resent = device.client(server).enroll("simplereenroll", csr, null, null);
    HttpResponse<byte[]> another = device.client(server).enroll("simplereenroll",
        new CsrBuilder().commonName("device-1").sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), null, null);
    // The limit is the authenticated identity's: a Basic header naming someone else changes nothing.
    HttpResponse<byte[]> disguised = device.client(server).enroll("simplereenroll",
        new CsrBuilder().commonName("device-1").sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), "other", "x");

    assertEquals(renewed, issued(resent));
    assertEquals(429, another.statusCode(), text(another));
    assertTrue(another.headers().firstValue("Retry-After").isPresent());
    assertEquals(429, disguised.statusCode(), text(disguised));
    assertEquals(2, server.ledger(l -> l.byDevice("device-1")).size());
    server.close();
    List<JsonObject> audited = server.audit();
    assertEquals(List.of("issued", "issued", "resent", "rate-limited", "rate-limited"),
        audited.stream().map(line -> line.get("result").getAsString()).toList());
  }

  @Test
  void reenroll_withABasicHeaderNamingAnother_isAuditedUnderTheAuthenticatedIdentity() throws Exception {
    server = TestServer.start(dir);
    Device device = enroll("device-1");

    issued(device.client(server).enroll("simplereenroll",
        new CsrBuilder().commonName("device-1").sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), "other", "x"));
    server.close();

    List<JsonObject> audited = server.audit();
    assertEquals("issued", audited.get(audited.size() - 1).get("result").getAsString());
    assertEquals("device-1", audited.get(audited.size() - 1).get("identity").getAsString());
  }

  @Test
  void reenroll_twoNewRequestsAtOnce_withOneCertificateLeftThisHour_onlyOneIsIssued() throws Exception {
    // Whatever reaches the CA is held there until both requests have (or the test lets it go):
    // with the limit checked apart from its count, both would pass it and be issued.
    CountDownLatch bothIn = new CountDownLatch(2);
    AtomicReference<Boolean> holding = new AtomicReference<>(false);
    server = TestServer.start(dir, "{\"limits\": {\"enrollmentsPerIdentityPerHour\": 2}}",
        ca -> new GatheringCa(ca, bothIn, holding::get));
    Device device = enroll("device-1");
    holding.set(true);

    ExecutorService sends = Executors.newFixedThreadPool(2);
    try {
      CompletionService<HttpResponse<byte[]>> answers = new ExecutorCompletionService<>(sends);
      for (int i = 0; i < 2; i++) {
        answers.submit(() -> device.client(server).enroll("simplereenroll",
            new CsrBuilder().commonName("device-1").sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), null, null));
      }
      HttpResponse<byte[]> first = answers.take().get();
      bothIn.countDown(); // the other, if it is in the CA, need not wait for a second one
      HttpResponse<byte[]> second = answers.take().get();

      assertEquals(429, first.statusCode(), "the one left over, refused at once: " + text(first));
      assertEquals(200, second.statusCode(), text(second));
      assertEquals(2, server.ledger(l -> l.byDevice("device-1")).size());
    } finally {
      sends.shutdownNow();
    }
  }

  @Test
  void reenroll_oneRequestSentTwiceAtOnce_bothLetIntoTheCa_getTheOneCertificate() throws Exception {
    // Both sends are let into the CA only once both are in, so neither finds the other's
    // certificate before it signs: the second to be recorded must.
    AtomicBoolean holding = new AtomicBoolean();
    CountDownLatch bothIn = new CountDownLatch(2);
    server = TestServer.start(dir, "{}", ca -> new GatheringCa(ca, bothIn, holding::get));
    Device device = enroll("device-1");
    Csr csr = new CsrBuilder().commonName("device-1").sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM));
    holding.set(true);

    ExecutorService sends = Executors.newFixedThreadPool(2);
    List<HttpResponse<byte[]>> responses = new ArrayList<>();
    try {
      List<Future<HttpResponse<byte[]>>> futures = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        futures.add(sends.submit(() -> device.client(server).enroll("simplereenroll", csr, null, null)));
      }
      for (Future<HttpResponse<byte[]>> future : futures) {
        responses.add(future.get(60, TimeUnit.SECONDS));
      }
    } finally {
      sends.shutdownNow();
    }

    assertEquals(0, bothIn.getCount(), "both sends reached the CA");
    assertEquals(issued(responses.get(0)), issued(responses.get(1)));
    assertEquals(2, server.ledger(l -> l.byDevice("device-1")).size(), "enrolled, renewed once for two sends");
  }

  @Test
  void reenroll_withSameKeyIsAllowed() throws Exception {
    server = TestServer.start(dir);
    Device device = enroll("device-1");

    X509Certificate renewed = issued(device.client(server).enroll("simplereenroll",
        new CsrBuilder().commonName("device-1").sign(device.keys()), null, null));

    assertArrayEquals(device.keys().getPublic().getEncoded(), renewed.getPublicKey().getEncoded());
  }

  @Test
  void reenroll_forAnotherIdentityIs403() throws Exception {
    server = TestServer.start(dir);
    Device device = enroll("device-1");
    Csr other = new CsrBuilder().commonName("device-2").sign(device.keys());

    HttpResponse<byte[]> response = device.client(server).enroll("simplereenroll", other, null, null);

    assertEquals(403, response.statusCode());
    assertTrue(text(response).contains("differs from the authenticated identity"), text(response));
  }

  @Test
  void reenroll_withChangedSubjectOrSanIs403() throws Exception {
    server = TestServer.start(dir);
    Device device = enroll("device-1", new GeneralName(GeneralName.dNSName, "d1.example"));
    Csr extraRdn = new CsrBuilder().subject(new X500Name("O=Other,CN=device-1"))
        .subjectAltName(new GeneralName(GeneralName.dNSName, "d1.example")).sign(device.keys());
    Csr otherSan = new CsrBuilder().commonName("device-1")
        .subjectAltName(new GeneralName(GeneralName.dNSName, "bank.example")).sign(device.keys());

    HttpResponse<byte[]> subject = device.client(server).enroll("simplereenroll", extraRdn, null, null);
    HttpResponse<byte[]> san = device.client(server).enroll("simplereenroll", otherSan, null, null);

    assertEquals(403, subject.statusCode());
    assertTrue(text(subject).contains("keep the subject"), text(subject));
    assertEquals(403, san.statusCode());
    assertTrue(text(san).contains("keep the subjectAltName"), text(san));
  }

  @Test
  void reenroll_dnsNamesAndEmailAddresses_compareWithoutRegardToCase() throws Exception {
    server = TestServer.start(dir, "{\"defaultProfile\": {\"allowedSanTypes\": [\"dns\", \"uri\", \"email\"]}}");
    GeneralName urn = new GeneralName(GeneralName.uniformResourceIdentifier, "urn:dev:ops:Device-1");
    Device device = enroll("device-1", new GeneralName(GeneralName.dNSName, "d1.example"),
        new GeneralName(GeneralName.rfc822Name, "ops@d1.example"), urn);
    Csr sameNames = new CsrBuilder().commonName("device-1").subjectAltNames(List.of(
        new GeneralName(GeneralName.dNSName, "D1.Example"), new GeneralName(GeneralName.rfc822Name, "Ops@D1.EXAMPLE"),
        urn)).sign(device.keys());
    // A URI compares exactly, as sanValues matches it.
    Csr otherUrn = new CsrBuilder().commonName("device-1").subjectAltNames(List.of(
        new GeneralName(GeneralName.dNSName, "d1.example"), new GeneralName(GeneralName.rfc822Name, "ops@d1.example"),
        new GeneralName(GeneralName.uniformResourceIdentifier, "urn:dev:ops:device-1"))).sign(device.keys());

    HttpResponse<byte[]> same = device.client(server).enroll("simplereenroll", sameNames, null, null);
    HttpResponse<byte[]> other = device.client(server).enroll("simplereenroll", otherUrn, null, null);

    assertEquals(200, same.statusCode(), text(same));
    assertEquals(403, other.statusCode(), text(other));
    assertTrue(text(other).contains("keep the subjectAltName"), text(other));
  }

  @Test
  void reenroll_withoutClientCertificateIs401() throws Exception {
    server = TestServer.start(dir);

    HttpResponse<byte[]> response = EstTestClient.anonymous(server).enroll("simplereenroll",
        new CsrBuilder().commonName("device-1").sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), null, null);

    assertEquals(401, response.statusCode());
    assertTrue(response.headers().firstValue("WWW-Authenticate").isPresent());
  }

  @Test
  void reenroll_expiredWithoutGraceIs401() throws Exception {
    server = TestServer.start(dir);
    Device device = enroll("device-1");
    server.clock().set(device.certificate().getNotAfter().toInstant().plus(Duration.ofMinutes(1)));

    HttpResponse<byte[]> response = device.client(server).enroll("simplereenroll",
        new CsrBuilder().commonName("device-1").sign(device.keys()), null, null);

    assertEquals(401, response.statusCode());
    assertTrue(text(response).contains("has expired"), text(response));
    assertTrue(text(response).contains("no grace period"), text(response));
  }

  @Test
  void reenroll_expiredWithinGraceIsAcceptedAndBeyondIsNot() throws Exception {
    server = TestServer.start(dir, "{\"reenroll\": {\"gracePeriod\": \"7d\"}}");
    Device device = enroll("device-1");
    Instant expiry = device.certificate().getNotAfter().toInstant();
    Csr csr = new CsrBuilder().commonName("device-1").sign(device.keys());

    server.clock().set(expiry.plus(Duration.ofDays(6)));
    HttpResponse<byte[]> withinGrace = device.client(server).enroll("simplereenroll", csr, null, null);
    server.clock().set(expiry.plus(Duration.ofDays(8)));
    HttpResponse<byte[]> beyondGrace = device.client(server).enroll("simplereenroll", csr, null, null);

    assertEquals(200, withinGrace.statusCode(), text(withinGrace));
    assertEquals(401, beyondGrace.statusCode());
    assertTrue(text(beyondGrace).contains("grace period of PT168H has passed"), text(beyondGrace));
  }

  @Test
  void reenroll_withUnrecordedCertificateFromTheSameCaIs401() throws Exception {
    server = TestServer.start(dir);
    // Signed with the real issuing key but never recorded: as if the key had leaked.
    KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    Instant now = Instant.now();
    X509Certificate forged = new CertificateBuilder().subject(new X500Name("CN=device-9")).publicKey(keys.getPublic())
        .serial(CertificateBuilder.randomSerial(TestPki.RANDOM)).validity(now.minusSeconds(60), now.plusSeconds(3600))
        .keyUsage(KeyUsage.digitalSignature).extendedKeyUsage(KeyPurposeId.id_kp_clientAuth)
        .signWith(server.issuingCertificate(), server.issuingKey());

    HttpResponse<byte[]> response = EstTestClient.withCertificate(server, keys.getPrivate(), List.of(forged))
        .enroll("simplereenroll", new CsrBuilder().commonName("device-9").sign(keys), null, null);

    assertEquals(401, response.statusCode());
    assertTrue(text(response).contains("not in this server's issuance records"), text(response));
  }

  @Test
  void reenroll_withACertificateWhoseKeyMayNotSign_isRefused_onEitherTlsProvider() throws Exception {
    // Such a profile is legal (serve warns), its certificates authenticate no TLS client.
    for (String provider : List.of("SunJSSE", "BCJSSE")) {
      server = TestServer.start(dir.resolve(provider), "{\"tls\": {\"provider\": \"" + provider + "\"}, "
          + "\"defaultProfile\": {\"keyUsage\": [\"keyAgreement\"]}}");
      Device device = enroll("device-1");
      assertTrue(!device.certificate().getKeyUsage()[0] && device.certificate().getKeyUsage()[4], provider);
      Csr csr = new CsrBuilder().commonName("device-1").sign(device.keys());

      if (provider.equals("SunJSSE")) {
        // The JDK's TLS lets the handshake through: refused with the reason.
        HttpResponse<byte[]> response = device.client(server).enroll("simplereenroll", csr, null, null);
        assertEquals(401, response.statusCode(), text(response));
        assertTrue(text(response).contains("may not sign (its key usage lacks digitalSignature)"), text(response));
      } else {
        // Bouncy Castle's fails the handshake itself: no answer, a failed handshake counted.
        assertThrows(java.io.IOException.class, () -> device.client(server).enroll("simplereenroll", csr, null, null));
        Await.until("the failed handshake counted", java.time.Duration.ofSeconds(10),
            () -> server.metrics().getOrDefault("estfleet_tls_handshakes_total{result=\"failed\"}", 0.0) >= 1);
      }
      assertEquals(1, server.ledger(ledger -> ledger.byDevice("device-1")).size(), provider + ": nothing issued");
      server.close();
      server = null;
    }
  }

  @Test
  void reenroll_withCertificateFromAnotherCaIs401() throws Exception {
    server = TestServer.start(dir);
    TestPki.Held foreign = TestPki.rootCa("Foreign").issueClient("device-1");

    HttpResponse<byte[]> response = EstTestClient.withCertificate(server, foreign.privateKey(), foreign.chain())
        .enroll("simplereenroll", new CsrBuilder().commonName("device-1").sign(foreign.keys()), null, null);

    assertEquals(401, response.statusCode());
    assertTrue(text(response).contains("was not issued by this CA"), text(response));
  }

  @Test
  void simpleenroll_withOperationalCertificateFollowsIdentityRule() throws Exception {
    server = TestServer.start(dir);
    Device device = enroll("device-1");

    HttpResponse<byte[]> own = device.client(server).enroll("simpleenroll",
        new CsrBuilder().commonName("device-1").sign(device.keys()), null, null);
    HttpResponse<byte[]> other = device.client(server).enroll("simpleenroll",
        new CsrBuilder().commonName("device-2").sign(device.keys()), null, null);

    assertEquals(200, own.statusCode(), text(own));
    assertEquals(403, other.statusCode());
  }
}
