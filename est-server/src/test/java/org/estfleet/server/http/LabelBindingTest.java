package org.estfleet.server.http;

import static org.estfleet.server.EstTestClient.issued;
import static org.estfleet.server.EstTestClient.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.estfleet.est.Base64Body;
import org.estfleet.est.EstMediaType;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.Csr;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.TestPki;
import org.estfleet.server.EstTestClient;
import org.estfleet.server.TestServer;
import org.estfleet.server.store.Database;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which EST label credentials are good for, over real TLS: a token for the label it was made for,
 * a certificate for the label it was issued under; 403 elsewhere, with nothing used up.
 */
class LabelBindingTest {
  @TempDir
  Path dir;

  private TestServer server;
  private EstTestClient anonymous;

  @BeforeEach
  void start() throws Exception {
    // The label's certificates live an hour, the default profile's 30 days: a device must not
    // trade one for the other.
    server = TestServer.start(dir.resolve("server"), "{\"labels\": {\"factory\": {\"lifetime\": \"1h\"}}}");
    anonymous = EstTestClient.anonymous(server);
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void aTokenForALabel_enrollsThereOnly_andIsNotUsedUpByTheRefusal() throws Exception {
    String token = server.tokenFor("device-1", "factory");
    Csr csr = csr("device-1", KeyAlgorithm.EC_P256.generate(TestPki.RANDOM));

    HttpResponse<byte[]> elsewhere = enroll(anonymous, "", "simpleenroll", csr, "device-1", token);
    HttpResponse<byte[]> there = enroll(anonymous, "factory", "simpleenroll", csr, "device-1", token);

    assertEquals(403, elsewhere.statusCode(), text(elsewhere));
    assertEquals("the enrollment token for 'device-1' enrolls only under label 'factory', at "
        + "/.well-known/est/factory/; this request has no label\n", text(elsewhere));
    assertEquals(200, there.statusCode(), text(there));
    assertLives(Duration.ofHours(1), issued(there));
    // The request sent again (its answer lost) gets the certificate issued for it, under its label.
    HttpResponse<byte[]> retried = enroll(anonymous, "factory", "simpleenroll", csr, "device-1", token);
    assertEquals(issued(there), issued(retried));
  }

  @Test
  void aTokenWithoutALabel_enrollsOnlyWithoutOne() throws Exception {
    String token = server.token("device-2");
    Csr csr = csr("device-2", KeyAlgorithm.EC_P256.generate(TestPki.RANDOM));

    HttpResponse<byte[]> labelled = enroll(anonymous, "factory", "simpleenroll", csr, "device-2", token);
    HttpResponse<byte[]> plain = enroll(anonymous, "", "simpleenroll", csr, "device-2", token);

    assertEquals(403, labelled.statusCode(), text(labelled));
    assertEquals("the enrollment token for 'device-2' enrolls only without a label, at /.well-known/est/; "
        + "this request is for label 'factory'\n", text(labelled));
    assertEquals(200, plain.statusCode(), text(plain));
    assertLives(Duration.ofDays(30), issued(plain));
  }

  @Test
  void aCertificate_renewsAndEnrollsOnlyUnderTheLabelItWasIssuedUnder() throws Exception {
    KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    X509Certificate shortLived = issued(enroll(anonymous, "factory", "simpleenroll", csr("device-3", keys),
        "device-3", server.tokenFor("device-3", "factory")));
    EstTestClient device = EstTestClient.withCertificate(server, keys.getPrivate(), List.of(shortLived));
    Csr renewal = csr("device-3", KeyAlgorithm.EC_P256.generate(TestPki.RANDOM));

    HttpResponse<byte[]> reenrollElsewhere = enroll(device, "", "simplereenroll", renewal, null, null);
    HttpResponse<byte[]> enrollElsewhere = enroll(device, "", "simpleenroll", renewal, null, null);
    HttpResponse<byte[]> reenrollThere = enroll(device, "factory", "simplereenroll", renewal, null, null);

    String serial = Certificates.serialHex(shortLived);
    assertEquals(403, reenrollElsewhere.statusCode(), text(reenrollElsewhere));
    assertEquals("certificate serial " + serial + " was issued under label 'factory', at /.well-known/est/factory/, "
        + "and enrolls or renews only there; this request has no label\n", text(reenrollElsewhere));
    assertEquals(403, enrollElsewhere.statusCode(), text(enrollElsewhere));
    assertEquals(text(reenrollElsewhere), text(enrollElsewhere));
    assertEquals(200, reenrollThere.statusCode(), text(reenrollThere));
    X509Certificate renewed = issued(reenrollThere);
    assertLives(Duration.ofHours(1), renewed);
    assertEquals("factory", server.ledger(l -> l.find(Certificates.serialHex(renewed))).orElseThrow().label());
    assertEquals(2, server.ledger(l -> l.byDevice("device-3")).size(), "the refusals issued nothing");

    // And the other way: a certificate issued without a label does not renew under one.
    KeyPair plainKeys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    X509Certificate plain = issued(enroll(anonymous, "", "simpleenroll", csr("device-4", plainKeys), "device-4",
        server.token("device-4")));
    HttpResponse<byte[]> intoFactory = enroll(EstTestClient.withCertificate(server, plainKeys.getPrivate(),
        List.of(plain)), "factory", "simplereenroll", csr("device-4", plainKeys), null, null);
    assertEquals(403, intoFactory.statusCode(), text(intoFactory));
    assertEquals("certificate serial " + Certificates.serialHex(plain) + " was issued without a label, at "
        + "/.well-known/est/, and enrolls or renews only there; this request is for label 'factory'\n",
        text(intoFactory));
  }

  @Test
  void aTokenMadeBeforeTokensHadLabels_enrollsUnderAny() throws Exception {
    String token = server.token("device-5");
    try (Database database = Database.open(server.dataDir().resolve("estfleet.db"))) {
      // As migration V11 leaves the tokens it finds.
      database.inTransaction(connection -> connection.createStatement()
          .executeUpdate("UPDATE bootstrap_token SET label = NULL WHERE device_id = 'device-5'"));
    }

    HttpResponse<byte[]> labelled = enroll(anonymous, "factory", "simpleenroll",
        csr("device-5", KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), "device-5", token);

    assertEquals(200, labelled.statusCode(), text(labelled));
    assertLives(Duration.ofHours(1), issued(labelled));
  }

  private static Csr csr(String deviceId, KeyPair keys) {
    return new CsrBuilder().commonName(deviceId).sign(keys);
  }

  private static HttpResponse<byte[]> enroll(EstTestClient client, String label, String operation, Csr csr,
      String deviceId, String token) throws Exception {
    String path = "/.well-known/est/" + (label.isEmpty() ? "" : label + "/") + operation;
    return token == null
        ? client.post(path, Base64Body.encode(csr.der()), "Content-Type", EstMediaType.PKCS10)
        : client.post(path, Base64Body.encode(csr.der()), "Content-Type", EstMediaType.PKCS10,
            "Authorization", EstTestClient.basic(deviceId, token));
  }

  /** The certificate was issued just now (by the server's clock) for {@code lifetime}. */
  private void assertLives(Duration lifetime, X509Certificate certificate) {
    Duration left = Duration.between(server.clock().instant(), certificate.getNotAfter().toInstant());
    assertTrue(left.compareTo(lifetime) <= 0 && left.compareTo(lifetime.minusMinutes(1)) > 0,
        left + " left of " + lifetime);
  }
}
