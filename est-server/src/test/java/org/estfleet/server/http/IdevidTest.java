package org.estfleet.server.http;

import static org.estfleet.server.EstTestClient.issued;
import static org.estfleet.server.EstTestClient.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.estfleet.est.Base64Body;
import org.estfleet.est.EstMediaType;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.Pem;
import org.estfleet.pki.TestPki;
import org.estfleet.server.Cli;
import org.estfleet.server.EstTestClient;
import org.estfleet.server.TestServer;
import org.estfleet.server.auth.RevocationList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bootstrap with a manufacturer-installed certificate (IDevID) from a configured factory CA. */
class IdevidTest {
  @TempDir
  Path dir;

  private final TestPki.Ca manufacturer = TestPki.rootCa("Manufacturer");
  private final TestPki.Ca factory = manufacturer.subCa("Factory 7");
  private TestServer server;

  @BeforeEach
  void start() throws Exception {
    Path data = dir.resolve("server");
    TestServer.init(data);
    Files.writeString(data.resolve("manufacturer.pem"), Pem.encode(java.util.List.of(manufacturer.certificate())));
    server = TestServer.start(data, "{\"bootstrap\": {\"manufacturerCas\": [\"manufacturer.pem\"]}}");
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void idevid_enrollsForItsOwnCommonNameAndIsRecorded() throws Exception {
    TestPki.Held idevid = factory.issueClient("SN-0001");

    X509Certificate certificate = issued(EstTestClient.withCertificate(server, idevid.privateKey(), idevid.chain())
        .enroll("simpleenroll", new CsrBuilder().commonName("SN-0001").sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), null, null));

    assertEquals("CN=SN-0001", certificate.getSubjectX500Principal().getName());
    String detail = server.ledger(l -> l.find(Certificates.serialHex(certificate))).orElseThrow().authDetail();
    assertTrue(detail.startsWith("idevid serial " + Certificates.serialHex(idevid.certificate())), detail);
  }

  @Test
  void idevid_mayEnrollAgain_butNotForAnotherIdentity() throws Exception {
    TestPki.Held idevid = factory.issueClient("SN-0002");
    EstTestClient device = EstTestClient.withCertificate(server, idevid.privateKey(), idevid.chain());

    HttpResponse<byte[]> first = device.enroll("simpleenroll", new CsrBuilder().commonName("SN-0002").sign(idevid.keys()), null, null);
    HttpResponse<byte[]> again = device.enroll("simpleenroll", new CsrBuilder().commonName("SN-0002").sign(idevid.keys()), null, null);
    HttpResponse<byte[]> other = device.enroll("simpleenroll", new CsrBuilder().commonName("SN-0003").sign(idevid.keys()), null, null);

    assertEquals(200, first.statusCode());
    assertEquals(200, again.statusCode());
    assertEquals(403, other.statusCode());
  }

  @Test
  void aRevokedDevice_itsIdevidEnrollsNoMore_aNewTokenDoes() throws Exception {
    TestPki.Held idevid = factory.issueClient("SN-0006");
    EstTestClient device = EstTestClient.withCertificate(server, idevid.privateKey(), idevid.chain());
    assertEquals(200, device.enroll("simpleenroll", new CsrBuilder().commonName("SN-0006")
        .sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), null, null).statusCode());

