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
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.estfleet.est.Base64Body;
import org.estfleet.est.EstException;
import org.estfleet.est.EstMediaType;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.Pem;
import org.estfleet.pki.TestPki;
import org.estfleet.server.Cli;
import org.estfleet.server.EstTestClient;
import org.estfleet.server.ForwardingCa;
import org.estfleet.server.TestServer;
import org.estfleet.server.auth.RevocationList;
import org.estfleet.server.ca.IssueRequest;
import org.estfleet.server.ca.IssueResult;
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
  void aDeviceRevokedBetweenItsIdevidsCheckAndTheIssuance_isIssuedNothing() throws Exception {
    TestPki.Held idevid = factory.issueClient("SN-0008");
    server.close();
    Path data = server.dataDir();
    // The revocation lands after the IDevID checked out and before the issuance is recorded.
    server = TestServer.start(data, "{}", ca -> new ForwardingCa(ca) {
      @Override
      public IssueResult issue(IssueRequest request) throws EstException {
        Cli.Run revoked = Cli.run("revoke", "--data", data.toString(), "--device", "SN-0008");
        assertEquals(0, revoked.exit(), revoked.err());
        return super.issue(request);
      }
    });

    KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    HttpResponse<byte[]> withIdevid = EstTestClient.withCertificate(server, idevid.privateKey(), idevid.chain())
        .enroll("simpleenroll", new CsrBuilder().commonName("SN-0008").sign(keys), null, null);

    assertEquals(401, withIdevid.statusCode(), text(withIdevid));
    assertEquals("device 'SN-0008' was revoked while this request was checked (est-server revoke --device, under a "
        + "name its manufacturer certificate carries); it enrolls no more here with it: enroll it with a new token\n",
        text(withIdevid));
    assertEquals(List.of(), server.ledger(l -> l.byDevice("SN-0008")), "nothing issued");
  }

  @Test
  void aDeviceRevokedUnderAnotherNameOfItsIdevid_betweenTheCheckAndTheIssuance_isIssuedNothing() throws Exception {
    TestPki.Held idevid = idevid(new X500Name("CN=EF-200 Thermostat,SERIALNUMBER=PID:EF-200 SN:7790"), null);
    server.close();
    Path data = server.dataDir();
    // It enrolls by its serialNumber; the operator revokes it by its CN, as it was known before.
    server = TestServer.start(data, "{\"bootstrap\": {\"idevidIdentity\": [\"serialNumber\"]}}",
        ca -> new ForwardingCa(ca) {
          @Override
          public IssueResult issue(IssueRequest request) throws EstException {
            Cli.Run revoked = Cli.run("revoke", "--data", data.toString(), "--device", "EF-200 Thermostat");
            assertEquals(0, revoked.exit(), revoked.err());
            return super.issue(request);
          }
        });

    HttpResponse<byte[]> withIdevid = enroll(idevid, "PID:EF-200 SN:7790");

    assertEquals(401, withIdevid.statusCode(), text(withIdevid));
    assertTrue(text(withIdevid).startsWith("device 'PID:EF-200 SN:7790' was revoked while this request was checked"),
        text(withIdevid));
    assertEquals(List.of(), server.ledger(l -> l.byDevice("PID:EF-200 SN:7790")), "nothing issued");
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
  void idevid_withoutCn_enrollsForItsUri_butOnlyASerialNumberIs401UnlessTheCaNamesDevicesByIt() throws Exception {
    // RFC 9039: a URN; IEEE 802.1AR: a unique serial number in the subject's serialNumber attribute.
    TestPki.Held byUri = idevid(new X500Name("O=Acme"), "urn:dev:ops:32473-Thermostat-0042");
    TestPki.Held bySerial = idevid(new X500Name("SERIALNUMBER=PID:EF-200 SN:7781"), null);

    X509Certificate uriCertificate = issued(EstTestClient.withCertificate(server, byUri.privateKey(), byUri.chain())
        .enroll("simpleenroll", new CsrBuilder().commonName("urn:dev:ops:32473-Thermostat-0042").sign(newKey()),
            null, null));
    HttpResponse<byte[]> serialByDefault = enroll(bySerial, "PID:EF-200 SN:7781");
    server.close();
    server = TestServer.start(server.dataDir(), "{\"bootstrap\": {\"idevidIdentity\": [\"cn\", \"serialNumber\"]}}");
    X509Certificate serialCertificate = issued(enroll(bySerial, "PID:EF-200 SN:7781"));

    assertEquals("CN=urn:dev:ops:32473-Thermostat-0042", uriCertificate.getSubjectX500Principal().getName());
    assertEquals(401, serialByDefault.statusCode(), text(serialByDefault));
    assertTrue(text(serialByDefault).contains("carries no CN or URI subjectAltName to name the device by "
        + "(bootstrap.idevidIdentity)"), text(serialByDefault));
    assertEquals("CN=PID:EF-200 SN:7781", serialCertificate.getSubjectX500Principal().getName());
    assertEquals("PID:EF-200 SN:7781",
        server.ledger(l -> l.find(Certificates.serialHex(serialCertificate))).orElseThrow().deviceId());
  }

  @Test
  void idevidIdentity_serialNumber_namesTheDeviceByItsSerialNumber_notItsModelCn() throws Exception {
    server.close();
    server = TestServer.start(server.dataDir(), "{\"bootstrap\": {\"idevidIdentity\": [\"serialNumber\"]}}");
    // A CN every unit of the model shares: as the identity, one unit could take another's.
    TestPki.Held unit = idevid(new X500Name("CN=EF-200 Thermostat,SERIALNUMBER=7781"), null);
    TestPki.Held cnOnly = factory.issueClient("SN-0008");

    HttpResponse<byte[]> asModel = enroll(unit, "EF-200 Thermostat");
    HttpResponse<byte[]> asSerial = enroll(unit, "7781");
    HttpResponse<byte[]> withoutSerial = enroll(cnOnly, "SN-0008");

    assertEquals(403, asModel.statusCode(), text(asModel));
    assertTrue(text(asModel).contains("differs from the authenticated identity '7781'"), text(asModel));
    assertEquals(200, asSerial.statusCode(), text(asSerial));
    assertEquals(401, withoutSerial.statusCode(), text(withoutSerial));
    assertTrue(text(withoutSerial).contains("carries no serialNumber to name the device by (bootstrap.idevidIdentity)"),
        text(withoutSerial));
  }

  @Test
  void failedAttemptsUnderTheModelCn_doNotLockOutAUnitNamedByItsSerialNumber() throws Exception {
    server.close();
    server = TestServer.start(server.dataDir(), "{\"bootstrap\": {\"idevidIdentity\": [\"serialNumber\"]}, "
        + "\"limits\": {\"authFailuresPerMinute\": 3}}");
    TestPki.Held impostor = TestPki.rootCa("Unknown maker").issueClient("EF-200 Thermostat");
    TestPki.Held unit = idevid(new X500Name("CN=EF-200 Thermostat,SERIALNUMBER=7783"), null);

    List<Integer> failed = new java.util.ArrayList<>();
    for (int i = 0; i < 4; i++) {
      failed.add(enroll(impostor, "EF-200 Thermostat").statusCode());
    }
    HttpResponse<byte[]> genuine = enroll(unit, "7783");
    HttpResponse<byte[]> unread = EstTestClient.withCertificate(server, unit.privateKey(), unit.chain())
        .post("/.well-known/est/simpleenroll", "not a CSR".getBytes(java.nio.charset.StandardCharsets.US_ASCII),
            "Content-Type", "text/plain");
    server.close();
    List<com.google.gson.JsonObject> audit = server.audit();

    assertEquals(List.of(401, 401, 401, 401), failed, "no identity claimed: counted for the address only");
    assertEquals(200, genuine.statusCode(), text(genuine));
    assertEquals(415, unread.statusCode(), text(unread));
    // The audit log names the unit by the identity in use, for a refusal before the CSR was read too.
    assertEquals(List.of("7783", "7783"), audit.subList(audit.size() - 2, audit.size()).stream()
        .map(line -> line.get("identity").getAsString()).toList());
  }

  @Test
  void anIdentityTooLongForACertificatesCn_orBlank_is401_sayingWhyFirst() throws Exception {
    String longName = "x".repeat(65);
    TestPki.Held tooLong = factory.issueClient(longName);
    TestPki.Held blank = idevid(new X500NameBuilder().addRDN(BCStyle.CN, new DERUTF8String("  ")).build(), null);

    HttpResponse<byte[]> longRefused = enroll(tooLong, longName);
    HttpResponse<byte[]> blankRefused = enroll(blank, "  ");

    assertEquals(401, longRefused.statusCode(), text(longRefused));
    assertTrue(text(longRefused).startsWith("the device certificate names its device by an identity that is 65 "
        + "characters long, and a certificate's CN holds at most 64 (RFC 5280); it cannot enroll: 'CN=xxx"),
        text(longRefused));
    assertEquals(401, blankRefused.statusCode(), text(blankRefused));
    assertTrue(text(blankRefused).startsWith("the device certificate names its device by an identity that is blank"),
        text(blankRefused));
  }

  @Test
  void anAmbiguousSource_is401_notPassedOverForTheNext() throws Exception {
    server.close();
    server = TestServer.start(server.dataDir(),
        "{\"bootstrap\": {\"idevidIdentity\": [\"serialNumber\", \"cn\"]}}");
    TestPki.Held twoSerials = idevid(new X500Name("CN=EF-200,SERIALNUMBER=7781,SERIALNUMBER=7782"), null);

    HttpResponse<byte[]> asCn = enroll(twoSerials, "EF-200");
    HttpResponse<byte[]> asSerial = enroll(twoSerials, "7781");

    for (HttpResponse<byte[]> response : List.of(asCn, asSerial)) {
      assertEquals(401, response.statusCode(), text(response));
      assertTrue(text(response).startsWith("the device certificate does not name its device plainly: its subject carries "
          + "2 serialNumber attributes, so which one names the device is ambiguous: '"), text(response));
      assertTrue(text(response).contains("serialNumber=7781"), "readable, not hex: " + text(response));
    }
  }

  @Test
  void aDeviceNamedByItsSerialNumber_isRevokedByThatName_andStaysRevokedWhenTheCaNamesItOtherwise() throws Exception {
    server.close();
    server = TestServer.start(server.dataDir(), "{\"bootstrap\": {\"idevidIdentity\": [\"serialNumber\"]}}");
    TestPki.Held idevid = idevid(new X500Name("CN=EF-200 Thermostat,SERIALNUMBER=PID:EF-200 SN:7782"), null);
    assertEquals(200, enroll(idevid, "PID:EF-200 SN:7782").statusCode());

    Cli.Run revoked = Cli.run("revoke", "--data", server.dataDir().toString(), "--device", "PID:EF-200 SN:7782");
    Cli.Run lineBreak = Cli.run("revoke", "--data", server.dataDir().toString(), "--device", "PID:EF-200\nSN:7782");
    server.clock().advance(RevocationList.REFRESH);
    HttpResponse<byte[]> again = enroll(idevid, "PID:EF-200 SN:7782");
    server.close();
    server = TestServer.start(server.dataDir(), "{\"bootstrap\": {\"idevidIdentity\": [\"cn\"]}}");
    HttpResponse<byte[]> underItsCn = enroll(idevid, "EF-200 Thermostat");

    assertEquals(0, revoked.exit(), revoked.err());
    assertTrue(revoked.out().contains("device PID:EF-200 SN:7782: revoked"), revoked.out());
    assertEquals(2, lineBreak.exit(), lineBreak.err());
    assertTrue(lineBreak.err().contains("holds a control character"), lineBreak.err());
    assertEquals(401, again.statusCode(), text(again));
    assertTrue(text(again).startsWith("device 'PID:EF-200 SN:7782' was revoked at "), text(again));
    assertEquals(401, underItsCn.statusCode(), text(underItsCn));
    assertTrue(text(underItsCn).matches("device 'PID:EF-200 SN:7782' was revoked at \\S+ \\(revoked by an operator\\); "
        + "its manufacturer certificate enrolls no more here \\(under any name\\): it enrolls again only with a new "
        + "token, under another device id \\(a token's id has only letters, digits and \\. _ ~ @ \\+ = -\\)\n"),
        text(underItsCn));
  }

  private HttpResponse<byte[]> enroll(TestPki.Held idevid, String commonName) throws Exception {
    return EstTestClient.withCertificate(server, idevid.privateKey(), idevid.chain())
        .enroll("simpleenroll", new CsrBuilder().commonName(commonName).sign(newKey()), null, null);
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
  void idevid_whoseKeyMayNotSign_is401_onTheJdksTls() throws Exception {
    server.close();
    server = TestServer.start(server.dataDir(), "{\"tls\": {\"provider\": \"SunJSSE\"}}");
    TestPki.Held idevid = factory.issue("SN-0006", b -> b.keyUsage(KeyUsage.keyAgreement)
        .extendedKeyUsage(KeyPurposeId.id_kp_clientAuth));

    HttpResponse<byte[]> response = enroll(idevid, "SN-0006");

    assertEquals(401, response.statusCode(), text(response));
    assertTrue(text(response).contains("may not sign (its key usage lacks digitalSignature)"), text(response));
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
