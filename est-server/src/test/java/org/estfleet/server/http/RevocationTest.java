package org.estfleet.server.http;

import static org.estfleet.server.EstTestClient.issued;
import static org.estfleet.server.EstTestClient.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.estfleet.est.EstException;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.Csr;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.TestPki;
import org.estfleet.server.Cli;
import org.estfleet.server.EstTestClient;
import org.estfleet.server.ServerRuntime;
import org.estfleet.server.ForwardingCa;
import org.estfleet.server.TestServer;
import org.estfleet.server.auth.RevocationList;
import org.estfleet.server.ca.IssueRequest;
import org.estfleet.server.ca.IssueResult;
import org.estfleet.server.store.Database;
import org.estfleet.server.store.Role;
import org.estfleet.server.store.TokenRecords;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code est-server revoke} while the server runs, over real TLS: a revoked certificate
 * authenticates nothing any more and is not sent again; the server takes a revocation up within
 * {@link RevocationList#REFRESH} of its clock.
 */
class RevocationTest {
  @TempDir
  Path dir;

  private TestServer server;
  private EstTestClient anonymous;

  @BeforeEach
  void start() throws Exception {
    server = TestServer.start(dir.resolve("server"));
    anonymous = EstTestClient.anonymous(server);
  }

  @AfterEach
  void stop() {
    server.close();
  }

  /** A device enrolled with a token: its key and certificate. */
  private record Device(KeyPair keys, X509Certificate certificate) {
    EstTestClient client(TestServer server) throws Exception {
      return EstTestClient.withCertificate(server, keys.getPrivate(), List.of(certificate));
    }
  }

  private Device enroll(String deviceId) throws Exception {
    KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    return new Device(keys, issued(anonymous.enroll("simpleenroll", csr(deviceId, keys), deviceId,
        server.token(deviceId))));
  }

  private HttpResponse<byte[]> renew(Device device, String operation) throws Exception {
    String deviceId = Certificates.commonName(device.certificate().getSubjectX500Principal()).orElseThrow();
    return device.client(server).enroll(operation, csr(deviceId, KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)),
        null, null);
  }

  @Test
  void aSerialRevokedWhileTheServerRuns_authenticatesNothing_otherDevicesRenew() throws Exception {
    Device stolen = enroll("device-1");
    Device other = enroll("device-2");
    assertEquals(200, renew(stolen, "simplereenroll").statusCode(), "renews before");
    String serial = Certificates.serialHex(stolen.certificate());
    // As an operator copies it from a certificate dump: upper case, with colons.
    String typed = String.join(":", serial.toUpperCase().split("(?<=\\G..)"));

    Cli.Run run = Cli.run("revoke", "--data", server.dataDir().toString(), "--serial", typed, "--reason", "stolen");
    server.clock().advance(RevocationList.REFRESH);
    HttpResponse<byte[]> reenroll = renew(stolen, "simplereenroll");
    HttpResponse<byte[]> enroll = renew(stolen, "simpleenroll");
    Cli.Run again = Cli.run("revoke", "--data", server.dataDir().toString(), "--serial", serial);

    assertEquals(0, run.exit(), run.err());
    assertTrue(run.out().contains("serial " + serial + " of device-1 (valid until "), run.out());
    assertTrue(run.out().endsWith("): revoked\n"), run.out());
    assertEquals(401, reenroll.statusCode(), text(reenroll));
    assertTrue(text(reenroll).matches("client certificate serial " + serial + " was revoked at \\S+ \\(stolen\\); it "
        + "authenticates nothing here any more: enroll again with a new token\n"), text(reenroll));
    assertEquals(401, enroll.statusCode(), text(enroll));
    assertEquals(200, renew(other, "simplereenroll").statusCode());
    assertEquals(0, again.exit(), again.err());
    assertTrue(again.out().contains("revoked before, at ") && again.out().contains("(stolen)"), again.out());
  }

  @Test
  void aDeviceRevoked_everyCertificateAndUnusedToken_untilANewToken() throws Exception {
    Device first = enroll("device-3");
    X509Certificate second = issued(renew(first, "simplereenroll"));
    String spare = server.token("device-3");
    Device other = enroll("device-4");

    Cli.Run run = Cli.run("revoke", "--data", server.dataDir().toString(), "--device", "device-3",
        "--reason", "decommissioned");
    server.clock().advance(RevocationList.REFRESH);
    HttpResponse<byte[]> withSpare = anonymous.enroll("simpleenroll",
        csr("device-3", KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), "device-3", spare);
    HttpResponse<byte[]> withFirst = renew(first, "simplereenroll");

    assertEquals(0, run.exit(), run.err());
    assertEquals("device device-3: revoked; its manufacturer certificate enrolls no more, under any name it carries: "
        + "enroll it with a new token\n  unused tokens ended: 1\n", run.out().lines().limit(2).map(line -> line + "\n")
        .reduce("", String::concat));
    assertEquals("", run.err());
    assertTrue(run.out().contains("serial " + Certificates.serialHex(first.certificate()) + " of device-3"), run.out());
    assertTrue(run.out().contains("serial " + Certificates.serialHex(second) + " of device-3"), run.out());
    assertEquals(401, withSpare.statusCode(), text(withSpare));
    assertTrue(text(withSpare).matches("the enrollment token for 'device-3' was revoked at \\S+ \\(decommissioned\\); "
        + "ask for a new one\n"), text(withSpare));
    assertEquals(401, withFirst.statusCode(), text(withFirst));
    assertEquals(200, renew(other, "simplereenroll").statusCode(), "another device is not touched");
    enroll("device-3"); // a token made after the revocation
  }

  @Test
  void aRevokedCertificate_isNotTheAnswerToItsRequestSentAgain() throws Exception {
    KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    String token = server.token("device-5");
    X509Certificate issued = issued(anonymous.enroll("simpleenroll", csr("device-5", keys), "device-5", token));
    HttpResponse<byte[]> beforeRevocation = anonymous.enroll("simpleenroll", csr("device-5", keys), "device-5", token);

    Cli.run("revoke", "--data", server.dataDir().toString(), "--serial", Certificates.serialHex(issued));
    server.clock().advance(RevocationList.REFRESH);
    HttpResponse<byte[]> afterRevocation = anonymous.enroll("simpleenroll", csr("device-5", keys), "device-5", token);

    assertEquals(issued, issued(beforeRevocation), "a retry is answered with what was issued for it");
    assertEquals(401, afterRevocation.statusCode(), text(afterRevocation));
    assertTrue(text(afterRevocation).contains("already used"), text(afterRevocation));
  }

  @Test
  void aDeviceRevoked_alsoItsExpiredCertificates_whichTheGracePeriodStillLetRenew() throws Exception {
    server.close();
    server = TestServer.start(dir.resolve("grace"), "{\"defaultProfile\": {\"lifetime\": \"1h\"}, "
        + "\"reenroll\": {\"gracePeriod\": \"1d\"}}");
    anonymous = EstTestClient.anonymous(server);
    Device expired = enroll("device-7");
    server.clock().advance(java.time.Duration.ofHours(2));
    assertEquals(200, renew(enroll("device-8"), "simplereenroll").statusCode(), "the grace period: any other renews");

    Cli.Run run = Cli.run("revoke", "--data", server.dataDir().toString(), "--device", "device-7");
    server.clock().advance(RevocationList.REFRESH);
    HttpResponse<byte[]> renewal = renew(expired, "simplereenroll");

    assertTrue(run.out().contains("serial " + Certificates.serialHex(expired.certificate()) + " of device-7"), run.out());
    assertEquals(401, renewal.statusCode(), text(renewal));
    assertTrue(text(renewal).contains("was revoked at "), text(renewal));
  }

  @Test
  void aDeviceIdWithNothingIssued_isRevokedAllTheSame_withAWarning() throws Exception {
    Cli.Run run = Cli.run("revoke", "--data", server.dataDir().toString(), "--device", "devcie-1");
    Cli.Run again = Cli.run("revoke", "--data", server.dataDir().toString(), "--device", "devcie-1");

    assertEquals(0, run.exit(), run.err());
    assertEquals("est-server: warning: this CA issued no certificate and made no token for 'devcie-1'; check the id "
        + "(it is revoked all the same)\n", run.err());
    assertTrue(again.out().startsWith("device devcie-1: revoked before, at "), again.out());
  }

  @Test
  void theKeyOfARevokedCertificate_isCertifiedNoMore_aNewKeyIs() throws Exception {
    Device first = enroll("device-9");
    KeyPair leaked = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    X509Certificate second = issued(first.client(server).enroll("simplereenroll", csr("device-9", leaked), null, null));

    Cli.run("revoke", "--data", server.dataDir().toString(), "--serial", Certificates.serialHex(second));
    server.clock().advance(RevocationList.REFRESH);
    // Its request sent again with the earlier certificate, still in force: not a retry any more,
    // and not a new certificate for the revoked key either.
    HttpResponse<byte[]> sameKey = first.client(server).enroll("simplereenroll", csr("device-9", leaked), null, null);
    HttpResponse<byte[]> newKey = renew(first, "simplereenroll");

    assertEquals(403, sameKey.statusCode(), text(sameKey));
    assertEquals("certificate serial " + Certificates.serialHex(second) + " of device-9 for this key was revoked "
        + "(est-server revoke); make a new key\n", text(sameKey));
    assertEquals(200, newKey.statusCode(), text(newKey));
  }

  @Test
  void badRevocations_changeNothing() throws Exception {
    Device device = enroll("device-6");
    String data = server.dataDir().toString();
    String serial = Certificates.serialHex(device.certificate());

    Cli.Run unknown = Cli.run("revoke", "--data", data, "--serial", serial, "--serial", "0abc");
    Cli.Run notHex = Cli.run("revoke", "--data", data, "--serial", "xyz");
    Cli.Run both = Cli.run("revoke", "--data", data, "--serial", serial, "--device", "device-6");
    Cli.Run neither = Cli.run("revoke", "--data", data);
    Cli.Run twoLines = Cli.run("revoke", "--data", data, "--serial", serial, "--reason", "a\nb");
    server.clock().advance(RevocationList.REFRESH);

    assertEquals(1, unknown.exit());
    assertEquals("est-server: no certificate with serial 0abc in this server's ledger; nothing was revoked\n",
        unknown.err());
    assertEquals(2, notHex.exit());
    assertTrue(notHex.err().contains("--serial: 'xyz' is not a hexadecimal serial number"), notHex.err());
    assertEquals(2, both.exit(), both.err());
    assertEquals(2, neither.exit(), neither.err());
    assertEquals(2, twoLines.exit(), twoLines.err());
    assertEquals(200, renew(device, "simplereenroll").statusCode(), "nothing was revoked");
  }

  @Test
  void aTokenRevokedWhileTheServerRuns_enrollsNothing_sayingWhy_andTheOthersStillDo() throws Exception {
    String data = server.dataDir().toString();
    Cli.Run made = Cli.run("token", "--data", data, "--device", "device-10");
    Cli.Run other = Cli.run("token", "--data", data, "--device", "device-11");
    String number = made.err().replaceAll("(?s)^token (#\\d+) .*", "$1");

    Cli.Run run = Cli.run("revoke", "--data", data, "--token", number, "--reason", "lost in the post");
    Cli.Run again = Cli.run("revoke", "--data", data, "--token", number.substring(1));
    HttpResponse<byte[]> withRevoked = anonymous.enroll("simpleenroll",
        csr("device-10", KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), "device-10", made.out().strip());
    HttpResponse<byte[]> withOther = anonymous.enroll("simpleenroll",
        csr("device-11", KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), "device-11", other.out().strip());

    assertEquals(0, run.exit(), run.err());
    assertEquals("token " + number + " of device-10: revoked\n", run.out());
    assertEquals(0, again.exit(), again.err());
    assertTrue(again.out().matches("token " + number + " of device-10: revoked before, at \\S+ \\(lost in the post\\)\n"),
        again.out());
    assertEquals(401, withRevoked.statusCode(), text(withRevoked));
    assertTrue(text(withRevoked).matches("the enrollment token for 'device-10' was revoked at \\S+ "
        + "\\(lost in the post\\); ask for a new one\n"), text(withRevoked));
    assertEquals(200, withOther.statusCode(), text(withOther));
  }

  @Test
  void aTokenRevokedBetweenItsCheckAndTheIssuance_issuesNothing_sayingWhenAndWhy() throws Exception {
    server.close();
    Path data = server.dataDir();
    Cli.Run made = Cli.run("token", "--data", data.toString(), "--device", "device-12");
    String number = made.err().replaceAll("(?s)^token (#\\d+) .*", "$1");
    // The revocation lands after the token checked out and before the issuance consumes it.
    server = TestServer.start(data, "{}", ca -> new ForwardingCa(ca) {
      @Override
      public IssueResult issue(IssueRequest request) throws EstException {
        Cli.Run revoked = Cli.run("revoke", "--data", data.toString(), "--token", number, "--reason", "sent to Lyon");
        assertEquals(0, revoked.exit(), revoked.err());
        return super.issue(request);
      }
    });

    HttpResponse<byte[]> response = EstTestClient.anonymous(server).enroll("simpleenroll",
        csr("device-12", KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), "device-12", made.out().strip());

    assertEquals(401, response.statusCode(), text(response));
    assertTrue(text(response).matches("the enrollment token for 'device-12' was revoked while this request was "
        + "checked, at \\S+ \\(sent to Lyon\\); ask for a new one\n"), text(response));
    assertEquals(List.of(), server.ledger(l -> l.byDevice("device-12")), "nothing issued");
  }

  @Test
  void aDeviceRevokedBetweenItsRenewalsCheckAndTheIssuance_isIssuedNothing_andKeepsNothingValid() throws Exception {
    Device device = enroll("device-14");
    server.close();
    Path data = server.dataDir();
    // The revocation lands after the device's certificate checked out and before the issuance is recorded.
    server = TestServer.start(data, "{}", ca -> new ForwardingCa(ca) {
      @Override
      public IssueResult issue(IssueRequest request) throws EstException {
        Cli.Run revoked = Cli.run("revoke", "--data", data.toString(), "--device", "device-14", "--reason", "stolen");
        assertEquals(0, revoked.exit(), revoked.err());
        return super.issue(request);
      }
    });

    HttpResponse<byte[]> renewal = renew(device, "simplereenroll");

    assertEquals(401, renewal.statusCode(), text(renewal));
    assertEquals("client certificate serial " + Certificates.serialHex(device.certificate()) + " was revoked while "
        + "this request was checked (est-server revoke); it authenticates nothing here any more: enroll again with "
        + "a new token\n", text(renewal));
    assertEquals(1, server.ledger(l -> l.byDevice("device-14")).size(), "nothing issued");
  }

  @Test
  void tokens_listsEveryTokenAndWhatBecameOfIt_orOnlyTheUsableOnes() throws Exception {
    String data = server.dataDir().toString();
    Device used = enroll("device-20");
    Cli.Run revoked = Cli.run("token", "--data", data, "--device", "device-21");
    Cli.run("revoke", "--data", data, "--token", revoked.err().replaceAll("(?s)^token (#\\d+) .*", "$1"),
        "--reason", "lost in the post");
    Cli.run("token", "--data", data, "--device", "gw-1", "--gateway");
    Instant now = Instant.now();
    try (Database database = Database.open(server.dataDir().resolve("estfleet.db"))) {
      TokenRecords tokens = new TokenRecords(database);
      tokens.insertAll(List.of("device-22"), List.of(new byte[32]), now.minus(Duration.ofDays(2)),
          now.minus(Duration.ofDays(1)), Role.DEVICE, "");
      long old = tokens.insertAll(List.of("device-23"), List.of(new byte[32]), now, now.plus(Duration.ofDays(1)),
          Role.DEVICE, "").get(0);
      database.inTransaction(connection -> {
        try (var update = connection.prepareStatement("UPDATE bootstrap_token SET label = NULL WHERE id = ?")) {
          update.setLong(1, old); // as a token made before tokens had labels (V11)
          return update.executeUpdate();
        }
      });
    }

    Cli.Run all = Cli.run("tokens", "--data", data);
    Cli.Run usable = Cli.run("tokens", "--data", data, "--usable");
    Cli.Run one = Cli.run("tokens", "--data", data, "--device", "device-21");
    Cli.Run none = Cli.run("tokens", "--data", data, "--device", "device-99");

    assertEquals(0, all.exit(), all.err());
    List<String> lines = all.out().lines().toList();
    assertEquals("token\tdevice\trole\tlabel\tmade\texpires\tstate", lines.get(0));
    assertEquals(6, lines.size(), all.out());
    assertTrue(lines.get(1).matches("#\\d+\tdevice-20\tdevice\t-\t\\S+\t\\S+\tused \\S+ serial "
        + Certificates.serialHex(used.certificate())), lines.get(1));
    assertTrue(lines.get(2).matches("#\\d+\tdevice-21\tdevice\t-\t\\S+\t\\S+\trevoked \\S+ \\(lost in the post\\)"),
        lines.get(2));
    assertTrue(lines.get(3).matches("#\\d+\tgw-1\tgateway\t-\t\\S+\t\\S+\tusable"), lines.get(3));
    assertTrue(lines.get(4).matches("#\\d+\tdevice-22\tdevice\t-\t\\S+\t\\S+\texpired"), lines.get(4));
    assertTrue(lines.get(5).matches("#\\d+\tdevice-23\tdevice\t\\*\t\\S+\t\\S+\tusable"), lines.get(5));
    assertEquals(List.of("gw-1", "device-23"), usable.out().lines().skip(1).map(line -> line.split("\t")[1]).toList());
    assertEquals(2, one.out().lines().count(), one.out());
    assertEquals(lines.get(2), one.out().lines().skip(1).findFirst().orElseThrow());
    assertEquals(0, none.exit(), none.err());
    assertEquals("est-server: no token for 'device-99'\n", none.err());
  }

  @Test
  void badTokenRevocations_changeNothing() throws Exception {
    String data = server.dataDir().toString();
    Cli.Run made = Cli.run("token", "--data", data, "--device", "device-12");
    String number = made.err().replaceAll("(?s)^token #(\\d+) .*", "$1");
    Device used = enroll("device-13");
    String usedNumber = Cli.run("tokens", "--data", data, "--device", "device-13").out().lines().skip(1)
        .findFirst().orElseThrow().split("\t")[0];

    Cli.Run withUsed = Cli.run("revoke", "--data", data, "--token", number, "--token", usedNumber);
    Cli.Run unknown = Cli.run("revoke", "--data", data, "--token", number, "--token", "#99999");
    Cli.Run notANumber = Cli.run("revoke", "--data", data, "--token", "#x" + "9".repeat(100));
    List<Cli.Run> outOfRange = List.of(Cli.run("revoke", "--data", data, "--token", "#"),
        Cli.run("revoke", "--data", data, "--token", "0"),
        Cli.run("revoke", "--data", data, "--token", "99999999999999999999"));
    HttpResponse<byte[]> enroll = anonymous.enroll("simpleenroll",
        csr("device-12", KeyAlgorithm.EC_P256.generate(TestPki.RANDOM)), "device-12", made.out().strip());

    assertEquals(1, withUsed.exit());
    assertTrue(withUsed.err().startsWith("est-server: token " + usedNumber + " of device-13 was used at "),
        withUsed.err());
    assertTrue(withUsed.err().endsWith(" for the certificate with serial " + Certificates.serialHex(used.certificate())
        + ": revoke that certificate (--serial " + Certificates.serialHex(used.certificate())
        + "); nothing was revoked\n"), withUsed.err());
    assertEquals(1, unknown.exit());
    assertEquals("est-server: no token #99999 in this server's store; nothing was revoked\n", unknown.err());
    assertEquals(2, notANumber.exit());
    assertTrue(notANumber.err().contains("--token: '#x" + "9".repeat(62) + "...' is not a token number"),
        notANumber.err());
    for (Cli.Run run : outOfRange) {
      assertEquals(2, run.exit(), run.err());
      assertTrue(run.err().contains("is not a token number (1 or more"), run.err());
    }
    assertEquals(200, enroll.statusCode(), "nothing was revoked: " + text(enroll));
  }

  @Test
  void operatorCommands_areAuditLogLines_besideTheServersOwn_withoutSecrets_andOnlyForChanges() throws Exception {
    String data = server.dataDir().toString();
    Device leaked = enroll("device-20");
    String user = System.getProperty("user.name");
    System.setProperty("user.name", "mallory"); // not who runs the process
    Cli.Run made;
    try {
      made = Cli.run("token", "--data", data, "--device", "device-21");
    } finally {
      System.setProperty("user.name", user);
    }
    Cli.Run batch = Cli.run("token", "--data", data, "--device", "line", "--count", "3");
    String number = made.err().replaceAll("(?s)^token (#\\d+) .*", "$1");
    String serial = Certificates.serialHex(leaked.certificate());

    List<Cli.Run> runs = List.of(made, batch,
        Cli.run("revoke", "--data", data, "--token", number, "--reason", "lost in the post"),
        Cli.run("revoke", "--data", data, "--token", number),
        Cli.run("revoke", "--data", data, "--serial", serial, "--reason", "key leaked"),
        Cli.run("revoke", "--data", data, "--serial", serial),
        Cli.run("revoke", "--data", data, "--serial", serial, "--serial", "0abc"),
        Cli.run("revoke", "--data", data, "--device", "device-22", "--reason", "scrapped"));
    enroll("device-23");
    server.close();

    for (Cli.Run run : runs.subList(0, 6)) {
      assertEquals(0, run.exit(), run.err());
    }
    assertEquals(1, runs.get(6).exit(), "an unknown serial revokes nothing");
    List<JsonObject> lines = server.audit();
    assertEquals(List.of("enroll", "token", "token", "revoke", "revoke", "revoke", "enroll"),
        lines.stream().map(line -> line.get("event").getAsString()).toList(),
        "one line per change, in order; none for what was revoked before or refused: " + lines);
    for (JsonObject line : lines.subList(1, 6)) {
      assertEquals(Files.getOwner(Path.of("/proc/self")).getName(), line.get("by").getAsString(), line.toString());
    }
    JsonObject token = lines.get(1);
    assertEquals("device-21", token.get("identity").getAsString());
    assertEquals(number, token.get("token").getAsString());
    assertEquals("device", token.get("role").getAsString());
    assertEquals("", token.get("label").getAsString());
    assertTrue(Instant.parse(token.get("expiresAt").getAsString()).isAfter(Instant.now()), token.toString());
    JsonObject tokens = lines.get(2);
    assertEquals(List.of("line-1", "line-3", 3), List.of(tokens.get("identity").getAsString(),
        tokens.get("lastIdentity").getAsString(), tokens.get("count").getAsInt()), tokens.toString());
    assertEquals(List.of("token", "device-21", number, "lost in the post"), fields(lines.get(3), "what", "identity",
        "token", "reason"));
    assertEquals(List.of("certificate", "device-20", serial, "key leaked"), fields(lines.get(4), "what", "identity",
        "serial", "reason"));
    assertEquals(List.of("device", "device-22", "scrapped", "0"), fields(lines.get(5), "what", "identity", "reason",
        "tokensEnded"));
    String all = Files.readString(server.dataDir().resolve(ServerRuntime.AUDIT_FILE));
    assertFalse(all.contains(made.out().strip()), "no token secret in the audit log");
    for (String secret : batch.out().lines().map(line -> line.substring(line.indexOf(':') + 1)).toList()) {
      assertFalse(all.contains(secret), "no token secret in the audit log");
    }
  }

  @Test
  void anAuditLogThatCannotBeWritten_isReported_theRevocationStands() throws Exception {
    Device device = enroll("device-24");
    server.close();
    Path audit = server.dataDir().resolve(ServerRuntime.AUDIT_FILE);
    Files.delete(audit);
    Files.createDirectory(audit); // as a full or read-only file system would, for root too
    String serial = Certificates.serialHex(device.certificate());

    Cli.Run run = Cli.run("revoke", "--data", server.dataDir().toString(), "--serial", serial);
    Cli.Run again = Cli.run("revoke", "--data", server.dataDir().toString(), "--serial", serial);

    assertEquals(0, run.exit(), run.err());
    assertTrue(run.err().matches("est-server: warning: audit.log cannot be written \\(.+\\); what this command "
        + "changes is not recorded there\n"), run.err());
    assertTrue(run.out().endsWith("): revoked\n"), run.out());
    assertTrue(again.out().contains("revoked before, at "), "the revocation stands: " + again.out());
  }

  private static List<String> fields(JsonObject line, String... names) {
    return java.util.Arrays.stream(names).map(name -> line.get(name).getAsString()).toList();
  }

  private static Csr csr(String deviceId, KeyPair keys) {
    return new CsrBuilder().commonName(deviceId).sign(keys);
  }
}