    Cli.Run revoked = Cli.run("revoke", "--data", server.dataDir().toString(), "--device", "SN-0006",
        "--reason", "stolen from the depot");
    server.clock().advance(RevocationList.REFRESH);
    HttpResponse<byte[]> withIdevid = device.enroll("simpleenroll", new CsrBuilder().commonName("SN-0006")
        .sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), null, null);

    assertEquals(0, revoked.exit(), revoked.err());
    assertEquals(401, withIdevid.statusCode(), text(withIdevid));
    assertTrue(text(withIdevid).matches("device 'SN-0006' was revoked at \\S+ \\(stolen from the depot\\); its "
        + "manufacturer certificate enrolls no more here: enroll it with a new token\n"), text(withIdevid));
    issued(EstTestClient.anonymous(server).enroll("simpleenroll", new CsrBuilder().commonName("SN-0006")
        .sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), "SN-0006", server.token("SN-0006")));
  }

  @Test
  void idevidLabels_areTheOnlyLabelsIdevidsEnrollUnder_andTheirCertificatesRenewThere() throws Exception {
    server.close();
    server = TestServer.start(server.dataDir(), "{\"labels\": {\"factory\": {\"lifetime\": \"1h\"}, \"lab\": {}, "
        + "\"field\": {}}, \"bootstrap\": {\"idevidLabels\": [\"factory\", \"field\"]}}");
    TestPki.Held idevid = factory.issueClient("SN-0007");
    EstTestClient device = EstTestClient.withCertificate(server, idevid.privateKey(), idevid.chain());
    KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    byte[] csr = Base64Body.encode(new CsrBuilder().commonName("SN-0007").sign(keys).der());

    HttpResponse<byte[]> unlabelled = post(device, "", "simpleenroll", csr);
    HttpResponse<byte[]> otherLabel = post(device, "lab/", "simpleenroll", csr);
    HttpResponse<byte[]> labelled = post(device, "factory/", "simpleenroll", csr);

    assertEquals(403, unlabelled.statusCode(), text(unlabelled));
    assertEquals("manufacturer certificates (IDevIDs) enroll only under label 'factory', at /.well-known/est/factory/ "
        + "or under label 'field', at /.well-known/est/field/ (bootstrap.idevidLabels); this request has no label\n",
        text(unlabelled));
    assertEquals(403, otherLabel.statusCode(), text(otherLabel));
    X509Certificate certificate = issued(labelled);
    assertEquals("factory", server.ledger(l -> l.find(Certificates.serialHex(certificate))).orElseThrow().label());
    // Its certificate renews under its own label only, though the IDevID may also choose 'field'.
    EstTestClient holder = EstTestClient.withCertificate(server, keys.getPrivate(), List.of(certificate));
    byte[] renewal = Base64Body.encode(new CsrBuilder().commonName("SN-0007")
        .sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)).der());
    HttpResponse<byte[]> renewedElsewhere = post(holder, "field/", "simplereenroll", renewal);
    HttpResponse<byte[]> renewed = post(holder, "factory/", "simplereenroll", renewal);
    assertEquals(403, renewedElsewhere.statusCode(), text(renewedElsewhere));
    assertEquals(200, renewed.statusCode(), text(renewed));
  }

  private static HttpResponse<byte[]> post(EstTestClient client, String label, String operation, byte[] body)
      throws Exception {
    return client.post("/.well-known/est/" + label + operation, body, "Content-Type", EstMediaType.PKCS10);
  }

  @Test
  void idevid_withoutCn_enrollsForItsUriOrElseItsSerialNumber() throws Exception {
    // IEEE 802.1AR: a unique serial number in the subject's serialNumber attribute; RFC 9039: a URN.
    TestPki.Held bySerial = idevid(new X500Name("SERIALNUMBER=PID:EF-200 SN:7781"), null);
    TestPki.Held byUri = idevid(new X500Name("O=Acme"), "urn:dev:ops:32473-Thermostat-0042");

    X509Certificate serialCertificate = issued(EstTestClient.withCertificate(server, bySerial.privateKey(), bySerial.chain())
        .enroll("simpleenroll", new CsrBuilder().commonName("PID:EF-200 SN:7781").sign(newKey()), null, null));
    X509Certificate uriCertificate = issued(EstTestClient.withCertificate(server, byUri.privateKey(), byUri.chain())
        .enroll("simpleenroll", new CsrBuilder().commonName("urn:dev:ops:32473-Thermostat-0042").sign(newKey()), null,
            null));

    assertEquals("CN=PID:EF-200 SN:7781", serialCertificate.getSubjectX500Principal().getName());
    assertEquals("PID:EF-200 SN:7781",
        server.ledger(l -> l.find(Certificates.serialHex(serialCertificate))).orElseThrow().deviceId());
    assertEquals("CN=urn:dev:ops:32473-Thermostat-0042", uriCertificate.getSubjectX500Principal().getName());
  }

  @Test
  void idevidIdentity_serialNumber_namesTheDeviceByItsSerialNumber_notItsModelCn() throws Exception {
    server.close();
    server = TestServer.start(server.dataDir(), "{\"bootstrap\": {\"idevidIdentity\": [\"serialNumber\"]}}");
    // A CN every unit of the model shares: as the identity, one unit could take another's.
    TestPki.Held unit = idevid(new X500Name("CN=EF-200 Thermostat,SERIALNUMBER=7781"), null);
    TestPki.Held cnOnly = factory.issueClient("SN-0008");
    EstTestClient device = EstTestClient.withCertificate(server, unit.privateKey(), unit.chain());

    HttpResponse<byte[]> asModel = device.enroll("simpleenroll", new CsrBuilder().commonName("EF-200 Thermostat")
        .sign(newKey()), null, null);
    HttpResponse<byte[]> asSerial = device.enroll("simpleenroll", new CsrBuilder().commonName("7781").sign(newKey()),
        null, null);
    HttpResponse<byte[]> withoutSerial = EstTestClient.withCertificate(server, cnOnly.privateKey(), cnOnly.chain())
        .enroll("simpleenroll", new CsrBuilder().commonName("SN-0008").sign(newKey()), null, null);

    assertEquals(403, asModel.statusCode(), text(asModel));
    assertTrue(text(asModel).contains("differs from the authenticated identity '7781'"), text(asModel));
    assertEquals(200, asSerial.statusCode(), text(asSerial));
    assertEquals(401, withoutSerial.statusCode(), text(withoutSerial));
    assertTrue(text(withoutSerial).contains("carries no serialNumber to name the device by (bootstrap.idevidIdentity)"),
        text(withoutSerial));
  }

  @Test
  void aDeviceNamedByItsSerialNumber_isRevokedByThatName() throws Exception {
    TestPki.Held idevid = idevid(new X500Name("SERIALNUMBER=PID:EF-200 SN:7782"), null);
    EstTestClient device = EstTestClient.withCertificate(server, idevid.privateKey(), idevid.chain());
    assertEquals(200, device.enroll("simpleenroll", new CsrBuilder().commonName("PID:EF-200 SN:7782").sign(newKey()),
        null, null).statusCode());

    Cli.Run revoked = Cli.run("revoke", "--data", server.dataDir().toString(), "--device", "PID:EF-200 SN:7782");
    Cli.Run lineBreak = Cli.run("revoke", "--data", server.dataDir().toString(), "--device", "PID:EF-200\nSN:7782");
    server.clock().advance(RevocationList.REFRESH);
    HttpResponse<byte[]> again = device.enroll("simpleenroll", new CsrBuilder().commonName("PID:EF-200 SN:7782")
        .sign(newKey()), null, null);

    assertEquals(0, revoked.exit(), revoked.err());
    assertTrue(revoked.out().contains("device PID:EF-200 SN:7782: revoked"), revoked.out());
    assertEquals(2, lineBreak.exit(), lineBreak.err());
    assertTrue(lineBreak.err().contains("holds a control character"), lineBreak.err());
    assertEquals(401, again.statusCode(), text(again));
    assertTrue(text(again).startsWith("device 'PID:EF-200 SN:7782' was revoked at "), text(again));
  }

  /** An IDevID of the factory with {@code subject}, and a URI subjectAltName if {@code uri} is given. */
  private TestPki.Held idevid(X500Name subject, String uri) {
    return factory.issue("unused", b -> {
      b.subject(subject).keyUsage(KeyUsage.digitalSignature).extendedKeyUsage(KeyPurposeId.id_kp_clientAuth);
      if (uri != null) {
        b.subjectAltName(new GeneralName(GeneralName.uniformResourceIdentifier, uri));
      }
    });
  }

  private static KeyPair newKey() {
    return KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
  }

  @Test
  void idevid_fromUnknownFactoryIs401() throws Exception {
    TestPki.Held stranger = TestPki.rootCa("Unknown maker").issueClient("SN-0004");

    HttpResponse<byte[]> response = EstTestClient.withCertificate(server, stranger.privateKey(), stranger.chain())
        .enroll("simpleenroll", new CsrBuilder().commonName("SN-0004").sign(stranger.keys()), null, null);

    assertEquals(401, response.statusCode());
    assertTrue(text(response).startsWith("client certificate is not a valid device certificate"), text(response));
  }

  @Test
  void idevid_cannotReenroll() throws Exception {
    TestPki.Held idevid = factory.issueClient("SN-0005");

    HttpResponse<byte[]> response = EstTestClient.withCertificate(server, idevid.privateKey(), idevid.chain())
        .enroll("simplereenroll", new CsrBuilder().commonName("SN-0005").sign(idevid.keys()), null, null);

    assertEquals(401, response.statusCode());
  }
}
