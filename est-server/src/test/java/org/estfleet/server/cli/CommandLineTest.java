package org.estfleet.server.cli;

import static org.estfleet.server.Cli.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.estfleet.json.Json;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.Csr;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.KeyPairs;
import org.estfleet.pki.Pem;
import org.estfleet.pki.TestPki;
import org.estfleet.server.Cli.Run;
import org.estfleet.server.EstTestClient;
import org.estfleet.server.TestServer;
import org.estfleet.server.config.DataDir;
import org.estfleet.server.config.ServerConfig;
import org.estfleet.server.store.Database;
import org.estfleet.server.store.TokenRecords;
import org.estfleet.tls.KeyExchangeGroups;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The est-server command line: what init writes, token, exit codes and one-line errors. */
class CommandLineTest {
  @TempDir
  Path dir;

  @Test
  void init_writesDefaultsCaTlsAndDatabase() throws Exception {
    Path data = dir.resolve("data");

    Run run = run("init", "--data", data.toString(), "--hostname", "est.example", "--hostname", "10.0.0.5");

    assertEquals(0, run.exit(), run.err());
    assertEquals(ServerConfig.defaults(), Json.parse(Files.readString(data.resolve("server.json")), ServerConfig.class, "x"));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(data.resolve("ca/root.key"))));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(data.resolve("ca/issuing.key"))));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(data.resolve("tls/server.key"))));
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(data)));
    X509Certificate root = Pem.readCertificates(data.resolve("ca/root.pem")).get(0);
    X509Certificate issuing = Pem.readCertificates(data.resolve("ca/issuing.pem")).get(0);
    java.util.List<X509Certificate> tls = Pem.readCertificates(data.resolve("tls/server.pem"));
    issuing.verify(root.getPublicKey());
    tls.get(0).verify(issuing.getPublicKey());
    assertEquals(issuing, tls.get(1));
    assertEquals(0, issuing.getBasicConstraints());
    assertTrue(KeyPairs.matches(tls.get(0).getPublicKey(), Pem.readPrivateKey(data.resolve("tls/server.key"))));
    assertEquals("[[2, est.example], [7, 10.0.0.5]]", String.valueOf(tls.get(0).getSubjectAlternativeNames()));
    assertTrue(run.out().contains(Certificates.fingerprint(root)), run.out());
    assertTrue(Files.exists(data.resolve("estfleet.db")));
  }

  @Test
  void init_withANameLongerThanACnHolds_putsItInTheSubjectAltNameOnly() throws Exception {
    String longName = "a".repeat(30) + "." + "b".repeat(30) + ".example.com"; // 73 characters, a valid DNS name
    Path data = dir.resolve("data");

    Run run = run("init", "--data", data.toString(), "--hostname", longName, "--hostname", "est.example");

    assertEquals(0, run.exit(), run.err());
    X509Certificate tls = Pem.readCertificates(data.resolve("tls/server.pem")).get(0);
    assertEquals("est.example", Certificates.commonName(tls.getSubjectX500Principal()).orElseThrow(),
        "the first name that fits RFC 5280's 64 characters");
    assertEquals("[[2, " + longName + "], [2, est.example]]", String.valueOf(tls.getSubjectAlternativeNames()));
    Run alone = run("init", "--data", dir.resolve("alone").toString(), "--hostname", longName);
    assertEquals(0, alone.exit(), alone.err());
    assertEquals("est-server", Certificates.commonName(Pem.readCertificates(dir.resolve("alone/tls/server.pem")).get(0)
        .getSubjectX500Principal()).orElseThrow());
  }

  @Test
  void init_refusesExistingDirectoryUnlessForced() throws Exception {
    Path data = dir.resolve("data");
    run("init", "--data", data.toString());
    String firstRoot = Files.readString(data.resolve("ca/root.pem"));
    Files.writeString(data.resolve("notes.txt"), "mine");

    Run refused = run("init", "--data", data.toString());
    Run forced = run("init", "--data", data.toString(), "--force");

    assertEquals(2, refused.exit());
    assertEquals("est-server: " + data + " already exists and is not empty; use --force to replace its CA, "
        + "TLS identity and database\n", refused.err());
    assertEquals(0, forced.exit(), forced.err());
    assertNotEquals(firstRoot, Files.readString(data.resolve("ca/root.pem")));
    assertEquals("mine", Files.readString(data.resolve("notes.txt")), "--force leaves files it did not create");
  }

  @Test
  void init_rejectsBadHostname() {
    Run run = run("init", "--data", dir.resolve("d").toString(), "--hostname", "bad host");
    Run longLabel = run("init", "--data", dir.resolve("d").toString(), "--hostname", "a".repeat(64) + ".example");
    Run hyphen = run("init", "--data", dir.resolve("d").toString(), "--hostname", "-est.example");
    Run address = run("init", "--data", dir.resolve("d").toString(), "--hostname", "10.0.0.256");

    for (Run refused : List.of(run, longLabel, hyphen, address)) {
      assertEquals(2, refused.exit(), refused.err());
      assertEquals(1, refused.err().lines().count(), refused.err());
    }
    assertTrue(run.err().contains("'bad host' is not a host name (letters, digits and hyphens in dot-separated labels "
        + "of 1-63) or IP address"), run.err());
    assertTrue(longLabel.err().contains("is not a host name"), longLabel.err());
    assertTrue(hyphen.err().contains("'-est.example' is not a host name"), hyphen.err());
    assertTrue(address.err().contains("'10.0.0.256' is not an IP address"), address.err());
    assertFalse(Files.exists(dir.resolve("d")));
  }

  @Test
  void init_namesGivenTwice_areCertifiedOnce() throws Exception {
    Path data = dir.resolve("data");

    Run run = run("init", "--data", data.toString(), "--hostname", "est.example", "--hostname", "EST.Example",
        "--hostname", "10.0.0.5", "--hostname", "10.000.0.5");

    assertEquals(0, run.exit(), run.err());
    X509Certificate tls = Pem.readCertificates(data.resolve("tls/server.pem")).get(0);
    assertEquals("[[2, est.example], [7, 10.0.0.5]]", String.valueOf(tls.getSubjectAlternativeNames()));
  }

  @Test
  void token_printsOneTokenPerCallOnStdout() {
    Path data = dir.resolve("data");
    run("init", "--data", data.toString());

    Run first = run("token", "--data", data.toString(), "--device", "device-1", "--ttl", "2h");
    Run second = run("token", "--data", data.toString(), "--device", "device-1");

    assertEquals(0, first.exit(), first.err());
    assertTrue(first.out().matches("[A-Za-z0-9_-]{22}\n"), first.out());
    assertNotEquals(first.out(), second.out());
    assertTrue(first.err().contains("for device device-1 expires"), first.err());
  }

  @Test
  void tokenLabel_isStoredWithTheToken_andMustBeOneOfTheServersLabels() throws Exception {
    Path data = dir.resolve("data");
    run("init", "--data", data.toString());
    Path settings = data.resolve("server.json");
    Files.writeString(settings, Files.readString(settings)
        .replace("\"labels\": {}", "\"labels\": {\"factory\": {}, \"field\": {}}"));

    Run labelled = run("token", "--data", data.toString(), "--device", "device-1", "--label", "factory");
    Run batch = run("token", "--data", data.toString(), "--device", "line", "--count", "2", "--label", "field");
    Run plain = run("token", "--data", data.toString(), "--device", "device-2");
    Run unknown = run("token", "--data", data.toString(), "--device", "device-3", "--label", "lab");
    Run gateway = run("token", "--data", data.toString(), "--device", "gw-1", "--gateway", "--label", "factory");

    assertEquals(0, labelled.exit(), labelled.err());
    assertTrue(labelled.err().contains("the device enrolls under label 'factory' (/.well-known/est/factory/)"),
        labelled.err());
    assertEquals(0, batch.exit(), batch.err());
    assertTrue(batch.err().contains("enrolling under label 'field'"), batch.err());
    assertTrue(plain.err().contains("the device enrolls without a label (/.well-known/est/)"), plain.err());
    assertEquals(2, unknown.exit());
    assertTrue(unknown.err().contains("--label: this server has no label 'lab' (it has factory, field)"), unknown.err());
    assertEquals(2, gateway.exit());
    assertTrue(gateway.err().contains("--label: gateways enroll without a label"), gateway.err());
    try (Database database = Database.openExisting(data.resolve("estfleet.db"))) {
      TokenRecords tokens = new TokenRecords(database);
      assertEquals("factory", tokens.byDevice("device-1").get(0).label());
      assertEquals("field", tokens.byDevice("line-2").get(0).label());
      assertEquals("", tokens.byDevice("device-2").get(0).label());
      assertEquals(List.of(), tokens.byDevice("device-3"), "nothing stored");
      assertEquals(List.of(), tokens.byDevice("gw-1"), "nothing stored");
    }
  }

  @Test
  void tokenCount_printsIdTokenLinesForABatchOfDevices() {
    Path data = dir.resolve("data");
    run("init", "--data", data.toString());

    Run batch = run("token", "--data", data.toString(), "--device", "line-7", "--count", "3");
    Run tooMany = run("token", "--data", data.toString(), "--device", "line-7", "--count", "0");

    assertEquals(0, batch.exit(), batch.err());
    List<String> lines = batch.out().lines().toList();
    assertEquals(3, lines.size(), batch.out());
    for (int i = 0; i < 3; i++) {
      assertTrue(lines.get(i).matches("line-7-" + (i + 1) + ":[A-Za-z0-9_-]{22}"), lines.get(i));
    }
    assertTrue(batch.err().startsWith("3 tokens for line-7-1 to line-7-3"), batch.err());
    assertEquals(2, tooMany.exit());
    assertTrue(tooMany.err().contains("--count: must be between 1 and 1000000"), tooMany.err());
  }

  @Test
  void tokenCount_idsTooLongFromTheTenth_storesNone() throws Exception {
    Path data = dir.resolve("data");
    run("init", "--data", data.toString());
    String device = "c".repeat(62); // device-1 .. device-9 fit in 64 characters, device-10 does not

    Run run = run("token", "--data", data.toString(), "--device", device, "--count", "12");

    assertEquals(2, run.exit(), run.err());
    assertEquals("", run.out());
    assertTrue(run.err().contains("--count 12 makes device ids up to '" + device + "-12', longer than 64"), run.err());
    try (Database database = Database.openExisting(data.resolve("estfleet.db"))) {
      assertEquals(List.of(), new TokenRecords(database).byDevice(device + "-1"), "nothing stored");
    }
  }

  @Test
  void badSanValues_exit2WithOneLineNamingTheEntry() throws Exception {
    Path data = dir.resolve("data");
    run("init", "--data", data.toString());
    java.util.Map<String, String> expected = new java.util.LinkedHashMap<>();
    expected.put("host:{id}.example", "sanValues: 'host:{id}.example' does not start with dns:, ip:, uri: or email:");
    expected.put("{id}.example", "does not start with dns:, ip:, uri: or email:");
    expected.put("dns:", "sanValues: 'dns:' has no pattern after its type, or spaces");
    expected.put("uri:urn:a b", "has no pattern after its type, or spaces");
    expected.put("ip:10.0.0.0/33", "sanValues: 'ip:10.0.0.0/33': the prefix length must be 0-32");
    expected.put("ip:2001:db8::/129", "the prefix length must be 0-128");
    expected.put("ip:10.0.0.0/x", "the prefix length must be 0-32");
    expected.put("ip:ca.example", "sanValues: 'ip:ca.example': 'ca.example' is not an IPv4 address (four decimal "
        + "numbers) or an IPv6 address");
    // Never looked up as a host name, never read as the JDK's short forms (10.20 is 10.0.0.20).
    for (String notAnAddress : List.of("cafe", "dead.beef", "10.0.0.256", "1.2.3.4.5", "10.20", "localhost")) {
      expected.put("ip:" + notAnAddress + "/16", "'" + notAnAddress + "' is not an IPv4 address");
    }
    expected.put("ip:::ffff:192.0.2.0/120", "an IPv4-mapped IPv6 address; write the IPv4 address");
    expected.put("DNS:{id}.a", "does not start with dns:, ip:, uri: or email:");
    expected.put("dns:{ID}.a", "sanValues: 'dns:{ID}.a': {id} (in lower case) is the only placeholder");
    expected.put("dns:{id}_x.a", "sanValues: 'dns:{id}_x.a' cannot match a DNS name");
    expected.put("dns:{id}.a.", "cannot match a DNS name");
    expected.put("uri:devices/{id}", "cannot match an absolute URI");
    expected.put("email:{id}", "cannot match an email address");
    expected.put("email:*@*.", "cannot match an email address");
    String allTypes = "\"allowedSanTypes\": [\"dns\", \"ip\", \"uri\", \"email\"], ";
    // The default types, without email:
    expected.put("email:{id}@fleet.example", "sanValues: 'email:{id}@fleet.example' is of a type allowedSanTypes "
        + "does not list (it lists [dns, ip, uri])");

    for (java.util.Map.Entry<String, String> entry : expected.entrySet()) {
      Files.writeString(data.resolve(DataDir.CONFIG_FILE), "{\"defaultProfile\": {"
          + (entry.getKey().equals("email:{id}@fleet.example") ? "" : allTypes)
          + "\"sanValues\": [\"dns:{id}.a\", \"" + entry.getKey() + "\"]}}");
      Run run = run("serve", "--data", data.toString());

      assertEquals(2, run.exit(), run.err());
      assertEquals(1, run.err().lines().count(), run.err());
      assertTrue(run.err().startsWith("est-server: ") && run.err().contains("$.defaultProfile: ")
          && run.err().contains(entry.getValue()), entry.getKey() + ": " + run.err());
    }
    // What an error quotes from a file is escaped and cut: no terminal escape, no 100 KB line.
    Files.writeString(data.resolve(DataDir.CONFIG_FILE), "{\"defaultProfile\": {\"sanValues\": [\"dns:a\\u001b[31mb"
        + "\\u202ec\\u0000" + "x".repeat(100_000) + "\"]}}");
    Run hostile = run("serve", "--data", data.toString());
    assertEquals(2, hostile.exit(), hostile.err());
    assertTrue(hostile.err().contains("'dns:a\\u001b[31mb\\u202ec\\u0000xxx"), hostile.err());
    assertTrue(hostile.err().chars().noneMatch(c -> c < 0x20 && c != '\n' || c == 0x202e), "escaped: " + hostile.err());
    assertTrue(hostile.err().length() < 1_100, "cut: " + hostile.err().length() + " characters");
  }

  @Test
  void serve_withoutAnAuditLogItCanAppendTo_doesNotStart_sayingWhatTheFileIsFor() throws Exception {
    Path data = dir.resolve("data");
    run("init", "--data", data.toString());
    Path audit = data.resolve("audit.log");
    Files.createDirectory(audit); // as a read-only file system or chattr +i would, for root too

    Run serve = run("serve", "--data", data.toString(), "--port", "0");

    assertEquals(1, serve.exit(), serve.err());
    assertEquals(1, serve.err().lines().count(), serve.err());
    assertTrue(serve.err().startsWith("est-server: the audit log cannot be opened for appending: " + audit), serve.err());
  }

  @Test
  void usageAndConfigErrors_exit2WithOneLine() throws Exception {
    Path data = dir.resolve("data");
    run("init", "--data", data.toString());

    Run emptyData = run("init", "--data", "");
    Run badDevice = run("token", "--data", data.toString(), "--device", "has:colon");
    Run badTtl = run("token", "--data", data.toString(), "--device", "d", "--ttl", "soon");
    Run endlessTtl = run("token", "--data", data.toString(), "--device", "d", "--ttl", "99999999d");
    Run missingDir = run("token", "--data", dir.resolve("nowhere").toString(), "--device", "d");
    Run fileNotDir = run("token", "--data", Files.writeString(dir.resolve("a-file"), "x").toString(), "--device", "d");
    Run lineBreak = run("token", "--data", data.toString(), "--device", "x\ny");
    Run unknownOption = run("serve", "--data", data.toString(), "--bogus");
    Run noCommand = run();
    Files.writeString(data.resolve(DataDir.CONFIG_FILE), "{\"port\": 8443, \"prot\": 1}");
    Run badConfig = run("serve", "--data", data.toString());
    Files.writeString(data.resolve(DataDir.CONFIG_FILE), "{\"ca\": {\"checkInterval\": \"0s\"}}");
    Run noCheckInterval = run("serve", "--data", data.toString());
    Files.writeString(data.resolve(DataDir.CONFIG_FILE), "{\"defaultProfile\": {\"subjectAttributes\": [\"Organisation\"]}}");
    Run badSubjectAttribute = run("serve", "--data", data.toString());
    Files.writeString(data.resolve(DataDir.CONFIG_FILE), "{\"gateway\": {}}");
    Run gatewaySectionOnACa = run("serve", "--data", data.toString());
    Files.writeString(data.resolve(DataDir.CONFIG_FILE), "{\"mode\": \"gateway\", \"gateway\": {}}");
    Run gatewayWithoutUpstream = run("serve", "--data", data.toString());
    Files.writeString(data.resolve(DataDir.CONFIG_FILE), "{\"mode\": \"gateway\", \"gateway\": {\"upstream\": "
        + "\"https://ca.example:8443\", \"labels\": [\"a\", \"a\"]}}");
    Run labelTwice = run("serve", "--data", data.toString());
    Files.writeString(data.resolve(DataDir.CONFIG_FILE), "{\"mode\": \"gateway\", \"gateway\": {\"upstream\": "
        + "\"https://ca.example:8443\", \"pendingTtl\": \"1ms\"}}");
    Run pendingTtlTooShort = run("serve", "--data", data.toString());
    Files.writeString(data.resolve(DataDir.CONFIG_FILE), "{\"mode\": \"gateway\", \"gateway\": {\"upstream\": "
        + "\"https://ca.example:8443\", \"cacheStaleAfter\": \"1m\"}}");
    Run staleBeforeRefresh = run("serve", "--data", data.toString());
    Files.writeString(data.resolve(DataDir.CONFIG_FILE), "{\"bootstrap\": {\"idevidLabels\": [\"factory\"]}}");
    Run idevidLabelUnknown = run("serve", "--data", data.toString());
    Files.writeString(data.resolve(DataDir.CONFIG_FILE), "{\"bootstrap\": {\"idevidLabels\": []}}");
    Run idevidLabelsEmpty = run("serve", "--data", data.toString());
    Files.writeString(data.resolve(DataDir.CONFIG_FILE), "{\"mode\": \"gateway\", \"gateway\": {\"upstream\": "
        + "\"https://ca.example:8443\"}, \"bootstrap\": {\"idevidLabels\": [\"\"]}}");
    Run idevidLabelsOnAGateway = run("serve", "--data", data.toString());
    Files.writeString(data.resolve(DataDir.CONFIG_FILE), "{\"bootstrap\": {\"idevidIdentity\": [\"dns\"]}}");
    Run idevidIdentityUnknown = run("serve", "--data", data.toString());
    Files.writeString(data.resolve(DataDir.CONFIG_FILE), "{\"bootstrap\": {\"tokenTtl\": \"PT2562047788015215H\"}}");
    Run endlessTokenTtl = run("token", "--data", data.toString(), "--device", "d");
    Files.writeString(data.resolve(DataDir.CONFIG_FILE), "{\"tls\": {\"protocols\": [\"TLSv1.3\", \"TLSv1.3\"]}}");
    Run protocolTwice = run("serve", "--data", data.toString());
    Files.writeString(data.resolve(DataDir.CONFIG_FILE), "{\"bootstrap\": {\"manufacturerCas\": [\"m.pem\", \"m.pem\"]}}");
    Run manufacturerCaTwice = run("serve", "--data", data.toString());
    Files.writeString(data.resolve(DataDir.CONFIG_FILE), "{\"bootstrap\": {\"idevidIdentity\": [\"cn\", \"cn\"]}}");
    Run idevidIdentityTwice = run("serve", "--data", data.toString());
    Files.writeString(data.resolve(DataDir.CONFIG_FILE), "{\"bootstrap\": {\"idevidIdentity\": []}}");
    Run idevidIdentityEmpty = run("serve", "--data", data.toString());
    Files.writeString(data.resolve(DataDir.CONFIG_FILE), "{\"gatewayProfile\": {\"keyUsage\": [\"keyAgreement\"]}}");
    Run gatewayKeyCannotSign = run("serve", "--data", data.toString());

    for (Run run : new Run[] {emptyData, staleBeforeRefresh, badDevice, badTtl, endlessTtl, endlessTokenTtl, protocolTwice, manufacturerCaTwice, missingDir, fileNotDir, lineBreak, unknownOption, badConfig, noCheckInterval,
        badSubjectAttribute, gatewaySectionOnACa, gatewayWithoutUpstream, labelTwice, pendingTtlTooShort,
        idevidLabelUnknown, idevidLabelsEmpty, idevidLabelsOnAGateway, idevidIdentityUnknown, idevidIdentityTwice,
        idevidIdentityEmpty, gatewayKeyCannotSign}) {
      assertEquals(2, run.exit(), run.err());
      assertEquals(1, run.err().lines().count(), run.err());
      assertTrue(run.err().startsWith("est-server: "), run.err());
    }
    assertTrue(emptyData.err().contains("--data") && emptyData.err().contains("an empty path"), emptyData.err());
    assertTrue(staleBeforeRefresh.err().contains("gateway.cacheStaleAfter (1m) must be longer than "
        + "gateway.cacheRefresh (1h)"), staleBeforeRefresh.err());
    assertTrue(badDevice.err().contains("invalid device id 'has:colon'"), badDevice.err());
    assertTrue(badTtl.err().contains("invalid duration 'soon'"), badTtl.err());
    assertTrue(protocolTwice.err().contains("tls.protocols names a protocol twice: [TLSv1.3, TLSv1.3]"),
        protocolTwice.err());
    assertTrue(manufacturerCaTwice.err().contains("bootstrap.manufacturerCas names a file twice: [m.pem, m.pem]"),
        manufacturerCaTwice.err());
    assertTrue(endlessTtl.err().startsWith("est-server: --ttl: 99999999d is not between 1s and 3650d"), endlessTtl.err());
    assertTrue(endlessTokenTtl.err().contains("server.json: $.bootstrap: bootstrap.tokenTtl 106751991167300d15h is not "
        + "between 1s and 3650d"), endlessTokenTtl.err());
    assertTrue(missingDir.err().contains("no such data directory"), missingDir.err());
    assertTrue(fileNotDir.err().contains("a-file is a file, not a data directory"), fileNotDir.err());
    assertTrue(lineBreak.err().contains("invalid device id 'x\\ny'"), lineBreak.err());
    assertTrue(badConfig.err().contains("unknown key 'prot' at $"), badConfig.err());
    assertTrue(noCheckInterval.err().contains("ca.checkInterval must be positive"), noCheckInterval.err());
    assertTrue(idevidLabelUnknown.err().contains("bootstrap.idevidLabels names 'factory', which is not one of 'labels'"),
        idevidLabelUnknown.err());
    assertTrue(idevidLabelsEmpty.err().contains("bootstrap.idevidLabels is empty"), idevidLabelsEmpty.err());
    assertTrue(idevidLabelsOnAGateway.err().contains("bootstrap.idevidLabels is the CA's"), idevidLabelsOnAGateway.err());
    assertTrue(idevidIdentityUnknown.err().contains("'dns'"), idevidIdentityUnknown.err());
    assertTrue(idevidIdentityTwice.err().contains("bootstrap.idevidIdentity names a source twice: [\"cn\", \"cn\"]"),
        idevidIdentityTwice.err());
    assertTrue(idevidIdentityEmpty.err().contains("bootstrap.idevidIdentity is empty: no IDevID could name its device"),
        idevidIdentityEmpty.err());
    assertTrue(badSubjectAttribute.err().contains("$.defaultProfile: subjectAttributes: unknown attribute 'Organisation'"),
        badSubjectAttribute.err());
    assertTrue(gatewaySectionOnACa.err().contains("'gateway' settings are for mode \"gateway\"; this server's mode is \"ca\""),
        gatewaySectionOnACa.err());
    assertTrue(gatewayWithoutUpstream.err().contains("gateway.upstream is missing"), gatewayWithoutUpstream.err());
    assertTrue(gatewayKeyCannotSign.err().contains("gatewayProfile.keyUsage lacks \"digitalSignature\""),
        gatewayKeyCannotSign.err());
    assertTrue(labelTwice.err().contains("gateway.labels names a label twice: [a, a]"), labelTwice.err());
    assertTrue(pendingTtlTooShort.err().contains("gateway.pendingTtl (1ms) must be longer than gateway.retryAfter (1m)"),
        pendingTtlTooShort.err());
    assertEquals(2, noCommand.exit());
  }

  @Test
  void init_whereNoDirectoryCanBe_saysWhy() throws Exception {
    Path file = Files.writeString(dir.resolve("plain-file"), "x");

    Run run = run("init", "--data", file.resolve("data").toString());

    assertEquals(1, run.exit(), run.err());
    assertTrue(run.err().toLowerCase(java.util.Locale.ROOT).contains("not a directory"), run.err());
    // Linux refuses a directory in /proc with ENOENT, which Java reports as the path alone.
    Run inProc = run("init", "--data", "/proc/estfleet-test");
    assertEquals(1, inProc.exit(), inProc.err());
    assertEquals("est-server: /proc/estfleet-test (no such file or directory)", inProc.err().strip());
  }

  @Test
  void aMissingOrEmptyDatabase_isRefused_neverReplacedByANewOne() throws Exception {
    Path data = dir.resolve("data");
    run("init", "--data", data.toString());
    Path database = data.resolve("estfleet.db");
    Files.move(database, dir.resolve("elsewhere.db"));

    Run serveMissing = run("serve", "--data", data.toString(), "--port", "0");
    Run tokenMissing = run("token", "--data", data.toString(), "--device", "d");
    Run rolloverMissing = run("rollover", "--data", data.toString());
    Files.createFile(database);
    Run serveEmpty = run("serve", "--data", data.toString(), "--port", "0");

    assertFalse(Files.exists(data.resolve("ca/rollover.json")) || Files.exists(data.resolve("ca/next")),
        "a rollover refused for its database writes nothing");
    for (Run run : new Run[] {serveMissing, tokenMissing, rolloverMissing, serveEmpty}) {
      assertEquals(1, run.exit(), run.err());
      assertEquals(1, run.err().lines().count(), run.err());
    }
    assertTrue(serveMissing.err().contains(database.toAbsolutePath() + " does not exist"), serveMissing.err());
    assertTrue(tokenMissing.err().contains("does not exist"), tokenMissing.err());
    assertTrue(serveEmpty.err().contains("is empty (0 bytes)"), serveEmpty.err());
    assertEquals(0, Files.size(database), "nothing created in its place");
  }

  @Test
  void serve_withBrokenCaKeyExits2NamingTheFile() throws Exception {
    Path data = dir.resolve("data");
    run("init", "--data", data.toString());
    Files.writeString(data.resolve("ca/issuing.key"), "garbage");

    Run run = run("serve", "--data", data.toString(), "--port", "0");

    assertEquals(2, run.exit());
    assertTrue(run.err().contains(data.resolve("ca/issuing.key").toString()), run.err());
  }

  @Test
  void serve_popLinkingOnSunJsseOrWithoutTls12_orUnknownProvider_exits2() throws Exception {
    Path data = dir.resolve("data");
    run("init", "--data", data.toString());
    TestServer.patchConfig(data, "{\"tls\": {\"provider\": \"SunJSSE\"}, \"labels\": {\"linked\": "
        + "{\"popLinking\": \"required\"}}}");
    Run sunJsse = run("serve", "--data", data.toString(), "--port", "0");
    TestServer.patchConfig(data, "{\"tls\": {\"provider\": \"BCJSSE\", \"protocols\": [\"TLSv1.3\"]}}");
    Run tls13Only = run("serve", "--data", data.toString(), "--port", "0");
    TestServer.patchConfig(data, "{\"tls\": {\"provider\": \"OpenSSL\"}}");
    Run unknown = run("serve", "--data", data.toString(), "--port", "0");

    assertEquals(2, sunJsse.exit());
    assertTrue(sunJsse.err().contains("label 'linked' requires PoP linking, which needs tls.provider \"BCJSSE\""),
        sunJsse.err());
    assertEquals(2, tls13Only.exit(), tls13Only.err());
    assertTrue(tls13Only.err().contains("label 'linked' requires PoP linking, which works on TLS 1.2 connections only"
        + " (tls-unique), and tls.protocols is [TLSv1.3]: add \"TLSv1.2\""), tls13Only.err());
    assertEquals(2, unknown.exit());
    assertTrue(unknown.err().contains("OpenSSL"), unknown.err());
  }

  @Test
  @Timeout(120) // a refusal that regressed would serve until stopped
  void serve_withNamedGroupsItCannotUse_exits2SayingWhy() throws Exception {
    Path data = dir.resolve("data");
    run("init", "--data", data.toString());
    String java = "Java " + Runtime.version().feature();
    List<String[]> cases = new ArrayList<>();
    cases.add(new String[] {"{\"namedGroups\": [\"x25519\", \"x2559\"]}",
        "tls.namedGroups: 'x2559' is not a TLS key exchange group"});
    cases.add(new String[] {"{\"namedGroups\": [\"x25519\", \"X25519\"]}", "tls.namedGroups: 'X25519' is given twice"});
    cases.add(new String[] {"{\"namedGroups\": []}", "tls.namedGroups is empty"});
    cases.add(new String[] {"{\"namedGroups\": [\"X25519MLKEM768\"]}",
        "tls.namedGroups: none of X25519MLKEM768 can be used in TLS 1.2, which tls.protocols enables"});
    cases.add(new String[] {"{\"namedGroups\": [\"X25519MLKEM768\", \"x25519\"]}",
        "tls.namedGroups [X25519MLKEM768, x25519] leaves out secp256r1, the curve of the TLS certificate's key, "
            + "without which no TLS 1.2 client can be answered"});
    cases.add(new String[] {"{\"namedGroups\": [\"x25519\", \"secp160k1\"]}",
        "tls.namedGroups: BCJSSE on " + java + " cannot use secp160k1 with tls.protocols [TLSv1.3, TLSv1.2]; "
            + "take it out"});
    cases.add(new String[] {"{\"provider\": \"SunJSSE\", \"namedGroups\": [\"X25519MLKEM768\", \"x25519\"], "
        + "\"protocols\": [\"TLSv1.3\"]}", KeyExchangeGroups.perConnectionInSunJsse()
            ? "tls.namedGroups: SunJSSE on " + java + " cannot use X25519MLKEM768 with tls.protocols [TLSv1.3]"
            : "tls.namedGroups: the JDK's TLS (tls.provider SunJSSE) takes them from Java 20 on (this is " + java
                + ")"});
    byte[] database = Files.readAllBytes(data.resolve("estfleet.db"));
    for (String[] given : cases) {
      TestServer.patchConfig(data, "{\"tls\": " + given[0] + "}");
      Run serve = run("serve", "--data", data.toString(), "--port", "0");
      assertEquals(2, serve.exit(), given[0] + ": " + serve.err());
      assertTrue(serve.err().contains(given[1]), given[0] + ": " + serve.err());
      assertTrue(serve.err().contains("server.json"), serve.err());
      assertEquals(1, serve.err().strip().lines().count(), serve.err());
    }
    assertTrue(Arrays.equals(database, Files.readAllBytes(data.resolve("estfleet.db"))));
  }

  @Test
  void initForce_onADirectoryBeingServed_isRefused_andTheServerKeepsItsLock() throws Exception {
    try (TestServer server = TestServer.start(dir.resolve("served"))) {
      Path lock = server.dataDir().resolve(".serve.lock");
      byte[] database = Files.readAllBytes(server.dataDir().resolve("estfleet.db"));

      Run force = run("init", "--data", server.dataDir().toString(), "--force");

      assertEquals(2, force.exit(), force.err());
      assertEquals("est-server: " + server.dataDir() + " is being served by est-server (pid "
          + ProcessHandle.current().pid() + "): stop it first", force.err().strip());
      assertTrue(org.estfleet.io.ProcessLock.heldHere(lock), "still the server's");
      assertTrue(org.estfleet.io.ProcessLock.tryHold(lock).isEmpty());
      assertTrue(java.util.Arrays.equals(database, Files.readAllBytes(server.dataDir().resolve("estfleet.db"))),
          "nothing replaced");
    }
    // Stopped: the lock is free, and the file it leaves is not content that makes init refuse.
    Files.delete(dir.resolve("served/server.json"));
    for (String name : List.of("ca", "tls", "estfleet.db", "estfleet.db-wal", "estfleet.db-shm", "audit.log")) {
      Path entry = dir.resolve("served").resolve(name);
      if (Files.isDirectory(entry)) {
        try (var files = Files.walk(entry)) {
          files.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        }
      } else {
        Files.deleteIfExists(entry);
      }
    }
    assertEquals(0, run("init", "--data", dir.resolve("served").toString()).exit());
  }

  @Test
  void serve_onSunJsse_enrolls() throws Exception {
    try (TestServer server = TestServer.start(dir.resolve("sun"), "{\"tls\": {\"provider\": \"SunJSSE\"}}")) {
      Csr csr = new CsrBuilder().commonName("device-1").sign(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM));

      X509Certificate issued = EstTestClient.issued(EstTestClient.anonymous(server)
          .enroll("simpleenroll", csr, "device-1", server.token("device-1")));

      assertEquals(csr.publicKey(), issued.getPublicKey());
    }
  }
}
