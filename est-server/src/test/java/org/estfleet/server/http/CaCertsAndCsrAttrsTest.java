package org.estfleet.server.http;

import static org.estfleet.server.EstTestClient.text;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.security.cert.X509Certificate;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.estfleet.est.Base64Body;
import org.estfleet.est.CertsOnly;
import org.estfleet.est.CsrAttributes;
import org.estfleet.est.EstMediaType;
import org.estfleet.pki.Csr;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.TestPki;
import org.estfleet.server.EstTestClient;
import org.estfleet.server.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code /cacerts} and {@code /csrattrs}, with and without labels. */
class CaCertsAndCsrAttrsTest {
  @TempDir
  Path dir;

  private TestServer server;
  private EstTestClient client;

  @BeforeEach
  void start() throws Exception {
    server = TestServer.start(dir, "{\"labels\": {\"factory\": {\"lifetime\": \"1d\", \"csrAttributes\": []}}}");
    client = EstTestClient.anonymous(server);
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void cacerts_returnsRootAndIssuingCaAsBase64CertsOnly() throws Exception {
    HttpResponse<byte[]> response = client.get("/.well-known/est/cacerts");

    assertEquals(200, response.statusCode());
    assertEquals(EstMediaType.PKCS7_MIME, response.headers().firstValue("Content-Type").orElseThrow());
    assertEquals("base64", response.headers().firstValue("Content-Transfer-Encoding").orElseThrow());
    assertEquals(String.valueOf(response.body().length), response.headers().firstValue("Content-Length").orElseThrow());
    List<X509Certificate> certificates = CertsOnly.decode(Base64Body.decode(response.body()));
    assertEquals(Set.of(server.rootCertificate(), server.issuingCertificate()), new HashSet<>(certificates));
  }

  @Test
  void cacerts_decodesWithCoreutilsBase64_asInACurlPipeline() throws Exception {
    // curl -s --cacert root.pem https://.../cacerts | base64 -d | openssl pkcs7 -inform DER
    byte[] body = client.get("/.well-known/est/cacerts").body();
    Process decode;
    try {
      decode = new ProcessBuilder("base64", "-d").start();
    } catch (java.io.IOException noCoreutils) {
      org.junit.jupiter.api.Assumptions.abort("no base64 command here");
      return;
    }
    try (java.io.OutputStream in = decode.getOutputStream()) {
      in.write(body);
    }
    byte[] der = decode.getInputStream().readAllBytes();
    String err = new String(decode.getErrorStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);

    assertEquals(0, decode.waitFor(), err);
    assertEquals(Set.of(server.rootCertificate(), server.issuingCertificate()), new HashSet<>(CertsOnly.decode(der)));
  }

  @Test
  void tls12OnlyClients_areServed() throws Exception {
    // libest's estclient speaks TLS 1.2 only.
    javax.net.ssl.SSLParameters tls12 = new javax.net.ssl.SSLParameters();
    tls12.setProtocols(new String[] {"TLSv1.2"});
    java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder()
        .sslContext(org.estfleet.server.EstTestClient.trustingOnly(server.rootCertificate()))
        .sslParameters(tls12)
        .version(java.net.http.HttpClient.Version.HTTP_1_1).build();

    HttpResponse<byte[]> response = http.send(java.net.http.HttpRequest.newBuilder(server.uri("/.well-known/est/cacerts")).build(),
        HttpResponse.BodyHandlers.ofByteArray());

    assertEquals(200, response.statusCode());
    assertEquals("TLSv1.2", response.sslSession().orElseThrow().getProtocol());
  }

  @Test
  void cacerts_withKnownLabelAndUnknownLabel() throws Exception {
    HttpResponse<byte[]> known = client.get("/.well-known/est/factory/cacerts");
    HttpResponse<byte[]> unknown = client.get("/.well-known/est/other/cacerts");
    HttpResponse<byte[]> invalid = client.get("/.well-known/est/bad%20label/cacerts");
    HttpResponse<byte[]> encoded = client.get("/.well-known/est/fact%6Fry/cacerts");

    assertEquals(200, known.statusCode());
    assertEquals(404, unknown.statusCode());
    assertEquals(404, invalid.statusCode());
    assertEquals("invalid EST label 'bad%20label': use 1-64 letters, digits, '.', '_', '~' or '-'", text(invalid).strip());
    assertEquals(200, encoded.statusCode(), text(encoded));
    assertArrayEquals(known.body(), encoded.body());
  }

  @Test
  void csrattrs_defaultProfileAdvertisesP256AndSha256() throws Exception {
    HttpResponse<byte[]> response = client.get("/.well-known/est/csrattrs");

    assertEquals(200, response.statusCode());
    assertEquals(EstMediaType.CSR_ATTRS, response.headers().firstValue("Content-Type").orElseThrow());
    CsrAttributes attributes = CsrAttributes.decode(Base64Body.decode(response.body()));
    assertEquals(new ASN1ObjectIdentifier("1.2.840.10045.4.3.2"), attributes.items().get(0).type());
    assertEquals(List.of(new ASN1ObjectIdentifier("1.2.840.10045.3.1.7")), attributes.items().get(1).values());
  }

  @Test
  void labelledEnrollment_usesTheLabelsProfile() throws Exception {
    Csr csr = new CsrBuilder().commonName("device-1").sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM));

    X509Certificate certificate = EstTestClient.issued(
        client.enroll("factory/simpleenroll", csr, "device-1", server.tokenFor("device-1", "factory")));

    Duration lifetime = Duration.between(server.clock().instant(), certificate.getNotAfter().toInstant());
    assertTrue(lifetime.compareTo(Duration.ofDays(1)) <= 0 && lifetime.compareTo(Duration.ofHours(23)) > 0, lifetime.toString());
    assertEquals("factory", server.ledger(l -> l.byDevice("device-1")).get(0).label());
  }

  @Test
  void csrattrs_emptyIs204() throws Exception {
    HttpResponse<byte[]> response = client.get("/.well-known/est/factory/csrattrs");

    assertEquals(204, response.statusCode());
    assertEquals(0, response.body().length);
  }
}
