package org.estfleet.server.http;

import static org.estfleet.server.EstTestClient.issued;
import static org.estfleet.server.EstTestClient.text;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.DERIA5String;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.DERSet;
import org.bouncycastle.asn1.DERT61String;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequestBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.estfleet.est.Base64Body;
import org.estfleet.est.EstMediaType;
import org.estfleet.pki.BouncyCastle;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.Csr;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.TestPki;
import org.estfleet.server.EstTestClient;
import org.estfleet.server.GatheringCa;
import org.estfleet.server.TestServer;
import org.estfleet.server.store.IssuanceRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code /simpleenroll} over real TLS: tokens, identities, CSR checks and every error status. */
class EnrollTest {
  private static final String ENROLL = "/.well-known/est/simpleenroll";

  @TempDir
  Path dir;

  private TestServer server;
  private EstTestClient client;
  private final KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);

  @BeforeEach
  void start() throws Exception {
    server = TestServer.start(dir.resolve("server"));
    client = EstTestClient.anonymous(server);
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void tokenEnrollment_issuesProfileCertificateAndRecordsIt() throws Exception {
    String token = server.token("device-1");
    Instant now = server.clock().instant();

    HttpResponse<byte[]> response = client.enroll("simpleenroll", csr("device-1"), "device-1", token);

    assertEquals(200, response.statusCode(), text(response));
    assertEquals(EstMediaType.PKCS7_CERTS_ONLY, response.headers().firstValue("Content-Type").orElseThrow());
    assertEquals(String.valueOf(response.body().length), response.headers().firstValue("Content-Length").orElseThrow());
    X509Certificate certificate = issued(response);
    assertEquals("CN=device-1", certificate.getSubjectX500Principal().getName());
    assertArrayEquals(keys.getPublic().getEncoded(), certificate.getPublicKey().getEncoded());
    certificate.verify(server.issuingCertificate().getPublicKey());
    assertEquals(List.of(KeyPurposeId.id_kp_clientAuth.getId()), certificate.getExtendedKeyUsage());
    assertTrue(certificate.getKeyUsage()[0], "digitalSignature");
    assertEquals(-1, certificate.getBasicConstraints());
    assertNotNull(certificate.getExtensionValue(Extension.subjectKeyIdentifier.getId()));
    assertNotNull(certificate.getExtensionValue(Extension.authorityKeyIdentifier.getId()));
    assertTrue(certificate.getSerialNumber().bitLength() >= 64, "serial has at least 64 bits");
    // Issued between "now" and the answer, on the server's ticking clock: 30 days from then, to
    // the second (X.509 times have no fractions).
    Instant notAfter = certificate.getNotAfter().toInstant();
    Instant answered = server.clock().instant();
    assertTrue(!notAfter.isBefore(now.truncatedTo(java.time.temporal.ChronoUnit.SECONDS).plus(Duration.ofDays(30)))
        && !notAfter.isAfter(answered.plus(Duration.ofDays(30))), notAfter + " vs " + now);
    assertTrue(certificate.getNotBefore().toInstant().isBefore(now.minus(Duration.ofMinutes(4))), "backdated");

    IssuanceRecord record = server.ledger(l -> l.find(Certificates.serialHex(certificate))).orElseThrow();
    assertEquals("device-1", record.deviceId());
    assertEquals("token", record.authMethod());
    assertEquals(certificate, org.estfleet.pki.Pem.readCertificates(record.certificatePem(), "ledger").get(0));
  }

  @Test
  void token_isSingleUse_anotherKeyIsRefused() throws Exception {
    String token = server.token("device-1");
    issued(client.enroll("simpleenroll", csr("device-1"), "device-1", token));
    Csr otherKey = new CsrBuilder().commonName("device-1").sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM));

    HttpResponse<byte[]> second = client.enroll("simpleenroll", otherKey, "device-1", token);

    assertEquals(401, second.statusCode());
    assertEquals("Basic realm=\"estfleet\"", second.headers().firstValue("WWW-Authenticate").orElseThrow());
    assertTrue(text(second).contains("already used"), text(second));
    // Refused as used before the CSR is looked at, for another identity too.
    Csr anotherIdentity = new CsrBuilder().commonName("device-2").sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM));
    HttpResponse<byte[]> third = client.enroll("simpleenroll", anotherIdentity, "device-1", token);
    assertEquals(401, third.statusCode(), text(third));
    assertTrue(text(third).contains("already used"), text(third));
    assertEquals(1, server.ledger(l -> l.byDevice("device-1")).size());
  }

  @Test
  void token_usedAgainForTheSameKey_returnsTheCertificateIssued_evenAfterTheTokenExpired() throws Exception {
    // A device whose answer was lost sends its request again: same token, same key.
    String token = server.token("device-1", Duration.ofHours(1));
    X509Certificate first = issued(client.enroll("simpleenroll", csr("device-1"), "device-1", token));
    server.clock().advance(Duration.ofHours(2));

    HttpResponse<byte[]> again = client.enroll("simpleenroll", csr("device-1"), "device-1", token);

    assertEquals(200, again.statusCode(), text(again));
    assertEquals(first, issued(again));
    assertEquals(1, server.ledger(l -> l.byDevice("device-1")).size(), "no second certificate");
    // The token proves nothing more than it did: a wrong one is still refused, and once the
    // certificate has expired there is nothing to give back.
    assertEquals(401, client.enroll("simpleenroll", csr("device-1"), "device-1", "guess").statusCode());
    // The same key is not enough: the CSR must prove it, and name the token's device.
    byte[] forged = csr("device-1").der();
    forged[forged.length - 1] ^= 1;
    HttpResponse<byte[]> unproven = client.enroll("simpleenroll", Csr.fromDer(forged), "device-1", token);
    assertEquals(400, unproven.statusCode(), text(unproven));
    HttpResponse<byte[]> otherName = client.enroll("simpleenroll", csr("device-2"), "device-1", token);
    assertEquals(403, otherName.statusCode(), text(otherName));
    server.clock().advance(Duration.ofDays(31));
    HttpResponse<byte[]> late = client.enroll("simpleenroll", csr("device-1"), "device-1", token);
    assertEquals(401, late.statusCode());
    assertTrue(text(late).contains("already used"), text(late));
    assertEquals(1, server.ledger(l -> l.byDevice("device-1")).size());
  }

  @Test
  void token_concurrentUsesWithDifferentKeys_yieldExactlyOneCertificate() throws Exception {
    String token = server.token("device-1");
    List<HttpResponse<byte[]>> responses = concurrently(6, i -> new CsrBuilder().commonName("device-1")
        .sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), token);

    assertEquals(1, responses.stream().filter(response -> response.statusCode() == 200).count());
    assertTrue(responses.stream().allMatch(response -> response.statusCode() == 200 || response.statusCode() == 401));
    assertEquals(1, server.ledger(l -> l.byDevice("device-1")).size());
  }

  @Test
  void token_concurrentUsesWithTheSameKey_allGetTheOneCertificate() throws Exception {
    String token = server.token("device-1");
    List<HttpResponse<byte[]>> responses = concurrently(6, i -> csr("device-1"), token);

    List<X509Certificate> certificates = new ArrayList<>();
    for (HttpResponse<byte[]> response : responses) {
      assertEquals(200, response.statusCode(), text(response));
      certificates.add(issued(response));
    }
    assertEquals(1, certificates.stream().distinct().count());
    assertEquals(1, server.ledger(l -> l.byDevice("device-1")).size());
  }

  @Test
  void token_twoRequestsForOneKeyThatBothPassedTheTokenCheck_getTheOneCertificate() throws Exception {
    // Both requests are let into the CA only once both are in, so both passed the token check
    // before either recorded: the second to record finds the token used by the first.
    server.close();
    CountDownLatch bothIn = new CountDownLatch(2);
    server = TestServer.start(dir.resolve("raced"), "{}", ca -> new GatheringCa(ca, bothIn, () -> true));
    String token = server.token("device-1");

    List<HttpResponse<byte[]>> responses = concurrently(2, i -> csr("device-1"), token);

    assertEquals(0, bothIn.getCount(), "both requests reached the CA");
    assertEquals(200, responses.get(0).statusCode(), text(responses.get(0)));
    assertEquals(200, responses.get(1).statusCode(), text(responses.get(1)));
    assertEquals(issued(responses.get(0)), issued(responses.get(1)));
    assertEquals(1, server.ledger(l -> l.byDevice("device-1")).size());
  }

  private List<HttpResponse<byte[]>> concurrently(int requests, java.util.function.IntFunction<Csr> csrs, String token)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(requests);
    try {
      List<Future<HttpResponse<byte[]>>> futures = new ArrayList<>();
      for (int i = 0; i < requests; i++) {
        Csr csr = csrs.apply(i);
        futures.add(pool.submit(() -> EstTestClient.anonymous(server).enroll("simpleenroll", csr, "device-1", token)));
      }
      List<HttpResponse<byte[]>> responses = new ArrayList<>();
      for (Future<HttpResponse<byte[]>> future : futures) {
        responses.add(future.get());
      }
      return responses;
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void token_wrongOrForAnotherDeviceIs401() throws Exception {
    String token = server.token("device-1");

    assertEquals(401, client.enroll("simpleenroll", csr("device-1"), "device-1", "guess").statusCode());
    assertEquals(401, client.enroll("simpleenroll", csr("device-2"), "device-2", token).statusCode());
    assertEquals(200, client.enroll("simpleenroll", csr("device-1"), "device-1", token).statusCode());
  }

  @Test
  void token_expiredIs401() throws Exception {
    String token = server.token("device-1", Duration.ofHours(1));
    server.clock().advance(Duration.ofHours(2));

    HttpResponse<byte[]> response = client.enroll("simpleenroll", csr("device-1"), "device-1", token);

    assertEquals(401, response.statusCode());
    assertTrue(text(response).contains("expired"), text(response));
  }

  @Test
  void noCredentials_is401WithChallenge() throws Exception {
    HttpResponse<byte[]> response = client.enroll("simpleenroll", csr("device-1"), null, null);

    assertEquals(401, response.statusCode());
    assertEquals("Basic realm=\"estfleet\"", response.headers().firstValue("WWW-Authenticate").orElseThrow());
    assertEquals(0, response.body().length, "a bare challenge has no body (Bouncy Castle's client needs that)");
  }

  @Test
  void nonBasicAuthorization_is401() throws Exception {
    HttpResponse<byte[]> response = client.post(ENROLL, Base64Body.encode(csr("device-1").der()),
        "Content-Type", EstMediaType.PKCS10, "Authorization", "Bearer abc");

    assertEquals(401, response.statusCode());
    assertTrue(text(response).contains("only HTTP Basic"), text(response));
  }

  @Test
  void csrForAnotherIdentity_is403AndKeepsTheToken() throws Exception {
    String token = server.token("device-1");

    HttpResponse<byte[]> response = client.enroll("simpleenroll", csr("device-2"), "device-1", token);

    assertEquals(403, response.statusCode());
    assertEquals("CSR subject CN 'device-2' differs from the authenticated identity 'device-1'; "
        + "request a certificate for your own identity\n", text(response));
    assertEquals(200, client.enroll("simpleenroll", csr("device-1"), "device-1", token).statusCode());
  }

  @Test
  void badProofOfPossession_is400() throws Exception {
    String token = server.token("device-1");
    byte[] der = csr("device-1").der();
    der[der.length - 3] ^= 0x01;

    HttpResponse<byte[]> response = client.post(ENROLL, Base64Body.encode(der),
        "Content-Type", EstMediaType.PKCS10, "Authorization", EstTestClient.basic("device-1", token));

    assertEquals(400, response.statusCode());
    assertTrue(text(response).contains("proof-of-possession"), text(response));
  }

  @Test
  void malformedBodies_are400() throws Exception {
    String token = server.token("device-1");
    String auth = EstTestClient.basic("device-1", token);

    HttpResponse<byte[]> notBase64 = client.post(ENROLL, "not base64!".getBytes(StandardCharsets.US_ASCII),
        "Content-Type", EstMediaType.PKCS10, "Authorization", auth);
    HttpResponse<byte[]> notCsr = client.post(ENROLL, Base64Body.encode(Certificates.der(server.rootCertificate())),
        "Content-Type", EstMediaType.PKCS10, "Authorization", auth);
    HttpResponse<byte[]> empty = client.post(ENROLL, new byte[0],
        "Content-Type", EstMediaType.PKCS10, "Authorization", auth);

    assertEquals(400, notBase64.statusCode());
    assertEquals("body is not base64: byte 0x21 at offset 10\n", text(notBase64));
    assertEquals(400, notCsr.statusCode());
    assertEquals("body is not a DER PKCS#10 certification request\n", text(notCsr));
    assertEquals(400, empty.statusCode());
    assertEquals(200, client.enroll("simpleenroll", csr("device-1"), "device-1", token).statusCode(),
        "the token survives malformed requests");
    HttpResponse<byte[]> noMediaType = client.post(ENROLL, new byte[] {1});
    assertEquals(415, noMediaType.statusCode());
    // Every answer audited, those refused before the CSR was read too, with the identity claimed.
    server.close();
    List<String> audited = server.audit().stream()
        .map(line -> line.get("result").getAsString() + " " + line.get("status") + " "
            + (line.get("identity") == null ? "-" : line.get("identity").getAsString()))
        .toList();
    assertEquals(List.of("refused 400 device-1", "refused 400 device-1", "refused 400 device-1", "issued null device-1",
        "refused 415 -"), audited);
  }

  @Test
  void base64Variants_allAccepted() throws Exception {
    byte[] der1 = csr("device-1").der();
    byte[] der2 = csr("device-2").der();
    byte[] der3 = csr("device-3").der();

    HttpResponse<byte[]> unwrapped = client.post(ENROLL, Base64.getEncoder().encode(der1), "Content-Type",
        EstMediaType.PKCS10, "Authorization", EstTestClient.basic("device-1", server.token("device-1")));
    HttpResponse<byte[]> lfWrapped = client.post(ENROLL,
        Base64.getMimeEncoder(76, new byte[] {'\n'}).encode(der2),
        "Content-Type", "application/pkcs10; charset=us-ascii", "Content-Transfer-Encoding", "base64",
        "Authorization", EstTestClient.basic("device-2", server.token("device-2")));
    HttpResponse<byte[]> binary = client.post(ENROLL, der3, "Content-Type", EstMediaType.PKCS10,
        "Authorization", EstTestClient.basic("device-3", server.token("device-3")));

    assertEquals(200, unwrapped.statusCode(), text(unwrapped));
    assertEquals(200, lfWrapped.statusCode(), text(lfWrapped));
    assertEquals(200, binary.statusCode(), text(binary));
  }

  @Test
  void wrongOrMissingMediaType_is415() throws Exception {
    byte[] body = Base64Body.encode(csr("device-1").der());

    HttpResponse<byte[]> wrong = client.post(ENROLL, body, "Content-Type", "application/json");
    HttpResponse<byte[]> missing = client.post(ENROLL, body);

    assertEquals(415, wrong.statusCode());
    assertEquals("Content-Type is 'application/json'; send the CSR as application/pkcs10 (base64 of the DER)\n", text(wrong));
    assertEquals(415, missing.statusCode());
    HttpResponse<byte[]> gzip = client.post(ENROLL, body, "Content-Type", EstMediaType.PKCS10, "Content-Encoding", "gzip");
    assertEquals(415, gzip.statusCode());
    assertEquals("Content-Encoding 'gzip' is not supported; send the CSR without a content coding\n", text(gzip));
  }

  @Test
  void aHeaderThatMustComeOnce_sentTwice_is400() throws Exception {
    byte[] body = Base64Body.encode(csr("device-1").der());
    String token = server.token("device-1");

    HttpResponse<byte[]> twoAuthorizations = client.post(ENROLL, body, "Content-Type", EstMediaType.PKCS10,
        "Authorization", EstTestClient.basic("device-1", token), "Authorization", EstTestClient.basic("device-2", "x"));
    HttpResponse<byte[]> twoTypes = client.post(ENROLL, body, "Content-Type", EstMediaType.PKCS10,
        "Content-Type", "text/plain", "Authorization", EstTestClient.basic("device-1", token));

    assertEquals(400, twoAuthorizations.statusCode(), text(twoAuthorizations));
    assertEquals("the request has 2 Authorization headers; send one\n", text(twoAuthorizations));
    assertEquals(400, twoTypes.statusCode(), text(twoTypes));
    assertEquals("the request has 2 Content-Type headers; send one\n", text(twoTypes));
    assertEquals(200, client.enroll("simpleenroll", csr("device-1"), "device-1", token).statusCode());
  }

  @Test
  void oversizedBody_is413_declaredOrChunked() throws Exception {
    byte[] big = new byte[70 * 1024];
    java.util.Arrays.fill(big, (byte) 'A');

    HttpResponse<byte[]> declared = client.post(ENROLL, big, "Content-Type", EstMediaType.PKCS10);
    HttpResponse<byte[]> chunked = client.send(HttpRequest.newBuilder(client.uri(ENROLL))
        .header("Content-Type", EstMediaType.PKCS10)
        .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big)))
        .build());

    assertEquals(413, declared.statusCode());
    assertEquals(413, chunked.statusCode());
    assertTrue(text(chunked).contains("larger than 65536 bytes"), text(chunked));
  }

  @Test
  void wrongMethodUnknownPathAndServerKeygen() throws Exception {
    HttpResponse<byte[]> get = client.get(ENROLL);
    HttpResponse<byte[]> unknown = client.get("/.well-known/est/fullcmc");
    HttpResponse<byte[]> elsewhere = client.get("/index.html");
    HttpResponse<byte[]> keygen = client.post("/.well-known/est/serverkeygen", new byte[] {1}, "Content-Type", EstMediaType.PKCS10);
    HttpResponse<byte[]> unknownLabel = client.get("/.well-known/est/nolabel/cacerts");
    HttpResponse<byte[]> keygenUnknownLabel = client.post("/.well-known/est/nolabel/serverkeygen", new byte[] {1},
        "Content-Type", EstMediaType.PKCS10);

    HttpResponse<byte[]> cacerts = client.get("/.well-known/est/cacerts");
    HttpResponse<byte[]> headCacerts = client.send(HttpRequest.newBuilder(server.uri("/.well-known/est/cacerts"))
        .method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
    HttpResponse<byte[]> headHealth = client.send(HttpRequest.newBuilder(server.uri("/health"))
        .method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
    HttpResponse<byte[]> postCacerts = client.post("/.well-known/est/cacerts", new byte[] {1});

    assertEquals(405, get.statusCode());
    assertEquals("POST", get.headers().firstValue("Allow").orElseThrow());
    assertEquals(404, keygenUnknownLabel.statusCode(), "as every operation on a label the server lacks");
    assertEquals("no EST label 'nolabel' on this server\n", text(keygenUnknownLabel));
    // HEAD wherever GET (RFC 9110 section 9.1): the GET's headers, no body.
    assertEquals(200, headCacerts.statusCode());
    assertEquals(0, headCacerts.body().length);
    assertEquals(String.valueOf(cacerts.body().length), headCacerts.headers().firstValue("Content-Length").orElseThrow());
    assertEquals(200, headHealth.statusCode());
    assertEquals(405, postCacerts.statusCode());
    assertEquals("GET, HEAD", postCacerts.headers().firstValue("Allow").orElseThrow());
    assertEquals(404, unknown.statusCode());
    assertEquals(404, elsewhere.statusCode());
    assertEquals(400, keygen.statusCode(), "serverkeygen reads its request as simpleenroll does: " + text(keygen));
    assertEquals(404, unknownLabel.statusCode());
    assertEquals("no EST label 'nolabel' on this server\n", text(unknownLabel));
  }

  @Test
  void subjectAltNames_copiedWhenAllowedAndRefusedOtherwise() throws Exception {
    Csr withDns = new CsrBuilder().commonName("device-1")
        .subjectAltName(new GeneralName(GeneralName.dNSName, "device-1.fleet.example")).sign(keys);
    Csr withEmail = new CsrBuilder().commonName("device-2")
        .subjectAltName(new GeneralName(GeneralName.rfc822Name, "ops@example.com")).sign(keys);

    X509Certificate certificate = issued(client.enroll("simpleenroll", withDns, "device-1", server.token("device-1")));
    HttpResponse<byte[]> refused = client.enroll("simpleenroll", withEmail, "device-2", server.token("device-2"));

    assertEquals(List.of(new GeneralName(GeneralName.dNSName, "device-1.fleet.example")), Certificates.subjectAltNames(certificate));
    assertEquals(403, refused.statusCode());
    assertTrue(text(refused).startsWith("subjectAltName email:ops@example.com is not allowed"), text(refused));
  }

  @Test
  void sanValues_certifyOnlyTheDevicesOwnNames_andRenewalsKeepTheirs() throws Exception {
    server.close();
    Path data = dir.resolve("san-values");
    String allTypes = "\"allowedSanTypes\": [\"dns\", \"uri\", \"ip\"]";
    server = TestServer.start(data, "{\"defaultProfile\": {" + allTypes + ", \"sanValues\": ["
        + "\"dns:{id}.fleet.example\", \"dns:*.{id}.fleet.example\", \"uri:urn:dev:ops:{id}\", "
        + "\"ip:192.0.2.0/24\", \"ip:2001:db8::/32\"]}}");
    client = EstTestClient.anonymous(server);
    List<GeneralName> own = List.of(new GeneralName(GeneralName.dNSName, "Device-1.Fleet.Example"),
        new GeneralName(GeneralName.dNSName, "api.device-1.fleet.example"),
        new GeneralName(GeneralName.uniformResourceIdentifier, "urn:dev:ops:device-1"),
        new GeneralName(GeneralName.iPAddress, "192.0.2.7"),
        new GeneralName(GeneralName.iPAddress, "2001:db8::7"));
    List<GeneralName> others = List.of(new GeneralName(GeneralName.dNSName, "device-1.fleet.example"),
        new GeneralName(GeneralName.dNSName, "a.b.device-2.fleet.example"),
        new GeneralName(GeneralName.dNSName, "device-2.fleet.example.evil"),
        new GeneralName(GeneralName.uniformResourceIdentifier, "urn:dev:ops:device-1"),
        new GeneralName(GeneralName.uniformResourceIdentifier, "URN:dev:ops:device-2"),
        new GeneralName(GeneralName.iPAddress, "198.51.100.1"),
        new GeneralName(GeneralName.iPAddress, "2001:db9::1"));

    X509Certificate certificate = issued(client.enroll("simpleenroll",
        new CsrBuilder().commonName("device-1").subjectAltNames(own).sign(keys), "device-1", server.token("device-1")));
    String token = server.token("device-2");
    for (GeneralName name : others) {
      HttpResponse<byte[]> refused = client.enroll("simpleenroll",
          new CsrBuilder().commonName("device-2").subjectAltName(name).sign(keys), "device-2", token);

      assertEquals(403, refused.statusCode(), name + ": " + text(refused));
      assertTrue(text(refused).matches("subjectAltName \\S+ is not one this profile certifies for 'device-2' "
          + "\\(sanValues: dns:\\{id}\\.fleet.*\\)\n"), text(refused));
    }
    assertEquals(own, Certificates.subjectAltNames(certificate));
    // An identity of two labels would reach into device-2's names: where {id} is a label, it matches nothing.
    HttpResponse<byte[]> spanning = client.enroll("simpleenroll", new CsrBuilder().commonName("api.device-2")
        .subjectAltName(new GeneralName(GeneralName.dNSName, "api.device-2.fleet.example")).sign(keys),
        "api.device-2", server.token("api.device-2"));
    assertEquals(403, spanning.statusCode(), text(spanning));
    assertEquals(200, client.enroll("simpleenroll", new CsrBuilder().commonName("device-2")
        .subjectAltName(new GeneralName(GeneralName.dNSName, "device-2.fleet.example")).sign(keys), "device-2", token)
        .statusCode(), "the token was not used by the refusals");

    // Names the profile no longer certifies: a first enrollment is refused them, a renewal keeps them.
    server.close();
    server = TestServer.start(data, "{\"defaultProfile\": {" + allTypes + ", \"sanValues\": [\"uri:urn:dev:ops:{id}\"]}}");
    KeyPair renewed = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    HttpResponse<byte[]> renewal = EstTestClient.withCertificate(server, keys.getPrivate(), List.of(certificate))
        .enroll("simplereenroll", new CsrBuilder().commonName("device-1").subjectAltNames(own).sign(renewed), null, null);
    HttpResponse<byte[]> first = EstTestClient.anonymous(server).enroll("simpleenroll", new CsrBuilder()
        .commonName("device-3").subjectAltName(new GeneralName(GeneralName.dNSName, "device-3.fleet.example"))
        .sign(keys), "device-3", server.token("device-3"));
    assertEquals(own, Certificates.subjectAltNames(issued(renewal)));
    assertEquals(403, first.statusCode(), text(first));
  }

  @Test
  void weakKeysAndSignatures_are400() throws Exception {
    java.security.KeyPairGenerator generator = java.security.KeyPairGenerator.getInstance("RSA");
    generator.initialize(1024);
    KeyPair weakRsa = generator.generateKeyPair();
    Csr smallKey = new CsrBuilder().commonName("device-1").sign(weakRsa);
    byte[] sha1 = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=device-2"), keys.getPublic())
        .build(new JcaContentSignerBuilder("SHA1withECDSA").setProvider(BouncyCastle.PROVIDER).build(keys.getPrivate()))
        .getEncoded();

    HttpResponse<byte[]> rsa = client.enroll("simpleenroll", smallKey, "device-1", server.token("device-1"));
    HttpResponse<byte[]> oldHash = client.enroll("simpleenroll", Csr.fromDer(sha1), "device-2", server.token("device-2"));

    assertEquals(400, rsa.statusCode());
    assertTrue(text(rsa).startsWith("RSA key of 1024 bits is not accepted"), text(rsa));
    assertEquals(400, oldHash.statusCode());
    assertTrue(text(oldHash).matches("CSR signature algorithm \\w*SHA1\\w* is not accepted; sign with SHA-256.*\\n"), text(oldHash));
  }

  @Test
  void caRequestAndMissingCn_areRefused() throws Exception {
    Csr noCn = new CsrBuilder().subject(new X500Name("O=Nobody")).sign(keys);
    ExtensionsGenerator extensions = new ExtensionsGenerator();
    extensions.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
    Csr asksForCa = Csr.fromDer(new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=device-2"), keys.getPublic())
        .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate())
        .build(new JcaContentSignerBuilder("SHA256withECDSA").setProvider(BouncyCastle.PROVIDER).build(keys.getPrivate()))
        .getEncoded());

    HttpResponse<byte[]> missingCn = client.enroll("simpleenroll", noCn, "device-1", server.token("device-1"));
    HttpResponse<byte[]> ca = client.enroll("simpleenroll", asksForCa, "device-2", server.token("device-2"));

    assertEquals(400, missingCn.statusCode());
    assertTrue(text(missingCn).contains("exactly one CN"), text(missingCn));
    assertEquals(403, ca.statusCode());
    assertTrue(text(ca).contains("end-entity certificates only"), text(ca));
  }

  @Test
  void ecKeysOffTheNamedNistCurves_are400_beforeAnythingIsSigned() throws Exception {
    java.security.KeyPairGenerator k1 = java.security.KeyPairGenerator.getInstance("EC", BouncyCastle.PROVIDER);
    k1.initialize(new java.security.spec.ECGenParameterSpec("secp256k1"), TestPki.RANDOM);
    Csr bitcoinCurve = new CsrBuilder().commonName("device-1").sign(k1.generateKeyPair());
    // The P-256 key of `keys` with its curve spelled out (explicit parameters) instead of named.
    org.bouncycastle.asn1.x9.X9ECParameters p256 = org.bouncycastle.asn1.x9.ECNamedCurveTable.getByName("P-256");
    org.bouncycastle.asn1.x509.SubjectPublicKeyInfo named =
        org.bouncycastle.asn1.x509.SubjectPublicKeyInfo.getInstance(keys.getPublic().getEncoded());
    org.bouncycastle.asn1.x509.SubjectPublicKeyInfo explicit = new org.bouncycastle.asn1.x509.SubjectPublicKeyInfo(
        new org.bouncycastle.asn1.x509.AlgorithmIdentifier(org.bouncycastle.asn1.x9.X9ObjectIdentifiers.id_ecPublicKey,
            new org.bouncycastle.asn1.x9.X962Parameters(p256)), named.getPublicKeyData().getBytes());
    Csr explicitCurve = Csr.fromDer(new org.bouncycastle.pkcs.PKCS10CertificationRequestBuilder(
            new X500Name("CN=device-2"), explicit)
        .build(new JcaContentSignerBuilder("SHA256withECDSA").setProvider(BouncyCastle.PROVIDER).build(keys.getPrivate()))
        .getEncoded());
    String token2 = server.token("device-2");

    HttpResponse<byte[]> k1Refused = client.enroll("simpleenroll", bitcoinCurve, "device-1", server.token("device-1"));
    HttpResponse<byte[]> explicitRefused = client.enroll("simpleenroll", explicitCurve, "device-2", token2);

    assertEquals(400, k1Refused.statusCode(), text(k1Refused));
    assertEquals("EC key on curve secp256k1 is not accepted; use P-256, P-384 or P-521\n", text(k1Refused));
    assertEquals(400, explicitRefused.statusCode(), text(explicitRefused));
    assertTrue(text(explicitRefused).startsWith("EC key without a named curve"), text(explicitRefused));
    assertEquals(0, server.ledger(l -> l.byDevice("device-2")).size());
    // The token is still good: the same key with its curve named enrolls.
    issued(client.enroll("simpleenroll", new CsrBuilder().commonName("device-2").sign(keys), "device-2", token2));
  }

  @Test
  void malformedSubjectAltNames_are400() throws Exception {
    List<GeneralName> bad = List.of(
        new GeneralName(GeneralName.dNSName, "a\nb.example"),
        new GeneralName(GeneralName.dNSName, "*.fleet.example"),
        new GeneralName(GeneralName.dNSName, "-device.example"),
        new GeneralName(GeneralName.dNSName, "x".repeat(64) + ".example"),
        new GeneralName(GeneralName.uniformResourceIdentifier, "urn:x\ny"),
        new GeneralName(GeneralName.uniformResourceIdentifier, "relative/path"),
        new GeneralName(GeneralName.iPAddress, new org.bouncycastle.asn1.DEROctetString(new byte[] {10, 0, 0, 1, -1, -1, -1, 0})));
    server.close();
    server = TestServer.start(dir.resolve("all-types"), "{\"defaultProfile\": {\"allowedSanTypes\": [\"dns\", \"uri\", \"ip\", \"email\"]}}");
    client = EstTestClient.anonymous(server);
    for (GeneralName name : bad) {
      HttpResponse<byte[]> refused = client.enroll("simpleenroll",
          new CsrBuilder().commonName("device-1").subjectAltName(name).sign(keys), "device-1", server.token("device-1"));

      assertEquals(400, refused.statusCode(), name + ": " + text(refused));
      assertTrue(text(refused).startsWith("subjectAltName "), text(refused));
      assertEquals(1, text(refused).split("\n", -1).length - 1, "one line: " + text(refused));
    }
    List<GeneralName> good = List.of(new GeneralName(GeneralName.dNSName, "device-1.fleet.example"),
        new GeneralName(GeneralName.uniformResourceIdentifier, "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"),
        new GeneralName(GeneralName.iPAddress, "192.0.2.7"),
        new GeneralName(GeneralName.rfc822Name, "device-1@fleet.example"));
    X509Certificate certificate = issued(client.enroll("simpleenroll",
        new CsrBuilder().commonName("device-1").subjectAltNames(good).sign(keys), "device-1", server.token("device-1")));
    assertEquals(good, Certificates.subjectAltNames(certificate));
  }

  @Test
  void controlCharactersInAClaimedIdentityOrCn_areQuotedEscaped_notA500() throws Exception {
    HttpResponse<byte[]> unknown = client.enroll("simpleenroll", csr("device-1"), "dev-x\nforged\u0000", "guess");
    Csr twoLines = new CsrBuilder().subject(new X500Name(new org.bouncycastle.asn1.x500.RDN[] {
        new org.bouncycastle.asn1.x500.RDN(org.bouncycastle.asn1.x500.style.BCStyle.CN,
            new org.bouncycastle.asn1.DERUTF8String("device-1\r\nforged: yes"))})).sign(keys);
    HttpResponse<byte[]> wrongCn = client.enroll("simpleenroll", twoLines, "device-1", server.token("device-1"));

    assertEquals(401, unknown.statusCode(), text(unknown));
    assertTrue(text(unknown).contains("'dev-x\\nforged\\u0000'"), text(unknown));
    assertEquals(403, wrongCn.statusCode(), text(wrongCn));
    assertTrue(text(wrongCn).contains("device-1\\r\\nforged: yes"), text(wrongCn));
    for (HttpResponse<byte[]> response : List.of(unknown, wrongCn)) {
      assertEquals(1, text(response).split("\n", -1).length - 1, "one line: " + text(response));
    }
  }

  @Test
  void aCaThatFails_is500WithAGenericText_andAudited() throws Exception {
    server.close();
    server = TestServer.start(dir.resolve("broken"), "{}", ca -> new org.estfleet.server.ForwardingCa(ca) {
      @Override
      public org.estfleet.server.ca.IssueResult issue(org.estfleet.server.ca.IssueRequest request) {
        throw new IllegalStateException("the HSM is unplugged");
      }
    });
    client = EstTestClient.anonymous(server);

    HttpResponse<byte[]> response = client.enroll("simpleenroll", csr("device-1"), "device-1", server.token("device-1"));

    assertEquals(500, response.statusCode());
    assertEquals("internal server error; the server log has the details\n", text(response));
    server.close();
    List<com.google.gson.JsonObject> audit = server.audit();
    assertEquals(1, audit.size(), String.valueOf(audit));
    com.google.gson.JsonObject audited = audit.get(0);
    assertEquals("error", audited.get("result").getAsString());
    assertEquals(500, audited.get("status").getAsInt());
    assertEquals("device-1", audited.get("identity").getAsString());
  }

  @Test
  void subjectAttributesBesidesTheCn_areRefused_unlessTheProfileListsThem() throws Exception {
    Csr chosenOrganisation = new CsrBuilder().subject(new X500Name("C=DE,O=Acme,OU=x,CN=device-1")).sign(keys);
    String token = server.token("device-1");

    HttpResponse<byte[]> refused = client.enroll("simpleenroll", chosenOrganisation, "device-1", token);

    assertEquals(403, refused.statusCode(), text(refused));
    assertEquals("CSR subject carries C=DE, O=Acme, OU=x besides the CN; this profile issues the CN alone (profile "
        + "subjectAttributes lists what a CSR may add)\n", text(refused));
    server.close();
    server = TestServer.start(dir.resolve("with-o"), "{\"defaultProfile\": {\"subjectAttributes\": [\"O\"]}}");
    client = EstTestClient.anonymous(server);
    X509Certificate withO = issued(client.enroll("simpleenroll",
        new CsrBuilder().subject(new X500Name("O=Acme,CN=device-1")).sign(keys), "device-1", server.token("device-1")));
    HttpResponse<byte[]> withOu = client.enroll("simpleenroll",
        new CsrBuilder().subject(new X500Name("O=Acme,OU=x,CN=device-2")).sign(keys), "device-2", server.token("device-2"));
    assertEquals("CN=device-1,O=Acme", withO.getSubjectX500Principal().getName());
    assertEquals(403, withOu.statusCode(), text(withOu));
    assertTrue(text(withOu).startsWith("CSR subject carries OU=x besides the CN; this profile issues the CN with [O]"),
        text(withOu));
  }

  @Test
  void csrsWithAMalformedExtensionOrSubject_are400WithTheirReason_notA500() throws Exception {
    String token = server.token("device-1");
    String auth = EstTestClient.basic("device-1", token);
    byte[] badSan = csrDer(new X500Name("CN=device-1"), new Extension(Extension.subjectAlternativeName, false,
        new ASN1Integer(5).getEncoded()));
    byte[] badKeyUsage = csrDer(new X500Name("CN=device-1"), new Extension(Extension.keyUsage, true,
        new DEROctetString(new byte[] {0x03, 0x02, 0x07})));
    byte[] emptyRdn = csrDer(new X500Name(new RDN[] {RDN.getInstance(new DERSet()),
        new RDN(BCStyle.CN, new DERUTF8String("device-1"))}), null);

    HttpResponse<byte[]> san = client.post(ENROLL, Base64Body.encode(badSan), "Content-Type", EstMediaType.PKCS10,
        "Authorization", auth);
    HttpResponse<byte[]> keyUsage = client.post(ENROLL, Base64Body.encode(badKeyUsage), "Content-Type",
        EstMediaType.PKCS10, "Authorization", auth);
    HttpResponse<byte[]> rdn = client.post(ENROLL, Base64Body.encode(emptyRdn), "Content-Type", EstMediaType.PKCS10,
        "Authorization", auth);

    assertEquals(400, san.statusCode(), text(san));
    assertEquals("CSR requests a malformed subjectAltName extension (its value is not the ASN.1 structure RFC 5280 "
        + "defines for it)\n", text(san));
    assertEquals(400, keyUsage.statusCode(), text(keyUsage));
    assertTrue(text(keyUsage).startsWith("CSR requests a malformed keyUsage extension"), text(keyUsage));
    assertEquals(400, rdn.statusCode(), text(rdn));
    assertEquals("CSR subject has an empty RDN (a SET without attribute)\n", text(rdn));
    assertEquals(200, client.enroll("simpleenroll", csr("device-1"), "device-1", token).statusCode(),
        "the token survives malformed requests");
  }

  @Test
  void subjectStringsAreIssuedAsRfc5280Says_andRenewalComparesThemAsIssued() throws Exception {
    // A CN as an IA5String, which is not a DirectoryString: the certificate carries a UTF8String.
    Csr ia5 = new CsrBuilder().subject(new X500Name(new RDN[] {new RDN(BCStyle.CN, new DERIA5String("device-1"))}))
        .sign(keys);

    X509Certificate certificate = issued(client.enroll("simpleenroll", ia5, "device-1", server.token("device-1")));

    ASN1Encodable cn = X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded()).getRDNs(BCStyle.CN)[0]
        .getFirst().getValue();
    assertTrue(cn instanceof DERUTF8String, cn.getClass().getSimpleName());
    // Renewed with the CN as a TeletexString: the same name.
    Csr t61 = new CsrBuilder().subject(new X500Name(new RDN[] {new RDN(BCStyle.CN, new DERT61String("device-1"))}))
        .sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM));
    EstTestClient device = EstTestClient.withCertificate(server, keys.getPrivate(), List.of(certificate));
    assertEquals(200, device.enroll("simplereenroll", t61, null, null).statusCode());
  }

  @Test
  void aCertificateOfThisCa_requestsOnlyItsOwnNames_onSimpleenrollToo() throws Exception {
    X509Certificate certificate = issued(client.enroll("simpleenroll", csr("device-1"), "device-1",
        server.token("device-1")));
    EstTestClient device = EstTestClient.withCertificate(server, keys.getPrivate(), List.of(certificate));
    Csr renamed = new CsrBuilder().commonName("device-1")
        .subjectAltName(new GeneralName(GeneralName.dNSName, "other.fleet.example"))
        .sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM));

    HttpResponse<byte[]> enroll = device.enroll("simpleenroll", renamed, null, null);
    HttpResponse<byte[]> reenroll = device.enroll("simplereenroll", renamed, null, null);

    assertEquals(403, enroll.statusCode(), text(enroll));
    assertTrue(text(enroll).contains("differs from the certificate being renewed"), text(enroll));
    assertEquals(403, reenroll.statusCode(), text(reenroll));
    assertEquals(200, device.enroll("simpleenroll", csr("device-1"), null, null).statusCode(),
        "its own names, with a certificate, on simpleenroll");
  }

  @Test
  void keyUsage_isWhatTheKeyCanCarry_ofWhatTheProfileIssues() throws Exception {
    server.close();
    server = TestServer.start(dir.resolve("encipher"),
        "{\"defaultProfile\": {\"keyUsage\": [\"digitalSignature\", \"keyEncipherment\", \"keyAgreement\"]}, "
            + "\"labels\": {\"rsa-only\": {\"keyUsage\": [\"keyEncipherment\"]}}}");
    client = EstTestClient.anonymous(server);

    X509Certificate ec = issued(client.enroll("simpleenroll", csr("device-ec"), "device-ec", server.token("device-ec")));
    X509Certificate rsa = issued(client.enroll("simpleenroll", new CsrBuilder().commonName("device-rsa")
        .sign(KeyAlgorithm.RSA_2048.generate(TestPki.RANDOM)), "device-rsa", server.token("device-rsa")));
    HttpResponse<byte[]> ecForRsaOnly = client.post("/.well-known/est/rsa-only/simpleenroll",
        Base64Body.encode(csr("device-2").der()), "Content-Type", EstMediaType.PKCS10, "Authorization",
        EstTestClient.basic("device-2", server.tokenFor("device-2", "rsa-only")));

    // KeyUsage bits: digitalSignature 0, keyEncipherment 2, keyAgreement 4 (RFC 5480 3: EC, no encipherment).
    assertEquals(List.of(true, false, false, false, true, false, false, false, false), booleans(ec.getKeyUsage()));
    assertEquals(List.of(true, false, true, false, false, false, false, false, false), booleans(rsa.getKeyUsage()));
    assertEquals(403, ecForRsaOnly.statusCode(), text(ecForRsaOnly));
    assertTrue(text(ecForRsaOnly).startsWith("this profile issues key usage keyEncipherment only, which a"),
        text(ecForRsaOnly));
  }

  @Test
  void anUnknownLabel_is404_whateverTheBody() throws Exception {
    HttpResponse<byte[]> empty = client.post("/.well-known/est/unknown/simpleenroll", new byte[0],
        "Content-Type", EstMediaType.PKCS10);
    HttpResponse<byte[]> wrongType = client.post("/.well-known/est/unknown/simpleenroll", new byte[] {1},
        "Content-Type", "text/plain");

    assertEquals(404, empty.statusCode(), text(empty));
    assertEquals("no EST label 'unknown' on this server\n", text(empty));
    assertEquals(404, wrongType.statusCode(), text(wrongType));
  }

  private static List<Boolean> booleans(boolean[] bits) {
    List<Boolean> list = new ArrayList<>();
    for (boolean bit : bits) {
      list.add(bit);
    }
    return list;
  }

  /** A CSR signed by {@link #keys}, with {@code extension} requested if not null. */
  private byte[] csrDer(X500Name subject, Extension extension) throws Exception {
    PKCS10CertificationRequestBuilder builder = new PKCS10CertificationRequestBuilder(subject,
        SubjectPublicKeyInfo.getInstance(keys.getPublic().getEncoded()));
    if (extension != null) {
      builder.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, new DERSequence(extension));
    }
    return builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())).getEncoded();
  }

  @Test
  void rsaDevice_enrolls() throws Exception {
    Csr rsa = new CsrBuilder().commonName("device-rsa").sign(KeyAlgorithm.RSA_2048.generate(TestPki.RANDOM));

    X509Certificate certificate = issued(client.enroll("simpleenroll", rsa, "device-rsa", server.token("device-rsa")));

    assertEquals("RSA", certificate.getPublicKey().getAlgorithm());
  }

  private Csr csr(String commonName) {
    return new CsrBuilder().commonName(commonName).sign(keys);
  }
}
